"""Projects: pipeline board, create / edit with stage history, recommendations, shortlist,
dismissals, changes since the last refresh, and the CSV / XLSX exports."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from openpyxl import load_workbook

from matching.search import search


def recommender_available() -> bool:
    try:
        import matching.recommend  # noqa: F401
    except ImportError:
        return False
    return True


needs_recommender = pytest.mark.skipif(not recommender_available(), reason="recommendations not available yet "
                                       "(matching.recommend is not installed)")


@pytest.fixture
def project(view) -> str:
    """A benchmark project of the bundle (the fixture bundle and the sample both have one)."""
    for batch in view.iter_nodes("Project"):
        for node in batch:
            if node.props.get("tier") == "benchmark":
                return node.id
    pytest.skip("no benchmark project in the bundle")


@pytest.fixture
def org(view) -> str:
    return search(view, "SMIC", labels=["Organization"], limit=1)[0].id


def test_pipeline_board_orders_benchmark_first_with_counts(client, auth, view) -> None:
    auth.login("researcher")
    page = client.get("/projects").get_data(as_text=True)
    total = sum(len(b) for b in view.iter_nodes("Project"))
    assert f"({total})" in page
    assert page.index("tier-benchmark") < page.index("tier-key") < page.index("tier-ordinary")
    filtered = client.get("/projects?tier=benchmark").get_data(as_text=True)
    assert "tier-key" not in filtered.split('id="pipeline-counts"')[1].split("</table>")[1]
    assert client.get("/projects?stage=nonsense").status_code == 400


def test_project_page(client, auth, view, project) -> None:
    auth.login("researcher")
    response = client.get(f"/projects/{project}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert view.get(project).props["name_zh"] in page
    assert 'id="recommendations"' in page
    if not recommender_available():
        assert "not available yet" in page or "暂不可用" in page
    assert client.get("/projects/no-such-project").status_code == 404


def test_create_project_and_change_stage(client, auth, app) -> None:
    from web.state import workspace

    auth.login("staff")
    created = client.post("/projects/new", data={
        "name_zh": "液冷智算中心二期", "name_en": "Liquid cooling AIDC phase II", "tier": "key", "stage": "lead",
        "description": "Second phase", "needs": "液冷\nAI服务器", "investment_cny": "12", "owner": "staff1",
        "city": "无锡", "sectors": ["ai.aidc.cooling_liquid"]})
    assert created.status_code == 302
    project_id = created.headers["Location"].rsplit("/", 1)[-1]
    assert project_id.startswith("proj-liquid-cooling-aidc-phase-ii-")
    page = client.get(f"/projects/{project_id}").get_data(as_text=True)
    assert "液冷智算中心二期" in page
    board = client.get("/projects").get_data(as_text=True)
    assert "液冷智算中心二期" in board, "a pending project is on the board at once"
    edited = client.post(f"/projects/{project_id}/edit", data={
        "name_zh": "液冷智算中心二期", "name_en": "Liquid cooling AIDC phase II", "tier": "benchmark",
        "stage": "negotiating", "needs": "液冷\nAI服务器", "investment_cny": "12", "owner": "staff1",
        "city": "无锡", "description": "Second phase"})
    assert edited.status_code == 302
    with app.app_context():
        history = workspace().execute("SELECT * FROM stage_history WHERE project_id=?", (project_id,))
        edits = workspace().execute("SELECT props FROM edits WHERE node_id=? ORDER BY id", (project_id,))
    assert sorted((h["old_stage"] or "", h["new_stage"]) for h in history) == [("", "lead"), ("lead", "negotiating")]
    assert json.loads(edits[0]["props"])["investment_cny"] == 1_200_000_000  # typed in 亿元, stored in yuan
    assert json.loads(edits[-1]["props"]) == {"tier": "benchmark", "stage": "negotiating"}
    assert "洽谈中" in client.get(f"/projects/{project_id}").get_data(as_text=True)


def test_project_form_rejects_bad_input(client, auth, project) -> None:
    auth.login("staff")
    for data in ({"name_zh": "x", "tier": "gold"}, {"name_zh": "x", "stage": "won"},
                 {"name_zh": "x", "investment_cny": "-5"}, {"name_zh": "x", "investment_cny": "lots"},
                 {"name_zh": "x", "description": "d" * 5000}, {"name_zh": "x", "sectors": ["no.such.sector"]}):
        assert client.post("/projects/new", data=data).status_code == 400, data
    assert client.post(f"/projects/{project}/edit", data={"tier": "key"}).status_code == 400  # no name


def test_shortlist_dismiss_restore(client, auth, app, project, org) -> None:
    from web.state import workspace

    auth.login("staff")
    ok = client.post(f"/projects/{project}/shortlist", data={"org_id": org, "action": "shortlisted", "note": "见过面"})
    assert ok.status_code == 302
    page = client.get(f"/projects/{project}").get_data(as_text=True)
    assert "见过面" in page.split('id="shortlist"')[1].split('id="recommendations"')[0]
    no_reason = client.post(f"/projects/{project}/shortlist", data={"org_id": org, "action": "dismissed"})
    assert no_reason.status_code == 303
    client.post(f"/projects/{project}/shortlist", data={"org_id": org, "action": "dismissed", "note": "不做封装"})
    with app.app_context():
        rows = workspace().execute("SELECT status, note, username FROM shortlist WHERE project_id=?", (project,))
    assert [tuple(r) for r in rows] == [("dismissed", "不做封装", "staff1")]
    client.post(f"/projects/{project}/shortlist", data={"org_id": org, "action": "restore"})
    with app.app_context():
        assert workspace().execute("SELECT count(*) AS n FROM shortlist")[0]["n"] == 0
    unknown = client.post(f"/projects/{project}/shortlist", data={"org_id": "nope", "action": "shortlisted"})
    assert unknown.status_code == 303


@needs_recommender
def test_recommendations_hide_dismissed_and_compare_with_last_week(client, auth, app, project) -> None:
    from web import workspace_ops as ops
    from web.state import workspace

    auth.login("staff")
    page = client.get(f"/projects/{project}").get_data(as_text=True)
    assert 'id="recs-table"' in page
    first = page.split('id="recs-table"')[1].split('data-org="')[1].split('"')[0]
    client.post(f"/projects/{project}/shortlist", data={"org_id": first, "action": "dismissed", "note": "already here"})
    recs = page_recs(client.get(f"/projects/{project}").get_data(as_text=True))
    assert first not in recs, "a dismissed candidate stays hidden for this project"
    with app.app_context():
        ws = workspace()
        snaps = ops.snapshots(ws, project)
        assert len(snaps) == 1
        old = [[first, 0.9], ["someone-gone", 0.8]] + [[o, 0.1] for o in reversed(recs[1:])]
        ws.execute("INSERT INTO rec_snapshots(project_id, run_id, ts, ranking) VALUES (?,?,?,?)",
                   (project, "r-last-week", time.time() - 8 * 86400, json.dumps(old)))
    page = client.get(f"/projects/{project}").get_data(as_text=True)
    assert 'class="changes"' in page
    assert "someone-gone" in page


def page_recs(page: str) -> list[str]:
    table = page.split('id="recs-table"')[1].split("</table>")[0]
    return [chunk.split('"')[0] for chunk in table.split('data-org="')[1:]]


def test_exports(client, auth, project, org) -> None:
    auth.login("staff")
    client.post(f"/projects/{project}/shortlist", data={"org_id": org, "action": "shortlisted", "note": "=1+1 备注"})
    response = client.get(f"/projects/{project}/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM so Excel reads Chinese"
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    shortlisted = [r for r in rows if r["section"] == "shortlisted"]
    assert shortlisted and shortlisted[0]["org_id"] == org
    assert shortlisted[0]["name_zh"].startswith("中芯国际")
    assert shortlisted[0]["note"] == "'=1+1 备注", "formulas are neutralised"
    if recommender_available():
        assert any(r["section"] == "recommendation" and r["reasons_zh"] for r in rows)
    xlsx = client.get(f"/projects/{project}/export.xlsx")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.data))
    sheet = book["shortlist"]
    header = [c.value for c in sheet[1]]
    assert sheet.cell(2, header.index("name_zh") + 1).value.startswith("中芯国际")
    assert "attachment" in xlsx.headers["Content-Disposition"]


def test_researcher_cannot_change_projects(client, auth, project, org) -> None:
    auth.login("researcher")
    assert client.post("/projects/new", data={"name_zh": "x"}).status_code == 403
    assert client.post(f"/projects/{project}/edit", data={"name_zh": "x"}).status_code == 403
    assert client.post(f"/projects/{project}/shortlist", data={"org_id": org, "action": "shortlisted"}).status_code == 403
    assert client.post(f"/projects/{project}/involve", data={"org_id": org}).status_code == 403
    assert client.get(f"/projects/{project}/export.csv").status_code == 200

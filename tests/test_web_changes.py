"""What the refreshes changed: the Changes page with its filters, an entity's "what changed this
week", and the project page's change panel, which must not count the user's own dismissals."""

from __future__ import annotations

import time

import pytest

from matching.search import search

PROJECT = "proj-jiangyin-advanced-packaging"


@pytest.fixture
def smic(view) -> str:
    return search(view, "SMIC", labels=["Organization"], limit=1)[0].id


def test_changes_page_and_this_week(client, auth, app, settings, smic) -> None:
    from jobs.tasks import apply_staff_edits
    from web import workspace_ops as ops
    from web.state import workspace

    with app.app_context():
        ops.record_changes(workspace(), "staff1", nodes=[("Organization", smic, {"city": "无锡"})])
    auth.login("researcher")
    client.get("/lang/en")
    before = client.get(f"/entities/{smic}").get_data(as_text=True)  # the box is kept per version and week's runs
    assert "上海 → 无锡" not in before.split('id="this-week"')[1].split("</section>")[0]
    apply_staff_edits(settings)  # a run whose change log says SMIC's city changed
    page = client.get("/changes?op=changed").get_data(as_text=True)
    items = page.split('id="changes"')[1].split("</ul>")[0]
    assert "SMIC" in items or "Semiconductor Manufacturing" in items
    assert "City: 上海 → 无锡" in items and smic not in items.replace(f"/entities/{smic}", "")
    # filters: the region (by name, Jiangyin counts as Wuxi), the kind
    assert "Semiconductor Manufacturing" in client.get("/changes?op=changed&kind=listed_company").get_data(as_text=True)
    assert "Semiconductor Manufacturing" not in client.get("/changes?op=changed&kind=university").get_data(as_text=True) \
        .split('id="changes"')[1]
    bad = client.get("/changes?region=Atlantis")
    assert bad.status_code == 400 and "There is no region called &#39;Atlantis&#39;" in bad.get_data(as_text=True)
    # the entity page's box
    entity = client.get(f"/entities/{smic}").get_data(as_text=True)
    box = entity.split('id="this-week"')[1].split("</section>")[0]
    assert "changed" in box and "上海 → 无锡" in box


def test_change_panel_ignores_the_users_own_dismissal(app, view) -> None:
    """A dismissal removes one candidate and moves the others up: that is the user's doing, not
    the refresh's, so the panel against last week's ranking shows nothing new, moved or dropped."""
    from web import recommendations as recs
    from web import workspace_ops as ops
    from web.state import settings, workspace

    with app.test_request_context():
        ws = workspace()
        ranked = recs.for_project(view, settings(), ws, PROJECT)
        assert len(ranked) >= 5
        ops.save_snapshot(ws, PROJECT, "r-last-week", [(r.org_id, r.score) for r in ranked])
        ws.execute("UPDATE rec_snapshots SET ts=? WHERE run_id='r-last-week'", (time.time() - 8 * 86400,))
        ops.set_shortlist(ws, PROJECT, ranked[1].org_id, "dismissed", "not a fit", "staff1")
        now = recs.for_project(view, settings(), ws, PROJECT)
        changes = recs.snapshot_and_compare(view, ws, PROJECT, "r-this-week", now)
    assert changes is not None
    assert changes["new"] == [] and changes["moved"] == [] and changes["dropped"] == []


def test_run_status_and_recent_edits_in_words(client, auth, app, smic) -> None:
    from web import workspace_ops as ops
    from web.state import workspace

    with app.app_context():
        ops.record_changes(workspace(), "staff1", edges=[("PARTNERS_WITH", smic, "stock-600584", {})])
    auth.login("staff")
    client.get("/lang/zh")
    home = client.get("/").get_data(as_text=True)
    edits = home.split('id="recent-edits"')[1].split("</ul>")[0]
    assert "中芯国际" in edits and f"{smic}|PARTNERS_WITH" not in edits and "合作" in edits
    assert "成功" in home.split("<footer")[1]  # the run status in Chinese, not "ok"


def test_a_made_up_region_gets_a_message(client, auth, app) -> None:
    from web.state import workspace

    auth.login("staff")
    client.get("/lang/en")
    page = client.get(f"/projects/{PROJECT}?region=Atlantis")
    assert page.status_code == 400 and "There is no region called" in page.get_data(as_text=True)
    assert client.get(f"/projects/{PROJECT}?region=无锡").status_code == 200
    with app.app_context():
        token = workspace().create_token("staff1", "t")
    api = client.get(f"/api/v1/projects/{PROJECT}/recommendations?region=Atlantis",
                     headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 400 and api.get_json()["error"].startswith("region")

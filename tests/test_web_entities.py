"""Entity profiles and staff edits of organisations, people, contacts and decisions."""

from __future__ import annotations

import json

import pytest

from matching.search import search


@pytest.fixture
def smic(view) -> str:
    return search(view, "SMIC", labels=["Organization"], limit=1)[0].id


@pytest.fixture
def jcet(view) -> str:
    return search(view, "长电科技", labels=["Organization"], limit=1)[0].id


def test_entity_page_shows_names_facts_provenance_and_relationships(client, auth, view, smic) -> None:
    auth.login("researcher")
    node = view.get(smic)
    page = client.get(f"/entities/{smic}?x=1").get_data(as_text=True)
    client.get("/lang/zh")
    page_zh = client.get(f"/entities/{smic}").get_data(as_text=True)
    assert node.props["name_zh"] in page_zh and "SMIC" in page_zh
    for alias in node.props.get("aliases", [])[:2]:
        assert alias in page_zh
    assert "数据来源" in page_zh and "关键信息" in page_zh  # provenance and key facts sections
    assert node.props["source"].split(";")[0][:20] in page_zh
    assert 'id="graph"' in page and "graph.json" in page
    groups = {nb.edge.type for nb in view.neighbours(smic)}
    assert groups, "SMIC has relationships in every bundle"
    assert "id=\"relations\"" in page_zh


def test_graph_json(client, auth, view, smic) -> None:
    auth.login("researcher")
    data = client.get(f"/entities/{smic}/graph.json").get_json()
    ids = {n["id"] for n in data["nodes"]}
    assert smic in ids and len(ids) > 1
    assert all(link["source"] in ids and link["target"] in ids for link in data["links"])
    assert client.get("/entities/no-such-id/graph.json").status_code == 404


def test_documents_that_mention_an_entity(client, auth, app, settings, smic) -> None:
    """A Document with a MENTIONS edge shows on the entity page (written through the staff feed,
    because the sample bundle has no documents)."""
    from jobs.tasks import apply_staff_edits
    from web import workspace_ops as ops
    from web.state import workspace

    with app.app_context():
        ops.record_changes(workspace(), "staff1",
                           nodes=[("Document", "doc-smic-test", {"name_en": "SMIC quarterly results",
                                                                 "url": "https://www.smics.com/en/site/news"})],
                           edges=[("MENTIONS", "doc-smic-test", smic, {})])
    apply_staff_edits(settings)
    auth.login("staff")
    page = client.get(f"/entities/{smic}").get_data(as_text=True)
    assert 'id="documents"' in page and "SMIC quarterly results" in page
    assert client.get("/entities/doc-smic-test").status_code == 200


def test_unknown_entity_is_404(client, auth) -> None:
    auth.login("staff")
    assert client.get("/entities/no-such-id").status_code == 404
    assert client.get("/entities/no-such-id/print").status_code == 404
    assert client.get("/entities/no-such-id/edit").status_code == 404


def test_print_page(client, auth, smic) -> None:
    auth.login("researcher")
    page = client.get(f"/entities/{smic}/print").get_data(as_text=True)
    assert "print.css" in page and "main-nav" not in page


def test_staff_edit_is_recorded_and_shown_pending(client, auth, app, smic) -> None:
    from web.state import workspace

    auth.login("staff")
    form = client.get(f"/entities/{smic}/edit")
    assert form.status_code == 200
    response = client.post(f"/entities/{smic}/edit", data={
        "name_zh": "中芯国际集成电路制造有限公司", "name_en": "Semiconductor Manufacturing International Corporation",
        "kind": "listed_company", "description": "Edited by staff: <b>bold</b>", "website": "https://www.smics.com"})
    assert response.status_code == 302
    with app.app_context():
        rows = workspace().execute("SELECT * FROM edits WHERE node_id=?", (smic,))
        audit = workspace().audit_log(5)
    props = json.loads(rows[-1]["props"])
    assert props["description"] == "Edited by staff: <b>bold</b>"
    assert "kind" not in props, "unchanged fields must not be recorded (they would be pinned)"
    assert any(a["action"] == "edit.Organization" and a["target"] == smic for a in audit)
    page = client.get(f"/entities/{smic}").get_data(as_text=True)
    assert "Edited by staff: &lt;b&gt;bold&lt;/b&gt;" in page  # shown at once, escaped
    assert "<b>bold</b>" not in page


def test_edit_validation(client, auth, smic) -> None:
    auth.login("staff")
    too_long = client.post(f"/entities/{smic}/edit", data={"name_zh": "中" * 500, "kind": "listed_company"})
    assert too_long.status_code == 400 and "200" in too_long.get_data(as_text=True)
    brackets = client.post(f"/entities/{smic}/edit", data={"name_en": "<script>x</script>", "kind": "listed_company"})
    assert brackets.status_code == 400
    assert "<script>x</script>" not in brackets.get_data(as_text=True)
    bad_kind = client.post(f"/entities/{smic}/edit", data={"name_en": "x", "kind": "pirate"})
    assert bad_kind.status_code == 400
    bad_code = client.post(f"/entities/{smic}/edit", data={"name_en": "x", "kind": "company", "credit_code": "123"})
    assert bad_code.status_code == 400
    bad_url = client.post(f"/entities/{smic}/edit", data={"name_en": "x", "kind": "company", "website": "javascript:alert(1)"})
    assert bad_url.status_code == 400


def test_new_organisation_gets_a_readable_id_and_is_shown_pending(client, auth, app) -> None:
    auth.login("staff")
    response = client.post("/entities/new/Organization", data={
        "name_zh": "无锡液冷科技有限公司", "name_en": "Wuxi Liquid Cooling Tech", "kind": "company",
        "city": "无锡", "sectors": ["ai.aidc.cooling_liquid"]})
    assert response.status_code == 302
    location = response.headers["Location"]
    node_id = location.rsplit("/", 1)[-1]
    assert node_id.startswith("org-wuxi-liquid-cooling-tech-")
    page = client.get(location).get_data(as_text=True)
    assert "无锡液冷科技有限公司" in page
    assert "待生效" in page or "pending" in page.lower()
    missing_kind = client.post("/entities/new/Organization", data={"name_zh": "某公司"})
    assert missing_kind.status_code == 400
    no_name = client.post("/entities/new/Organization", data={"kind": "company"})
    assert no_name.status_code == 400
    assert client.get("/entities/new/Sector").status_code == 404


def test_edits_reach_the_graph(home) -> None:
    """With the applier on, a saved edit is in the graph after the writer ran."""
    from conftest import USERS, make_app

    app = make_app(home, STAFF_EDITS_APPLY="sync")
    client = app.test_client()
    client.post("/login", data=dict(zip(("username", "password"), USERS["staff"], strict=True)))
    created = client.post("/entities/new/Person", data={"name_zh": "测试联系人", "name_en": "Test Contact"})
    node_id = created.headers["Location"].rsplit("/", 1)[-1]
    view = app.extensions["stakegraph"].live.get()
    node = view.get(node_id)
    assert node is not None and node.props["name_zh"] == "测试联系人"
    assert "staff" in node.props.get("feeds", []) or node.props.get("staff_fields")
    app.extensions["stakegraph"].live.close()


def test_add_contact_and_decision(client, auth, app, smic, jcet) -> None:
    from web.state import workspace

    auth.login("staff")
    response = client.post(f"/entities/{smic}/contacts", data={"name_zh": "张三", "role": "投资者关系总监"})
    assert response.status_code == 302
    page = client.get(f"/entities/{smic}").get_data(as_text=True)
    assert "张三" in page and "投资者关系总监" in page
    decided = client.post(f"/entities/{smic}/decisions", data={"other_id": jcet, "judgement": "not_same", "note": "different firms"})
    assert decided.status_code == 302
    with app.app_context():
        rows = workspace().execute("SELECT * FROM decisions WHERE active=1")
    assert [(r["judgement"], r["username"]) for r in rows] == [("not_same", "staff1")]
    assert {rows[0]["record_a"], rows[0]["record_b"]} == {smic, jcet}
    again = client.post(f"/entities/{smic}/decisions", data={"other_id": jcet, "judgement": "same"})
    assert again.status_code == 302
    with app.app_context():
        active = workspace().execute("SELECT judgement FROM decisions WHERE active=1")
    assert [r["judgement"] for r in active] == ["same"], "a new decision retires the old one"
    bad = client.post(f"/entities/{smic}/decisions", data={"other_id": smic, "judgement": "same"})
    assert bad.status_code == 303


def test_researcher_cannot_edit(client, auth, app, smic) -> None:
    from web.state import workspace

    auth.login("researcher")
    assert client.post(f"/entities/{smic}/edit", data={"name_en": "x", "kind": "company"}).status_code == 403
    assert client.post("/entities/new/Organization", data={"name_en": "x", "kind": "company"}).status_code == 403
    assert client.post(f"/entities/{smic}/contacts", data={"name_zh": "x"}).status_code == 403
    with app.app_context():
        assert workspace().execute("SELECT count(*) AS n FROM edits")[0]["n"] == 0

"""Relation edits by staff: add, end and retract a tie from the entity page and the API, applied
by the real refresh through the staff source (which wins and keeps a retraction on the next
refresh); the history in words; an admin's undo; bad input refused whole with a clear message."""

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


def _edges(settings, node_id: str, rel_type: str) -> dict[str, dict]:
    from kg.backends import open_view

    with open_view(settings) as g:
        return {f"{nb.edge.source_id}|{rel_type}|{nb.edge.target_id}": nb.edge.props
                for nb in g.neighbours(node_id, types=[rel_type], limit=10_000)}


def _edit_rows(app) -> int:
    from web.state import workspace

    with app.app_context():
        return workspace().execute("SELECT count(*) AS n FROM edits")[0]["n"]


def test_add_end_retract_through_the_page_and_the_refresh(client, auth, app, settings, smic, jcet) -> None:
    from jobs.tasks import apply_staff_edits

    auth.login("staff")
    key = f"{smic}|SUPPLIES|{jcet}"
    assert key not in _edges(settings, smic, "SUPPLIES")
    r = client.post(f"/entities/{smic}/relations", data={
        "op": "add", "rel": "SUPPLIES:out", "other_id": jcet, "since": "2021", "role": "wafer supplier",
        "evidence": "SMIC supplies wafers to JCET for packaging", "note": "from the 2021 annual report"})
    assert r.status_code == 302
    page = client.get(f"/entities/{smic}").get_data(as_text=True)
    assert "pending" in page  # shown at once, marked pending
    apply_staff_edits(settings)
    edge = _edges(settings, smic, "SUPPLIES")[key]
    assert edge["since"] == "2021" and edge["role"] == "wafer supplier" and "staff" in edge["sources"]

    # end it: until kept as history
    r = client.post(f"/entities/{smic}/relations", data={"op": "end", "type": "SUPPLIES", "direction": "out",
                                                        "other_id": jcet, "until": "2024-06", "note": "contract ended"})
    assert r.status_code == 302
    apply_staff_edits(settings)
    assert _edges(settings, smic, "SUPPLIES")[key]["until"] == "2024-06"

    # history in words, with names, not ids
    client.get("/lang/en")
    page = client.get(f"/entities/{smic}").get_data(as_text=True)
    hist = page[page.index('id="history"'):]
    assert "staff1 ended supplies" in hist and "until 2024-06" in hist and "contract ended" in hist
    assert "staff1 added supplies" in hist and ("长电" in hist or "JCET" in hist) and jcet not in hist

    # retract a fact that came from the sample source: it leaves the graph and stays out on a refresh
    src_key, rel_type = next((k, t) for t in ("PARTNERS_WITH", "SUPPLIES", "INVESTS_IN", "SUBSIDIARY_OF")
                             for k, e in _edges(settings, smic, t).items() if "staff" not in e["sources"])
    a, _, b = src_key.split("|")
    r = client.post(f"/entities/{smic}/relations", data={"op": "retract", "type": rel_type,
                                                        "direction": "out" if a == smic else "in",
                                                        "other_id": b if a == smic else a, "note": "press error"})
    assert r.status_code == 302
    apply_staff_edits(settings)
    assert src_key not in _edges(settings, smic, rel_type)
    page = client.get(f"/entities/{smic}").get_data(as_text=True)
    assert "staff1 retracted" in page and "press error" in page


def test_retraction_survives_a_source_refresh(app, settings, smic) -> None:
    """The sample bundle lists the tie again on the next load; the staff retraction still wins."""
    from conftest import bundle_dir

    from jobs.tasks import apply_staff_edits, load_bundle
    from web import relation_edits as rel
    from web.state import view, workspace

    key, edge = next(iter(_edges(settings, smic, "SUBSIDIARY_OF").items()))
    s, _, t = key.split("|")
    with app.test_request_context():
        edit = rel.parse({"op": "retract", "type": "SUBSIDIARY_OF", "direction": "out" if s == smic else "in",
                          "other_id": t if s == smic else s, "note": "wrong parent"}, smic, view(), workspace())
        rel.record(workspace(), "staff1", edit)
    apply_staff_edits(settings)
    assert key not in _edges(settings, smic, "SUBSIDIARY_OF")
    load_bundle(settings, bundle_dir())  # the source lists it again
    assert key not in _edges(settings, smic, "SUBSIDIARY_OF")


def test_admin_undo_of_a_retraction_brings_it_back(client, auth, app, settings, smic) -> None:
    from jobs.tasks import apply_staff_edits
    from web import workspace_ops as ops
    from web.state import workspace

    key = next(iter(_edges(settings, smic, "SUBSIDIARY_OF")))
    s, _, t = key.split("|")
    auth.login("staff")
    client.post(f"/entities/{smic}/relations", data={"op": "retract", "type": "SUBSIDIARY_OF",
                                                    "direction": "out" if s == smic else "in",
                                                    "other_id": t if s == smic else s, "note": "wrong"})
    apply_staff_edits(settings)
    assert key not in _edges(settings, smic, "SUBSIDIARY_OF")
    with app.app_context():
        audit_id = ops.node_history(workspace(), smic)[0]["id"]
    assert client.post(f"/entities/{smic}/history/{audit_id}/undo").status_code == 403  # staff may not undo
    auth.logout()
    auth.login("admin")
    assert client.post(f"/entities/{smic}/history/{audit_id}/undo").status_code == 302
    apply_staff_edits(settings)
    assert key in _edges(settings, smic, "SUBSIDIARY_OF")


def test_field_history_in_words_and_undo(client, auth, app, settings, smic, view) -> None:
    from jobs.tasks import apply_staff_edits

    old_city = view.get(smic).props.get("city")
    auth.login("admin")
    client.get("/lang/en")
    form = _form_values(view, smic)
    form.update({"city": "无锡", "edit_note": "moved HQ"})
    assert client.post(f"/entities/{smic}/edit", data=form).status_code == 302
    page = client.get(f"/entities/{smic}").get_data(as_text=True)
    hist = page[page.index('id="history"'):]
    assert f"admin set city from {old_city} to 无锡" in hist and "reason: moved HQ" in hist
    apply_staff_edits(settings)
    from web import workspace_ops as ops
    from web.state import workspace

    with app.app_context():
        audit_id = ops.node_history(workspace(), smic)[0]["id"]
    client.post(f"/entities/{smic}/history/{audit_id}/undo")
    apply_staff_edits(settings)
    from kg.backends import open_view

    with open_view(settings) as g:
        assert g.get(smic).props.get("city") == old_city


def _form_values(view, node_id):
    from web.forms import form_values

    return form_values(view.get(node_id).props, view.get(node_id).label)


BAD = [
    ({"op": "add", "rel": "SUPPLIES:out", "other_id": "no-such-org"}, "other_id", "No record with that id"),
    ({"op": "add", "rel": "LOCATED_IN:out", "other_id": "@jcet"}, "type", "cannot join"),
    ({"op": "add", "rel": "SUPPLIES:out", "other_id": "@jcet", "since": "2022", "until": "2020"}, "until", "before the start"),
    ({"op": "add", "rel": "SUPPLIES:out", "other_id": "@jcet", "since": "last year"}, "since", "A date is written"),
    ({"op": "add", "rel": "SUPPLIES:out", "other_id": "@jcet", "role": "<script>alert(1)</script>"}, "role", "HTML"),
    ({"op": "add", "rel": "SUPPLIES:out", "other_id": "@jcet", "note": "x" * 5000}, "note", "Too long"),
    ({"op": "retract", "type": "SUPPLIES", "other_id": "@jcet", "note": "gone"}, "type", "no such relation"),
    ({"op": "retract", "type": "SUBSIDIARY_OF", "other_id": "@parent"}, "note", "Required"),
]


@pytest.mark.parametrize("data,field,message", BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_bad_relation_edits_are_refused_whole(client, auth, app, settings, smic, jcet, data, field, message) -> None:
    parent = next(iter(_edges(settings, smic, "SUBSIDIARY_OF"))).split("|")
    subst = {"@jcet": jcet, "@parent": parent[2] if parent[0] == smic else parent[0]}
    data = {k: subst.get(v, v) for k, v in data.items()}
    if data.get("other_id") == subst["@parent"] and parent[0] != smic:
        data["direction"] = "in"
    before = _edit_rows(app)
    auth.login("staff")
    client.get("/lang/en")
    r = client.post(f"/entities/{smic}/relations", data=data)
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert message.lower() in page.lower(), page[page.find('id="relation-add"'):][:3000]
    assert "<script>alert(1)</script>" not in page  # shown escaped, if at all
    assert _edit_rows(app) == before  # nothing half-saved

    # the API refuses the same with a 400 naming the field
    from web.state import workspace

    with app.app_context():
        token = workspace().create_token("staff1", "t")
    body = {k: v for k, v in data.items() if k != "rel"}
    if "rel" in data:
        body["type"], body["direction"] = data["rel"].split(":")
    r = client.post(f"/api/v1/entities/{smic}/relations", data=json.dumps(body),
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert r.status_code == 400 and r.get_json()["error"].startswith(field)
    assert _edit_rows(app) == before


def test_ten_megabyte_note_is_refused(client, auth, app, smic, jcet) -> None:
    from web.state import workspace

    with app.app_context():
        token = workspace().create_token("staff1", "t")
    before = _edit_rows(app)
    body = json.dumps({"op": "add", "type": "SUPPLIES", "other_id": jcet, "note": "x" * 10_000_000})
    r = client.post(f"/api/v1/entities/{smic}/relations", data=body,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert r.status_code == 413 and "at most" in r.get_json()["error"]
    auth.login("staff")
    r = client.post(f"/entities/{smic}/relations", data={"op": "add", "rel": "SUPPLIES:out", "other_id": jcet,
                                                        "note": "x" * 10_000_000})
    assert r.status_code == 413
    assert _edit_rows(app) == before


def test_api_add_relation(client, app, smic, jcet) -> None:
    from web.state import workspace

    with app.app_context():
        token = workspace().create_token("staff1", "t")
        ro = workspace().create_token("researcher1", "r")
    body = json.dumps({"op": "add", "type": "SUPPLIES", "direction": "in", "other_id": jcet, "since": "2020-03"})
    h = {"Content-Type": "application/json"}
    assert client.post(f"/api/v1/entities/{smic}/relations", data=body, headers={**h, "Authorization": f"Bearer {ro}"}).status_code == 403
    r = client.post(f"/api/v1/entities/{smic}/relations", data=body, headers={**h, "Authorization": f"Bearer {token}"})
    assert r.status_code == 201
    out = r.get_json()
    assert out["source_id"] == jcet and out["target_id"] == smic and out["props"] == {"since": "2020-03"}


def test_remove_a_wrong_sector_tag(client, auth, settings, smic) -> None:
    from jobs.tasks import apply_staff_edits

    sectors = _edges(settings, smic, "ACTIVE_IN")
    key = next(iter(sectors))
    auth.login("staff")
    r = client.post(f"/entities/{smic}/relations", data={"op": "retract", "type": "ACTIVE_IN", "direction": "out",
                                                        "other_id": key.split("|")[2], "note": "not in this link"})
    assert r.status_code == 302
    apply_staff_edits(settings)
    assert key not in _edges(settings, smic, "ACTIVE_IN")

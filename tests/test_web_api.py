"""The JSON API: bearer tokens, JSON errors with the right codes, the OpenAPI document."""

from __future__ import annotations

import json
import logging
import re

import pytest

from matching.search import search


@pytest.fixture
def tokens(app) -> dict[str, str]:
    from web.state import workspace

    with app.app_context():
        ws = workspace()
        return {role: ws.create_token(user, f"test-{role}") for role, user in
                (("staff", "staff1"), ("researcher", "researcher1"))}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def ids(view) -> dict[str, str]:
    org = search(view, "SMIC", labels=["Organization"], limit=1)[0].id
    project = next(n.id for batch in view.iter_nodes("Project") for n in batch)
    return {"org": org, "project": project}


def test_tokens_authenticate_and_errors_are_json(client, tokens, ids) -> None:
    assert client.get("/api/v1/status").status_code == 401
    bad = client.get("/api/v1/status", headers=bearer("sg_not-a-token"))
    assert bad.status_code == 401 and bad.get_json()["error"]
    status = client.get("/api/v1/status", headers=bearer(tokens["staff"]))
    assert status.status_code == 200 and status.get_json()["graph_version"]
    missing = client.get("/api/v1/entities/no-such-id", headers=bearer(tokens["staff"]))
    assert missing.status_code == 404 and "no-such-id" in missing.get_json()["error"]
    unknown_route = client.get("/api/v1/nothing-here", headers=bearer(tokens["staff"]))
    assert unknown_route.status_code == 404 and unknown_route.is_json


def test_entity_neighbours_project(client, tokens, ids, view) -> None:
    h = bearer(tokens["researcher"])
    entity = client.get(f"/api/v1/entities/{ids['org']}?lang=zh", headers=h).get_json()
    assert entity["id"] == ids["org"] and entity["name"].startswith("中芯国际")
    assert entity["relationships"] and entity["props"]["source"]
    nb = client.get(f"/api/v1/entities/{ids['org']}/neighbours?limit=5", headers=h).get_json()
    assert 1 < len(nb["nodes"]) <= 6
    assert client.get(f"/api/v1/entities/{ids['org']}/neighbours?limit=0", headers=h).status_code == 400
    project = client.get(f"/api/v1/projects/{ids['project']}", headers=h).get_json()
    assert project["label"] == "Project" and "stage_history" in project
    assert client.get(f"/api/v1/projects/{ids['org']}", headers=h).status_code == 404
    listing = client.get("/api/v1/projects", headers=h).get_json()
    assert ids["project"] in {p["id"] for p in listing["projects"]}


def test_recommendations(client, tokens, ids) -> None:
    response = client.get(f"/api/v1/projects/{ids['project']}/recommendations?k=5", headers=bearer(tokens["staff"]))
    try:
        import matching.recommend  # noqa: F401
    except ImportError:
        assert response.status_code == 503 and "not available" in response.get_json()["error"]
        return
    body = response.get_json()
    assert response.status_code == 200 and 0 < body["count"] <= 5
    first = body["recommendations"][0]
    assert {"org_id", "score", "signals", "reasons_zh", "reasons_en"} <= set(first)
    assert client.get(f"/api/v1/projects/{ids['project']}/recommendations?k=abc",
                      headers=bearer(tokens["staff"])).status_code == 400


def test_shortlist_get_and_post(client, tokens, ids) -> None:
    url = f"/api/v1/projects/{ids['project']}/shortlist"
    created = client.post(url, json={"org_id": ids["org"], "note": "API"}, headers=bearer(tokens["staff"]))
    assert created.status_code == 201 and created.get_json()["status"] == "shortlisted"
    items = client.get(url, headers=bearer(tokens["researcher"])).get_json()["items"]
    assert [(i["org_id"], i["note"], i["username"]) for i in items] == [(ids["org"], "API", "staff1")]
    assert client.post(url, json={"org_id": ids["org"]}, headers=bearer(tokens["researcher"])).status_code == 403
    assert client.post(url, data="not json", headers=bearer(tokens["staff"])).status_code == 400
    assert client.post(url, json={"org_id": "nope"}, headers=bearer(tokens["staff"])).status_code == 404
    assert client.post(url, json={"org_id": ids["org"], "status": "dismissed"}, headers=bearer(tokens["staff"])).status_code == 400
    assert client.post(url, json={"org_id": ids["org"], "note": "n" * 5000}, headers=bearer(tokens["staff"])).status_code == 400


def test_session_may_read_but_not_write(client, auth, ids) -> None:
    auth.login("staff")
    assert client.get("/api/v1/status").status_code == 200
    url = f"/api/v1/projects/{ids['project']}/shortlist"
    assert client.post(url, json={"org_id": ids["org"]}).status_code == 401


def test_revoked_token_is_refused(client, app, tokens) -> None:
    from web.state import workspace

    with app.app_context():
        assert workspace().revoke_token(tokens["staff"])
    assert client.get("/api/v1/status", headers=bearer(tokens["staff"])).status_code == 401


def test_openapi_describes_every_api_route(client, app) -> None:
    """Every /api/v1 rule of the app (whichever blueprint adds it) is documented, and nothing else."""
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")

    def shape(path: str) -> str:
        return re.sub(r"<[^>]+>|{[^}]+}", "{}", path)

    routes = {(shape(rule.rule.removeprefix("/api/v1")), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(shape(path), method) for path, ops in doc["paths"].items() for method in ops}
    assert routes == documented


# errors: JSON with the right status for every failure under /api/, a page elsewhere -----------
def test_cypher_params_of_the_wrong_shape_are_400(client, tokens) -> None:
    h = bearer(tokens["researcher"])
    for params in (5, [1, 2], True, 1.5, [{"a": 1}]):
        r = client.post("/api/v1/cypher", json={"cypher": "RETURN $v AS v", "params": params}, headers=h)
        assert r.status_code == 400 and "params" in r.get_json()["error"], params
    for params in ({"v": 1}, "v=1", ["v=1"]):
        r = client.post("/api/v1/cypher", json={"cypher": "RETURN $v AS v", "params": params}, headers=h)
        assert r.status_code == 200 and r.get_json()["rows"] == [[1]], (params, r.get_json())


def test_bodies_too_big_or_too_deep_are_413_json(client, tokens, ids) -> None:
    h = {**bearer(tokens["staff"]), "Content-Type": "application/json"}
    shortlist = f"/api/v1/projects/{ids['project']}/shortlist"
    deep = "[" * 5000 + "]" * 5000
    for url, body in (("/api/v1/cypher", '{"cypher": "RETURN 1", "params": ' + deep + "}"),
                      (shortlist, '{"org_id": ' + deep + "}")):
        r = client.post(url, data=body, headers=h)
        assert r.status_code == 413 and r.is_json, (url, r.status_code)
        assert r.get_json()["error"] == "The JSON body is nested deeper than 100 levels; it was not read."
    # 100 levels are allowed, and brackets inside strings nest nothing
    at_limit = client.post(shortlist, data='{"org_id": "no-such-org", "note": ' + "[" * 99 + "]" * 99 + "}", headers=h)
    assert at_limit.status_code == 404 and "no organisation" in at_limit.get_json()["error"]
    in_string = client.post(shortlist, data=json.dumps({"org_id": "no-such-org", "note": deep}), headers=h)
    assert in_string.status_code == 400 and "note" in in_string.get_json()["error"]
    big = client.post(shortlist, data='{"note": "' + "x" * (1024 * 1024) + '"}', headers=h)
    assert big.status_code == 413 and big.get_json()["error"] == "A request body may have at most 1,048,576 bytes."


def test_http_errors_under_api_are_json(client, tokens) -> None:
    h = bearer(tokens["staff"])
    wrong_method = client.delete("/api/v1/status", headers=h)
    assert wrong_method.status_code == 405 and wrong_method.get_json() == {"error": "Method not allowed"}
    assert "GET" in wrong_method.headers["Allow"], "a 405 says which methods the URL takes"
    assert client.get("/api/v1/no/such/route", headers=h).get_json() == {"error": "No such page or record"}


def test_a_bug_is_a_logged_json_500_or_an_error_page(home, caplog) -> None:
    """An exception no view handles: the client learns only that it failed; the log has the rest."""
    from conftest import USERS, make_app

    app = make_app(home, TESTING=False)

    def boom():
        raise RuntimeError("internal detail 4711")

    app.add_url_rule("/api/v1/test-boom", "api_boom", boom)
    app.add_url_rule("/test-boom", "page_boom", boom)
    try:
        client = app.test_client()
        username, password = USERS["staff"]
        client.post("/login", data={"username": username, "password": password})
        with caplog.at_level(logging.ERROR):
            api = client.get("/api/v1/test-boom")
            page = client.get("/test-boom", headers={"Accept-Language": "en"})
        assert api.status_code == 500 and api.get_json() == {"error": "Something went wrong on the server; it has been logged."}
        assert page.status_code == 500 and page.mimetype == "text/html"
        assert "it has been logged" in page.get_data(as_text=True) and "4711" not in page.get_data(as_text=True)
        assert sum("4711" in (r.exc_text or "") for r in caplog.records) == 2, "both tracebacks are logged"
    finally:
        state = app.extensions["stakegraph"]
        state.applier.wait(120)
        state.live.close()


def test_pages_refuse_big_and_deep_bodies_with_a_page(client, auth) -> None:
    auth.login("researcher")
    en = {"Accept-Language": "en"}
    deep = client.post("/console/run", data="[" * 5000 + "]" * 5000, content_type="application/json", headers=en)
    text = deep.get_data(as_text=True)
    assert deep.status_code == 413 and deep.mimetype == "text/html"
    assert "nested deeper than 100 levels" in text and "Traceback" not in text
    # the console's own script asks for JSON, and gets the message in the user's language
    script = client.post("/console/run", data="[" * 5000 + "]" * 5000, content_type="application/json",
                         headers={"Accept": "application/json", "Accept-Language": "zh"})
    assert script.status_code == 413 and script.get_json() == {"error": "JSON 嵌套超过 100 层，未予处理。"}
    big = client.post("/login", data={"username": "x" * (2 * 1024 * 1024), "password": "p"}, headers=en)
    assert big.status_code == 413 and "at most 1,048,576 bytes" in big.get_data(as_text=True)


def test_json_depth_scan() -> None:
    from web.errors import json_too_deep

    assert not json_too_deep(b"[" * 100 + b"]" * 100, 100)
    assert json_too_deep(b"[" * 101 + b"]" * 101, 100)
    assert json_too_deep(b'{"a": ' * 101 + b"1" + b"}" * 101, 100)
    assert not json_too_deep(b'["' + b"[" * 500 + b'"]', 100), "brackets in a string"
    assert not json_too_deep(b'["\\"' + b"[" * 500 + b'"]', 100), "an escaped quote does not end the string"
    assert not json_too_deep(b"[]" * 5000, 100), "many brackets, shallow"

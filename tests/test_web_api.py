"""The JSON API: bearer tokens, JSON errors with the right codes, the OpenAPI document."""

from __future__ import annotations

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

"""Every route of the app, for every role: anonymous users are sent to /login (the API answers
401), researchers read but cannot change anything (403), staff and admins can.

The table below names each endpoint once; a test checks the table covers the app's url_map, so
a new route without a role check here fails the suite.
"""

from __future__ import annotations

import pytest

ANON, RESEARCHER, STAFF, ADMIN = "anonymous", "researcher", "staff", "admin"
ROLES = (ANON, RESEARCHER, STAFF, ADMIN)
READ = {ANON: 302, RESEARCHER: 200, STAFF: 200, ADMIN: 200}
EDIT_PAGE = {ANON: 302, RESEARCHER: 403, STAFF: 200, ADMIN: 200}
EDIT_POST = {ANON: 302, RESEARCHER: 403, STAFF: 303, ADMIN: 303}  # 303: a form error sends the user back
ADMIN_ONLY = {ANON: 302, RESEARCHER: 403, STAFF: 403, ADMIN: 200}
ADMIN_POST = {ANON: 302, RESEARCHER: 403, STAFF: 403, ADMIN: 303}
API_READ = {ANON: 401, RESEARCHER: 200, STAFF: 200, ADMIN: 200}

# endpoint -> (method, url template, expected status per role). {org}, {project} are filled in.
ROUTES = {
    "auth.login": ("GET", "/login", {r: 200 for r in ROLES}),
    "auth.logout": ("POST", "/logout", {r: 302 for r in ROLES}),
    "auth.set_lang": ("GET", "/lang/en?next=/search", {r: 302 for r in ROLES}),
    "static": ("GET", "/static/css/app.css", {r: 200 for r in ROLES}),
    "search.home": ("GET", "/", READ),
    "search.search_page": ("GET", "/search?q=SMIC", READ),
    "entities.entity": ("GET", "/entities/{org}", READ),
    "entities.print_profile": ("GET", "/entities/{org}/print", READ),
    "entities.graph_json": ("GET", "/entities/{org}/graph.json", READ),
    "entities.new": ("GET", "/entities/new/Organization", EDIT_PAGE),
    "entities.edit": ("GET", "/entities/{org}/edit", EDIT_PAGE),
    "entities.add_contact": ("POST", "/entities/{org}/contacts", EDIT_POST),
    "entities.add_decision": ("POST", "/entities/{org}/decisions", EDIT_POST),
    "projects.pipeline": ("GET", "/projects", READ),
    "projects.project": ("GET", "/projects/{project}", READ),
    "projects.new": ("GET", "/projects/new", EDIT_PAGE),
    "projects.edit": ("GET", "/projects/{project}/edit", EDIT_PAGE),
    "projects.shortlist_action": ("POST", "/projects/{project}/shortlist", EDIT_POST),
    "projects.involve": ("POST", "/projects/{project}/involve", {ANON: 302, RESEARCHER: 403, STAFF: 404, ADMIN: 404}),
    "projects.export_csv": ("GET", "/projects/{project}/export.csv", READ),
    "projects.export_xlsx": ("GET", "/projects/{project}/export.xlsx", READ),
    "api.openapi": ("GET", "/api/v1/openapi.json", {r: 200 for r in ROLES}),
    "api.search": ("GET", "/api/v1/search?q=SMIC", API_READ),
    "api.entity": ("GET", "/api/v1/entities/{org}", API_READ),
    "api.neighbours": ("GET", "/api/v1/entities/{org}/neighbours", API_READ),
    "api.projects": ("GET", "/api/v1/projects", API_READ),
    "api.project": ("GET", "/api/v1/projects/{project}", API_READ),
    "api.recommendations": ("GET", "/api/v1/projects/{project}/recommendations", None),
    "api.shortlist": ("GET", "/api/v1/projects/{project}/shortlist", API_READ),
    "api.status": ("GET", "/api/v1/status", API_READ),
    "admin.users": ("GET", "/admin/users", ADMIN_ONLY),
    "admin.save_user": ("POST", "/admin/users", ADMIN_POST),
    "admin.toggle_user": ("POST", "/admin/users/nobody/disable", ADMIN_POST),
    "admin.create_token": ("POST", "/admin/tokens", ADMIN_POST),
    "admin.revoke_token": ("POST", "/admin/tokens/999/revoke", {ANON: 302, RESEARCHER: 403, STAFF: 403, ADMIN: 302}),
    "admin.audit": ("GET", "/admin/audit", ADMIN_ONLY),
    "relations.edit_relation": ("POST", "/entities/{org}/relations", {ANON: 302, RESEARCHER: 403, STAFF: 400, ADMIN: 400}),
    "relations.undo": ("POST", "/entities/{org}/history/999999/undo", {ANON: 302, RESEARCHER: 403, STAFF: 403, ADMIN: 404}),
    "brief.brief": ("GET", "/projects/{project}/brief", READ),
    "brief.brief_xlsx": ("GET", "/projects/{project}/brief.xlsx", READ),
    "changes.changes_page": ("GET", "/changes", READ),
    "api.relation_edit": ("POST", "/api/v1/entities/{org}/relations", {r: 401 for r in ROLES}),
    "chain.chain_page": ("GET", "/chain?region=Wuxi", READ),
    "chain.chain_xlsx": ("GET", "/chain.xlsx?region=Wuxi", READ),
    "chain.api_chain": ("GET", "/api/v1/chain?region=Wuxi", API_READ),
    "review.page": ("GET", "/review", EDIT_PAGE),
    "review.decide": ("POST", "/review/decide", EDIT_POST),  # no fields: the form error sends staff back
}
# Routes that other areas add later (console, chain map) must be listed here by their authors.
OPTIONAL_PREFIXES = ("console.", "chain.")


@pytest.fixture
def ids(view) -> dict[str, str]:
    from matching.search import search

    org = search(view, "SMIC", labels=["Organization"], limit=1)[0].id
    project = next(n.id for batch in view.iter_nodes("Project") for n in batch)
    return {"org": org, "project": project}


def test_every_route_is_in_the_table(app) -> None:
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    missing = sorted(e for e in endpoints - set(ROUTES) if not e.startswith(OPTIONAL_PREFIXES))
    assert not missing, f"add these endpoints to ROUTES with their role expectations: {missing}"
    assert not set(ROUTES) - endpoints, "ROUTES names endpoints the app does not have"


@pytest.mark.parametrize("role", ROLES)
def test_route_access_by_role(client, auth, ids, role: str) -> None:
    if role != ANON:
        assert auth.login(role).status_code == 302
    for endpoint, (method, url, expected) in ROUTES.items():
        if endpoint == "auth.logout":
            continue  # would end the session for the routes after it; tested in test_web_auth
        url = url.format(**ids)
        response = client.open(url, method=method, data={})
        if expected is None:  # depends on whether the recommender is installed: 200 or 503, never 500
            want = {401} if role == ANON else {200, 503}
            assert response.status_code in want, (endpoint, role, response.status_code)
            continue
        assert response.status_code == expected[role], (endpoint, url, role, response.status_code, response.data[:300])
        if role == ANON and expected[role] == 302 and endpoint not in ("auth.set_lang",):
            assert "/login" in response.headers["Location"], endpoint
        if url.startswith("/api/") and response.status_code >= 400:
            assert response.is_json and "error" in response.get_json(), endpoint


def test_anonymous_api_gets_json_401(client) -> None:
    response = client.get("/api/v1/search?q=JCET")
    assert response.status_code == 401
    assert response.is_json
    assert "error" in response.get_json()


def test_contract_check_with_environment_home(home, monkeypatch) -> None:
    """What the project's contract check does: STAKEGRAPH_HOME from the environment only."""
    from web import create_app

    monkeypatch.setenv("STAKEGRAPH_HOME", str(home))
    client = create_app({"TESTING": True}).test_client()
    assert client.get("/").status_code != 200
    assert client.get("/search?q=JCET").status_code != 200
    api = client.get("/api/v1/search?q=JCET")
    assert api.status_code == 401 and api.is_json
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_a_new_graph_version_loads_its_vector_index_in_the_background(client, auth, app) -> None:
    """The first page after a refresh starts loading the new version's indexes, so the first
    recommendation does not wait for them (seconds at a million organisations)."""
    import time
    from pathlib import Path

    from matching import vectors
    from matching.vectors import VECTORS_DIR

    vectors._cache.clear()
    auth.login("staff")
    assert client.get("/search?q=SMIC").status_code == 200
    folder = str(Path(app.extensions["stakegraph"].live.get().data_dir) / VECTORS_DIR)
    deadline = time.monotonic() + 60
    while folder not in vectors._cache and time.monotonic() < deadline:
        time.sleep(0.1)
    assert folder in vectors._cache

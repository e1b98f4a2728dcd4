"""The breakdown on the project page and in the API: fit and policy apart, the model that ranked,
one line per signal in the glossary, the kind filters, the illustrative mark."""

from __future__ import annotations

import pytest


@pytest.fixture
def project(view) -> str:
    return sorted(n.id for batch in view.iter_nodes("Project") for n in batch)[0]


@pytest.mark.slow
def test_project_page_shows_the_breakdown_and_the_glossary(client, auth, view, project):
    from matching.recommend import POLICY_SIGNALS, SIGNALS
    from web.messages import MESSAGES

    auth.login("researcher")
    page = client.get(f"/projects/{project}").get_data(as_text=True)
    assert 'id="recs-model"' in page and 'id="signal-glossary"' in page and "policy-line" in page
    for name in (*SIGNALS, *POLICY_SIGNALS):
        assert MESSAGES[f"signal_help.{name}"][1] in page or MESSAGES[f"signal_help.{name}"][0] in page
    if "illustrative" in str(view.get(project).props.get("source")):
        assert 'id="illustrative-badge"' in page


@pytest.fixture
def bearer(app) -> dict[str, str]:
    from web.state import workspace

    with app.app_context():
        return {"Authorization": f"Bearer {workspace().create_token('researcher1', 'test-recs')}"}


@pytest.mark.slow
def test_kind_filters_in_page_and_api(client, auth, project, bearer):
    api = f"/api/v1/projects/{project}/recommendations"
    body = client.get(f"{api}?exclude_kind=listed_company&k=20", headers=bearer).get_json()
    assert body["recommendations"] and not any(r["kind"] == "listed_company" for r in body["recommendations"])
    first = body["recommendations"][0]
    assert {"fit", "policy", "policy_signals", "model"} <= set(first)
    assert abs(first["fit"] + first["policy"] - first["score"]) < 1e-3
    asked = client.get(f"{api}?kind=government_body", headers=bearer).get_json()["recommendations"]
    assert asked and all(r["kind"] == "government_body" for r in asked)
    default = client.get(f"{api}?k=20", headers=bearer).get_json()["recommendations"]
    assert not any(r["kind"] in ("government_body", "park") for r in default)
    auth.login("researcher")
    assert client.get(f"/projects/{project}?exclude_kind=nonsense").status_code == 400


@pytest.mark.slow
def test_the_kept_recommendations_table_carries_each_sessions_token_and_the_shortlist(home, project):
    """The table is rendered once per graph version, project, filters, language, edit right and
    shortlist (web/rec_table.py): a second session must get its own CSRF token in it, never the
    first one's, and a shortlisting must show at once."""
    import re

    from tests.conftest import USERS, _close, make_app
    from web import rec_table

    def tokens(page: str) -> set[str]:
        return set(re.findall(r'name="csrf_token" value="([^"]+)"', page))

    app = make_app(home, WTF_CSRF_ENABLED=True)
    try:
        a, b = app.test_client(), app.test_client()
        for c, role in ((a, "staff"), (b, "admin")):
            (token,) = tokens(c.get("/login").get_data(as_text=True))
            user, password = USERS[role]
            assert c.post("/login", data={"username": user, "password": password, "csrf_token": token}).status_code == 302
        page_a = a.get(f"/projects/{project}").get_data(as_text=True)
        kept = dict(rec_table._cache)
        page_b = b.get(f"/projects/{project}").get_data(as_text=True)
        assert dict(rec_table._cache) == kept, "the second session's table came from the cache"
        table_a, table_b = (p[p.index('id="recs-table"'):p.index("</table>", p.index('id="recs-table"'))]
                            for p in (page_a, page_b))
        assert "shortlist-form" in table_a and rec_table._TOKEN_MARK not in page_a + page_b
        assert len(tokens(page_a)) == len(tokens(page_b)) == 1 and tokens(page_a) != tokens(page_b)
        assert tokens(table_a) == tokens(page_a)
        org = re.search(r'<tr class="rec status-none" data-org="([^"]+)"', table_a).group(1)
        done = a.post(f"/projects/{project}/shortlist",
                      data={"org_id": org, "action": "shortlisted", "note": "", "csrf_token": tokens(table_a).pop()})
        assert done.status_code == 302
        for c in (a, b):
            assert f'<tr class="rec status-shortlisted" data-org="{org}">' in c.get(f"/projects/{project}").get_data(as_text=True)
    finally:
        _close(app)

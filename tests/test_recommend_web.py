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

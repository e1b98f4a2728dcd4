"""Admin pages: users and roles, tokens issued and revoked in the UI, the audit log."""

from __future__ import annotations


def test_admin_manages_users(client, auth, app) -> None:
    from web.state import workspace

    auth.login("admin")
    assert client.get("/admin/users").status_code == 200
    saved = client.post("/admin/users", data={"username": "analyst", "role": "researcher", "password": "long-enough-pw"})
    assert saved.status_code == 302
    with app.app_context():
        assert workspace().user("analyst")["role"] == "researcher"
    short = client.post("/admin/users", data={"username": "bob", "role": "staff", "password": "short"})
    assert short.status_code == 303
    bad_name = client.post("/admin/users", data={"username": "<b>", "role": "staff", "password": "long-enough-pw"})
    assert bad_name.status_code == 303
    bad_role = client.post("/admin/users", data={"username": "bob", "role": "root", "password": "long-enough-pw"})
    assert bad_role.status_code == 303
    with app.app_context():
        assert workspace().user("bob") is None
    client.post("/admin/users/analyst/disable", data={"disable": "1"})
    with app.app_context():
        assert workspace().user("analyst")["disabled"] == 1
    assert client.post("/admin/users/admin/disable", data={"disable": "1"}).status_code == 303


def test_admin_issues_and_revokes_tokens(client, auth, app) -> None:
    from web.state import workspace

    auth.login("admin")
    page = client.post("/admin/tokens", data={"username": "staff1", "name": "crm sync"}).get_data(as_text=True)
    token = page.split('<code class="token">')[1].split("</code>")[0]
    assert token.startswith("sg_")
    assert client.get("/api/v1/status", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with app.app_context():
        token_id = [t for t in workspace().tokens() if t["name"] == "crm sync"][0]["id"]
    client.post(f"/admin/tokens/{token_id}/revoke")
    assert client.get("/api/v1/status", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.post("/admin/tokens", data={"username": "ghost"}).status_code == 303


def test_audit_log_lists_changes(client, auth) -> None:
    auth.login("admin")
    client.post("/admin/users", data={"username": "analyst", "role": "researcher", "password": "long-enough-pw"})
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "user.add" in page and "analyst" in page and "login" in page


def test_only_admins(client, auth) -> None:
    auth.login("staff")
    assert client.get("/admin/users").status_code == 403
    assert client.post("/admin/users", data={"username": "x", "role": "admin", "password": "long-enough-pw"}).status_code == 403

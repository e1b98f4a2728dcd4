"""Login, logout, rate limiting, cookies, CSRF and the security headers."""

from __future__ import annotations

import re

from conftest import USERS, make_app


def test_anonymous_is_redirected_to_login(client) -> None:
    for url in ("/", "/search?q=JCET", "/projects", "/admin/users", "/entities/anything"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login"), url
    assert client.get("/login").status_code == 200


def test_login_and_logout(client, auth, app) -> None:
    from web.state import workspace

    response = auth.login("staff")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302
    with app.app_context():
        actions = [a["action"] for a in workspace().audit_log(10)]
    assert "login" in actions and "logout" in actions


def test_wrong_password_and_next_redirect(client, auth) -> None:
    assert auth.login("staff", password="wrong-password").status_code == 401
    assert client.get("/").status_code == 302
    ok = client.post("/login?next=/projects", data=dict(zip(("username", "password"), USERS["staff"], strict=True)))
    assert ok.headers["Location"] == "/projects"


def test_no_open_redirect(client) -> None:
    data = dict(zip(("username", "password"), USERS["staff"], strict=True))
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = client.post("/login", data={**data, "next": target})
        assert response.headers["Location"] == "/", target


def test_failed_logins_are_rate_limited(client, auth, settings) -> None:
    for _ in range(settings.login_max_failures):
        assert auth.login("staff", password="wrong-password").status_code == 401
    locked = auth.login("staff")  # even the right password is refused for 15 minutes
    assert locked.status_code == 429
    assert client.get("/").status_code == 302


def test_disabled_user_is_logged_out(client, auth, app) -> None:
    from web.state import workspace

    auth.login("staff")
    with app.app_context():
        workspace().execute("UPDATE users SET disabled=1 WHERE username='staff1'")
    assert client.get("/").status_code == 302


def test_secure_cookie_setting(home) -> None:
    app = make_app(home, STAKEGRAPH_SETTINGS={"secure_cookies": True})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    app.extensions["stakegraph"].live.close()


def test_csrf_is_enforced(home) -> None:
    app = make_app(home, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    data = dict(zip(("username", "password"), USERS["staff"], strict=True))
    assert client.post("/login", data=data).status_code == 400  # no token
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={**data, "csrf_token": token}).status_code == 302
    assert client.post("/projects/new", data={"name_zh": "x"}).status_code == 400
    app.extensions["stakegraph"].live.close()


def test_security_headers(client) -> None:
    headers = client.get("/login").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_oversized_request_is_refused(client, auth) -> None:
    auth.login("staff")
    response = client.post("/projects/new", data={"description": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413


def _session_cookie(client) -> str:
    return client.get_cookie("stakegraph_session").value


def _client_with(app, cookie: str):
    other = app.test_client()
    other.set_cookie("stakegraph_session", cookie)
    return other


def test_old_session_cookie_is_refused_after_logout(client, auth, app) -> None:
    """Logout ends the session everywhere: a copy of the cookie taken before does not log in."""
    auth.login("staff")
    copied = _session_cookie(client)
    assert _client_with(app, copied).get("/").status_code == 200
    auth.logout()
    assert _client_with(app, copied).get("/").status_code == 302
    assert _client_with(app, copied).get("/api/v1/status").status_code == 401
    auth.login("staff")
    assert client.get("/").status_code == 200, "a new login works"


def test_password_reset_ends_the_users_sessions(client, auth, app) -> None:
    auth.login("staff")
    assert client.get("/").status_code == 200
    admin = app.test_client()
    admin.post("/login", data=dict(zip(("username", "password"), USERS["admin"], strict=True)))
    reset = admin.post("/admin/users", data={"username": "staff1", "role": "staff", "password": "a-new-password-456"})
    assert reset.status_code == 302
    assert client.get("/").status_code == 302, "the staff member's old session is over"
    assert admin.get("/admin/users").status_code == 200, "the admin's own session is untouched"
    # The admin changing their own password stays logged in on the page that changed it.
    own = admin.post("/admin/users", data={"username": "admin", "role": "admin", "password": "admin-password-456"})
    assert own.status_code == 302 and admin.get("/admin/users").status_code == 200


def test_cli_password_change_ends_sessions(client, auth, app) -> None:
    from web.state import workspace

    auth.login("staff")
    with app.app_context():
        workspace().add_user("staff1", "changed-password-789", "staff")
    assert client.get("/").status_code == 302


def test_api_token_survives_logout(client, auth, app) -> None:
    from web.state import workspace

    with app.app_context():
        token = workspace().create_token("staff1", "script")
    auth.login("staff")
    auth.logout()
    response = client.get("/api/v1/status", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_old_workspace_gets_the_session_column(tmp_path) -> None:
    """A workspace.db written before sessions had a generation is migrated when opened."""
    import sqlite3

    from kg.workspace import Workspace

    path = tmp_path / "workspace.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL, "
                "created REAL NOT NULL, disabled INTEGER NOT NULL DEFAULT 0)")
    old.commit()
    old.close()
    ws = Workspace(path)
    ws.add_user("old1", "old-password-123", "staff")
    assert ws.user("old1")["session_gen"] == 0
    ws.end_sessions("old1")
    assert Workspace(path).user("old1")["session_gen"] == 1

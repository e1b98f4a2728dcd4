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

"""Login, logout, language, and the gate every other page passes through.

Users, password hashes and failed-login counts live in the workspace (kg.workspace). The session
cookie holds the username and the user's session generation; the user row is re-read on every
request, so disabling a user or changing a role takes effect at once, and a cookie from before a
logout or a password change (which bump the generation) no longer logs anyone in, even if it was
copied. Anonymous requests to any page but /login are redirected there; the API answers 401
itself (web/api.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, session, url_for

from web import validation as v
from web.i18n import LANGS, t
from web.state import settings, workspace

bp = Blueprint("auth", __name__)

PUBLIC_ENDPOINTS = {"auth.login", "auth.set_lang", "static", "api.openapi"}
FAILURE_WINDOW_S = 900
EDIT_ROLES = ("admin", "staff")


def current_user() -> dict[str, Any] | None:
    return g.get("user")


def can_edit() -> bool:
    user = current_user()
    return bool(user and user["role"] in EDIT_ROLES)


def roles_required(*roles: str, reason: str = "error.forbidden") -> Callable:
    """403 unless the logged-in user has one of the roles (the gate already demanded a login);
    `reason` is the message key that says why, so a staff member kept out of the console is
    not told that read-only users cannot change data."""

    def wrap(fn: Callable) -> Callable:
        @wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None or user["role"] not in roles:
                abort(403, t(reason))
            return fn(*args, **kwargs)

        return inner

    return wrap


edit_required = roles_required(*EDIT_ROLES, reason="error.read_only")
admin_required = roles_required("admin", reason="error.admin_only")


@bp.before_app_request
def login_gate() -> Any:
    """Pages redirect anonymous users to /login; everything under /api/ answers 401 JSON here,
    so an API route added by any blueprint is protected even if it forgets its decorator."""
    g.user = None
    username = session.get("user")
    if username:
        user = workspace().user(username)
        if user and not user["disabled"] and session.get("gen") == user["session_gen"]:
            g.user = user
        else:
            session.pop("user", None)
            session.pop("gen", None)
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if request.path.startswith("/api/"):
        return None if request.endpoint is None else api_gate()
    if g.user is not None or request.endpoint is None:
        return None  # a 404 for an unknown URL says nothing a login would protect
    return redirect(url_for("auth.login", next=_local_path(request.full_path)))


def api_gate() -> Any:
    """Set g.api_user from a bearer token, or from the session for reads; else a 401 response.

    Writes need a token: the API is exempt from CSRF, so a cookie alone must not be able to
    change anything.
    """
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        user = workspace().token_user(header[7:].strip())
        if user is None:
            return _json_401("invalid or revoked token")
    elif g.user is not None and request.method in ("GET", "HEAD"):
        user = g.user
    else:
        return _json_401("authentication required: send 'Authorization: Bearer <token>'")
    g.api_user = user
    return None


def _json_401(message: str) -> Any:
    return jsonify({"error": message}), 401


def _local_path(target: str | None) -> str | None:
    """Only paths on this site are redirect targets: one leading "/", no "//" in the path, no
    backslash and no control character anywhere.

    Browsers drop CR, LF and tab from a Location and read a backslash as "/", so "/\\evil" or
    "/<CR><LF>//evil" would become "//evil", another site; and CR/LF cannot go in a header at all.
    """
    if not target or not target.startswith("/") or "\\" in target:
        return None
    if any(unicodedata.category(c)[0] == "C" or c in "\u2028\u2029" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "//" in parts.path:
        return None
    return target.rstrip("?") or "/"


def _client_addr() -> str:
    return request.remote_addr or "-"


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_url = _local_path(request.values.get("next")) or url_for("search.home")
    if request.method == "GET":
        return render_template("login.html", next=next_url)
    ws = workspace()
    username = request.form.get("username", "").strip()[: v.MAX_USERNAME_CHARS]
    password = request.form.get("password", "")[: v.MAX_PASSWORD_CHARS]
    addr = _client_addr()
    attempt = ws.attempt_login(username, password, addr, settings().login_max_failures, FAILURE_WINDOW_S)
    if attempt.outcome == "locked":
        ws.audit(username, "login.locked", addr)
        flash(t("login.locked"), "error")
        return render_template("login.html", next=next_url, username=username), 429
    user = attempt.user
    if user is None:
        ws.audit(username or None, "login.failed", addr)
        flash(t("login.failed"), "error")
        return render_template("login.html", next=next_url, username=username), 401
    lang = session.get("lang")
    session.clear()  # a fresh session on login: no fixation
    if lang:
        session["lang"] = lang
    session["user"] = user["username"]
    session["gen"] = user["session_gen"]
    ws.audit(user["username"], "login", addr)
    return redirect(next_url)


@bp.post("/logout")
def logout() -> Any:
    """Ends every session of the user, not just this cookie: a copy of it stops working too."""
    user = current_user()
    if user:
        workspace().end_sessions(user["username"])
        workspace().audit(user["username"], "logout", _client_addr())
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.login"))


@bp.get("/lang/<code>")
def set_lang(code: str) -> Any:
    """Only changes the session's language, so a plain link (no form, no CSRF token) is safe."""
    if code not in LANGS:
        abort(404)
    session["lang"] = code
    return redirect(_local_path(request.args.get("next")) or url_for("search.home"))

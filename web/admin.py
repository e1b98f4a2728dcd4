"""Admin pages: users and roles, API tokens (issue and revoke), and the audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from kg.workspace import ROLES
from web import validation as v
from web import workspace_ops as ops
from web.auth import admin_required, current_user
from web.i18n import t
from web.staff_edits import flash_error
from web.state import workspace

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_PAGE = 200


@bp.get("/users")
@admin_required
def users() -> Any:
    return render_template("admin_users.html", users=workspace().users(), roles=ROLES, tokens=workspace().tokens(),
                           new_token=None)


@bp.post("/users")
@admin_required
def save_user() -> Any:
    """Create a user or change an existing user's role and password (the password is required)."""
    try:
        username = v.pattern(request.form.get("username"), "username", v.USERNAME, "error.username")
        if not username:
            raise v.FormError("username", "error.required")
        role = v.choice(request.form.get("role"), "role", ROLES, required=True)
        password = request.form.get("password", "")
        if not v.MIN_PASSWORD_CHARS <= len(password) <= v.MAX_PASSWORD_CHARS:
            raise v.FormError("password", "error.password_length", min=v.MIN_PASSWORD_CHARS, max=v.MAX_PASSWORD_CHARS)
    except v.FormError as exc:
        flash_error(exc)
        return redirect(url_for("admin.users")), 303
    ws = workspace()
    existed = ws.user(username) is not None
    ws.add_user(username, password, role)
    if username == current_user()["username"]:
        # The new password ended every session of this user; the one that set it stays in.
        session["gen"] = ws.user(username)["session_gen"]
    ws.audit(current_user()["username"], "user.update" if existed else "user.add", username, {"role": role})
    flash(t("admin.user_saved", name=username), "ok")
    return redirect(url_for("admin.users"))


@bp.post("/users/<username>/disable")
@admin_required
def toggle_user(username: str) -> Any:
    disable = request.form.get("disable") == "1"
    if disable and username == current_user()["username"]:
        flash(t("admin.cannot_disable_self"), "error")
        return redirect(url_for("admin.users")), 303
    if not ops.set_disabled(workspace(), username, disable, current_user()["username"]):
        flash(t("error.unknown_id"), "error")
        return redirect(url_for("admin.users")), 303
    return redirect(url_for("admin.users"))


@bp.post("/tokens")
@admin_required
def create_token() -> Any:
    """The token is shown once, on this response; only its hash is stored."""
    ws = workspace()
    try:
        username = v.text(request.form.get("username"), "username", v.MAX_USERNAME_CHARS, required=True)
        name = v.name(request.form.get("name"), "name")[: v.MAX_TOKEN_NAME_CHARS] or "api"
        if ws.user(username) is None:
            raise v.FormError("username", "error.unknown_id")
    except v.FormError as exc:
        flash_error(exc)
        return redirect(url_for("admin.users")), 303
    token = ws.create_token(username, name)
    ws.audit(current_user()["username"], "token.create", username, {"name": name})
    return render_template("admin_users.html", users=ws.users(), roles=ROLES, tokens=ws.tokens(),
                           new_token={"token": token, "username": username, "name": name})


@bp.post("/tokens/<int:token_id>/revoke")
@admin_required
def revoke_token(token_id: int) -> Any:
    ws = workspace()
    if ws.revoke_token(str(token_id)):
        ws.audit(current_user()["username"], "token.revoke", str(token_id))
        flash(t("admin.token_revoked"), "ok")
    else:
        flash(t("error.unknown_id"), "error")
    return redirect(url_for("admin.users"))


@bp.get("/audit")
@admin_required
def audit() -> Any:
    return render_template("admin_audit.html", rows=workspace().audit_log(AUDIT_PAGE))

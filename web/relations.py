"""Relation edits from the entity page (add, end, retract a tie; remove a sector tag is retracting
its ACTIVE_IN) and an admin's undo of an edit in the entity's history.

The form posts here; a refused edit re-renders the entity page with the message beside the
field and status 400, and records nothing. The API does the same through web.api.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for

from web import relation_edits as rel
from web import validation as v
from web import workspace_ops as ops
from web.auth import admin_required, current_user, edit_required
from web.i18n import t
from web.profile import load_profile
from web.staff_edits import errors_for_page, saved
from web.state import settings, view, workspace

bp = Blueprint("relations", __name__, url_prefix="/entities")


@bp.post("/<path:node_id>/relations")
@edit_required
def edit_relation(node_id: str) -> Any:
    from web.entities import render_entity

    p = load_profile(view(), workspace(), node_id, settings().neighbour_limit, settings().web_neighbour_cache)
    if p is None:
        abort(404)
    try:
        edit = rel.parse(request.form, node_id, view(), workspace())
    except v.FormError as exc:
        return render_entity(p, rel_values=request.form, rel_errors=errors_for_page([exc])), 400
    rel.record(workspace(), current_user()["username"], edit)
    return saved(url_for("entities.entity", node_id=node_id) + "#relations")


@bp.post("/<path:node_id>/history/<int:audit_id>/undo")
@admin_required
def undo(node_id: str, audit_id: int) -> Any:
    """Undo one edit by recording its opposite (the log only grows): a field edit sets the
    values back, an added relation is withdrawn, a retraction is restored."""
    row = ops.audit_row(workspace(), audit_id)
    if row is None or audit_id in ops.undone_ids(workspace()):
        abort(404)
    target, action, detail = row["target"] or "", row["action"], row["detail"] or {}
    user = current_user()["username"]
    if action in ("edge.add", "edge.retract") and node_id in target.split("|")[::2]:
        s, rel_type, tgt = target.split("|")
        op = "withdraw" if action == "edge.add" else "restore"
        ops.record_edge_edit(workspace(), user, op, rel_type, s, tgt, {}, "", undo_of=audit_id)
    elif action.startswith("edit.") and target == node_id and isinstance(detail.get("old"), dict):
        label = action.split(".", 1)[1]
        ops.record_changes(workspace(), user, nodes=[(label, node_id, dict(detail["old"]))],
                           old={node_id: detail.get("new") or {}}, undo_of=audit_id)
    else:
        flash(t("history.cannot_undo"), "error")
        return redirect(url_for("entities.entity", node_id=node_id) + "#history"), 303
    ops.mark_undone(workspace(), audit_id, user)
    return saved(url_for("entities.entity", node_id=node_id) + "#history")

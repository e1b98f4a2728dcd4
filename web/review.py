"""The review page: pairs entity resolution was unsure about, side by side, for staff to judge.

Thin: ingest.resolve.review builds the queue from the published resolution; a decision is a
row of the workspace's decisions table (who and when, web.workspace_ops.add_decision), which the
next refresh reads as a manual override. Staff and admins only; every form carries the CSRF
token like every other form of the app.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from ingest.resolve.review import review_queue
from web import validation as v
from web import workspace_ops as ops
from web.auth import current_user, edit_required
from web.i18n import t
from web.staff_edits import flash_error
from web.state import settings, view, workspace

bp = Blueprint("review", __name__, url_prefix="/review")
PAGE = 50


@bp.get("")
@edit_required
def page() -> Any:
    items = review_queue(view(), settings(), limit=PAGE)
    return render_template("review.html", items=items)


@bp.post("/decide")
@edit_required
def decide() -> Any:
    try:
        a = v.node_id(request.form.get("record_a"), "record_a")
        b = v.node_id(request.form.get("record_b"), "record_b")
        judgement = v.choice(request.form.get("judgement"), "judgement", ops.JUDGEMENTS, required=True)
        note = v.text(request.form.get("note"), "note", v.MAX_NOTE_CHARS, multiline=False)
    except v.FormError as exc:
        flash_error(exc)
        return redirect(url_for("review.page")), 303
    if a == b:
        abort(400)
    ops.add_decision(workspace(), a, b, judgement, current_user()["username"], note or "review page")
    flash(t("review.saved"), "ok")
    return redirect(url_for("review.page")), 303

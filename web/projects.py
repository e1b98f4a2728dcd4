"""Projects: the pipeline board, create and edit (with stage history), the project page with its
recommendations, shortlist and dismissals, and the CSV / XLSX exports."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from matching.search import UnknownFilter, index_for
from web import exports, forms
from web import recommendations as recs
from web import validation as v
from web import workspace_ops as ops
from web.auth import can_edit, current_user, edit_required
from web.downloads import attachment
from web.i18n import lang, stated_lang, t
from web.pipeline import STAGES, TIERS, all_projects, board
from web.profile import load_profile
from web.rec_table import recs_table
from web.staff_edits import (
    errors_for_page,
    flash_error,
    linked_sectors,
    saved,
    sector_options,
    sectors_from_form,
)
from web.state import graph_run, settings, view, workspace

bp = Blueprint("projects", __name__, url_prefix="/projects")
SHORTLIST_ACTIONS = ("shortlisted", "dismissed", "restore")


@bp.get("")
def pipeline() -> Any:
    try:
        f = {"tier": v.choice(request.args.get("tier"), "tier", TIERS),
             "stage": v.choice(request.args.get("stage"), "stage", STAGES),
             "owner": v.text(request.args.get("owner"), "owner", v.MAX_SHORT_CHARS),
             "q": v.text(request.args.get("q"), "q", v.MAX_QUERY_CHARS)}
    except v.FormError as exc:
        abort(400, t(exc.key, **exc.params))
    b = board(all_projects(view(), workspace()), **f)
    return render_template("pipeline.html", board=b.lanes, tiers=TIERS, stages=STAGES, counts=b.counts, total=b.total,
                           owners=b.owners, f=f)


def _project_or_404(project_id: str):
    p = load_profile(view(), workspace(), project_id, settings().neighbour_limit, settings().web_neighbour_cache)
    if p is None or p.node.label != "Project":
        abort(404)
    return p


def rec_filters(args: Any) -> dict[str, Any]:
    from web.search import kinds

    chosen = [k for k in args.getlist("kind") if k] if hasattr(args, "getlist") else []
    left_out = [k for k in args.getlist("exclude_kind") if k] if hasattr(args, "getlist") else []
    for k in chosen:
        v.choice(k, "kind", kinds())
    for k in left_out:
        v.choice(k, "exclude_kind", kinds())
    region = v.text(args.get("region"), "region", v.MAX_ID_CHARS)
    try:  # 无锡 → its region id; a made-up region is an error, not an empty list
        resolved = index_for(view()).resolve_filter("region", region) if region else None
    except UnknownFilter:
        raise v.FormError("region", "error.unknown_region", value=region) from None
    return {"k": v.integer(args.get("k"), "k", recs.DEFAULT_K), "kinds": tuple(chosen), "exclude_kinds": tuple(left_out),
            "region": resolved}


def is_illustrative(props: dict[str, Any]) -> bool:
    """A made-up example (its source's tier, or a source named illustrative): marked on every page."""
    return props.get("evidence_tier") == "illustrative" or any(
        "illustrative" in str(x) for x in [props.get("source"), *(props.get("sources") or [])])


def signal_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(fit signals, policy signals) in breakdown order, for the glossary."""
    try:
        from matching.recommend import POLICY_SIGNALS, SIGNALS
    except ImportError:
        return (), ()
    return tuple(SIGNALS), tuple(POLICY_SIGNALS)


def recommendation_state(project_id: str, filters: dict[str, Any], pending_new: bool) -> dict[str, Any]:
    """The recommendations box: list, message when unavailable, and changes since the baseline."""
    out: dict[str, Any] = {"recs": [], "message": None, "changes": None}
    if pending_new:
        out["message"] = t("project.recs_after_apply")
        return out
    try:
        out["recs"] = recs.for_project(view(), settings(), workspace(), project_id, **filters)
    except recs.RecsUnavailable as exc:
        out["message"] = t("project.recs_unavailable") if "not available" in str(exc) else str(exc)
        return out
    if not filters["kinds"] and not filters["exclude_kinds"] and not filters["region"]:
        run_id = graph_run(view()).get("run_id") or view().version
        out["changes"] = recs.snapshot_and_compare(view(), workspace(), project_id, run_id, out["recs"])
    return out


@bp.get("/<path:project_id>")
def project(project_id: str) -> Any:
    p = _project_or_404(project_id)
    try:
        filters = rec_filters(request.args)
    except v.FormError as exc:
        abort(400, t(exc.key, **exc.params))
    ws = workspace()
    items = ops.shortlist(ws, project_id)
    names = view().get_many([i["org_id"] for i in items])
    from web.search import kinds

    status = {i["org_id"]: i["status"] for i in items}
    box = recommendation_state(project_id, filters, p.pending_new)
    table = recs_table(view().version, project_id, filters, box["recs"], status, lang(), can_edit()) if box["recs"] else ""
    return render_template("project.html", p=p, f=filters, **box, recs_table=table,
                           illustrative=is_illustrative(p.props), signal_names=signal_names(),
                           shortlisted=[i for i in items if i["status"] == "shortlisted"],
                           dismissed=[i for i in items if i["status"] == "dismissed"], names=names,
                           kinds=kinds(), history=ops.stage_history(ws, project_id))


@bp.route("/new", methods=["GET", "POST"])
@edit_required
def new() -> Any:
    return _project_form(None)


@bp.route("/<path:project_id>/edit", methods=["GET", "POST"])
@edit_required
def edit(project_id: str) -> Any:
    return _project_form(_project_or_404(project_id))


def _project_form(p: Any) -> Any:
    fields = forms.fields_for("Project")
    current = p.props if p else {}
    linked = set() if p is None or p.pending_new else linked_sectors(p.node.id)
    ctx = {"fields": fields, "node": p.node if p else None, "sectors": sector_options(), "linked": linked}
    if request.method == "GET":
        values = forms.form_values(current, "Project") if p else {"tier": "ordinary", "stage": "lead",
                                                                    "owner": current_user()["username"]}
        return render_template("project_form.html", values=values, errors={}, **ctx)
    values, errors = forms.parse("Project", request.form)
    if p is not None:
        errors = forms.keep_unchanged("Project", request.form, current, values, errors)
    try:
        add_sectors = sectors_from_form(linked)
    except v.FormError as exc:
        errors.append(exc)
        add_sectors = []
    if errors:
        return render_template("project_form.html", values=request.form, errors=errors_for_page(errors), **ctx), 400
    if p is None:
        project_id = v.new_node_id("proj", values.get("name_en"), values.get("name_zh"))
        changes = {k: x for k, x in values.items() if x not in (None, "", [])}
        old_stage = None
    else:
        project_id = p.node.id
        changes = forms.changed(values, current)
        old_stage = current.get("stage")
    if not changes and not add_sectors:
        flash(t("edit.nothing_changed"), "info")
        return redirect(url_for("projects.project", project_id=project_id))
    stage = (project_id, old_stage, changes["stage"]) if changes.get("stage") and changes["stage"] != old_stage else None
    ops.record_changes(workspace(), current_user()["username"],
                       nodes=[("Project", project_id, changes)] if changes else [],
                       edges=[("ACTIVE_IN", project_id, s, {}) for s in add_sectors], stage=stage)
    return saved(url_for("projects.project", project_id=project_id))


@bp.post("/<path:project_id>/shortlist")
@edit_required
def shortlist_action(project_id: str) -> Any:
    p = _project_or_404(project_id)
    try:
        org_id = v.node_id(request.form.get("org_id"), "org_id")
        action = v.choice(request.form.get("action"), "action", SHORTLIST_ACTIONS, required=True)
        note = v.text(request.form.get("note"), "note", v.MAX_NOTE_CHARS, multiline=True)
        org = view().get(org_id)
        if org is None or org.label != "Organization":
            raise v.FormError("org_id", "error.unknown_id")
        if action == "dismissed" and not note:
            raise v.FormError("note", "error.reason_required")
    except v.FormError as exc:
        flash_error(exc)
        return redirect(url_for("projects.project", project_id=p.node.id)), 303
    user = current_user()["username"]
    if action == "restore":
        ops.clear_shortlist(workspace(), project_id, org_id, user)
    else:
        ops.set_shortlist(workspace(), project_id, org_id, action, note, user)
    flash(t(f"shortlist.done.{action}", name=org.display_name()), "ok")
    return redirect(url_for("projects.project", project_id=project_id) + "#recommendations")


@bp.post("/<path:project_id>/involve")
@edit_required
def involve(project_id: str) -> Any:
    """Record that an organisation takes part in the project (INVOLVED_IN), e.g. once it signed."""
    _project_or_404(project_id)
    org_id = request.form.get("org_id", "")
    org = view().get(org_id) if org_id and len(org_id) <= v.MAX_ID_CHARS else None
    if org is None or org.label != "Organization":
        abort(404)
    ops.record_changes(workspace(), current_user()["username"], edges=[("INVOLVED_IN", org_id, project_id, {})])
    return saved(url_for("projects.project", project_id=project_id))


def _export_rows(project_id: str) -> tuple[Any, list[dict[str, Any]]]:
    p = _project_or_404(project_id)
    try:
        recs_list = recs.for_project(view(), settings(), workspace(), project_id)
    except recs.RecsUnavailable:
        recs_list = []
    items = ops.shortlist(workspace(), project_id)
    names = view().get_many([i["org_id"] for i in items])
    return p, exports.rows_for(items, recs_list, names)


def _filename(p: Any, ext: str) -> str:
    return f"{p.node.id}-shortlist-{time.strftime('%Y%m%d')}.{ext}"


@bp.get("/<path:project_id>/export.csv")
def export_csv(project_id: str) -> Response:
    p, rows = _export_rows(project_id)
    return Response(exports.to_csv(rows, stated_lang() or "en"), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": attachment(_filename(p, "csv"))})


@bp.get("/<path:project_id>/export.xlsx")
def export_xlsx(project_id: str) -> Response:
    p, rows = _export_rows(project_id)
    return Response(exports.to_xlsx(rows, p.node.display_name("en"), stated_lang() or "en"),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": attachment(_filename(p, "xlsx"))})

"""JSON API under /api/v1: the data of every page, for scripts and other tools.

Authentication is a bearer token an admin issues (Workspace.create_token), checked for every
/api/ path by web.auth.api_gate. A logged-in browser session may also read (GET), so the pages'
own scripts can use these endpoints; writes need a token, because this blueprint is exempt from
CSRF and a cookie alone could be forged into a POST.
Errors are always {"error": message} with the matching status code.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, g, jsonify, request

from matching.search import SemanticUnavailable, UnknownFilter
from web import recommendations as recs
from web import validation as v
from web import workspace_ops as ops
from web.auth import api_gate
from web.errors import json_error
from web.messages import MESSAGES
from web.openapi import openapi_document
from web.pipeline import all_projects
from web.profile import graph_data, load_profile, profile_json
from web.projects import rec_filters
from web.search import has_query, parse_query, run_query
from web.state import graph_run, last_runs, settings, view, workspace

bp = Blueprint("api", __name__, url_prefix="/api/v1")
API_WRITE_ROLES = ("admin", "staff")


def _form_error(exc: v.FormError) -> Any:
    text = MESSAGES.get(exc.key, ("", exc.key))[1].format(**exc.params) if exc.params else MESSAGES.get(exc.key, ("", exc.key))[1]
    return json_error(400, f"{exc.field}: {text}")


def api_auth(fn: Callable) -> Callable:
    """Authenticate an API route (web.auth.api_gate already ran for /api/ paths; this also covers
    routes mounted elsewhere) and turn FormError into a JSON 400."""

    @wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        if g.get("api_user") is None:
            refused = api_gate()
            if refused is not None:
                return refused
        try:
            return fn(*args, **kwargs)
        except v.FormError as exc:
            return _form_error(exc)

    return inner


def _lang() -> str:
    return "en" if request.args.get("lang", "en") != "zh" else "zh"


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document(settings().neighbour_limit))


@bp.get("/search")
@api_auth
def search() -> Any:
    """One page of matches: `total` counts them all, `offset` and `limit` page through them."""
    p = parse_query(request.args)
    if not has_query(p):
        return json_error(400, "q: give a query or at least one filter")
    try:
        results = run_query(p, facets=request.args.get("facets") in ("1", "true"))
    except UnknownFilter as exc:
        return json_error(400, str(exc))
    except SemanticUnavailable as exc:
        return json_error(503, str(exc))
    body = results.as_dict()
    if not body["facets"]:
        del body["facets"]
    return jsonify({"query": p, **body})


@bp.get("/entities/<path:node_id>")
@api_auth
def entity(node_id: str) -> Any:
    p = load_profile(view(), workspace(), node_id, settings().neighbour_limit, settings().web_neighbour_cache)
    if p is None:
        return json_error(404, f"no entity {node_id!r}")
    return jsonify(profile_json(p, _lang()))


@bp.get("/entities/<path:node_id>/neighbours")
@api_auth
def neighbours(node_id: str) -> Any:
    limit = v.integer(request.args.get("limit"), "limit", 60, maximum=settings().neighbour_limit)
    data = graph_data(view(), node_id, _lang(), limit)
    if data is None:
        return json_error(404, f"no entity {node_id!r}")
    return jsonify(data)


def _project(project_id: str):
    p = load_profile(view(), workspace(), project_id, settings().neighbour_limit, settings().web_neighbour_cache)
    return p if p is not None and p.node.label == "Project" else None


@bp.get("/projects")
@api_auth
def projects() -> Any:
    rows = [{"id": p.id, "name_zh": p.props.get("name_zh"), "name_en": p.props.get("name_en"),
             "tier": p.props.get("tier"), "stage": p.props.get("stage"), "owner": p.props.get("owner"),
             "pending": bool(p.props.get("_pending"))} for p in all_projects(view(), workspace())]
    return jsonify({"count": len(rows), "projects": sorted(rows, key=lambda r: r["id"])})


@bp.get("/projects/<path:project_id>")
@api_auth
def project(project_id: str) -> Any:
    p = _project(project_id)
    if p is None:
        return json_error(404, f"no project {project_id!r}")
    body = profile_json(p, _lang())
    body["stage_history"] = ops.stage_history(workspace(), project_id)
    return jsonify(body)


@bp.get("/projects/<path:project_id>/recommendations")
@api_auth
def recommendations(project_id: str) -> Any:
    if _project(project_id) is None:
        return json_error(404, f"no project {project_id!r}")
    filters = rec_filters(request.args)
    try:
        items = recs.for_project(view(), settings(), workspace(), project_id, **filters)
    except recs.RecsUnavailable as exc:
        return json_error(503, str(exc))
    return jsonify({"project_id": project_id, "count": len(items), "recommendations": [recs.as_dict(r) for r in items]})


@bp.route("/projects/<path:project_id>/shortlist", methods=["GET", "POST"])
@api_auth
def shortlist(project_id: str) -> Any:
    if _project(project_id) is None:
        return json_error(404, f"no project {project_id!r}")
    ws = workspace()
    if request.method == "POST":
        if g.api_user["role"] not in API_WRITE_ROLES:
            return json_error(403, "this token's user may only read")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return json_error(400, "send a JSON object: {\"org_id\": ..., \"status\": \"shortlisted\"|\"dismissed\", \"note\": ...}")
        org_id = v.node_id(body.get("org_id"), "org_id")
        status = v.choice(body.get("status") or "shortlisted", "status", ops.SHORTLIST_STATUSES)
        note = v.text(body.get("note"), "note", v.MAX_NOTE_CHARS, multiline=True)
        org = view().get(org_id)
        if org is None or org.label != "Organization":
            return json_error(404, f"no organisation {org_id!r}")
        if status == "dismissed" and not note:
            return json_error(400, "note: a reason is required to dismiss")
        ops.set_shortlist(ws, project_id, org_id, status, note, g.api_user["username"])
        return jsonify({"project_id": project_id, "org_id": org_id, "status": status, "note": note}), 201
    return jsonify({"project_id": project_id, "items": ops.shortlist(ws, project_id)})


@bp.post("/entities/<path:node_id>/relations")
@api_auth
def relation_edit(node_id: str) -> Any:
    """Add, end or retract a relation: {"op": "add"|"end"|"retract", "type", "other_id",
    "direction": "out"|"in", "since", "until", "role", "evidence", "note"}. 400 names the field."""
    from web import relation_edits as rel

    if g.api_user["role"] not in API_WRITE_ROLES:
        return json_error(403, "this token's user may only read")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return json_error(400, "send a JSON object: {\"op\": \"add\", \"type\": ..., \"other_id\": ...}")
    if view().get(node_id) is None and ops.staff_label_of(workspace(), node_id) is None:
        return json_error(404, f"no entity {node_id!r}")
    edit = rel.parse({k: ("" if x is None else x if isinstance(x, str) else str(x)) for k, x in body.items()},
                     node_id, view(), workspace())
    edit_id = rel.record(workspace(), g.api_user["username"], edit)
    from web.state import state

    state().applier.request()
    return jsonify({"edit_id": edit_id, "op": edit.op, "type": edit.type, "source_id": edit.source_id,
                    "target_id": edit.target_id, "props": edit.props, "note": edit.note}), 201


@bp.get("/status")
@api_auth
def status() -> Any:
    return jsonify({"graph_version": view().version, "graph_run": graph_run(view()), "last_runs": last_runs(5)})


@bp.errorhandler(v.FormError)
def form_error(exc: v.FormError) -> Any:
    return _form_error(exc)

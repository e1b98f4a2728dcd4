"""Entity profiles (page, printable page, neighbourhood JSON) and staff edits of organisations,
people and their contacts, plus same / not-same decisions that feed entity resolution."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for

from kg.store import StoreError
from web import forms
from web import validation as v
from web import workspace_ops as ops
from web.auth import can_edit, current_user, edit_required
from web.i18n import lang, t
from web.profile import effective_node, graph_data, load_profile
from web.staff_edits import (
    errors_for_page,
    flash_error,
    linked_sectors,
    saved,
    sector_options,
    sectors_from_form,
)
from web.state import settings, view, workspace

bp = Blueprint("entities", __name__, url_prefix="/entities")
NEW_LABELS = {"Organization": "org", "Person": "person"}
SIMILAR_K = 8


def _profile_or_404(node_id: str):
    p = load_profile(view(), workspace(), node_id, settings().neighbour_limit, settings().web_neighbour_cache)
    if p is None:
        abort(404)
    return p


def _merged_into(node_id: str) -> str | None:
    """The surviving id when resolution merged this one away (old links keep working)."""
    from matching.search import index_for

    return index_for(view()).merged.get(node_id)


@bp.get("/<path:node_id>")
def entity(node_id: str) -> Any:
    survivor = _merged_into(node_id) if view().get(node_id) is None else None
    if survivor:
        return redirect(url_for("entities.entity", node_id=survivor), 301)
    p = _profile_or_404(node_id)
    if p.node.label == "Project":
        return redirect(url_for("projects.project", project_id=node_id))
    return render_entity(p)


def render_entity(p: Any, rel_values: Any = None, rel_errors: dict[str, str] | None = None) -> str:
    """The entity page; a refused relation edit comes back with what was typed and why."""
    from web.edit_history import history
    from web.relation_edits import type_choices
    from web.search import kinds

    node_id = p.node.id
    similar, similar_message = _similar(node_id) if p.node.label == "Organization" and not p.pending_new else ([], None)
    return render_template("entity.html", p=p, similar=similar, similar_message=similar_message,
                           decisions=ops.decisions_for(workspace(), node_id), sectors=sector_options(),
                           rel_choices=type_choices(p.node.label), rel_values=rel_values or {},
                           rel_errors=rel_errors or {}, kinds=kinds(), graph_page=GRAPH_PAGE,
                           history=history(view(), workspace(), node_id) if can_edit() else [])


@bp.get("/<path:node_id>/print")
def print_profile(node_id: str) -> Any:
    return render_template("entity_print.html", p=_profile_or_404(node_id), now_text=time.strftime("%Y-%m-%d %H:%M"))


GRAPH_PAGE = 40  # neighbours drawn at once; a hub shows "show N more"


@bp.get("/<path:node_id>/graph.json")
def graph_json(node_id: str) -> Any:
    from kg.schema import load_schema

    try:
        limit = v.integer(request.args.get("limit"), "limit", GRAPH_PAGE, maximum=settings().neighbour_limit)
        offset = v.integer(request.args.get("offset"), "offset", 0, minimum=0, maximum=10_000)
        types = [x for x in request.args.getlist("type") if x]
        for x in types:
            v.choice(x, "type", load_schema().relationships)
    except v.FormError as exc:
        return jsonify({"error": f"{exc.field}: {t(exc.key, **exc.params)}"}), 400
    data = graph_data(view(), node_id, lang(), limit, offset, types or None, settings().web_neighbour_cache)
    if data is None:
        return jsonify({"error": f"no entity {node_id!r}"}), 404
    return jsonify(data)


def _similar(node_id: str) -> tuple[list[tuple[Any, float]], str | None]:
    """Organisations like this one, from matching.similar when it and its index exist."""
    try:
        from matching.similar import similar_entities
    except ImportError:
        return [], t("entity.similar_unavailable")
    try:
        pairs = similar_entities(view(), node_id, SIMILAR_K)
    except (StoreError, LookupError, FileNotFoundError) as exc:
        return [], t("entity.similar_failed", detail=str(exc))
    nodes = view().get_many([i for i, _ in pairs])
    return [(nodes[i], s) for i, s in pairs if i in nodes], None


@bp.route("/new/<label>", methods=["GET", "POST"])
@edit_required
def new(label: str) -> Any:
    if label not in NEW_LABELS:
        abort(404)
    fields = forms.fields_for(label)
    if request.method == "GET":
        return render_template("entity_form.html", label=label, fields=fields, values={}, errors={},
                               sectors=sector_options(), linked=set(), node=None)
    values, errors = forms.parse(label, request.form)
    try:
        add_sectors = sectors_from_form(set()) if label == "Organization" else []
    except v.FormError as exc:
        errors.append(exc)
    if errors:
        return render_template("entity_form.html", label=label, fields=fields, values=request.form,
                               errors=errors_for_page(errors), sectors=sector_options(), linked=set(), node=None), 400
    node_id = v.new_node_id(NEW_LABELS[label], values.get("name_en"), values.get("name_zh"))
    props = {k: val for k, val in values.items() if val not in (None, "", [])}
    ops.record_changes(workspace(), current_user()["username"], nodes=[(label, node_id, props)],
                       edges=[("ACTIVE_IN", node_id, s, {}) for s in add_sectors])
    return saved(url_for("entities.entity", node_id=node_id))


@bp.route("/<path:node_id>/edit", methods=["GET", "POST"])
@edit_required
def edit(node_id: str) -> Any:
    node, pending_new = effective_node(view(), workspace(), node_id)
    if node is None:
        abort(404)
    if node.label not in NEW_LABELS:
        return redirect(url_for("projects.edit", project_id=node_id)) if node.label == "Project" else abort(404)
    current = {**node.props, **ops.staff_props(workspace(), node_id)}
    linked = set() if pending_new else linked_sectors(node_id)
    fields = forms.fields_for(node.label)
    if request.method == "GET":
        return render_template("entity_form.html", label=node.label, fields=fields, node=node, errors={},
                               values=forms.form_values(current, node.label), sectors=sector_options(), linked=linked)
    values, errors = forms.parse(node.label, request.form)
    errors = forms.keep_unchanged(node.label, request.form, current, values, errors)
    try:
        add_sectors = sectors_from_form(linked) if node.label == "Organization" else []
    except v.FormError as exc:
        errors.append(exc)
    if errors:
        return render_template("entity_form.html", label=node.label, fields=fields, node=node, values=request.form,
                               errors=errors_for_page(errors), sectors=sector_options(), linked=linked), 400
    try:
        reason = v.plain(request.form.get("edit_note"), "note", v.MAX_NOTE_CHARS, multiline=True)
    except v.FormError as exc:
        return render_template("entity_form.html", label=node.label, fields=fields, node=node, values=request.form,
                               errors=errors_for_page([exc]), sectors=sector_options(), linked=linked), 400
    changes = forms.changed(values, current)
    if not changes and not add_sectors:
        flash(t("edit.nothing_changed"), "info")
        return redirect(url_for("entities.entity", node_id=node_id))
    ops.record_changes(workspace(), current_user()["username"],
                       nodes=[(node.label, node_id, changes)] if changes else [],
                       edges=[("ACTIVE_IN", node_id, s, {}) for s in add_sectors], old={node_id: current}, note=reason)
    return saved(url_for("entities.entity", node_id=node_id))


@bp.post("/<path:node_id>/contacts")
@edit_required
def add_contact(node_id: str) -> Any:
    """A contact is a Person with a HAS_ROLE edge to the organisation (role: their title)."""
    org, _ = effective_node(view(), workspace(), node_id)
    if org is None or org.label != "Organization":
        abort(404)
    try:
        role = v.text(request.form.get("role"), "role", v.MAX_NAME_CHARS)
        person_id = request.form.get("person_id", "").strip()
        nodes = []
        if person_id:
            person, _ = effective_node(view(), workspace(), v.node_id(person_id, "person_id"))
            if person is None or person.label != "Person":
                raise v.FormError("person_id", "error.unknown_id")
        else:
            zh = v.name(request.form.get("name_zh"), "name_zh")
            en = v.name(request.form.get("name_en"), "name_en")
            if not (zh or en):
                raise v.FormError("name_zh", "error.need_a_name")
            person_id = v.new_node_id("person", en, zh)
            nodes.append(("Person", person_id, {k: x for k, x in {"name_zh": zh, "name_en": en}.items() if x}))
    except v.FormError as exc:
        flash_error(exc)
        return redirect(url_for("entities.entity", node_id=node_id)), 303
    ops.record_changes(workspace(), current_user()["username"], nodes=nodes,
                       edges=[("HAS_ROLE", person_id, node_id, {"role": role} if role else {})])
    return saved(url_for("entities.entity", node_id=node_id))


@bp.post("/<path:node_id>/decisions")
@edit_required
def add_decision(node_id: str) -> Any:
    """Staff say two records are (not) the same organisation; resolution reads the decisions table."""
    node, _ = effective_node(view(), workspace(), node_id)
    if node is None:
        abort(404)
    try:
        other_id = v.node_id(request.form.get("other_id"), "other_id")
        judgement = v.choice(request.form.get("judgement"), "judgement", ops.JUDGEMENTS, required=True)
        note = v.text(request.form.get("note"), "note", v.MAX_NOTE_CHARS, multiline=True)
        other, _ = effective_node(view(), workspace(), other_id)
        if other is None or other_id == node_id:
            raise v.FormError("other_id", "error.unknown_id")
        if other.label != node.label:
            raise v.FormError("other_id", "error.label_mismatch")
    except v.FormError as exc:
        flash_error(exc)
        return redirect(url_for("entities.entity", node_id=node_id)), 303
    ops.add_decision(workspace(), node_id, other_id, judgement, current_user()["username"], note)
    flash(t("decision.saved"), "ok")
    return redirect(url_for("entities.entity", node_id=node_id))

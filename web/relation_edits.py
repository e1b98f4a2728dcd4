"""Staff edits of relations: add a tie between two entities, end one (set `until`, kept as
history), retract one that is wrong, with who, when and why.

One parser serves the entity page's forms and the API, so both refuse the same input with the
same message (a FormError naming the field): an unknown entity, a type the schema does not allow
between the two kinds (kg.schema.Schema.check_edge), `until` before `since`, markup, over-long
text. Nothing is recorded unless everything checks out, and the edit is one workspace row with
its audit row (web.workspace_ops.record_edge_edit), read by the staff source at the next write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingest.sources.staff_source import fold_edge_edits
from kg.schema import SchemaError, load_schema
from kg.store import GraphView
from kg.workspace import Workspace
from web import validation as v
from web import workspace_ops as ops
from web.profile import effective_node

OPS = ("add", "end", "retract")
DIRECTIONS = ("out", "in")
# Not offered for hand edits: mentions come from documents, and a region's or sector's own
# hierarchy is the taxonomy's.
NOT_EDITABLE = ("MENTIONS", "PART_OF", "UPSTREAM_OF")
EDGE_TEXT = {"role": v.MAX_NAME_CHARS, "evidence": v.MAX_NOTE_CHARS}


@dataclass
class RelationEdit:
    op: str
    type: str
    source_id: str
    target_id: str
    props: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    before: dict[str, Any] = field(default_factory=dict)


def type_choices(label: str) -> list[tuple[str, str, str]]:
    """(type, direction, label of the other end) a node of this label can take part in."""
    out = []
    for name, rel in load_schema().relationships.items():
        if name in NOT_EDITABLE:
            continue
        for a, b in rel.ends:
            if a == label:
                out.append((name, "out", b))
            if b == label and not (rel.symmetric and a == label):
                out.append((name, "in", a))
    return out


def current_edge(view: GraphView, ws: Workspace, rel_type: str, source_id: str, target_id: str) -> dict[str, Any] | None:
    """The edge's properties as the graph holds them, or as staff added it (not yet applied);
    None when neither has it or staff retracted it."""
    state = fold_edge_edits(ops.edge_edit_rows(ws, source_id)).get(f"{source_id}|{rel_type}|{target_id}")
    if state is not None and state.retracted:
        return None
    for nb in view.neighbours(source_id, types=[rel_type], direction="out", limit=100_000):
        if nb.edge.target_id == target_id:
            return {**nb.edge.props, **(state.props if state else {})}
    if state is not None and state.added:
        return dict(state.props)
    return None


def parse(form: Any, node_id: str, view: GraphView, ws: Workspace) -> RelationEdit:
    """A relation edit from a form or a JSON body, checked against the schema and the graph."""
    node, _ = effective_node(view, ws, node_id)
    if node is None:
        raise v.FormError("id", "error.unknown_id")
    form = {k: form.get(k) for k in form}  # a MultiDict or a JSON object alike
    if form.get("rel") and ":" in str(form["rel"]):  # the page's one select: "SUPPLIES:out:Organization"
        form["type"], form["direction"] = (str(form["rel"]).split(":") + [""])[:2]
    op = v.choice(form.get("op") or "add", "op", OPS, required=True)
    rel_type = v.choice(form.get("type"), "type", [t for t in load_schema().relationships if t not in NOT_EDITABLE],
                        required=True)
    direction = v.choice(form.get("direction") or "out", "direction", DIRECTIONS)
    other_id = v.node_id(form.get("other_id"), "other_id")
    other, _ = effective_node(view, ws, other_id)
    if other is None or other_id == node_id:
        raise v.FormError("other_id", "error.unknown_id")
    source, target = (node, other) if direction == "out" else (other, node)
    try:
        rel = load_schema().check_edge(rel_type, source.label, target.label)
    except SchemaError:
        raise v.FormError("type", "error.rel_not_allowed", type=rel_type, a=source.label, b=target.label) from None
    s, t = source.id, target.id
    if rel.symmetric and t < s:
        s, t = t, s
    note = v.plain(form.get("note"), "note", v.MAX_NOTE_CHARS, multiline=True, required=op == "retract")
    edit = RelationEdit(op, rel_type, s, t, note=note)
    if op == "add":  # what was typed first, then whether the graph already has it
        since, until = v.date(form.get("since"), "since"), v.date(form.get("until"), "until")
        v.date_order(since, until)
        edit.props = {"since": since, "until": until,
                      **{k: v.plain(form.get(k), k, n) for k, n in EDGE_TEXT.items()}}
        edit.props = {k: x for k, x in edit.props.items() if x}
        if current_edge(view, ws, rel_type, s, t) is not None:
            raise v.FormError("other_id", "error.rel_exists")
        return edit
    existing = current_edge(view, ws, rel_type, s, t)
    if existing is None:
        raise v.FormError("type", "error.rel_missing")
    # What the edge held (its own properties and first source): the history quotes it, and an
    # undone retraction puts the fact back as it was, without waiting for its source's refresh.
    keep = (*load_schema().edge_props, "source")
    edit.before = {k: existing.get(k) for k in keep if existing.get(k) not in (None, "", [])}
    if op == "end":
        until = v.date(form.get("until"), "until")
        if not until:
            raise v.FormError("until", "error.required")
        v.date_order(existing.get("since"), until)
        edit.props = {"until": until}
    return edit


def record(ws: Workspace, username: str, edit: RelationEdit) -> int:
    return ops.record_edge_edit(ws, username, edit.op, edit.type, edit.source_id, edit.target_id, edit.props,
                                edit.note, edit.before)

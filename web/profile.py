"""An entity's profile, assembled once for the entity page, its printable page and the API.

The graph gives the node, its neighbours and its provenance; the workspace adds what staff typed
that the graph does not show yet (an edit waiting for the writer), so a saved edit is visible at
once. A node that exists only as a staff edit (just created) gets a profile too, marked pending.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.runs import parsed
from kg.kept import Kept
from kg.schema import load_schema
from kg.seen import FEEDS_SEEN, last_seen, parse_feeds_seen
from kg.store import GraphView, Node
from kg.workspace import Workspace
from web import workspace_ops as ops

NAME_FIELDS = ("name_zh", "name_en", "aliases")
# Not listed as facts: derived keys and bookkeeping, and the description and text, which the
# pages show as prose above the facts.
HIDDEN = {"pinyin", "initials", "content_hash", "extra", "feeds", "staff_fields", "text", "description",
          "tie_count", "latest_tie_year", "key_ties_json", "tie_fp"}
PROVENANCE_SHOWN = ("source", "sources", "record_ids", "merged_ids", "first_seen", "last_seen", "status")
GROUP_ORDER = ("HAS_ROLE", "SUBSIDIARY_OF", "INVESTS_IN", "SUPPLIES", "PARTNERS_WITH", "INVOLVED_IN",
               "ACTIVE_IN", "LOCATED_IN", "PART_OF", "UPSTREAM_OF")


@dataclass
class Fact:
    name: str
    value: Any
    staff: dict[str, Any] | None = None  # {"username", "ts"} when a staff member set it
    pending: Any = None  # a staff value the graph does not show yet


@dataclass
class Link:
    node: Node
    props: dict[str, Any]
    pending: bool = False
    edge: tuple[str, str, str] = ("", "", "")  # (type, source_id, target_id) as stored: what an edit names
    retracting: bool = False  # staff retracted it; the graph drops it at the next write
    pending_until: str = ""  # staff ended it; the graph shows `until` at the next write


@dataclass
class Group:
    type: str
    direction: str  # out | in
    links: list[Link]


@dataclass
class Profile:
    node: Node
    pending_new: bool
    facts: list[Fact]
    provenance: dict[str, Any]
    groups: list[Group]
    documents: list[Link]
    pending: dict[str, Any] = field(default_factory=dict)
    truncated: bool = False

    @property
    def props(self) -> dict[str, Any]:
        """Graph values with pending staff values laid over them: what the graph will show."""
        return {**self.node.props, **self.pending}


_nb_cache: Kept[tuple, list[Any]] = Kept(0)  # sized by the caller's setting (web_neighbour_cache)


def neighbours(view: GraphView, node_id: str, *, types: Sequence[str] | None = None, direction: str = "both",
               limit: int = 200, cache_size: int = 0) -> list[Any]:
    """view.neighbours, kept per graph version: a published version never changes, and an
    entity page read twice (a hub most of all) need not ask the engine twice. Staff edits not
    yet applied are laid over it by the callers, from the workspace, on every request."""
    if cache_size <= 0:
        return view.neighbours(node_id, types=list(types) if types else None, direction=direction, limit=limit)
    _nb_cache.size = cache_size
    return _nb_cache.get_or_make((view.version, node_id, tuple(types or ()), direction, limit), lambda: view.neighbours(
        node_id, types=list(types) if types else None, direction=direction, limit=limit))


def effective_node(view: GraphView, ws: Workspace, node_id: str) -> tuple[Node | None, bool]:
    """The graph's node, or one built from staff edits when it was created and not yet applied."""
    node = view.get(node_id)
    if node is not None:
        return node, False
    label = ops.staff_label_of(ws, node_id)
    if label is None:
        return None, False
    return Node(node_id, label, ops.staff_props(ws, node_id)), True


def _feeds_seen(view: GraphView) -> dict[str, str]:
    """The version's record of which run last read each feed, parsed once per file content (an
    entity page is the busiest page but one)."""
    try:
        return parsed(Path(view.data_dir) / FEEDS_SEEN, parse_feeds_seen)
    except OSError:
        return {}


def load_profile(view: GraphView, ws: Workspace, node_id: str, limit: int = 200, cache_size: int = 0) -> Profile | None:
    node, pending_new = effective_node(view, ws, node_id)
    if node is None:
        return None
    staff = ops.staff_props(ws, node_id)
    pending = staff if pending_new else ops.pending_fields(node.props, staff)
    log = ops.field_log(ws, node_id)
    facts = _facts(node, pending, log)
    nbs = [] if pending_new else neighbours(view, node_id, limit=limit + 1, cache_size=cache_size)
    truncated = len(nbs) > limit
    groups: dict[tuple[str, str], list[Link]] = defaultdict(list)
    documents: list[Link] = []
    for nb in nbs[:limit]:
        link = Link(nb.node, nb.edge.props, edge=(nb.edge.type, nb.edge.source_id, nb.edge.target_id))
        if nb.edge.type == "MENTIONS" and nb.direction == "in":
            documents.append(link)
        else:
            groups[(nb.edge.type, nb.direction)].append(link)
    _add_pending_edges(view, ws, node_id, groups)
    order = {t: i for i, t in enumerate(GROUP_ORDER)}
    ordered = [Group(t, d, links) for (t, d), links in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1]))]
    provenance = {k: node.props.get(k) for k in PROVENANCE_SHOWN if node.props.get(k)}
    if provenance.get("last_seen"):  # the run that last wrote it, or a later one that read its feeds
        provenance["last_seen"] = last_seen(node.props, _feeds_seen(view))
    return Profile(node, pending_new, facts, provenance, ordered, documents, pending, truncated)


def _facts(node: Node, pending: dict[str, Any], log: dict[str, dict[str, Any]]) -> list[Fact]:
    spec = load_schema().labels[node.label].props
    provenance = set(load_schema().provenance)
    names = [*spec, *(k for k in node.props if k not in spec)]
    out: list[Fact] = []
    staff_fields = set(node.props.get("staff_fields") or [])
    for k in names:
        if k in NAME_FIELDS or k in HIDDEN or k in provenance:
            continue
        value, new = node.props.get(k), pending.get(k)
        if value in (None, "", []) and k not in pending:
            continue
        who = log.get(k) if (k in staff_fields or k in pending) else None
        out.append(Fact(k, value, who, new if k in pending else None))
    extra = node.props.get("extra")
    if extra:
        with contextlib.suppress(ValueError):  # extra is JSON written by ingest; a bad one shows nothing
            out += [Fact(k, val) for k, val in sorted(json.loads(extra).items())]
    return out


def _add_pending_edges(view: GraphView, ws: Workspace, node_id: str, groups: dict[tuple[str, str], list[Link]]) -> None:
    """Relation edits staff recorded that the graph does not show yet: new relations, ended
    ones (until) and retracted ones, folded as the staff source folds them."""
    from ingest.sources.staff_source import fold_edge_edits

    present = {link.edge: link for links in groups.values() for link in links if link.edge[0]}
    wanted = []
    for st in fold_edge_edits(ops.edge_edit_rows(ws, node_id)).values():
        link = present.get((st.type, st.source_id, st.target_id))
        if link is not None:
            link.retracting = st.retracted
            until = st.props.get("until")
            if until and until != link.props.get("until"):
                link.pending_until = until
        elif st.added and not st.retracted:
            direction, other = ("out", st.target_id) if st.source_id == node_id else ("in", st.source_id)
            wanted.append((st, direction, other))
    if not wanted:
        return
    others = view.get_many([o for _, _, o in wanted])
    for st, direction, other in wanted:
        node = others.get(other) or effective_node(view, ws, other)[0] or Node(other, "", {})
        groups[(st.type, direction)].append(Link(node, dict(st.props), pending=True,
                                                 edge=(st.type, st.source_id, st.target_id)))


def graph_data(view: GraphView, node_id: str, lang: str, limit: int = 60, offset: int = 0,
               types: Sequence[str] | None = None, cache_size: int = 0) -> dict[str, Any] | None:
    """Nodes and links of the one-hop neighbourhood, for the page's force layout: `limit`
    neighbours from `offset` on (a hub is drawn a page at a time: "show N more"), of the given
    relationship types only when given. Each link carries its type's name in the reader's
    language for the edge label, each node its label's name for the legend."""
    from web.i18n import tv

    node = view.get(node_id)
    if node is None:
        return None
    nbs = neighbours(view, node_id, types=types, limit=offset + limit + 1, cache_size=cache_size)
    nodes = {node.id: _graph_node(node, lang, tv, center=True)}
    links = []
    for nb in nbs[offset:offset + limit]:
        nodes.setdefault(nb.node.id, _graph_node(nb.node, lang, tv))
        links.append({"source": nb.edge.source_id, "target": nb.edge.target_id, "type": nb.edge.type,
                      "type_name": tv("reltype", nb.edge.type)})
    more = len(nbs) > offset + limit
    return {"nodes": list(nodes.values()), "links": links, "truncated": more, "has_more": more,
            "next_offset": offset + limit if more else None}


def _graph_node(node: Node, lang: str, tv: Any, center: bool = False) -> dict[str, Any]:
    return {"id": node.id, "label": node.label, "label_name": tv("label", node.label), "kind": node.props.get("kind"),
            "name": node.display_name(lang), "center": center}


def profile_json(p: Profile, lang: str) -> dict[str, Any]:
    """The API's form of a profile."""
    return {
        "id": p.node.id,
        "label": p.node.label,
        "name": p.node.display_name(lang),
        "pending": p.pending_new,
        "props": {k: v for k, v in p.node.props.items() if k not in ("content_hash",)},
        "pending_changes": p.pending,
        "relationships": [
            {"type": g.type, "direction": g.direction,
             "nodes": [{"id": link.node.id, "label": link.node.label, "name": link.node.display_name(lang),
                        "props": link.props, "pending": link.pending} for link in g.links]}
            for g in p.groups
        ],
        "documents": [{"id": d.node.id, "name": d.node.display_name(lang), "url": d.node.props.get("url"),
                       "published": d.node.props.get("published")} for d in p.documents],
        "truncated": p.truncated,
    }

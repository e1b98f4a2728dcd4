"""Finding an entity by any id it ever had: its own, an id merged into it, or a `source:id` record.

Entity resolution keeps old ids alive (`merged_ids`, `record_ids`), so a shortlist, a note, a
link or an evaluation file naming an old id still reaches the surviving entity.
"""

from __future__ import annotations

from kg.store import GraphView, Node


def resolve_id(view: GraphView, any_id: str) -> str | None:
    if view.get(any_id) is not None:
        return any_id
    rows = view.query("MATCH (n:Organization) WHERE list_contains(n.merged_ids, $x) OR list_contains(n.record_ids, $x) "
                      "RETURN n.id LIMIT 1", {"x": any_id}).rows
    return rows[0][0] if rows else None


def get_entity(view: GraphView, any_id: str) -> Node | None:
    node_id = resolve_id(view, any_id)
    return view.get(node_id) if node_id else None

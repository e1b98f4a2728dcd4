"""Similarity search: by free text ('2.5D/3D advanced packaging, hybrid bonding') and by entity
('organisations like this one'), over the vectors published with the graph."""

from __future__ import annotations

from kg.store import GraphView, StoreError
from matching.vectors import vectors_for


def _published(view: GraphView, label: str):
    vecs = vectors_for(view)
    if vecs is None or label not in vecs.indexes:
        raise StoreError("no vector index for this graph yet: run `stakegraph refresh`")
    return vecs, vecs.indexes[label]


def similar_by_text(
    view: GraphView, text: str, k: int = 10, label: str = "Organization"
) -> list[tuple[str, float]]:
    vecs, index = _published(view, label)
    return index.search(vecs.encode(text), k=k)


def similar_entities(
    view: GraphView, node_id: str, k: int = 10, label: str = "Organization"
) -> list[tuple[str, float]]:
    vecs, index = _published(view, label)
    q = vecs.vector(node_id)
    if q is None:
        raise StoreError(f"no vector for {node_id!r}")
    return index.search(q, k=k, exclude_ids={node_id})

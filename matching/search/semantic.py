"""Semantic search ('companies doing liquid cooling for AI data centres') over the vector index.

The embeddings and the nearest-neighbour index belong to matching.similar; this module only
turns its (node_id, score) pairs into the same `Hit` rows the name search returns, so pages and
the API show both modes alike. It is imported lazily because the embedding stack is heavy and
may be absent on a machine that only needs name search.
"""

from __future__ import annotations

from kg.store import GraphView, StoreError
from matching.search.index import Hit
from matching.search.lookup import index_for

__all__ = ["SemanticUnavailable", "semantic_search"]


class SemanticUnavailable(RuntimeError):
    """The similarity module or its index is missing; the message says what to do."""


def semantic_search(
    view: GraphView, text: str, *, k: int = 20, labels: tuple[str, ...] | None = None
) -> list[Hit]:
    try:
        from matching.similar import similar_by_text
    except ImportError as exc:
        raise SemanticUnavailable(
            "semantic search is not available yet (matching.similar is not installed)"
        ) from exc
    try:
        pairs = similar_by_text(view, text, k)
    except (FileNotFoundError, LookupError, StoreError) as exc:
        raise SemanticUnavailable(f"semantic search is not available: {exc}") from exc
    idx = index_for(view)
    hits: list[Hit] = []
    for node_id, score in pairs:
        i = idx.by_id.get(node_id)
        if i is None:
            continue
        e = idx.entries[i]
        if labels and e.label not in labels:
            continue
        hits.append(
            Hit(
                e.id,
                e.label,
                e.name_zh,
                e.name_en,
                e.kind,
                e.city,
                round(float(score), 4),
                "semantic",
                "",
                "",
            )
        )
    return hits

"""Nearest-neighbour search answered by the graph database's own vector index.

With `vector_backend = neo4j` (and `backend = neo4j`) the refresh also stores each embedding as
a node property under a Neo4j vector index (kg/backends/neo4j_writer.py `write_vectors`), and
searches go to `db.index.vector.queryNodes` instead of the FAISS file, so a graph too large for
one machine needs no second store for its ANN index. The per-version vector files stay, because
looking up one node's own vector by id is what they are cheap at; docs/neo4j.md has the trade-off.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


class GraphVectorIndex:
    """VectorIndex's `search` over the graph's index; `vector` and `in` from the local index."""

    def __init__(self, view: Any, label: str, local: Any):
        self.view, self.label, self.local = view, label, local

    def search(self, query: np.ndarray, k: int = 10, exclude_ids: Iterable[str] | None = None) -> list[tuple[str, float]]:
        excluded = set(exclude_ids or ())
        hits = self.view.vector_search(self.label, [float(x) for x in np.ravel(query)], k + len(excluded))
        # Neo4j's cosine score is (1 + cos) / 2; VectorIndex returns the inner product (= cos for unit vectors)
        return [(i, 2 * s - 1) for i, s in hits if i not in excluded][:k]

    def vector(self, id_: str) -> np.ndarray:
        return self.local.vector(id_)

    def __contains__(self, id_: object) -> bool:
        return id_ in self.local

    def __len__(self) -> int:
        return len(self.local)

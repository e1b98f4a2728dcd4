"""Vector-index settings, each overridable from the environment.

Declared in one place so the refresh job, the web app and the ANN bench agree,
and so an operator can tune them without code: ``STAKEGRAPH_<NAME>``.
"""

from __future__ import annotations

import os

__all__ = ["SETTINGS", "IndexSettings", "index_settings"]


def _env(name: str, default: float) -> float:
    raw = os.environ.get(f"STAKEGRAPH_{name}")
    return type(default)(raw) if raw not in (None, "") else default


#: (name, default, help). Docs and tests can iterate over this list.
SETTINGS: list[tuple[str, float, str]] = [
    ("ANN_FLAT_MAX", 50_000, "Up to this many vectors the index is exact (IndexFlatIP); above it, HNSW."),
    ("ANN_HNSW_M", 32, "HNSW neighbours per node: recall and memory grow with it (~2*M*4 bytes a vector)."),
    ("ANN_EF_CONSTRUCTION", 80, "HNSW build beam width: higher builds slower and a better graph."),
    ("ANN_EF_SEARCH", 96, "HNSW query beam width (raised to k when k is larger): recall vs latency."),
    ("ANN_REBUILD_FRACTION", 0.2, "Rebuild when removed-but-stored vectors exceed this share of the index."),
    ("ANN_THREADS", 0, "OpenMP threads for FAISS; 0 leaves FAISS's default (all cores)."),
]


class IndexSettings:
    """Snapshot of the settings above, read from the environment at creation."""

    def __init__(self) -> None:
        values = {name: _env(name, default) for name, default, _ in SETTINGS}
        self.flat_max = int(values["ANN_FLAT_MAX"])
        self.hnsw_m = int(values["ANN_HNSW_M"])
        self.ef_construction = int(values["ANN_EF_CONSTRUCTION"])
        self.ef_search = int(values["ANN_EF_SEARCH"])
        self.rebuild_fraction = float(values["ANN_REBUILD_FRACTION"])
        self.threads = int(values["ANN_THREADS"])


def index_settings() -> IndexSettings:
    return IndexSettings()

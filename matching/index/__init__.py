"""Nearest-neighbour search over embedding vectors, keyed by graph ids.

from matching.index import VectorIndex
index = VectorIndex(embedder.dim)
index.build(ids, vectors)
index.search(vector, k=10, exclude_ids={own_id})
"""

from .settings import SETTINGS, IndexSettings, index_settings
from .vector_index import FORMAT_VERSION, VectorIndex

__all__ = ["FORMAT_VERSION", "SETTINGS", "IndexSettings", "VectorIndex", "index_settings"]

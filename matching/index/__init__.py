"""Nearest-neighbour search over embedding vectors, keyed by graph ids.

from matching.index import VectorIndex
index = VectorIndex(embedder.dim)
index.build(ids, vectors)
index.search(vector, k=10, exclude_ids={own_id})
"""

from .vector_index import FORMAT_VERSION, IndexSettings, VectorIndex

__all__ = ["FORMAT_VERSION", "IndexSettings", "VectorIndex"]

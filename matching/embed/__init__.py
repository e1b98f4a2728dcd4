"""Text embedders for matching: one interface, three models, a blend, a cache.

Public API (import from here; the submodules may move)::

    from matching.embed import default_embedder, make_embedder, EmbeddingCache, entity_text

    embedder = default_embedder()                       # DEFAULT_EMBEDDER_SPEC
    text = entity_text(["江南大学", "Jiangnan University"], ["高等教育"], "")
    vectors = EmbeddingCache("var/embeddings.sqlite").encode(embedder, [text])
"""

from .base import DEFAULT_BATCH_SIZE, Embedder, l2_normalise
from .cache import CacheStats, EmbeddingCache, text_key
from .combined import DEFAULT_EMBEDDER_SPEC, EMBEDDER_NAMES, CombinedEmbedder, default_embedder, make_embedder
from .lexical import LexicalEmbedder, lexical_features
from .models import MiniLMEmbedder, USEEmbedder
from .text import entity_text

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_EMBEDDER_SPEC",
    "EMBEDDER_NAMES",
    "CacheStats",
    "CombinedEmbedder",
    "Embedder",
    "EmbeddingCache",
    "LexicalEmbedder",
    "MiniLMEmbedder",
    "USEEmbedder",
    "default_embedder",
    "entity_text",
    "l2_normalise",
    "lexical_features",
    "make_embedder",
    "text_key",
]

"""The embedder contract every matching signal relies on.

An embedder turns texts into rows of unit length, so that the inner product of
two rows *is* their cosine similarity. The vector index (``matching.index``)
searches by inner product and the combined embedder adds weighted cosines by
concatenation; both are only correct if every embedder keeps this promise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["DEFAULT_BATCH_SIZE", "Embedder", "as_text_list", "l2_normalise"]

#: Texts per model call. Large enough to amortise per-call overhead, small
#: enough that a batch of long descriptions stays well under 100 MB on CPU.
DEFAULT_BATCH_SIZE = 64


@runtime_checkable
class Embedder(Protocol):
    """Anything that maps texts to L2-normalised float32 rows.

    ``name`` identifies the model *and* its configuration (e.g. the hashing
    dimension), because the embedding cache keys vectors by it: two embedders
    that could return different vectors for the same text must not share a name.
    """

    name: str
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Return an ``(len(texts), dim)`` float32 array with unit-length rows."""
        ...


def as_text_list(texts: Sequence[str] | str) -> list[str]:
    """Accept one string or a sequence; a bare string is one text, not characters."""
    if isinstance(texts, str):
        return [texts]
    return [t if isinstance(t, str) else str(t) for t in texts]


def l2_normalise(matrix: np.ndarray) -> np.ndarray:
    """Scale rows to unit length as float32; all-zero rows stay zero.

    A zero row (e.g. the lexical vector of an empty string) must not become NaN,
    since one NaN would poison every inner product in the index.
    """
    out = np.asarray(matrix, dtype=np.float32)
    if out.ndim != 2:
        raise ValueError(f"expected a 2-D array, got shape {out.shape}")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    return np.ascontiguousarray(out / norms, dtype=np.float32)

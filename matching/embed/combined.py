"""Weighted combination of embedders, and the factory that builds one from a spec.

Concatenating parts scaled by ``sqrt(weight)`` (weights summing to 1) gives a
unit vector whose inner product with another is ``sum(weight_i * cosine_i)``.
So one inner-product index serves any blend of signals, and each part's
contribution to a score can still be read back for an explanation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kg.settings import load_settings

from .base import DEFAULT_BATCH_SIZE, Embedder, as_text_list
from .lexical import LexicalEmbedder
from .models import MiniLMEmbedder, USEEmbedder

__all__ = ["DEFAULT_EMBEDDER_SPEC", "EMBEDDER_NAMES", "CombinedEmbedder", "default_embedder", "embedder_spec", "make_embedder"]

#: USE carries Chinese<->English meaning, the lexical part separates look-alike names. Until
#: issue 20 the default also gave MiniLM (English meaning) a weight of 0.2; on
#: ``matching/cases/bilingual_pairs.csv`` (``bench/embedders.py``) dropping it and keeping USE and
#: lexical at their old 3:1 ratio (no weight re-tuned on the pairs) scores the same, macro
#: AUC + MRR 1.087 vs 1.088 (zh-en AUC 0.725 vs 0.710, en-en 0.443 vs 0.466), while MiniLM was
#: ~3/4 of the blend's encoding time: the blend ran ~3x faster without it on the same machine
#: (README, "Text embeddings"). ``minilm`` and ``minilm-int8`` stay selectable.
DEFAULT_EMBEDDER_SPEC = "use:0.75+lexical:0.25"

#: Spec names of the single embedders.
EMBEDDER_NAMES = ("minilm", "minilm-raw", "minilm-int8", "use", "lexical")


def _single(name: str) -> Embedder:
    if name == "minilm":
        return MiniLMEmbedder(romanise=True)
    if name == "minilm-raw":
        return MiniLMEmbedder(romanise=False)
    if name == "minilm-int8":
        return MiniLMEmbedder(romanise=True, int8=True)
    if name == "use":
        return USEEmbedder()
    if name == "lexical":
        return LexicalEmbedder()
    if name.startswith("lexical") and name[len("lexical") :].isdigit():
        return LexicalEmbedder(dim=int(name[len("lexical") :]))
    if name.startswith("use") and name[len("use") :].isdigit():  # use48: USE on each text's first 48 characters
        return USEEmbedder(max_chars=int(name[len("use") :]))
    raise ValueError(f"unknown embedder {name!r}; expected one of {EMBEDDER_NAMES} (or lexicalN, useN)")


class CombinedEmbedder:
    """Concatenation of ``sqrt(weight)``-scaled unit vectors from several embedders.

    Weights are normalised to sum to 1, so the output rows are unit length and
    the inner product of two rows is the weighted mean of the parts' cosines.
    """

    def __init__(self, parts: Sequence[tuple[Embedder, float]]) -> None:
        if not parts:
            raise ValueError("a combined embedder needs at least one part")
        total = float(sum(w for _, w in parts))
        if total <= 0 or any(w < 0 for _, w in parts):
            raise ValueError("weights must be non-negative and not all zero")
        self.parts: list[tuple[Embedder, float]] = [(e, w / total) for e, w in parts]
        self.dim = sum(e.dim for e, _ in self.parts)
        self.name = "+".join(f"{e.name}:{w:.3f}" for e, w in self.parts)

    def combine(self, blocks: Sequence[np.ndarray]) -> np.ndarray:
        """Join per-part unit rows; the embedding cache uses this to reuse cached parts."""
        n = blocks[0].shape[0] if blocks else 0
        out = np.empty((n, self.dim), dtype=np.float32)
        col = 0
        for (embedder, weight), block in zip(self.parts, blocks, strict=True):
            out[:, col : col + embedder.dim] = block * np.float32(np.sqrt(weight))
            col += embedder.dim
        return out

    def encode(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        items = as_text_list(texts)
        return self.combine([e.encode(items, batch_size=batch_size) for e, _ in self.parts])

    def part_scores(self, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
        """Each part's weighted contribution to ``a @ b`` (the score's explanation)."""
        out: dict[str, float] = {}
        col = 0
        for embedder, _ in self.parts:
            out[embedder.name] = float(a[col : col + embedder.dim] @ b[col : col + embedder.dim])
            col += embedder.dim
        return out

    def __repr__(self) -> str:
        inner = ", ".join(f"({e!r}, {w:.3f})" for e, w in self.parts)
        return f"CombinedEmbedder([{inner}])"


def make_embedder(spec: str) -> Embedder:
    """Build an embedder from a spec such as ``"use"``, ``"use+lexical"`` or ``"use:0.7+lexical:0.3"``.

    Parts without a weight share equally. A single part without a weight is
    returned bare (no combination wrapper, same name, same cache entries).
    """
    terms = [t.strip() for t in spec.replace(" ", "").split("+") if t.strip()]
    if not terms:
        raise ValueError("empty embedder spec")
    parsed: list[tuple[str, float | None]] = []
    for term in terms:
        name, _, weight = term.partition(":")
        parsed.append((name.lower(), float(weight) if weight else None))
    if len(parsed) == 1 and parsed[0][1] is None:
        return _single(parsed[0][0])
    given = [w for _, w in parsed if w is not None]
    if given and len(given) != len(parsed):
        raise ValueError(f"give a weight to every part or to none: {spec!r}")
    return CombinedEmbedder([(_single(name), 1.0 if w is None else w) for name, w in parsed])


def default_embedder() -> Embedder:
    """The embedder the setting `embedder` names."""
    return make_embedder(embedder_spec(load_settings().embedder))


def embedder_spec(spec: str | None) -> str:
    """The spec a setting value means: "default" (or nothing) is ``DEFAULT_EMBEDDER_SPEC``."""
    return DEFAULT_EMBEDDER_SPEC if spec in (None, "", "default") else spec

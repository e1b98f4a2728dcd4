"""Content-addressed cache of embeddings, so a refresh only encodes what changed.

Vectors are keyed by ``(embedder name, sha256(text))``: an unchanged
description costs a lookup, an edited one is encoded once, and switching model
never returns a stale vector because the name is part of the key. A combined
embedder is cached part by part, so re-weighting the blend re-encodes nothing.
The store is one SQLite file (WAL mode: the web app can read while the
refresh job writes), or memory when no path is given.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import DEFAULT_BATCH_SIZE, Embedder, as_text_list
from .combined import CombinedEmbedder

__all__ = ["CacheStats", "EmbeddingCache", "text_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model TEXT NOT NULL,
    key BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID
"""
#: SQLite caps bound parameters per statement; look keys up in chunks below it.
_LOOKUP_CHUNK = 500


def text_key(text: str) -> bytes:
    """sha256 of the exact text: any edit, even whitespace, is a new entry."""
    return hashlib.sha256(text.encode("utf-8")).digest()


@dataclass(frozen=True)
class CacheStats:
    """What one ``encode`` call cost.

    ``encoded`` counts distinct texts sent to a model (for a combined embedder:
    texts that missed in at least one part); ``hits`` the distinct texts served
    entirely from the cache.
    """

    requested: int
    unique: int
    hits: int
    encoded: int


class EmbeddingCache:
    """``encode(embedder, texts)`` that only calls the model for unseen texts."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = ":memory:" if path is None else str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
        self.last_stats = CacheStats(0, 0, 0, 0)
        self.total_encoded = 0

    def encode(
        self, embedder: Embedder, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> np.ndarray:
        """Vectors for ``texts`` (same order as given); see ``last_stats`` for the cost."""
        items = as_text_list(texts)
        unique = list(dict.fromkeys(items))
        if isinstance(embedder, CombinedEmbedder):
            blocks, missed = [], set()
            for part, _ in embedder.parts:
                block, part_missed = self._encode_unique(part, unique, batch_size)
                blocks.append(block)
                missed |= part_missed
            vectors = embedder.combine(blocks)
        else:
            vectors, missed = self._encode_unique(embedder, unique, batch_size)
        self.last_stats = CacheStats(len(items), len(unique), len(unique) - len(missed), len(missed))
        self.total_encoded += len(missed)
        position = {t: i for i, t in enumerate(unique)}
        return vectors[[position[t] for t in items]] if items else vectors

    def _encode_unique(
        self, embedder: Embedder, unique: list[str], batch_size: int
    ) -> tuple[np.ndarray, set[str]]:
        out = np.zeros((len(unique), embedder.dim), dtype=np.float32)
        keys = [text_key(t) for t in unique]
        found = self._lookup(embedder.name, keys, embedder.dim)
        missing = [i for i, k in enumerate(keys) if k not in found]
        for i, k in enumerate(keys):
            if k in found:
                out[i] = found[k]
        if missing:
            fresh = embedder.encode([unique[i] for i in missing], batch_size=batch_size)
            out[missing] = fresh
            self._store(embedder.name, [keys[i] for i in missing], fresh)
        return out, {unique[i] for i in missing}

    def _lookup(self, model: str, keys: list[bytes], dim: int) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = keys[start : start + _LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({marks})",
                    [model, *chunk],
                ).fetchall()
                for key, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape[0] == dim:  # a row of another shape is stale: re-encode it
                        found[key] = vector
        return found

    def _store(self, model: str, keys: list[bytes], vectors: np.ndarray) -> None:
        rows = [
            (model, k, np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for k, v in zip(keys, vectors, strict=True)
        ]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)", rows)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

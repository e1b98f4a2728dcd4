"""Inner-product nearest-neighbour search over unit vectors, keyed by graph ids.

FAISS knows rows by position; the graph knows nodes by string id. This class
keeps the mapping, picks exact search (``IndexFlatIP``) for small sets and HNSW
(Malkov & Yashunin 2018) above ``ANN_FLAT_MAX``, and supports the refresh job's
incremental changes. HNSW cannot delete, so a removed or replaced vector stays
stored as a *tombstone*, filtered out at query time by an ``IDSelectorBitmap``;
once tombstones pass ``ANN_REBUILD_FRACTION`` of the rows the index is rebuilt
from its own stored vectors (no re-embedding needed).

>>> import numpy as np
>>> index = VectorIndex(2)
>>> index.build(["a", "b"], np.array([[1, 0], [0, 1]], dtype=np.float32))
>>> index.search(np.array([1, 0], dtype=np.float32), k=1)
[('a', 1.0)]
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import faiss
import numpy as np

from kg.settings import Settings, load_settings

__all__ = ["FORMAT_VERSION", "IndexSettings", "VectorIndex"]

FORMAT_VERSION = 1


class IndexSettings:
    """The `ann_*` rows of the settings table (kg.settings) as typed attributes; a bench may set
    them on its own copy."""

    def __init__(self, settings: Settings | None = None) -> None:
        s = settings or load_settings()
        self.flat_max = int(s.ann_flat_max)
        self.hnsw_m = int(s.ann_hnsw_m)
        self.ef_construction = int(s.ann_ef_construction)
        self.ef_search = int(s.ann_ef_search)
        self.rebuild_fraction = float(s.ann_rebuild_fraction)
        self.threads = int(s.ann_threads)
_POINTER = "CURRENT"

Hit = tuple[str, float]


def _as_matrix(vectors: np.ndarray, dim: int, count: int | None = None) -> np.ndarray:
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2 or matrix.shape[1] != dim:
        raise ValueError(f"expected vectors of dimension {dim}, got shape {matrix.shape}")
    if count is not None and matrix.shape[0] != count:
        raise ValueError(f"{count} ids but {matrix.shape[0]} vectors")
    if not np.isfinite(matrix).all():
        raise ValueError("vectors contain NaN or infinity")
    return matrix


def _distinct(ids: Sequence[str]) -> list[str]:
    ids = [str(i) for i in ids]
    if len(set(ids)) != len(ids):
        raise ValueError("ids must be distinct within one call")
    return ids


class VectorIndex:
    """String-keyed inner-product index (exact when small, HNSW when large).

    Vectors are expected unit length (as every ``matching.embed`` embedder
    returns them), so scores are cosines. One writer at a time: searches may
    run concurrently with each other, not with ``build``/``upsert``/``remove``.
    """

    def __init__(self, dim: int, settings: IndexSettings | None = None) -> None:
        self.dim = int(dim)
        self.settings = settings or IndexSettings()
        if self.settings.threads > 0:
            faiss.omp_set_num_threads(self.settings.threads)
        self._ids: list[str | None] = []  # position -> id, None once tombstoned
        self._pos: dict[str, int] = {}  # live id -> position
        self._index: faiss.Index = self._new_index(0)
        self._mask: np.ndarray | None = None
        self._mask_stale = True

    # ------------------------------------------------------------------ build
    @property
    def kind(self) -> str:
        """``"flat"`` or ``"hnsw"``."""
        return "hnsw" if isinstance(self._index, faiss.IndexHNSWFlat) else "flat"

    def _new_index(self, n: int) -> faiss.Index:
        if n <= self.settings.flat_max:
            return faiss.IndexFlatIP(self.dim)
        index = faiss.IndexHNSWFlat(self.dim, self.settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = self.settings.ef_construction
        index.hnsw.efSearch = self.settings.ef_search
        return index

    def build(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Replace the whole content; the index kind follows the size."""
        ids = _distinct(ids)
        matrix = _as_matrix(vectors, self.dim, len(ids))
        index = self._new_index(len(ids))
        if len(ids):
            index.add(matrix)
        self._index, self._ids, self._pos = index, list(ids), {i: p for p, i in enumerate(ids)}
        self._mask_stale = True

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add new ids and replace the vectors of known ones."""
        ids = _distinct(ids)
        matrix = _as_matrix(vectors, self.dim, len(ids))
        if not ids:
            return
        for id_ in ids:
            self._tombstone(id_)
        start = len(self._ids)
        self._index.add(matrix)
        self._ids.extend(ids)
        self._pos.update((id_, start + n) for n, id_ in enumerate(ids))
        self._maybe_rebuild()

    def remove(self, ids: Iterable[str]) -> int:
        """Forget ids (unknown ones are ignored); returns how many were removed."""
        removed = sum(self._tombstone(str(id_)) for id_ in ids)
        if removed:
            self._maybe_rebuild()
        return removed

    def _tombstone(self, id_: str) -> bool:
        position = self._pos.pop(id_, None)
        if position is None:
            return False
        self._ids[position] = None
        self._mask_stale = True
        return True

    @property
    def tombstones(self) -> int:
        """Stored vectors that no longer belong to any id."""
        return len(self._ids) - len(self._pos)

    def _maybe_rebuild(self) -> None:
        stored = len(self._ids)
        too_dead = stored and self.tombstones > self.settings.rebuild_fraction * stored
        outgrown = self.kind == "flat" and len(self._pos) > self.settings.flat_max
        shrunk = self.kind == "hnsw" and len(self._pos) <= self.settings.flat_max  # exact again, as build() would pick
        if too_dead or outgrown or shrunk:
            self.rebuild()

    def rebuild(self) -> None:
        """Re-index the live vectors: drops tombstones and re-picks flat vs HNSW."""
        live = [p for p, id_ in enumerate(self._ids) if id_ is not None]
        ids = [self._ids[p] for p in live]
        matrix = self._stored(live)
        self.build(ids, matrix)  # type: ignore[arg-type]

    def _storage(self) -> np.ndarray:
        """All stored rows as an ``(ntotal, dim)`` view of FAISS's own buffer."""
        flat = self._index if self.kind == "flat" else faiss.downcast_index(self._index.storage)
        if flat.ntotal == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * self.dim).reshape(-1, self.dim)

    def _stored(self, positions: list[int]) -> np.ndarray:
        return np.array(self._storage()[positions], dtype=np.float32)

    # ----------------------------------------------------------------- search
    def vector(self, id_: str) -> np.ndarray:
        """The stored vector of an id (to find the neighbours of a node)."""
        return self._index.reconstruct(self._pos[id_])

    def search(
        self, query: np.ndarray, k: int = 10, exclude_ids: Iterable[str] | None = None
    ) -> list[Hit] | list[list[Hit]]:
        """Top-``k`` ``(id, inner product)`` per query, best first.

        A 1-D query gives one list, a 2-D array one list per row. ``exclude_ids``
        (e.g. the query's own node, or partners already linked) are filtered
        inside FAISS, so they never push a result out of the top ``k``.
        """
        single = np.ndim(query) == 1
        matrix = _as_matrix(query, self.dim)
        excluded = [self._pos[i] for i in (exclude_ids or ()) if i in self._pos]
        k = min(int(k), len(self._pos) - len(excluded))
        if k <= 0:
            return [] if single else [[] for _ in range(len(matrix))]
        params, keep_alive = self._search_params(excluded, k)
        scores, positions = self._index.search(matrix, k, params=params)
        del keep_alive  # the selector reads this bitmap during search()
        hits = [
            [(self._ids[p], float(s)) for s, p in zip(row_s, row_p, strict=True) if p >= 0]
            for row_s, row_p in zip(scores, positions, strict=True)
        ]
        return hits[0] if single else hits  # type: ignore[return-value]

    def _live_mask(self) -> np.ndarray:
        """Live positions as booleans, cached until the next change (O(n) to build)."""
        if self._mask is None or len(self._mask) != len(self._ids) or self._mask_stale:
            self._mask = np.array([id_ is not None for id_ in self._ids], dtype=bool)
            self._mask_stale = False
        return self._mask

    def _search_params(self, excluded: list[int], k: int) -> tuple[faiss.SearchParameters | None, object]:
        hnsw = self.kind == "hnsw"
        if not excluded and not self.tombstones:
            if hnsw:
                return faiss.SearchParametersHNSW(efSearch=max(self.settings.ef_search, k)), None
            return None, None
        allowed = self._live_mask()
        if excluded:
            allowed = allowed.copy()
            allowed[excluded] = False
        bitmap = np.packbits(allowed, bitorder="little")
        selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
        if hnsw:
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.settings.ef_search, k))
        else:
            params = faiss.SearchParameters(sel=selector)
        return params, (bitmap, selector)

    # ------------------------------------------------------------- save/load
    def save(self, directory: str | Path, keep_previous: bool = True) -> Path:
        """Write a new version beside the old one, then switch a pointer file.

        Readers see either the old or the new version, never a mix: files go
        to a temporary folder that is renamed into place, and the ``CURRENT``
        pointer is replaced with ``os.replace`` (atomic on POSIX).
        ``keep_previous=False`` drops the old version at once: for a folder no
        reader has open (a graph version being written).
        """
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
        faiss.write_index(self._index, str(tmp / "index.faiss"))
        (tmp / "ids.json").write_text(json.dumps(self._ids, ensure_ascii=False), encoding="utf-8")
        meta = {"format": FORMAT_VERSION, "dim": self.dim, "kind": self.kind, "live": len(self)}
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        version = f"v-{uuid.uuid4().hex[:12]}"
        os.rename(tmp, root / version)
        pointer_tmp = root / f".{_POINTER}.{version}"
        pointer_tmp.write_text(version, encoding="utf-8")
        previous = (root / _POINTER).read_text().strip() if (root / _POINTER).exists() else None
        os.replace(pointer_tmp, root / _POINTER)
        for old in root.glob("v-*"):  # keep the previous version for readers mid-load
            if old.name != version and (old.name != previous or not keep_previous):
                shutil.rmtree(old, ignore_errors=True)
        return root / version

    @classmethod
    def load(cls, directory: str | Path, settings: IndexSettings | None = None) -> VectorIndex:
        """Open the version ``CURRENT`` points to."""
        root = Path(directory)
        folder = root / (root / _POINTER).read_text(encoding="utf-8").strip()
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{folder}: index format {meta.get('format')}, expected {FORMAT_VERSION}")
        self = cls(int(meta["dim"]), settings)
        self._index = faiss.read_index(str(folder / "index.faiss"))
        if isinstance(self._index, faiss.IndexHNSWFlat):
            self._index.hnsw.efSearch = self.settings.ef_search
        self._ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
        self._pos = {id_: p for p, id_ in enumerate(self._ids) if id_ is not None}
        if self._index.ntotal != len(self._ids):
            raise ValueError(f"{folder}: {self._index.ntotal} vectors but {len(self._ids)} ids")
        return self

    # ------------------------------------------------------------------ misc
    def __len__(self) -> int:
        return len(self._pos)

    def __contains__(self, id_: object) -> bool:
        return id_ in self._pos

    def ids(self) -> list[str]:
        """Live ids, in storage order."""
        return [id_ for id_ in self._ids if id_ is not None]

    def memory_bytes(self) -> int:
        """Bytes held by FAISS: the vectors, plus for HNSW its neighbour lists."""
        total = self._index.ntotal * self.dim * 4
        if self.kind == "hnsw":
            hnsw = self._index.hnsw
            total += hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8 + hnsw.levels.size() * 4
        return int(total)

    def __repr__(self) -> str:
        return (
            f"VectorIndex(dim={self.dim}, kind={self.kind!r}, live={len(self)}, tombstones={self.tombstones})"
        )

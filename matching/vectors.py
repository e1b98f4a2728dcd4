"""Embeddings of graph entities: built by the refresh, published with the graph, read by views.

The refresh encodes every Organization, Sector and Project from its names, sectors and
description (through the content-hash cache, so only changed texts reach the model) and writes
one FAISS index per label into the graph version's data folder. Readers load the index that
belongs to the version they read, so vectors and graph never disagree.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import threading
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.store import GraphView
from matching.embed import EmbeddingCache, entity_text, make_embedder
from matching.embed.combined import embedder_spec
from matching.index import VectorIndex

if TYPE_CHECKING:
    from kg.run import RunContext

log = logging.getLogger("stakegraph.vectors")
EMBEDDED_LABELS = ("Organization", "Sector", "Project")
VECTORS_DIR = "vectors"
TEXT_HASHES = "text_hashes.json"  # per label, id -> hash of the text its vector encodes


def node_text(props: dict[str, Any], sector_names: list[str]) -> str:
    names = [props.get("name_zh"), props.get("name_en"), *(props.get("aliases") or [])]
    description = " ".join(
        x
        for x in [props.get("description") or "", *(props.get("needs") or []), *(props.get("keywords") or [])]
        if x
    )
    return entity_text([n for n in names if n], sector_names, description)


def build_vectors(ctx: RunContext) -> None:
    """Refresh step: encode changed texts and update the per-label indexes of the new version.

    The version being written starts as a copy of the published one, indexes included. Each
    index is updated in place: ids whose text changed are re-encoded and upserted, ids gone (or
    unseen) removed; the text hash of every id is kept beside the indexes to tell which changed.
    Rebuilding an HNSW index of 170,000 vectors cost minutes of a refresh that changed 1% of them.
    Without a usable earlier index (first run, other embedder) every index is built whole.
    """
    names = {
        nid: (n.props.get("name_en") or n.props.get("name_zh") or nid)
        for nid, n in ctx.existing.items()
        if n.label == "Sector"
    }
    sectors_of: dict[str, list[str]] = defaultdict(list)
    for key, e in ctx.existing_edges.items():
        # the sources' sectors only: a tag the chain tagger derives (from these very vectors, after
        # this step) would change the text one run later, and every second refresh would re-encode
        if key.split("|")[1] == "ACTIVE_IN" and e.get("status") != "unseen" and not e.get("extracted"):
            sectors_of[e["_pair"][0]].append(names.get(e["_pair"][1], e["_pair"][1]))
    spec = embedder_spec(ctx.settings.embedder)
    embedder = make_embedder(spec)
    cache_dir = ctx.settings.home_path / "cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = Path(ctx.writer.data_dir) / VECTORS_DIR
    out.mkdir(parents=True, exist_ok=True)
    previous = _read_json(out / "meta.json")
    old_texts = _read_json(out / TEXT_HASHES) if previous.get("embedder") == spec else {}
    encoded = 0
    hashes: dict[str, dict[str, str]] = {}
    with EmbeddingCache(cache_dir / "embeddings.sqlite") as cache:
        for label in EMBEDDED_LABELS:
            nodes = sorted(
                (n for n in ctx.existing.values() if n.label == label and n.props.get("status") != "unseen"),
                key=lambda n: n.id,
            )
            texts = {n.id: node_text(n.props, sorted(sectors_of.get(n.id, []))) for n in nodes}
            hashes[label] = {nid: _text_hash(t) for nid, t in texts.items()}
            old_hashes = old_texts.get(label)
            index = _load_index(out / label) if old_hashes is not None else None
            if index is not None and set(index.ids()) == set(old_hashes):
                changed = [nid for nid, h in hashes[label].items() if old_hashes.get(nid) != h]
                index.remove([nid for nid in old_hashes if nid not in texts])
            elif nodes:
                changed, index = list(texts), None
            else:
                continue
            vectors = cache.encode(embedder, [texts[nid] for nid in changed])
            encoded += cache.last_stats.encoded
            if index is None:
                index = VectorIndex(vectors.shape[1])
                index.build(changed, vectors)
            elif changed:
                index.upsert(changed, vectors)
            index.save(out / label, keep_previous=False)  # this version's copy: no reader has it open
            if ctx.settings.vector_backend == "neo4j" and hasattr(ctx.writer, "write_vectors"):
                ctx.writer.write_vectors(label, changed, vectors)  # docs/neo4j.md
    (out / TEXT_HASHES).write_text(json.dumps(hashes), encoding="utf-8")
    (out / "meta.json").write_text(json.dumps({"embedder": spec, "encoded": encoded}), encoding="utf-8")
    ctx.log.timings["texts_encoded"] = encoded
    log.info("vectors: %d texts encoded (the rest unchanged or from the cache)", encoded)


def _text_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _load_index(folder: Path) -> VectorIndex | None:
    try:
        return VectorIndex.load(folder)
    except (OSError, ValueError, RuntimeError):
        return None


class Vectors:
    """The published indexes of one graph version, plus the embedder that made them."""

    def __init__(self, folder: Path):
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        self.spec = meta["embedder"]
        self.indexes = {p.name: VectorIndex.load(p) for p in folder.iterdir() if p.is_dir()}
        self._embedder = None

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = make_embedder(self.spec)
        return self._embedder

    def encode(self, text: str) -> np.ndarray:
        return self.embedder.encode([text])[0]

    def vector(self, node_id: str) -> np.ndarray | None:
        for index in self.indexes.values():
            if node_id in index:
                return index.vector(node_id)
        return None


_cache: dict[str, Vectors] = {}
_lock = threading.Lock()


def warm_vectors(view: GraphView) -> None:
    """Load a new version's indexes in a background thread, so the first recommendation after a
    refresh does not wait for them (2-3 s at 1,000,000 organisations); requests that come first
    wait on the lock."""
    threading.Thread(target=_load_quietly, args=(view,), name="vectors-warm-up", daemon=True).start()


def _load_quietly(view: GraphView) -> None:
    try:
        vectors_for(view)
    except Exception:  # a newer version came and closed the view; a request loads its own
        log.debug("vector warm-up of %s stopped", view.version, exc_info=True)


def vectors_for(view: GraphView) -> Vectors | None:
    """The vectors of the view's graph version (loaded once per version and process)."""
    folder = Path(view.data_dir) / VECTORS_DIR
    key = str(folder)
    with _lock:
        if key not in _cache:
            if not (folder / "meta.json").exists():
                return None
            _cache.clear()  # one version at a time is enough for a process
            _cache[key] = Vectors(folder)
            # An index holds a Python list of every id (1,000,000 at scale): each full garbage
            # collection walked it, 60-90 ms a time, several times a minute under load. What is
            # loaded now lives until the next version: take it out of the collector's walks
            # (after handing back what an earlier freeze held, so its garbage is collected).
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        vecs = _cache[key]
        if getattr(view, "searches_vectors", False) and not getattr(vecs, "graph_search", False):
            from matching.index.graph_index import GraphVectorIndex  # vector_backend = neo4j

            vecs.indexes = {label: GraphVectorIndex(view, label, idx) for label, idx in vecs.indexes.items()}
            vecs.graph_search = True
    return vecs

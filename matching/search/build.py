"""Writing the search index: whole, or only the entities that changed, beside each graph version.

The refresh runs `build_search_index` as a derive step. The version being written starts as a
copy of the published one, its index included; the step hashes what every entity's document is
made of (names, codes, texts, its places and chain links with their parents) and rewrites only
the documents whose hash changed, deletes those of entities gone, and commits. With no usable
index (first run, another schema version, most entities changed) it writes a whole new one.
Either way the graph version is published with its index, atomically, so a reader never sees
a half-built index.

`build_from_view` makes an index from a read-only view, for a graph published before this step
existed and for views that live only in memory (tests, benches).
"""

from __future__ import annotations

import gc
import itertools
import json
import logging
import multiprocessing
import os
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tantivy

from kg.store import GraphView, Node
from matching.search.fields import (
    SCHEMA_VERSION,
    entity_doc,
    input_hash,
    make_schema,
    register_analyzers,
)
from matching.search.hits import LABELS

if TYPE_CHECKING:
    from kg.run import RunContext

__all__ = ["SEARCH_DIR", "Facets", "build_from_view", "build_search_index", "write_index"]

log = logging.getLogger("stakegraph.search")
SEARCH_DIR = "search"
HASHES = "doc_hashes.json"
META = "search_meta.json"
WRITER_HEAP = 256_000_000  # bytes the writer buffers before it flushes a segment
WRITER_THREADS = 2
REBUILD_FRACTION = 0.3  # above this share of documents changed, a whole new index is faster
MAX_LINEAGE = 12  # a place or chain link has fewer ancestors; the bound stops a cycle
PARALLEL_MIN = 50_000  # entities from which worker processes make the documents (start-up ~1 s)


class Facets:
    """Each entity's places and chain links with every one above them (Jiangyin is in Wuxi, an
    advanced-packaging link in packaging and test), from LOCATED_IN, ACTIVE_IN and PART_OF."""

    def __init__(self) -> None:
        self.parents: dict[str, str] = {}
        self.regions: dict[str, set[str]] = defaultdict(set)
        self.sectors: dict[str, set[str]] = defaultdict(set)

    def add(self, rel_type: str, source: str, target: str) -> None:
        if rel_type == "PART_OF":
            self.parents.setdefault(source, target)
        elif rel_type == "LOCATED_IN":
            self.regions[source].add(target)
        elif rel_type == "ACTIVE_IN":
            self.sectors[source].add(target)

    def lineage(self, node_id: str) -> list[str]:
        chain = [node_id]
        while chain[-1] in self.parents and len(chain) < MAX_LINEAGE and self.parents[chain[-1]] not in chain:
            chain.append(self.parents[chain[-1]])
        return chain

    def of(self, node_id: str) -> tuple[list[str], list[str]]:
        regions = {r for t in self.regions.get(node_id, ()) for r in self.lineage(t)}
        sectors = {s for t in self.sectors.get(node_id, ()) for s in self.lineage(t)}
        return sorted(regions), sorted(sectors)


FACET_TYPES = ("PART_OF", "LOCATED_IN", "ACTIVE_IN")


def _new_index(folder: Path) -> tantivy.Index:
    folder.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(make_schema(), path=str(folder), reuse=False)
    register_analyzers(index)
    return index


def write_index(folder: Path, entities: Iterable[tuple[str, str, dict[str, Any]]], facets: Facets,
                hashes: dict[str, str] | None = None, workers: int | None = None) -> dict[str, str]:
    """A whole new index of `entities` (id, label, props) in `folder`; returns their hashes
    (computed here unless given).

    Making a document is Python (keys, pinyin, character pairs: ~100 us an entity, 2 minutes a
    million on one core), so from PARALLEL_MIN entities on the work is split: each of `workers`
    forked processes takes a contiguous share of the entities, makes their documents and indexes
    them with a writer of its own into its own folder; their segments are then put together into
    one index (a tantivy index is its segment files and the list of them in meta.json). One
    process feeding one writer was the bound before: it parsed every document the workers sent
    back (1.7 KB each) while the engine's threads indexed them, 144 s a million on 2 cores."""
    given = hashes is not None
    hashes = hashes if hashes is not None else {}
    rows = ((node_id, label, props, *facets.of(node_id)) for node_id, label, props in entities)
    workers = (os.cpu_count() or 1) if workers is None else workers
    first = list(itertools.islice(rows, PARALLEL_MIN))
    if workers > 1 and len(first) >= PARALLEL_MIN:
        return _write_parts(folder, [*first, *rows], hashes, given, workers)
    index = _new_index(folder)
    writer = index.writer(WRITER_HEAP, WRITER_THREADS)
    for node_id, label, props, regions, sectors in first:
        if not given:
            hashes[node_id] = input_hash(node_id, label, props, regions, sectors)
        writer.add_document(tantivy.Document(**entity_doc(node_id, label, props, regions, sectors)))
    writer.commit()
    writer.wait_merging_threads()
    return hashes


# The rows a forked worker reads its share of: set before the fork, so no row is pickled to a
# worker (only each worker's hashes come back).
_ROWS: list[tuple] = []


def _write_parts(folder: Path, rows: list[tuple], hashes: dict[str, str], given: bool, workers: int) -> dict[str, str]:
    global _ROWS
    folder.mkdir(parents=True, exist_ok=True)
    bounds = [len(rows) * k // workers for k in range(workers + 1)]
    shares = [(folder / f".part-{k}", bounds[k], bounds[k + 1]) for k in range(workers)]
    import pypinyin  # noqa: F401 - imported here, not in a child under another thread's import lock
    _ROWS = rows
    try:
        # fork: a worker reads its share of _ROWS from the parent's memory, with no re-import
        # of the caller's main module as forkserver and spawn would do
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for part_hashes in pool.starmap(partial(_write_part, with_hash=not given), shares):
                hashes.update(part_hashes)
    finally:
        _ROWS = []
    _join_parts(folder, [part for part, _, _ in shares])
    return hashes


def _write_part(part: Path, start: int, stop: int, with_hash: bool) -> dict[str, str]:
    """In a worker: an index of rows[start:stop] in `part`, with one writer thread (every
    process is busy), and the rows' hashes."""
    index = _new_index(part)
    writer = index.writer(max(WRITER_HEAP // 2, 50_000_000), 1)
    hashes: dict[str, str] = {}
    for node_id, label, props, regions, sectors in itertools.islice(_ROWS, start, stop):
        writer.add_document(tantivy.Document(**entity_doc(node_id, label, props, regions, sectors)))
        if with_hash:
            hashes[node_id] = input_hash(node_id, label, props, regions, sectors)
    writer.commit()
    writer.wait_merging_threads()
    return hashes


def _join_parts(folder: Path, parts: list[Path]) -> None:
    """The parts' segments as one index in `folder`: their files moved in (segment files are
    named by a random id, so none collide) and one meta.json listing every segment, written
    last; the engine's own list of the files it manages is joined too, so a later merge
    deletes the segments it replaced."""
    metas = [json.loads((p / "meta.json").read_text(encoding="utf-8")) for p in parts]
    managed: list[str] = []
    for part in parts:
        for f in part.iterdir():
            if f.name == ".managed.json":
                managed += json.loads(f.read_text(encoding="utf-8"))
            elif f.name != "meta.json" and not f.name.startswith(".tantivy-"):
                os.replace(f, folder / f.name)
        shutil.rmtree(part)
    meta = {**metas[0], "segments": [s for m in metas for s in m["segments"]],
            "opstamp": max(m["opstamp"] for m in metas)}
    (folder / ".managed.json").write_text(json.dumps(sorted(set(managed))), encoding="utf-8")
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def _save_meta(folder: Path, hashes: dict[str, str], mode: str, changed: int) -> None:
    (folder / HASHES).write_text(json.dumps(hashes, separators=(",", ":")), encoding="utf-8")
    meta = {"schema": SCHEMA_VERSION, "documents": len(hashes), "mode": mode, "changed": changed,
            "written": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (folder / META).write_text(json.dumps(meta), encoding="utf-8")


def read_meta(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _replace_folder(tmp: Path, folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    os.rename(tmp, folder)


def build_search_index(ctx: RunContext) -> None:
    """Refresh step: bring the index of the version being written up to date with its graph."""
    t0 = time.perf_counter()
    facets = Facets()
    for key, e in ctx.read_edges().items():
        rel_type = key.split("|")[1] if key.count("|") == 2 else ""
        if rel_type in FACET_TYPES and e.get("status") != "unseen":
            facets.add(rel_type, *e["_pair"])
    nodes = [n for n in ctx.existing.values() if n.label in LABELS]
    folder = Path(ctx.writer.data_dir) / SEARCH_DIR
    old = _read_hashes(folder) if read_meta(folder).get("schema") == SCHEMA_VERSION else None
    mode, changed = _update(folder, nodes, facets, old)
    ctx.log.timings["search_documents_written"] = changed
    log.info("search index: %s, %d documents written in %.1f s", mode, changed, time.perf_counter() - t0)


def _update(folder: Path, nodes: list[Node], facets: Facets, old: dict[str, str] | None) -> tuple[str, int]:
    hashes: dict[str, str] = {}
    changed: list[Node] = []
    for n in nodes:
        regions, sectors = facets.of(n.id)
        h = input_hash(n.id, n.label, n.props, regions, sectors)
        hashes[n.id] = h
        if old is None or old.get(n.id) != h:
            changed.append(n)
    gone = [i for i in (old or {}) if i not in hashes]
    if old is not None and _index_ok(folder) and len(changed) + len(gone) <= REBUILD_FRACTION * max(len(nodes), 1):
        if changed or gone:
            index = tantivy.Index.open(str(folder))
            register_analyzers(index)
            writer = index.writer(WRITER_HEAP, WRITER_THREADS)
            for node_id in [*gone, *(n.id for n in changed)]:
                writer.delete_documents_by_term("id", node_id)
            for n in changed:
                regions, sectors = facets.of(n.id)
                writer.add_document(tantivy.Document(**entity_doc(n.id, n.label, n.props, regions, sectors)))
            writer.commit()
            writer.wait_merging_threads()
        _save_meta(folder, hashes, "updated", len(changed) + len(gone))
        return "updated", len(changed) + len(gone)
    tmp = Path(tempfile.mkdtemp(prefix=".search-", dir=folder.parent))
    write_index(tmp, ((n.id, n.label, n.props) for n in nodes), facets, hashes)
    _save_meta(tmp, hashes, "built", len(nodes))
    _replace_folder(tmp, folder)
    return "built", len(nodes)


def _index_ok(folder: Path) -> bool:
    try:
        return tantivy.Index.exists(str(folder))
    except ValueError:
        return False


def _read_hashes(folder: Path) -> dict[str, str] | None:
    try:
        return json.loads((folder / HASHES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def view_entities(view: GraphView, labels: Iterable[str] = LABELS) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for label in labels:
        for nodes in view.iter_nodes(label, batch_size=20_000):
            for n in nodes:
                yield n.id, n.label, n.props


def view_facets(view: GraphView) -> Facets:
    facets = Facets()
    for rel_type in FACET_TYPES:
        for edges in view.iter_edges(rel_type, batch_size=50_000):
            for e in edges:
                if e.props.get("status") != "unseen":
                    facets.add(rel_type, e.source_id, e.target_id)
    return facets


def build_from_view(view: GraphView, folder: Path) -> Path:
    """A whole index of the view's graph in `folder` (made anew)."""
    was_enabled = gc.isenabled()
    gc.disable()  # a million small dicts and no cycles among them
    try:
        if folder.exists():
            shutil.rmtree(folder)
        hashes = write_index(folder, view_entities(view), view_facets(view))
        _save_meta(folder, hashes, "built", len(hashes))
    finally:
        if was_enabled:
            gc.enable()
    return folder

"""The extraction step of a refresh: Document records in, MENTIONS and candidate PARTNERS_WITH
edge records out (appended to the batch, written by write_edges like any source's edges).

Runs after write_nodes, so ctx.existing holds every node with its merged (and staff-edited)
values. Only documents read in this run are looked at; each one's result comes from the cache
when its text and the graph's names are unchanged, so a second run parses nothing and, the
records being the same, write_edges finds no change.

Extracted partnerships never mix with curated ones: a pair that has a curated PARTNERS_WITH
(in the graph or in this run's sources; curated edges carry no `extracted` flag) gets no
candidate, and a curated record arriving for a pair the graph holds as extracted is marked
`extracted: false`, so the stored edge stops claiming to be extracted.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from ingest.extract.cache import ResultCache, text_key
from ingest.extract.cooperation import Cues, load_cues
from ingest.extract.names import build_index, index_inputs, inputs_digest
from ingest.records import EdgeRecord, NodeRecord
from ingest.sources.staff_source import STAFF_FEED
from ingest.sources.text_source import detect_language

if TYPE_CHECKING:
    from ingest.context import Context
    from ingest.extract.extractor import Extractor

log = logging.getLogger("stakegraph.extract")
PARTNERS = "PARTNERS_WITH"
_EXTRACTORS: dict[str, Extractor] = {}  # one per process, rebuilt when the names change


def extractor_for(rows: list[tuple], digest: str, cues: Cues) -> Extractor:
    """The extractor for this name index, built once per process and digest."""
    from ingest.extract.extractor import Extractor  # spaCy loads only when a document needs reading

    if digest not in _EXTRACTORS:
        _EXTRACTORS.clear()
        _EXTRACTORS[digest] = Extractor(build_index(rows, digest), cues)
    return _EXTRACTORS[digest]


def document_text(props: dict[str, Any]) -> tuple[str, str]:
    """The text to read (title first unless the body already starts with it) and its language."""
    title = props.get("name_zh") or props.get("name_en") or ""
    body = props.get("text") or ""
    text = body if title and title in body[: len(title) + 200] else "\n".join(x for x in (title, body) if x)
    return text, props.get("language") or detect_language(text)


def extract_mentions(ctx: Context) -> None:
    # Documents a source delivered in this run; a staff edit alone (its feed did not run) leaves
    # the document's edges as they are. The text read is the merged node's, so an edit counts.
    records: dict[str, NodeRecord] = {}
    for rec in ctx.batch.nodes:
        if rec.label == "Document" and rec.feed != STAFF_FEED:
            records.setdefault(ctx.redirects.get(rec.id, rec.id), rec)
    if not records:
        return
    t0 = time.perf_counter()
    cues = load_cues()
    rows = index_inputs(ctx.existing.values(), ctx.redirects)
    digest = inputs_digest(rows, cues.digest)
    cache = ResultCache(ctx.settings.home_path / "cache" / "extract", digest)
    keys: dict[str, str] = {}
    todo: dict[str, tuple[str, str, str]] = {}
    for doc_id in sorted(records):
        node = ctx.existing.get(doc_id)
        text, language = document_text(node.props if node else records[doc_id].props)
        keys[doc_id] = key = text_key(text, language)
        if cache.get(key) is None and text.strip():
            todo[key] = (key, text, language)
    extractor = None
    if todo:
        extractor = extractor_for(rows, digest, cues)
        for key, result in extractor.run(todo.values()).items():
            cache.put(key, result)
    cache.save(set(keys.values()))
    stats = _emit(ctx, records, {d: cache.get(k) for d, k in keys.items()})
    seconds = time.perf_counter() - t0
    stats.update({"op": "extraction", "documents": len(records), "parsed": len(todo), "seconds": round(seconds, 3)})
    if extractor is not None:
        stats.update({"names": extractor.index.size, "ambiguous_names": extractor.index.ambiguous})
    ctx.log.details.append(stats)
    log.info("extraction: %s", stats)


def _emit(ctx: Context, records: dict[str, NodeRecord], results: dict[str, Any]) -> dict[str, Any]:
    """Append MENTIONS and candidate PARTNERS_WITH records; return counts for the run's log."""
    mentions = 0
    per_pair: dict[tuple[str, str], dict[str, tuple[float, str]]] = defaultdict(dict)  # pair -> doc -> best
    for doc_id, result in sorted(results.items()):
        if not result:
            continue
        rec = records[doc_id]
        for node_id, sentence in result["mentions"]:
            if node_id in ctx.existing:
                ctx.batch.edges.append(EdgeRecord("MENTIONS", doc_id, node_id, {"evidence": sentence},
                                                  rec.source, rec.feed, f"{rec.where} (text)"))
                mentions += 1
        for a, b, conf, sentence in result["pairs"]:
            if a in ctx.existing and b in ctx.existing:
                per_pair[(a, b)][doc_id] = (conf, sentence)
    curated = _curated_pairs(ctx)
    skipped = 0
    for (a, b), by_doc in sorted(per_pair.items()):
        if frozenset((a, b)) in curated:
            skipped += 1
            continue
        # independent reports raise confidence (noisy-or), still below the cap
        miss = 1.0
        for conf, _ in by_doc.values():
            miss *= 1 - conf
        confidence = round(min(1 - miss, load_cues().max_confidence), 3)
        best_doc = min(by_doc, key=lambda d: (-by_doc[d][0], d))
        props = {"extracted": True, "confidence": confidence, "evidence": by_doc[best_doc][1]}
        cited = {(records[d].source, records[d].feed): records[d] for d in sorted(by_doc)}
        for rec in cited.values():  # one record per citing feed, so each feed keeps the edge seen
            tier = {"evidence_tier": rec.props["evidence_tier"]} if rec.props.get("evidence_tier") else {}  # an illustrative document's facts stay illustrative
            ctx.batch.edges.append(EdgeRecord(PARTNERS, a, b, {**props, **tier}, rec.source, rec.feed, f"{rec.where} (text)"))
    return {"mentions": mentions, "candidates": len(per_pair) - skipped, "skipped_curated": skipped}


def _curated_pairs(ctx: Context) -> set[frozenset[str]]:
    """Pairs with a curated PARTNERS_WITH, in the graph or among this run's source records.

    A curated record for a pair the graph holds as extracted is flagged `extracted: false`,
    so that when write_edges merges it into the stored edge the flag tells the truth.
    """
    def pair(s: str, t: str) -> frozenset[str]:
        return frozenset((ctx.redirects.get(s, s), ctx.redirects.get(t, t)))

    stored_extracted: set[frozenset[str]] = set()
    curated: set[frozenset[str]] = set()
    marker = f"|{PARTNERS}|"
    for key, e in ctx.read_edges().items():
        if marker in key and key.split("|")[1] == PARTNERS:
            (stored_extracted if e.get("extracted") else curated).add(pair(*e["_pair"]))
    for rec in ctx.batch.edges:
        if rec.type == PARTNERS and not rec.props.get("extracted"):
            p = pair(rec.source_id, rec.target_id)
            curated.add(p)
            if p in stored_extracted:
                rec.props["extracted"] = False
    return curated

"""Tagging organisations and projects with chain sectors where no curated tag is given.

Two sources of a derived tag, tried in this order for every Organization and Project that has no
curated ACTIVE_IN edge:

1. its *source industry label* (a stock exchange or data vendor classification such as
   'C 制造业' or '半导体', kept in the node's `extra` JSON), mapped through
   kg/taxonomy/source_sector_map.csv, each mapping with its own confidence;
2. *text classification*: the cosine of the entity's embedding with each sector's embedding (the
   Sector vectors published by `build_vectors`), restricted to the subtrees of the mapped sectors
   when a label was found, since '半导体' already says which chain to look in.

Results are ACTIVE_IN edges with `extracted=true`, a `confidence` and an `evidence` sentence, and
the derived `sector_tags` list on Organization nodes. They are recomputed every refresh: a tag
the entity no longer earns (it gained a curated sector, its text changed) is deleted, because
derived data is a function of the facts, not a fact of its own.

The classifiers themselves live in matching.chain.classify; this module is the refresh step.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.batches import descendants
from kg.run import content_hash, node_content_hash
from kg.schema import TAXONOMY_FEED
from kg.store import Node
from matching.chain.classify import SourceMap, Tag, TextClassifier, classify_text, load_source_map
from matching.embed import EmbeddingCache, make_embedder
from matching.embed.combined import embedder_spec
from matching.index import VectorIndex
from matching.vectors import VECTORS_DIR, node_text

if TYPE_CHECKING:
    from kg.run import RunContext

__all__ = [
    "TAGGER_SOURCE",
    "SourceMap",
    "Tag",
    "TextClassifier",
    "classify_text",
    "load_source_map",
    "propose_tags",
    "tag_sectors",
]

log = logging.getLogger("stakegraph.chain")
TAGGER_SOURCE = "stakegraph chain tagger"  # provenance of every derived edge; how we know it is ours
TAGGED_LABELS = ("Organization", "Project")
#: A mapping at least this sure, to a sector with no children, needs no text classification.
SOURCE_TAG_SUFFICIENT = 0.8


def _active_in(ctx: RunContext) -> dict[tuple[str, str], dict[str, Any]]:
    edges = {
        e["_pair"]: e
        for key, e in ctx.existing_edges.items()
        if key.split("|")[1] == "ACTIVE_IN" and e.get("status") != "unseen"
    }
    if edges or ctx.existing_edges:
        return edges
    for batch in ctx.writer.iter_edges("ACTIVE_IN", batch_size=50_000):  # steps run without write_edges
        edges.update(
            ((e.source_id, e.target_id), e.props) for e in batch if e.props.get("status") != "unseen"
        )
    return edges


def _is_ours(edge: dict[str, Any]) -> bool:
    return set(edge.get("sources") or [edge.get("source")]) == {TAGGER_SOURCE}


def _sector_classifier(
    ctx: RunContext, sectors: dict[str, Any], parent: dict[str, str]
) -> TextClassifier | None:
    folder = Path(ctx.writer.data_dir) / VECTORS_DIR / "Sector"
    if not folder.exists():
        return None
    index = VectorIndex.load(folder)
    ids = [s for s in sorted(sectors) if s in parent and s in index]
    if not ids:
        return None
    names = {s: sectors[s].props.get("name_en") or sectors[s].props.get("name_zh") or s for s in ids}
    return TextClassifier(ids, np.stack([index.vector(s) for s in ids]), names, parent)


def propose_tags(ctx: RunContext) -> dict[str, list[Tag]]:
    """The derived tags every untagged entity earns now (pure: reads ctx, writes nothing).

    'Untagged' means no curated tag in the taxonomy tree: an organisation a source tagged only
    with the source's own sector ('电子器件', a Sector node outside kg/taxonomy) is tagged here,
    its source sector's name read as a source label.
    """
    sectors = {
        n.id: n for n in ctx.existing.values() if n.label == "Sector" and n.props.get("status") != "unseen"
    }
    parent: dict[str, str] = {}
    children: dict[str, set[str]] = defaultdict(set)
    for a, b in ctx.writer.query("MATCH (a:Sector)-[:PART_OF]->(b:Sector) RETURN a.id, b.id").rows:
        if a in sectors and b in sectors:
            parent[a] = b
            children[b].add(a)
    roots = {
        s for s, n in sectors.items() if s not in parent and TAXONOMY_FEED in (n.props.get("feeds") or [])
    }
    tree = descendants(children, roots)
    curated: set[str] = set()
    source_sectors: dict[str, list[str]] = defaultdict(list)
    for (entity, sector), edge in sorted(_active_in(ctx).items()):
        if _is_ours(edge):
            continue
        if sector in tree:
            curated.add(entity)
        elif sector in sectors:
            source_sectors[entity].append(sector)
    smap = load_source_map()
    entities = sorted(
        (
            n
            for n in ctx.existing.values()
            if n.label in TAGGED_LABELS and n.id not in curated and n.props.get("status") != "unseen"
        ),
        key=lambda n: n.id,
    )
    proposals: dict[str, list[Tag]] = {}
    to_classify: list[tuple[str, set[str] | None, str]] = []
    for node in entities:
        own = [sectors[s].props for s in source_sectors.get(node.id, [])]
        labels = [(None, x) for p in own for x in (p.get("name_zh"), p.get("name_en")) if x]
        found = smap.lookup(json.loads(node.props.get("extra") or "{}")) + smap.lookup_labels(labels)
        best: dict[str, tuple[str, float, str]] = {}
        for s, c, label in found:
            if s in tree and (s not in best or c > best[s][1]):
                best[s] = (s, c, label)
        mapped = sorted(best.values(), key=lambda x: (-x[1], x[0]))
        proposals[node.id] = [
            Tag(s, c, "source label", f"source industry label '{label}' maps to {s}")
            for s, c, label in mapped
        ]
        sure = any(c >= SOURCE_TAG_SUFFICIENT and not children.get(s) for s, c, _ in mapped)
        if not sure:
            allowed = descendants(children, {s for s, _, _ in mapped}) if mapped else tree
            text = node_text(node.props, [p.get("name_en") or p.get("name_zh") or "" for p in own])
            if node.props.get("description") or node.props.get("needs") or own:
                to_classify.append((node.id, allowed, text))
    classifier = _sector_classifier(ctx, sectors, parent) if to_classify else None
    if classifier is not None:
        embedder = make_embedder(embedder_spec(ctx.settings.embedder))
        cache_dir = ctx.settings.home_path / "cache"
        cache_dir.mkdir(parents=True, exist_ok=True)
        with EmbeddingCache(cache_dir / "embeddings.sqlite") as cache:
            vectors = cache.encode(embedder, [t for _, _, t in to_classify])
        for (node_id, allowed, _), vec in zip(to_classify, vectors, strict=True):
            tag = classifier.classify(vec, allowed)
            if tag is not None and all(t.sector_id != tag.sector_id for t in proposals[node_id]):
                proposals[node_id].append(tag)
    return {k: v for k, v in proposals.items() if v}


def tag_sectors(ctx: RunContext) -> None:
    """Refresh derive step (after build_vectors): write derived ACTIVE_IN edges and `sector_tags`."""
    proposals = propose_tags(ctx)
    existing = _active_in(ctx)
    rows: list[dict[str, Any]] = []
    wanted: set[tuple[str, str]] = set()
    for node_id, tags in sorted(proposals.items()):
        for tag in tags:
            pair = (node_id, tag.sector_id)
            wanted.add(pair)
            old = existing.get(pair)
            if old is not None and not _is_ours(old):
                continue  # a source states the same tag: theirs is the fact
            props = {"extracted": True, "confidence": round(tag.confidence, 3), "evidence": tag.evidence}
            new_hash = content_hash({**props, "sources": [TAGGER_SOURCE]})
            if old is not None and old.get("content_hash") == new_hash:
                continue
            key = f"{node_id}|ACTIVE_IN|{tag.sector_id}"
            if old is None:
                ctx.log.add("ACTIVE_IN", key)
            else:
                ctx.log.change("ACTIVE_IN", key, {k: old.get(k) for k in props}, props)
            rows.append(
                {
                    "source_id": node_id,
                    "target_id": tag.sector_id,
                    **props,
                    "source": TAGGER_SOURCE,
                    "sources": [TAGGER_SOURCE],
                    "first_seen": (old or {}).get("first_seen") or ctx.run_id,
                    "last_seen": ctx.run_id,
                    "status": "active",
                    "content_hash": new_hash,
                }
            )
    stale = sorted(pair for pair, e in existing.items() if _is_ours(e) and pair not in wanted)
    if rows:
        ctx.writer.upsert_edges("ACTIVE_IN", rows)
    if stale:
        ctx.writer.delete_edges("ACTIVE_IN", stale)
        for s, t in stale:
            ctx.log.details.append({"op": "untagged", "kind": "ACTIVE_IN", "id": f"{s}|ACTIVE_IN|{t}"})
    _settle_adopted(ctx, existing)
    _write_sector_tags(ctx, proposals)
    for row in rows:
        ctx.existing_edges[f"{row['source_id']}|ACTIVE_IN|{row['target_id']}"] = {
            **existing.get((row["source_id"], row["target_id"]), {}),
            **row,
            "_pair": (row["source_id"], row["target_id"]),
        }
    for s, t in stale:
        ctx.existing_edges.pop(f"{s}|ACTIVE_IN|{t}", None)
    ctx.log.timings["sector_tags"] = sum(len(v) for v in proposals.values())
    log.info(
        "chain tags: %d entities tagged, %d edges written, %d removed", len(proposals), len(rows), len(stale)
    )


def _settle_adopted(ctx: RunContext, existing: dict[tuple[str, str], dict[str, Any]]) -> None:
    """A tag we derived that a source now also states is the source's fact: no longer `extracted`.

    write_edges keeps an edge's old properties when a source restates it, so without this the
    curated edge would still carry our `extracted` flag and confidence.
    """
    rows = []
    for (s, t), e in sorted(existing.items()):
        if e.get("extracted") and TAGGER_SOURCE in (e.get("sources") or []) and not _is_ours(e):
            props = {k: e.get(k) for k in ctx.schema.edge_props if e.get(k) is not None}
            props.update(extracted=False, extra=e.get("extra"))
            props.pop("confidence", None)
            new_hash = content_hash({**props, "sources": e.get("sources")})
            rows.append({"source_id": s, "target_id": t, "extracted": False, "confidence": None,
                         "content_hash": new_hash})  # fmt: skip
    if rows:
        ctx.writer.upsert_edges("ACTIVE_IN", rows)


def _write_sector_tags(ctx: RunContext, proposals: dict[str, list[Tag]]) -> None:
    """Keep `sector_tags` and the node's content hash in step, so the next run sees no change."""
    spec = ctx.schema.label("Organization").props
    rows = []
    for node in ctx.existing.values():
        if node.label != "Organization" or "sector_tags" in (node.props.get("staff_fields") or []):
            continue
        tags = sorted(t.sector_id for t in proposals.get(node.id, []))
        if sorted(node.props.get("sector_tags") or []) == tags:
            continue
        row: dict[str, Any] = {"id": node.id, "sector_tags": tags}
        if node_content_hash(node.props, spec) == node.props.get("content_hash"):
            row["content_hash"] = node_content_hash({**node.props, "sector_tags": tags}, spec)
        rows.append(row)
        ctx.existing[node.id] = Node(node.id, node.label, {**node.props, **row})
    if rows:
        ctx.writer.upsert_nodes("Organization", rows)

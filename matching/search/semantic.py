"""Semantic and hybrid search: the vectors' nearest neighbours of a query, filtered like the
words are, alone or fused with the name search.

The vectors are the FAISS indexes published with the graph (matching.vectors). A filter is
never dropped: the nearest neighbours are fetched with over-fetching (k grows fourfold until
enough of them pass the filters or the index is exhausted, up to MAX_ANN_K) and checked against
the search index with the same filter clauses the words get, so "region Wuxi" returns only
entities in Wuxi and its districts, whichever mode found them.

Hybrid search merges the lexical ranking and the vector ranking by reciprocal rank fusion
(Cormack, Clarke & Büttcher 2009): score = Σ weight / (RRF_K + rank). A whole name or code
typed exactly still comes first (the lexical exact tier is kept on top), and a vector neighbour
whose cosine is far below the best one's takes no part: an embedding puts *something* nearest to
any query, and a liquor maker is not a packaging firm however the ranks fall.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Protocol

from kg.store import GraphView, StoreError
from matching.search.engine import DEFAULT_LIMIT, MAX_OFFSET, SearchEngine
from matching.search.hits import Hit, Results
from matching.search.keys import clean
from matching.search.lookup import index_for
from matching.search.query import MAX_QUERY_CHARS, Filters

__all__ = ["SemanticUnavailable", "VectorSource", "hybrid_search", "nearest", "semantic_search"]

RRF_K = 60  # the constant of the original paper; ranks below ~60 differ little
LEXICAL_WEIGHT = 1.0
SEMANTIC_WEIGHT = 1.0
SEMANTIC_DEPTH = 100  # vector neighbours that take part in one search (pages past it are lexical only)
OVERFETCH = 4  # with filters, first ask for this many times the neighbours needed
MAX_ANN_K = 20_000  # the most neighbours one filtered search asks the vector index for
MIN_RELATIVE_COSINE = 0.8  # a neighbour below this share of the best neighbour's cosine is noise


class SemanticUnavailable(RuntimeError):
    """The vector index of this graph version is missing; the message says what to do."""


class VectorSource(Protocol):
    """What the vectors of a version offer search (matching.vectors.Vectors; a bench its own)."""

    indexes: dict[str, Any]

    def encode(self, text: str) -> Any: ...


def _vectors(view: GraphView) -> VectorSource | None:
    try:
        from matching.vectors import vectors_for

        return vectors_for(view)
    except (ImportError, OSError, ValueError, StoreError) as exc:
        raise SemanticUnavailable(f"semantic search is not available: {exc}") from exc


def nearest(view: GraphView, engine: SearchEngine, text: str, filters: Filters,
            depth: int = SEMANTIC_DEPTH, vectors: VectorSource | None = None) -> list[tuple[Hit, float]]:
    """The entities whose vectors are nearest to the text's, best first, each passing `filters`
    (`vectors`: the version's published vectors unless given)."""
    vecs = vectors if vectors is not None else _vectors(view)
    if vecs is None or not vecs.indexes:
        raise SemanticUnavailable("semantic search is not available: no vector index for this graph yet; "
                                  "run `stakegraph refresh`")
    labels = [lb for lb in vecs.indexes if not filters.labels or lb in filters.labels]
    if not labels:
        return []
    vector = vecs.encode(clean(text)[:MAX_QUERY_CHARS])  # an encoder refuses lone surrogates
    restrictive = filters.any() and (filters.kinds or filters.regions or filters.sectors or filters.tiers
                                     or set(filters.labels) != set(labels))
    found: dict[str, tuple[Hit, float]] = {}
    for label in labels:
        index = vecs.indexes[label]
        k = min(depth * (OVERFETCH if restrictive else 1), len(index))
        got: list[tuple[Hit, float]] = []
        while k > 0:
            pairs = index.search(vector, k=k)
            passing = engine.hits_for([i for i, _ in pairs], filters)
            got = [(passing[i], s) for i, s in pairs if i in passing]
            if len(got) >= depth or k >= min(len(index), MAX_ANN_K):
                break
            k = min(k * OVERFETCH, len(index), MAX_ANN_K)
        for hit, score in got[:depth]:
            found[hit.id] = (hit, score)
    ranked = sorted(found.values(), key=lambda hs: -hs[1])[:depth]
    if ranked:
        floor = ranked[0][1] * MIN_RELATIVE_COSINE if ranked[0][1] > 0 else float("-inf")
        ranked = [(h, s) for h, s in ranked if s >= floor]
    return ranked


def semantic_search(view: GraphView, text: str, *, k: int = DEFAULT_LIMIT, offset: int = 0,
                    labels: Iterable[str] | None = None, kinds: Iterable[str] | None = None,
                    sector: str | None = None, region: str | None = None, tier: str | None = None) -> Results:
    """The nearest entities by meaning ('liquid cooling for AI data centres'), filters honoured."""
    engine = index_for(view)
    filters = engine.filters(labels=labels, kinds=kinds, sector=sector, region=region, tier=tier)
    if not text.strip():
        return Results([], 0, offset, k, semantic=True)
    pairs = nearest(view, engine, text, filters, depth=max(SEMANTIC_DEPTH, min(offset + k, MAX_OFFSET)))
    hits = [replace(h, score=round(float(s), 4), match="semantic") for h, s in pairs]
    return Results(hits[offset : offset + k], len(hits), offset, k, semantic=True)


def hybrid_search(view: GraphView, text: str, *, limit: int = DEFAULT_LIMIT, offset: int = 0,
                  labels: Iterable[str] | None = None, kinds: Iterable[str] | None = None,
                  sector: str | None = None, region: str | None = None, tier: str | None = None,
                  facets: bool = False, vectors: VectorSource | None = None) -> Results:
    """Words and vectors fused: the lexical ranking, the vector ranking, the same filters on both.

    The total counts every entity either ranking found: all lexical matches plus the vector
    neighbours that matched no word. Pages go as deep as the lexical matches do; past the vector
    depth (SEMANTIC_DEPTH) the order is the lexical one, which the fusion leaves unchanged there.
    """
    engine = index_for(view)
    filters = engine.filters(labels=labels, kinds=kinds, sector=sector, region=region, tier=tier)
    p = engine.plan(text)
    if p.query is None:
        return engine.run(p, filters, limit=limit, offset=offset, facets=facets)
    offset = min(max(0, offset), MAX_OFFSET)
    depth = max(offset + limit, SEMANTIC_DEPTH)
    lexical = engine.run(p, filters, limit=depth, offset=0, facets=facets)
    neighbours = nearest(view, engine, text, filters, vectors=vectors)
    fused: dict[str, float] = {}
    for rank, h in enumerate(lexical.hits, 1):
        fused[h.id] = LEXICAL_WEIGHT / (RRF_K + rank) + (1.0 if h.match == "exact" else 0.0)
    first: dict[str, Hit] = {h.id: h for h in lexical.hits}
    for rank, (h, cosine) in enumerate(neighbours, 1):
        fused[h.id] = fused.get(h.id, 0.0) + SEMANTIC_WEIGHT / (RRF_K + rank)
        if h.id not in first:
            first[h.id] = replace(h, score=round(float(cosine), 4), match="semantic")
    on_page = {h.id for h in lexical.hits}
    vector_only = [h.id for h, _ in neighbours if h.id not in on_page]
    if lexical.total > len(lexical.hits):  # those matching words further down are in the total already
        vector_only_count = len(vector_only) - engine.count_among(p, filters, vector_only)
    else:
        vector_only_count = len(vector_only)
    ranked = sorted(fused, key=lambda i: -fused[i])
    hits = [replace(first[i], score=round(fused[i], 4)) for i in ranked[offset : offset + limit]]
    return Results(hits, lexical.total + vector_only_count, offset, limit, lexical.facets, semantic=True)

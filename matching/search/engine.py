"""Reading one graph version's search index: queries, pages with true totals, filters, facets.

`SearchEngine.open(folder, version)` opens the tantivy index a refresh wrote beside the graph
version (matching.search.build), read-only: tantivy memory-maps its files, so a reader holds
little in memory and many processes share one copy. Everything the web app, the API, the CLI
and notebooks ask of search goes through `query` (one page of hits, the number of matches in
all, counts per kind, region and chain link) and the small lookups the pages need (filter menus,
a filter value by name, the id an entity was merged into).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import tantivy
from rapidfuzz import fuzz
from tantivy import Occur, Query

from kg.schema import load_schema
from matching.search.fields import KEY_FIELDS, register_analyzers
from matching.search.hits import LABELS, Hit, Results, UnknownFilter
from matching.search.keys import han_runs, stock_key
from matching.search.query import Filters, QueryPlan, plan, tier_of

__all__ = ["FACET_FIELDS", "MAX_OFFSET", "MergedIds", "SearchEngine", "explain"]

FIELD_NAMES = {"k_name": "name", "k_alias": "alias", "k_pinyin": "pinyin", "k_initials": "initials",
               "k_code": "code", "k_id": "id"}
FACET_FIELDS = ("kind", "region", "sector")
FACET_SIZE = 12  # buckets shown per facet
MAX_OFFSET = 10_000  # deeper pages are not a search any more; narrow it down with filters
DEFAULT_LIMIT = 20
FUZZY_WHEN_FEWER = 3  # typo matching runs only when the query without it matched fewer entities
LINKED_SECTORS = 3  # chain links a query can name at once


class SearchEngine:
    """One version's index, opened read-only; `query` is safe to call from many threads."""

    def __init__(self, index: tantivy.Index, version: str, folder: Path | None = None):
        self.index = index
        self.version = version
        self.folder = folder
        self.schema = index.schema

    @classmethod
    def open(cls, folder: Path, version: str) -> SearchEngine:
        index = tantivy.Index.open(str(folder))
        register_analyzers(index)
        index.config_reader(reload_policy="manual")  # one version's index never changes once published
        return cls(index, version, folder)

    def _searcher(self) -> tantivy.Searcher:
        return self.index.searcher()

    def __len__(self) -> int:
        return self._searcher().num_docs

    # searching -----------------------------------------------------------------------------
    def query(self, q: str, *, kinds: Iterable[str] | None = None, labels: Iterable[str] | None = None,
              sector: str | None = None, region: str | None = None, tier: str | None = None,
              limit: int = DEFAULT_LIMIT, offset: int = 0, facets: bool = False) -> Results:
        """One page of the entities matching `q` and the filters, best first, with the total.

        Filters: `labels`, `kinds` (Organization.kind), `tier` (Project.tier), and a `sector` or
        `region` by id or name in either language (sub-sectors and sub-regions included). A value
        that names nothing raises UnknownFilter. An empty `q` with filters lists by name.
        """
        filters = self.filters(kinds=kinds, labels=labels, sector=sector, region=region, tier=tier)
        return self.run(self.plan(q), filters, limit=limit, offset=offset, facets=facets)

    def plan(self, q: str) -> QueryPlan:
        """The query of `q`, with the chain links it names exactly (a name, alias or keyword of a
        Sector: 封装, advanced packaging, liquid cooling), whose members then match as parts."""
        searcher = self._searcher()
        p = plan(self.schema, q, searcher=searcher)
        if p.query is None:
            return p
        query = self.compose(p, Filters(labels=("Sector",)))
        found = searcher.search(query, LINKED_SECTORS, count=False, weight_by_field="w")
        linked = [json.loads(searcher.doc(addr)["doc"][0])["id"] for score, addr in found.hits
                  if tier_of(score) == "exact"]
        return plan(self.schema, q, linked, searcher) if linked else p

    def run(self, p: QueryPlan, filters: Filters, *, limit: int = DEFAULT_LIMIT, offset: int = 0,
            facets: bool = False) -> Results:
        limit, offset = max(0, int(limit)), min(max(0, int(offset)), MAX_OFFSET)
        query = self.compose(p, filters)
        if query is None:
            return Results([], 0, offset, limit)
        searcher = self._searcher()
        # tantivy panics on a limit of 0: ask for one, show none
        found = searcher.search(query, max(limit, 1), count=True, offset=offset, weight_by_field="w")
        if found.count < FUZZY_WHEN_FEWER and p.with_fuzzy is not None:  # typos: only when little matched
            query = self.compose(p, filters, fuzzy=True)
            found = searcher.search(query, max(limit, 1), count=True, offset=offset, weight_by_field="w")
        hits = [self._hit(searcher, score, addr, p) for score, addr in found.hits[:limit]]
        counts = self._facets(searcher, query) if facets and found.count else {}
        return Results(hits, found.count, offset, limit, counts)

    def compose(self, p: QueryPlan, filters: Filters, fuzzy: bool = False) -> Query | None:
        """The text query (with typo matching if asked) and the filters as one query; None when
        there is neither."""
        clauses = filters.clauses(self.schema)
        text = p.with_fuzzy if fuzzy and p.with_fuzzy is not None else p.query
        if text is None:
            if not clauses:
                return None
            return Query.boolean_query([(Occur.Must, Query.const_score_query(Query.all_query(), 1.0)), *clauses])
        return Query.boolean_query([(Occur.Must, text), *clauses]) if clauses else text

    def _facets(self, searcher: tantivy.Searcher, query: Query) -> dict[str, list[tuple[str, int]]]:
        aggs = {f: {"terms": {"field": f, "size": FACET_SIZE}} for f in FACET_FIELDS}
        out = searcher.aggregate(query, aggs)
        return {f: [(b["key"], b["doc_count"]) for b in out.get(f, {}).get("buckets", [])] for f in FACET_FIELDS}

    def _hit(self, searcher: tantivy.Searcher, score: float, addr: Any, p: QueryPlan) -> Hit:
        shown = json.loads(searcher.doc(addr)["doc"][0])
        match, field, matched = explain(shown, score, p)
        return Hit(shown["id"], shown["label"], shown["name_zh"], shown["name_en"], shown["kind"], shown["city"],
                   round(score, 4), match, field, matched)

    def hits_for(self, ids: Sequence[str], filters: Filters | None = None) -> dict[str, Hit]:
        """The entities of `ids` that pass `filters`, as hits (match 'filter'), by id."""
        if not ids:
            return {}
        clauses = [(Occur.Must, Query.term_set_query(self.schema, "id", list(ids))),
                   *(filters.clauses(self.schema) if filters else [])]
        searcher = self._searcher()
        found = searcher.search(Query.boolean_query(clauses), len(ids), count=False)
        out: dict[str, Hit] = {}
        for _score, addr in found.hits:
            shown = json.loads(searcher.doc(addr)["doc"][0])
            out[shown["id"]] = Hit(shown["id"], shown["label"], shown["name_zh"], shown["name_en"], shown["kind"],
                                   shown["city"], 0.0, "filter", "", "")
        return out

    def stored(self, node_id: str) -> dict[str, Any] | None:
        """What the index stores of one entity (names, kind, city, keys, chain links)."""
        searcher = self._searcher()
        found = searcher.search(Query.term_query(self.schema, "id", node_id), 1, count=False)
        return json.loads(searcher.doc(found.hits[0][1])["doc"][0]) if found.hits else None

    def count_among(self, p: QueryPlan, filters: Filters, ids: Sequence[str]) -> int:
        """How many of `ids` match the query and the filters."""
        query = self.compose(p, filters)
        if not ids or query is None:
            return 0
        restricted = Query.boolean_query([(Occur.Must, query),
                                          (Occur.Must, Query.term_set_query(self.schema, "id", list(ids)))])
        return self._searcher().search(restricted, 1, count=True).count

    def count(self, filters: Filters) -> int:
        query = self.compose(QueryPlan(None, "", (), ()), filters)
        return len(self) if query is None else self._searcher().search(query, 1, count=True).count

    # filters -------------------------------------------------------------------------------
    def filters(self, *, kinds: Iterable[str] | None = None, labels: Iterable[str] | None = None,
                sector: str | None = None, region: str | None = None, tier: str | None = None) -> Filters:
        """Filter values checked and resolved to ids; a value naming nothing raises UnknownFilter."""
        schema = load_schema()
        for field, values, allowed in (("label", labels or (), LABELS),
                                       ("kind", kinds or (), schema.label("Organization").props["kind"].enum),
                                       ("tier", [tier] if tier else (), schema.label("Project").props["tier"].enum)):
            for value in values:
                if value not in allowed:
                    raise UnknownFilter(field, value, [a for a in allowed if a.startswith(value[:2].lower())][:3])
        return Filters(
            labels=tuple(labels or ()),
            kinds=tuple(kinds or ()),
            regions=(self.resolve_filter("region", region),) if region else (),
            sectors=(self.resolve_filter("sector", sector),) if sector else (),
            tiers=(tier,) if tier else (),
        )

    def resolve_filter(self, field: str, value: str) -> str:
        """A region or sector given by id or by a name in either language (无锡, Wuxi) → its id."""
        label = {"region": "Region", "sector": "Sector"}[field]
        options = self.options(label)
        if value in options:
            return value
        hits = self.run(plan(self.schema, value), Filters(labels=(label,)), limit=5).hits
        if hits and hits[0].match in ("exact", "prefix"):
            return hits[0].id  # 无锡 names 无锡市, as a staff member means it
        suggestions = [h.display_name("zh") for h in hits[:3]]
        if not suggestions:
            scored = sorted(options.items(), key=lambda kv: -max(fuzz.ratio(value, kv[1][0] or ""),
                                                                  fuzz.ratio(value.lower(), (kv[1][1] or "").lower())))
            suggestions = [zh or en for _id, (zh, en) in scored[:3]]
        raise UnknownFilter(field, value, suggestions)

    def resolve_facet(self, value: str | None) -> str | None:
        """A sector or region filter by id or name → its id; an unknown value comes back as it is
        (filters to nothing), for callers that only pass it on."""
        if not value:
            return None
        for field in ("region", "sector"):
            try:
                return self.resolve_filter(field, value)
            except UnknownFilter:
                continue
        return value

    @cached_property
    def _options(self) -> dict[str, dict[str, tuple[str, str]]]:
        out: dict[str, dict[str, tuple[str, str]]] = {}
        searcher = self._searcher()
        for label in ("Sector", "Region"):
            q = Query.term_query(self.schema, "label", label)
            n = searcher.search(q, 1, count=True).count
            found = searcher.search(q, max(n, 1), count=False)
            docs = [json.loads(searcher.doc(addr)["doc"][0]) for _s, addr in found.hits]
            out[label] = {d["id"]: (d["name_zh"], d["name_en"]) for d in sorted(docs, key=lambda d: d["id"])}
        return out

    def options(self, label: str) -> Mapping[str, tuple[str, str]]:
        """Every Sector or Region: id -> (name_zh, name_en)."""
        return self._options.get(label, {})

    def facet_options(self, label: str) -> list[tuple[str, str, str]]:
        """(id, name_zh, name_en) of every Sector or Region, for filter menus."""
        return [(i, zh, en) for i, (zh, en) in self.options(label).items()]

    @property
    def merged(self) -> MergedIds:
        return MergedIds(self)


class MergedIds:
    """id merged away by resolution -> the surviving id, looked up in the index's `merged` field."""

    def __init__(self, engine: SearchEngine):
        self._engine = engine

    def get(self, old_id: str, default: str | None = None) -> str | None:
        searcher = self._engine._searcher()
        found = searcher.search(Query.term_query(self._engine.schema, "merged", old_id), 1, count=False)
        if not found.hits:
            return default
        return json.loads(searcher.doc(found.hits[0][1])["doc"][0])["id"]

    def __getitem__(self, old_id: str) -> str:
        survivor = self.get(old_id)
        if survivor is None:
            raise KeyError(old_id)
        return survivor

    def __contains__(self, old_id: object) -> bool:
        return isinstance(old_id, str) and self.get(old_id) is not None


def explain(shown: dict[str, Any], score: float, p: QueryPlan) -> tuple[str, str, str]:
    """Which tier, field and key a hit matched by: the tier from its score's band, the field by
    comparing the query with the entity's stored keys (cheap for one page of hits)."""
    tier = tier_of(score)
    keys: dict[str, list[str]] = shown["keys"]
    key = p.key
    code = stock_key(key) or ""
    if tier == "exact":
        for f in KEY_FIELDS:
            for k in (key, code) if f == "k_code" else (key,):
                if k and k in keys.get(f, ()):
                    return tier, _field_name(f, k, keys), k
    if tier == "prefix":
        for f in KEY_FIELDS:
            for k in keys.get(f, ()):
                if k.startswith(key):
                    return tier, _field_name(f, k, keys), k
    if tier == "part":
        words = " ".join([*p.han_words, *p.latin_words]) or key
        linked = [s for s in shown.get("sectors", ()) if s in p.linked]
        if linked and not any(k.startswith(key) or key in k for f in ("k_name", "k_alias") for k in keys.get(f, ())):
            return tier, "sector", linked[0]
        return tier, "name", words
    if tier == "text":
        return tier, "description", " ".join([*p.han_words, *p.latin_words]) or key
    best = max(((fuzz.ratio(key, k), f, k) for f in ("k_name", "k_alias", "k_pinyin") for k in keys.get(f, ())),
               default=(0, "k_name", ""))
    return tier, _field_name(best[1], best[2], keys), best[2]


def _field_name(field: str, key: str, keys: dict[str, list[str]]) -> str:
    """k_name holds both names: which one (a Chinese key has Chinese characters)."""
    if field == "k_name":
        return "name_zh" if han_runs(key) else "name_en"
    if field == "k_code":
        return "stock_code" if key.isdigit() and len(key) <= 6 else "credit_code"
    return FIELD_NAMES.get(field, field)


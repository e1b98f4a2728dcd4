"""An in-memory name index over the graph, built once per graph version.

Why in memory and not Cypher: a search box must answer in milliseconds for pinyin, initials,
prefixes and typos, which no `CONTAINS` query does on a million nodes. The index is three
structures, each sized for a million entities:

* a dict from every exact key (names, aliases, pinyin, initials, codes, id) to its entities;
* sorted lists of full keys and of "part" keys (a name from a later word or character on), so a
  prefix is a `bisect` range and not a scan;
* the full keys ordered by length for `rapidfuzz.process.extract` with `fuzz.ratio`, which is
  what tolerates typos; a key can only be within FUZZY_CUTOFF of the query if its length is
  close, so only that slice is compared, and only when exact and prefix hits do not already
  fill the page (bench/search_scale.py prints the figures).

Ranking is tiered, exact > prefix > part > fuzzy, and within a tier by which field matched and
the entity's label, so 'SMIC' lists 中芯国际 before anything merely similar.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from rapidfuzz import fuzz, process

from kg.store import GraphView
from matching.search.keys import han_keys, is_han, name_parts, norm, stock_key

__all__ = ["Hit", "SearchIndex", "index_for", "search", "warm", "LABELS"]

LABELS = ("Organization", "Project", "Person", "Sector", "Region", "Document")
LABEL_WEIGHT = {
    "Organization": 1.0,
    "Project": 0.99,
    "Person": 0.98,
    "Sector": 0.93,
    "Region": 0.9,
    "Document": 0.85,
}
FIELD_WEIGHT = {
    "name_zh": 1.0,
    "name_en": 1.0,
    "stock_code": 1.0,
    "credit_code": 1.0,
    "alias": 0.97,
    "pinyin": 0.95,
    "initials": 0.93,
    "id": 0.9,
}
TIER = {"exact": 1.0, "prefix": 0.75, "part": 0.6, "fuzzy": 0.35}
MAX_QUERY_CHARS = 200
PREFIX_SCAN = 1000  # keys looked at per prefix range; a one-letter query must not walk the index
FUZZY_CUTOFF = 75  # rapidfuzz ratio (0..100) below which a key is not a typo of the query
DEFAULT_LIMIT = 20
CACHED_VERSIONS = 2


@dataclass(frozen=True)
class Hit:
    """One search result: enough to list it without another graph read."""

    id: str
    label: str
    name_zh: str
    name_en: str
    kind: str
    city: str
    score: float
    match: str  # exact | prefix | part | fuzzy | semantic | filter
    field: str  # which key matched: name_zh, alias, pinyin, initials, stock_code, ...
    matched: str  # the key's original text

    def display_name(self, lang: str = "zh") -> str:
        first, second = (self.name_zh, self.name_en) if lang == "zh" else (self.name_en, self.name_zh)
        return first or second or self.id

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Entry:
    id: str
    label: str
    name_zh: str
    name_en: str
    kind: str
    city: str


class SearchIndex:
    """Build with `SearchIndex.build(view)`; `query()` is thread-safe (the index is read-only)."""

    def __init__(self, version: str):
        self.version = version
        self.entries: list[_Entry] = []
        self.by_id: dict[str, int] = {}
        self.exact: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        self.parts: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        self.sectors: list[frozenset[str]] = []
        self.regions: list[frozenset[str]] = []
        self.names: dict[str, tuple[str, str]] = {}  # sector / region id -> (zh, en), for filters
        self.merged: dict[str, str] = {}  # id merged away by resolution -> the surviving id
        self._full_sorted: list[str] = []
        self._by_length: list[str] = []
        self._length_start: list[int] = []  # index in _by_length of the first key of each length
        self._part_sorted: list[str] = []

    # building ------------------------------------------------------------------------------
    @classmethod
    def build(cls, view: GraphView, labels: Sequence[str] = LABELS) -> SearchIndex:
        idx = cls(view.version)
        for label in labels:
            for nodes in view.iter_nodes(label, batch_size=20_000):
                for node in nodes:
                    idx._add(node.id, node.label, node.props)
        parents = _parents(view, "PART_OF")
        idx.sectors = idx._facet(view, "ACTIVE_IN", parents)
        idx.regions = idx._facet(view, "LOCATED_IN", parents)
        idx.exact = dict(idx.exact)
        idx.parts = dict(idx.parts)
        idx._full_sorted = sorted(idx.exact)
        idx._by_length = sorted(idx.exact, key=len)
        longest = len(idx._by_length[-1]) if idx._by_length else 0
        idx._length_start = [bisect_left(idx._by_length, n, key=len) for n in range(longest + 2)]
        idx._part_sorted = sorted(idx.parts)
        return idx

    def _add(self, node_id: str, label: str, p: dict) -> None:
        i = len(self.entries)
        self.entries.append(
            _Entry(
                node_id,
                label,
                p.get("name_zh") or "",
                p.get("name_en") or "",
                p.get("kind") or "",
                p.get("city") or "",
            )
        )
        self.by_id[node_id] = i
        for old in p.get("merged_ids") or []:
            self.merged[old] = node_id
        if label in ("Sector", "Region"):
            self.names[node_id] = (p.get("name_zh") or "", p.get("name_en") or "")
        keys: list[tuple[str, str]] = [
            ("name_zh", p.get("name_zh")),
            ("name_en", p.get("name_en")),
            ("pinyin", p.get("pinyin")),
            ("initials", p.get("initials")),
            ("credit_code", p.get("credit_code")),
            ("id", node_id),
        ]
        aliases = p.get("aliases") or []
        keys += [("alias", a) for a in aliases]
        keys += [(field, key) for a in [p.get("name_zh"), *aliases] for field, key in han_keys(a or "")]
        keys += [("stock_code", c) for c in [p.get("stock_code"), *(p.get("stock_codes") or [])] if c]
        seen: set[str] = set()
        for field, value in keys:
            key = (stock_key(value) or norm(value)) if field == "stock_code" else norm(value)
            if key and key not in seen:
                seen.add(key)
                self.exact[key].append((i, field, str(value)))
        for field, value in keys[:2] + [k for k in keys if k[0] == "alias"]:
            for part in name_parts(value or ""):
                if part not in seen:
                    seen.add(part)
                    self.parts[part].append((i, field, str(value)))

    def _facet(self, view: GraphView, rel_type: str, parents: dict[str, str]) -> list[frozenset[str]]:
        """Each entry's targets of rel_type with all their ancestors (Jiangyin is in Wuxi)."""
        direct: dict[int, set[str]] = defaultdict(set)
        for edges in view.iter_edges(rel_type, batch_size=50_000):
            for e in edges:
                i = self.by_id.get(e.source_id)
                if i is not None:
                    direct[i].update(_lineage(e.target_id, parents))
        interned: dict[frozenset[str], frozenset[str]] = {}
        empty: frozenset[str] = frozenset()
        out = [empty] * len(self.entries)
        for i, ids in direct.items():
            key = frozenset(ids)
            out[i] = interned.setdefault(key, key)
        return out

    # querying ------------------------------------------------------------------------------
    def resolve_facet(self, value: str | None) -> str | None:
        """A sector or region filter given by id or by name (无锡, Wuxi) → its id."""
        if not value:
            return None
        if value in self.names:
            return value
        hits = self.query(value, labels=("Sector", "Region"), limit=1)
        if hits and hits[0].match in ("exact", "prefix"):
            return hits[0].id  # 无锡 names 无锡市, as a staff member means it
        return value  # unknown: filters to nothing, which is the honest answer

    def query(
        self,
        q: str,
        *,
        kinds: Iterable[str] | None = None,
        labels: Iterable[str] | None = None,
        sector: str | None = None,
        region: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> list[Hit]:
        keep = self._filter(kinds, labels, self.resolve_facet(sector), self.resolve_facet(region))
        key = norm(q[:MAX_QUERY_CHARS])
        if not key:
            return self._browse(keep, limit) if keep is not _ALL else []
        best: dict[int, tuple[float, str, str, str]] = {}

        def offer(postings: list[tuple[int, str, str]], tier: str, closeness: float) -> None:
            for i, field, value in postings:
                if keep is not _ALL and not keep(i):
                    continue
                score = (
                    (TIER[tier] + 0.2 * closeness)
                    * FIELD_WEIGHT.get(field, 0.9)
                    * LABEL_WEIGHT.get(self.entries[i].label, 0.8)
                )
                if i not in best or score > best[i][0]:
                    best[i] = (score, tier, field, value)

        code = stock_key(q)
        for k in dict.fromkeys([key, code or ""]):
            offer(self.exact.get(k, []), "exact", 1.0)
        for k in _prefixed(self._full_sorted, key):
            if k != key:
                offer(self.exact[k], "prefix", len(key) / len(k))
        if len(best) < limit:  # fuzzy hits rank below these anyway; skip the costliest step
            for k in _prefixed(self._part_sorted, key):
                offer(self.parts[k], "part", len(key) / len(k))
            if len(key) >= (2 if is_han(key) else 3):
                for k, ratio, _ in process.extract(key, self._similar_length(len(key)), scorer=fuzz.ratio,
                                                   limit=max(limit * 3, 30), score_cutoff=FUZZY_CUTOFF):
                    offer(self.exact[k], "fuzzy", ratio / 100)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], self._sort_name(kv[0])))
        return [self._hit(i, *v) for i, v in ranked[:limit]]

    def _similar_length(self, n: int) -> list[str]:
        """Keys that can reach FUZZY_CUTOFF against a query of n characters.

        fuzz.ratio is 2·matches/(len_a + len_b), so a key longer than n·(200/cutoff - 1) or
        shorter than n/(200/cutoff - 1) cannot reach the cutoff.
        """
        stretch = 200 / FUZZY_CUTOFF - 1
        lo, hi = int(n / stretch), int(n * stretch) + 1
        starts = self._length_start
        if not starts:
            return []
        return self._by_length[starts[min(lo, len(starts) - 1)] : starts[min(hi, len(starts) - 1)]]

    def _sort_name(self, i: int) -> tuple[int, str]:
        """Ties go to the shorter name: 中芯国际 before 中芯国际集成电路制造(北京)有限公司."""
        e = self.entries[i]
        return len(e.name_zh or e.name_en), e.id

    def _filter(self, kinds, labels, sector, region):
        kinds, labels = set(kinds or ()), set(labels or ())
        if not (kinds or labels or sector or region):
            return _ALL

        def keep(i: int) -> bool:
            e = self.entries[i]
            return (
                (not labels or e.label in labels)
                and (not kinds or e.kind in kinds)
                and (not sector or sector in self.sectors[i])
                and (not region or region in self.regions[i])
            )

        return keep

    def _browse(self, keep, limit: int) -> list[Hit]:
        """No text but filters: the matching entities by name, so filters alone can list a sector."""
        found = [i for i in range(len(self.entries)) if keep(i)]
        found.sort(
            key=lambda i: (
                -LABEL_WEIGHT.get(self.entries[i].label, 0.8),
                self.entries[i].name_zh or self.entries[i].name_en,
            )
        )
        return [self._hit(i, 0.0, "filter", "", "") for i in found[:limit]]

    def _hit(self, i: int, score: float, match: str, field: str, value: str) -> Hit:
        e = self.entries[i]
        return Hit(
            e.id,
            e.label,
            e.name_zh,
            e.name_en,
            e.kind,
            e.city,
            round(min(score, 1.0), 4),
            match,
            field,
            value,
        )

    def facet_options(self, label: str) -> list[tuple[str, str, str]]:
        """(id, name_zh, name_en) of every Sector or Region, for filter menus."""
        return sorted(
            ((e.id, e.name_zh, e.name_en) for e in self.entries if e.label == label), key=lambda t: t[0]
        )

    def __len__(self) -> int:
        return len(self.entries)


def _ALL(i: int) -> bool:  # noqa: N802 - a sentinel meaning "no filter"
    return True


def _prefixed(sorted_keys: list[str], prefix: str) -> list[str]:
    start = bisect_left(sorted_keys, prefix)
    out: list[str] = []
    for k in sorted_keys[start : start + PREFIX_SCAN]:
        if not k.startswith(prefix):
            break
        out.append(k)
    return out


def _parents(view: GraphView, rel_type: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for edges in view.iter_edges(rel_type, batch_size=50_000):
        for e in edges:
            out.setdefault(e.source_id, e.target_id)
    return out


def _lineage(node_id: str, parents: dict[str, str]) -> list[str]:
    chain = [node_id]
    while chain[-1] in parents and len(chain) < 12 and parents[chain[-1]] not in chain:
        chain.append(parents[chain[-1]])
    return chain


_cache: dict[str, SearchIndex] = {}
_cache_lock = threading.Lock()


def index_for(view: GraphView) -> SearchIndex:
    """The index of the view's graph version, built on first use; older versions are dropped."""
    version = view.version
    idx = _cache.get(version)
    if idx is not None:
        return idx
    with _cache_lock:  # one build per version even when many requests arrive after a refresh
        idx = _cache.get(version)
        if idx is None:
            idx = SearchIndex.build(view)
            _cache[version] = idx
            for old in list(_cache)[:-CACHED_VERSIONS]:
                del _cache[old]
        return idx


def warm(view: GraphView) -> None:
    """Build the view's index in a background thread, so the first search after a refresh does
    not wait for it (a million names take minutes). Requests that come first wait on the lock."""
    if view.version not in _cache:
        threading.Thread(target=index_for, args=(view,), name="search-index", daemon=True).start()


def search(
    view: GraphView,
    q: str,
    *,
    kinds: Iterable[str] | None = None,
    labels: Iterable[str] | None = None,
    sector: str | None = None,
    region: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[Hit]:
    """Entities whose names, aliases, pinyin, initials or codes match `q`, best first.

    >>> [h.name_zh for h in search(view, "zxgj")][:1]          # doctest: +SKIP
    ['中芯国际']

    Filters: `kinds` (Organization.kind tokens), `labels`, and a `sector` or `region` id or name,
    which include their sub-sectors and sub-regions. An empty `q` with filters lists by name.
    """
    return index_for(view).query(q, kinds=kinds, labels=labels, sector=sector, region=region, limit=limit)

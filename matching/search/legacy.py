"""The hand-written in-memory name index that search used before tantivy (matching.search.engine).

Kept as the baseline bench/search_scale.py measures the engine against, side by side on the same
names; nothing else uses it. What follows is how it worked.

Why in memory and not Cypher: a search box must answer in milliseconds for pinyin, initials,
prefixes and typos, which no `CONTAINS` query does on a million nodes. The index is three
structures, each sized for a million entities (bench/search_scale.py prints the figures):

* a dict from every exact key (names, aliases, pinyin, initials, codes, id) to its postings,
  each posting one int (entity number × 8 + field), a bare int when there is only one;
* sorted lists of full keys and of "part" keys (a name from a later word or character on), so a
  prefix is a `bisect` range and not a scan;
* the full keys ordered by length for `rapidfuzz.process.extract` with `fuzz.ratio`, which is
  what tolerates typos. Only keys of a length that can reach the cutoff are compared, only when
  the cheaper tiers found little, and above BLOCKING_ABOVE keys only those sharing the query's
  first or second character.

Ranking is tiered, exact > prefix > part > fuzzy, and within a tier by which field matched and
the entity's label, so 'SMIC' lists 中芯国际 before anything merely similar.
"""

from __future__ import annotations

import gc
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from kg.store import GraphView
from matching.search.hits import LABEL_WEIGHT, LABELS, Hit
from matching.search.keys import han_keys, is_han, name_parts, norm, stock_key

__all__ = ["SearchIndex"]

FIELDS = ("name_zh", "name_en", "alias", "pinyin", "initials", "stock_code", "credit_code", "id")
FIELD_WEIGHT = (1.0, 1.0, 0.97, 0.95, 0.93, 1.0, 1.0, 0.9)  # in FIELDS order
_FIELD = {f: n for n, f in enumerate(FIELDS)}
_INITIALS = _FIELD["initials"]
TIER = {"exact": 1.0, "prefix": 0.75, "part": 0.6, "fuzzy": 0.35}
MAX_QUERY_CHARS = 200
PREFIX_SCAN = 1000  # keys looked at per prefix range; a one-letter query must not walk the index
FUZZY_CUTOFF = 75  # rapidfuzz ratio (0..100) below which a key is not a typo of the query
FUZZY_WHEN_FEWER = 3  # typo matching runs only when the exact, prefix and part tiers found fewer
BLOCKING_ABOVE = 200_000  # above this many candidate keys, compare only those sharing a leading character
DEFAULT_LIMIT = 20

Postings = int | list[int]


@dataclass(frozen=True, slots=True)
class _Entry:
    id: str
    label: str
    name_zh: str
    name_en: str
    kind: str
    city: str


def _add_posting(table: dict[str, Postings], key: str, posting: int) -> None:
    have = table.get(key)
    if have is None:
        table[key] = posting
    elif isinstance(have, int):
        table[key] = [have, posting]
    else:
        have.append(posting)


def _postings(value: Postings | None) -> list[int]:
    return [] if value is None else [value] if isinstance(value, int) else value


class SearchIndex:
    """Build with `SearchIndex.build(view)`; `query()` is thread-safe (the index is read-only)."""

    def __init__(self, version: str):
        self.version = version
        self.entries: list[_Entry] = []
        self.by_id: dict[str, int] = {}
        self.exact: dict[str, Postings] = {}
        self.parts: dict[str, Postings] = {}
        self.sectors: list[frozenset[str]] = []
        self.regions: list[frozenset[str]] = []
        self.names: dict[str, tuple[str, str]] = {}  # sector / region id -> (zh, en), for filters
        self.merged: dict[str, str] = {}  # id merged away by resolution -> the surviving id
        self._full_sorted: list[str] = []
        self._part_sorted: list[str] = []
        self._by_length: list[str] = []
        self._length_start: list[int] = []  # index in _by_length of the first key of each length
        self._by_char: dict[str, list[str]] = {}  # first or second character -> keys, for blocking

    # building ------------------------------------------------------------------------------
    @classmethod
    def build(cls, view: GraphView, labels: Sequence[str] = LABELS) -> SearchIndex:
        # Millions of small objects: the cyclic GC would rescan them all, again and again, while
        # they are made and at every later query; none of them can form a cycle.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            idx = cls(view.version)
            for label in labels:
                for nodes in view.iter_nodes(label, batch_size=20_000):
                    for node in nodes:
                        idx._add(node.id, node.label, node.props)
            parents = _parents(view, "PART_OF")
            idx.sectors = idx._facet(view, "ACTIVE_IN", parents)
            idx.regions = idx._facet(view, "LOCATED_IN", parents)
            idx._sort_keys()
        finally:
            if was_enabled:
                gc.enable()
        gc.freeze()
        return idx

    def _add(self, node_id: str, label: str, p: dict) -> None:
        i = len(self.entries)
        name_zh, name_en = p.get("name_zh") or "", p.get("name_en") or ""
        self.entries.append(_Entry(node_id, label, name_zh, name_en, p.get("kind") or "", p.get("city") or ""))
        self.by_id[node_id] = i
        for old in p.get("merged_ids") or []:
            self.merged[old] = node_id
        if label in ("Sector", "Region"):
            self.names[node_id] = (name_zh, name_en)
        aliases = p.get("aliases") or []
        keys = [("name_zh", norm(name_zh)), ("name_en", norm(name_en)), ("pinyin", p.get("pinyin")),
                ("initials", p.get("initials")), ("credit_code", norm(p.get("credit_code"))), ("id", norm(node_id))]
        keys += [("alias", norm(a)) for a in aliases]
        keys += [(f, k) for a in (name_zh, *aliases) for f, k in han_keys(a)]
        keys += [("stock_code", stock_key(c) or norm(c)) for c in (p.get("stock_code"), *(p.get("stock_codes") or [])) if c]
        seen: set[str] = set()
        for field, key in keys:
            if key and key not in seen:
                seen.add(key)
                _add_posting(self.exact, key, i * 8 + _FIELD[field])
        for field, name in (("name_zh", name_zh), ("name_en", name_en), *(("alias", a) for a in aliases)):
            for part in name_parts(name):
                if part not in seen:
                    seen.add(part)
                    _add_posting(self.parts, part, i * 8 + _FIELD[field])

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

    def _sort_keys(self) -> None:
        self._full_sorted = sorted(self.exact)
        self._part_sorted = sorted(self.parts)
        self._by_length = sorted(self._full_sorted, key=len)
        longest = len(self._by_length[-1]) if self._by_length else 0
        self._length_start = [bisect_left(self._by_length, n, key=len) for n in range(longest + 2)]
        if len(self._by_length) > BLOCKING_ABOVE:
            by_char: dict[str, list[str]] = defaultdict(list)
            for k in self._by_length:
                by_char[k[0]].append(k)
                if len(k) > 1 and k[1] != k[0]:
                    by_char[k[1]].append(k)
            self._by_char = dict(by_char)

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

    def query(self, q: str, *, kinds: Iterable[str] | None = None, labels: Iterable[str] | None = None,
              sector: str | None = None, region: str | None = None, limit: int = DEFAULT_LIMIT) -> list[Hit]:
        keep = self._filter(kinds, labels, self.resolve_facet(sector), self.resolve_facet(region))
        key = norm(q[:MAX_QUERY_CHARS])
        if not key:
            return self._browse(keep, limit) if keep is not None else []
        best: dict[int, tuple[float, str, int, str]] = {}

        def offer(postings: list[int], tier: str, closeness: float, matched: str) -> None:
            for posting in postings:
                i, field = divmod(posting, 8)
                if tier == "fuzzy" and field == _INITIALS:
                    continue  # a typo in three or four initials is another firm, not a misspelling
                if keep is not None and not keep(i):
                    continue
                score = (TIER[tier] + 0.2 * closeness) * FIELD_WEIGHT[field] * LABEL_WEIGHT.get(self.entries[i].label, 0.8)
                if i not in best or score > best[i][0]:
                    best[i] = (score, tier, field, matched)

        for k in dict.fromkeys([key, stock_key(q) or ""]):
            offer(_postings(self.exact.get(k)), "exact", 1.0, k)
        for k in _prefixed(self._full_sorted, key):
            if k != key:
                offer(_postings(self.exact[k]), "prefix", len(key) / len(k), k)
        if len(best) < limit:
            for k in _prefixed(self._part_sorted, key):
                offer(_postings(self.parts[k]), "part", len(key) / len(k), k)
        if len(best) < FUZZY_WHEN_FEWER and len(key) >= (2 if is_han(key) else 3):
            for k, ratio, _ in process.extract(key, self._fuzzy_candidates(key), scorer=fuzz.ratio,
                                               limit=max(limit * 3, 30), score_cutoff=FUZZY_CUTOFF):
                offer(_postings(self.exact[k]), "fuzzy", ratio / 100, k)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], self._sort_name(kv[0])))
        return [self._hit(i, score, tier, FIELDS[field], matched) for i, (score, tier, field, matched) in ranked[:limit]]

    def _fuzzy_candidates(self, key: str) -> list[str]:
        """Keys that can reach FUZZY_CUTOFF against the query.

        fuzz.ratio is 2·matches/(len_a + len_b), so a key longer than n·(200/cutoff - 1) or
        shorter than n/(200/cutoff - 1) cannot reach it. On a large index, only keys sharing the
        query's first or second character are compared: a typo in both is rare, and comparing
        millions of keys per keystroke is not affordable.
        """
        stretch = 200 / FUZZY_CUTOFF - 1
        lo, hi = int(len(key) / stretch), int(len(key) * stretch) + 1
        starts = self._length_start
        if not starts:
            return []
        window = self._by_length[starts[min(lo, len(starts) - 1)] : starts[min(hi, len(starts) - 1)]]
        if len(window) <= BLOCKING_ABOVE or not self._by_char:
            return window
        block = self._by_char.get(key[0], []) + (self._by_char.get(key[1], []) if len(key) > 1 else [])
        return list(dict.fromkeys(k for k in block if lo <= len(k) < hi))

    def _sort_name(self, i: int) -> tuple[int, str]:
        """Ties go to the shorter name: 中芯国际 before 中芯国际集成电路制造(北京)有限公司."""
        e = self.entries[i]
        return len(e.name_zh or e.name_en), e.id

    def _filter(self, kinds, labels, sector, region):
        """A predicate on entry numbers, or None when nothing is filtered."""
        kinds, labels = set(kinds or ()), set(labels or ())
        if not (kinds or labels or sector or region):
            return None

        def keep(i: int) -> bool:
            e = self.entries[i]
            return ((not labels or e.label in labels) and (not kinds or e.kind in kinds)
                    and (not sector or sector in self.sectors[i]) and (not region or region in self.regions[i]))

        return keep

    def _browse(self, keep, limit: int) -> list[Hit]:
        """No text but filters: the matching entities by name, so filters alone can list a sector."""
        found = [i for i in range(len(self.entries)) if keep(i)]
        found.sort(key=lambda i: (-LABEL_WEIGHT.get(self.entries[i].label, 0.8), self._sort_name(i)))
        return [self._hit(i, 0.0, "filter", "", "") for i in found[:limit]]

    def _hit(self, i: int, score: float, match: str, field: str, matched: str) -> Hit:
        e = self.entries[i]
        return Hit(e.id, e.label, e.name_zh, e.name_en, e.kind, e.city, round(min(score, 1.0), 4), match, field, matched)

    def facet_options(self, label: str) -> list[tuple[str, str, str]]:
        """(id, name_zh, name_en) of every Sector or Region, for filter menus."""
        return sorted(((e.id, e.name_zh, e.name_en) for e in self.entries if e.label == label), key=lambda t: t[0])

    def __len__(self) -> int:
        return len(self.entries)


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

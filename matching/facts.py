"""The graph facts a recommendation needs, fetched through the store in a few batched queries.

Signals are pure functions over these facts; fetching them once per call (with `UNWIND $ids`
and primary-key lookups, never a scan) is what keeps one recommendation fast on a large graph.
The region and sector trees are small and cached per graph version.
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from kg.batches import descendants
from kg.schema import caption
from kg.store import GraphView

MAX_NEIGHBOUR_LOCATIONS = 5000  # neighbours whose location is looked up (ties to local firms)


class Tie(NamedTuple):
    """One relationship as a candidate sees it. props: since, until (an ended tie is history),
    tier (official / curated / extracted / illustrative), evidence, role."""

    type: str
    direction: str  # out: candidate -> other
    other: str
    other_label: str
    other_name: str  # Chinese name where there is one
    props: dict[str, Any]
    other_name_en: str = ""

    @property
    def tier(self) -> str:
        return self.props.get("tier") or "curated"

    @property
    def until_year(self) -> int | None:
        m = _YEAR.search(str(self.props.get("until") or ""))
        return int(m.group()) if m else None

    def ended(self, now: int) -> bool:
        """History: the source says it ended in a year before this one."""
        y = self.until_year
        return y is not None and y < now

    def weight(self, now: int, extracted_weight: float, half_life: float) -> float:
        """How much this tie counts in a score: nothing when illustrative, less when extracted
        from text, and a past tie decays with the years since it ended (never as current)."""
        if self.tier == "illustrative":
            return 0.0
        w = extracted_weight if self.tier == "extracted" else 1.0
        if self.ended(now):
            w *= 0.5 * 0.5 ** ((now - (self.until_year or now)) / max(half_life, 0.1))
        return w


_YEAR = re.compile(r"(?:19|20)\d\d")


@dataclass
class Facts:
    ties: dict[str, list[Tie]] = field(default_factory=lambda: defaultdict(list))
    names: dict[str, str] = field(default_factory=dict)
    props: dict[str, dict[str, Any]] = field(default_factory=dict)
    locations: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # org -> regions
    tie_regions: dict[str, str] = field(default_factory=dict)  # other end -> its places as key ties say (PLACES_SEP-joined)

    def sectors(self, node_id: str) -> set[str]:
        return {t.other for t in self.ties.get(node_id, []) if t.type == "ACTIVE_IN" and t.direction == "out"}

    def regions(self, node_id: str) -> set[str] | frozenset[str]:
        own, said = self.locations.get(node_id), self.tie_regions.get(node_id)
        said = _places(said) if said else None
        if own and said:
            return own | said
        return own or said or NO_REGIONS


NO_REGIONS: frozenset[str] = frozenset()


_TIE_QUERY = {
    "out": "{start} (c:{label} {{id: {key}}})-[e]->(o) "
    "RETURN {key}, label(e), o.id, label(o), coalesce(o.name_zh, o.name_en, o.id), e.evidence, e.since, e.role, e.extracted, "
           "coalesce(o.name_en, o.name_zh, o.id), e.until, e.evidence_tier",
    "in": "{start} (c:{label} {{id: {key}}})<-[e]-(o) "
    "RETURN {key}, label(e), o.id, label(o), coalesce(o.name_zh, o.name_en, o.id), e.evidence, e.since, e.role, e.extracted, "
           "coalesce(o.name_en, o.name_zh, o.id), e.until, e.evidence_tier",
}


def fetch_facts(view: GraphView, ids: list[str], label: str = "Organization", max_ties: int | None = None) -> Facts:
    """Nodes and their ties. With `max_ties`, an organisation that has tie summaries (the refresh
    derives them, matching.tie_summary) contributes its `key_ties_json` — all its ties up to that many,
    the key ones above — read with the node itself; above the cap it also gets the ties the other
    fetched nodes have to it. Bounded work per candidate, however big the graph or the hub."""
    facts = Facts()
    if not ids:
        return facts
    for node_id, props in _node_props(view, ids, projected=max_ties is not None).items():
        facts.props[node_id] = props
        facts.names[node_id] = props.get("name_zh") or props.get("name_en") or node_id
    summarised = (
        {i for i, p in facts.props.items() if p.get("tie_count") is not None} if max_ties is not None else set()
    )
    for node_id in sorted(summarised):
        _add_key_ties(facts, node_id)
    hubs = {i for i in summarised if facts.props[i]["tie_count"] > (max_ties or 0)}
    for node_id in sorted(summarised - hubs):  # their lists are complete: a hub's tie to them is in there
        for t in facts.ties.get(node_id, []):
            if t.other in hubs:
                _add_tie(facts, t.other, Tie(t.type, "in" if t.direction == "out" else "out", node_id, label,
                                             facts.names[node_id], t.props, facts.props[node_id].get("name_en") or node_id))
    walk = [i for i in ids if i not in summarised]
    for direction, query in _TIE_QUERY.items():
        for x, rel, other, other_label, other_name, evidence, since, role, extracted, name_en, until, tier in _walk(
                view, query, label, walk):
            props = {
                k: v
                for k, v in (
                    ("evidence", evidence),
                    ("since", since),
                    ("role", role),
                    ("extracted", extracted),
                    ("until", until),
                )
                if v is not None
            }
            props["tier"] = tier or ("extracted" if extracted else "curated")
            facts.ties[x].append(Tie(rel, direction, other, other_label, other_name, props, name_en))
            facts.names.setdefault(other, other_name)
            if rel == "LOCATED_IN" and direction == "out":
                facts.locations[x].add(other)
    neighbours = sorted(
        {t.other for x in walk for t in facts.ties.get(x, []) if t.other_label == "Organization"}
        - set(ids)
        - set(facts.locations)
        - set(facts.tie_regions)
    )
    neighbours = neighbours[:MAX_NEIGHBOUR_LOCATIONS]
    if neighbours:
        rows = view.query(
            "UNWIND $ids AS x MATCH (o:Organization {id: x})-[:LOCATED_IN]->(r:Region) RETURN x, r.id",
            {"ids": neighbours},
        ).rows
        for x, region in rows:
            facts.locations[x].add(region)
    return facts


FACT_PROPS = ("name_zh", "name_en", "aliases", "kind", "stock_code", "description", "status", "tie_count", "evidence_tier",
              "latest_tie_year", "key_ties_json")  # what the signals and reasons read of a candidate
SMALL_WALK = 8  # up to this many nodes are walked one by one


def _node_props(view: GraphView, ids: list[str], projected: bool) -> dict[str, dict[str, Any]]:
    """Properties by id. Projected, organisations bring only FACT_PROPS: turning ~1,000 whole
    nodes into Python cost more than the rest of a recommendation."""
    out: dict[str, dict[str, Any]] = {}
    if projected:
        cols = ", ".join(f"n.{p}" for p in FACT_PROPS)
        for row in view.query(f"UNWIND $ids AS x MATCH (n:Organization {{id: x}}) RETURN n.id, {cols}", {"ids": ids}).rows:
            out[row[0]] = {p: v for p, v in zip(FACT_PROPS, row[1:], strict=True) if v is not None}
    rest = [i for i in ids if i not in out]
    if rest:
        out.update({n.id: n.props for n in view.get_many(rest).values()})
    return out


def _walk(view: GraphView, query: str, label: str, ids: list[str]) -> list[list[Any]]:
    """Ties of nodes without summaries. The engine joins `UNWIND $ids` with an edge pattern by
    scanning the edge tables, so a few nodes are walked one primary-key match at a time."""
    if not ids:
        return []
    if len(ids) > SMALL_WALK:
        return view.query(query.format(label=label, start="UNWIND $ids AS x MATCH", key="x"), {"ids": ids}).rows
    rows: list[list[Any]] = []
    for x in ids:
        rows += view.query(query.format(label=label, start="MATCH", key="$x"), {"x": x}).rows
    return rows


def _add_tie(facts: Facts, node_id: str, tie: Tie) -> None:
    if not any((t.type, t.direction, t.other) == (tie.type, tie.direction, tie.other) for t in facts.ties.get(node_id, [])):
        facts.ties[node_id].append(tie)


DECODED_CACHE_NODES = 50_000  # decoded key-tie lists kept per process (~2 KB each)
PLACES_SEP = "\x1f"


@lru_cache(maxsize=DECODED_CACHE_NODES)
def _decode(text: str) -> tuple[tuple[tuple, ...], dict[str, str], tuple[str, ...], dict[str, str]]:
    """Parse a `key_ties_json` once per process and text: (ties, names of the other ends, its
    own places, tied firms' places joined by PLACES_SEP). The best-connected firms of a chain
    link are candidates of nearly every recommendation in it; re-decoding their lists was most
    of a call's work at 1,000,000 organisations. Keyed by the text itself, so a new graph
    version with a changed summary is never served a stale entry.

    Only strings, numbers and tuples of them: the garbage collector stops tracking such tuples
    and never tracks such dicts, so a full cache adds nothing to its pauses (with Tie objects
    or sets cached, gen-2 collections grew to 0.2-0.4 s within a hundred calls)."""
    ties, names, places, regions = [], {}, [], {}
    for row in json.loads(text):
        tie_type, direction, other, other_label, name_zh, name_en, year, where = row[:8]
        until, tier, sentence = (row[8:] + [None, "curated", ""])[:3] if len(row) > 8 else (None, "curated", "")
        name = name_zh or name_en or other
        ties.append((tie_type, direction, other, other_label, name, year or 0, name_en or name, until or 0, tier or "curated",
                     sentence or ""))
        names[other] = name
        if tie_type == "LOCATED_IN" and direction == "out":
            places.append(other)
        elif where and other_label == "Organization":  # as the walk: only firms' places count as ties to a region
            regions[other] = PLACES_SEP.join(where)
    return tuple(ties), names, tuple(places), regions


@lru_cache(maxsize=10_000)
def _places(joined: str) -> frozenset[str]:
    """One shared set per distinct combination of places (few), not one per tie."""
    return frozenset(joined.split(PLACES_SEP))


@lru_cache(maxsize=2000)
def _tie_props(year: int, until: int, tier: str, sentence: str) -> dict[str, str]:
    """Shared, never mutated: the props of a summarised tie (its years, tier and, for an
    extracted one, its sentence)."""
    props = {"tier": tier}
    if year:
        props["since"] = str(year)
    if until:
        props["until"] = str(until)
    if sentence:
        props["evidence"] = sentence
    return props


def _add_key_ties(facts: Facts, node_id: str) -> None:
    text = facts.props[node_id].get("key_ties_json")
    if not text:
        return
    ties, names, places, regions = _decode(text)
    facts.ties[node_id].extend(Tie(t, d, o, lab, n, _tie_props(y, u, tier, sent), en)
                               for t, d, o, lab, n, y, en, u, tier, sent in ties)
    for other, name in names.items():
        facts.names.setdefault(other, name)
    if places:
        facts.locations[node_id].update(places)
    facts.tie_regions.update(regions)


@dataclass
class Trees:
    """Region and sector hierarchies (PART_OF) and the chain order (UPSTREAM_OF)."""

    parent: dict[str, str]
    children: dict[str, set[str]]
    upstream_of: dict[str, set[str]]  # sector -> sectors it supplies
    names: dict[str, tuple[str, str]]  # id -> (zh, en)
    _captions: dict[tuple[str, str], str] = field(default_factory=dict)

    def ancestors(self, node: str) -> list[str]:
        out, seen = [], {node}
        while node in self.parent and self.parent[node] not in seen:
            node = self.parent[node]
            seen.add(node)
            out.append(node)
        return out

    def subtree(self, node: str) -> set[str]:
        return descendants(self.children, {node})

    def name(self, node: str, lang: str) -> str:
        key = (node, lang)
        if key not in self._captions:  # reasons name the same few links thousands of times
            zh, en = self.names.get(node, (node, node))
            self._captions[key] = caption("Sector", {"name_zh": zh, "name_en": en}, lang, node)  # regions caption alike
        return self._captions[key]


_trees: dict[str, Trees] = {}
_lock = threading.Lock()


def trees(view: GraphView) -> Trees:
    with _lock:
        if view.version in _trees:
            return _trees[view.version]
    parent: dict[str, str] = {}
    children: dict[str, set[str]] = defaultdict(set)
    upstream: dict[str, set[str]] = defaultdict(set)
    for label in ("Sector", "Region"):
        for a, b in view.query(f"MATCH (a:{label})-[:PART_OF]->(b:{label}) RETURN a.id, b.id").rows:
            parent[a] = b
            children[b].add(a)
    for a, b in view.query("MATCH (a:Sector)-[:UPSTREAM_OF]->(b:Sector) RETURN a.id, b.id").rows:
        upstream[a].add(b)
    names = {}
    for label in ("Sector", "Region"):
        for i, zh, en in view.query(f"MATCH (n:{label}) RETURN n.id, n.name_zh, n.name_en").rows:
            names[i] = (zh, en)
    result = Trees(parent, dict(children), dict(upstream), names)
    with _lock:
        _trees.clear()
        _trees[view.version] = result
    return result

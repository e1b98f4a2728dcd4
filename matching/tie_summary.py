"""Per-organisation tie summaries, derived at refresh so that a recommendation never walks a hub.

On a power-law graph a few organisations have tens of thousands of relationships; reading them
inside a recommendation cost seconds (bench/recommend_scale.py measured p50 7.8 s at 100k
organisations before this). So the refresh writes three derived properties on every
Organization, and the recommender reads them by primary key:

- `tie_count`: relationships other than LOCATED_IN / ACTIVE_IN (standing reads it);
- `latest_tie_year`: the year of the newest dated one (recency reads it);
- `leaders` on each Sector: its best-connected firms (the peers and graph candidates of a
  recommendation, instead of reading the link's whole membership); `member_count` and
  `related_json` (the sectors whose firms most often also belong to it, by cosine: item-based
  collaborative filtering for a chain-link question);
- ended ties (`until`) and ties from illustrative sources are not counted in `tie_count`; key
  ties carry `until`, the source's evidence tier and an extracted fact's sentence;
- `key_ties_json`: the ties a recommendation reads instead of walking the graph — its place and
  sectors, and its other ties up to `max_ties_per_candidate` (above that, the key ones: curated
  before extracted, ties to firms in the home region first, then by type and the newest) — each
  with the other end's names and places, so one primary-key lookup per candidate is all it costs.
  (The engine's join of a list of ids with their edges scans the edge table, so walking ~1,000
  candidates' ties cost seconds on a large graph whatever their degree.) One JSON string, not a
  list of strings: the engine SETs a string about twice as fast as a list (~19k vs ~11k rows/s
  measured at 1M nodes), and a reader parses it with one `json.loads`.

They are recomputed from the run's edge snapshot every refresh and written only where they
changed; they are not part of a node's content hash, so they never show as source changes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from kg.store import Node

STRUCTURAL = ("LOCATED_IN", "ACTIVE_IN")  # where and in what, not who with
KEY_TIE_ORDER = ("SUBSIDIARY_OF", "SUPPLIES", "INVESTS_IN", "PARTNERS_WITH", "INVOLVED_IN", "HAS_ROLE", "MENTIONS")
YEAR = re.compile(r"(?:19|20)\d\d")
SUMMARY_FIELDS = ("tie_count", "latest_tie_year", "key_ties_json", "tie_fp", "leaders", "member_count", "related_json")
TIER_RANK = {"official": 0, "curated": 0, "extracted": 1, "illustrative": 2}  # key ties: curated first, current before ended
SECTOR_LEADERS = 200  # best-connected firms of a chain link: peers and graph candidates of a recommendation


@dataclass(frozen=True)
class TieRow:
    """One relationship as the summary needs it."""

    type: str
    source_id: str
    target_id: str
    since: str | None = None
    extracted: bool = False
    until: str | None = None
    tier: str = "curated"  # the source's evidence tier (matching.evidence.TIERS)
    sentence: str = ""  # an extracted fact's sentence, shown with its reason


def tier_of(props: dict[str, Any]) -> str:
    """An edge's evidence tier: as its source declared it, else extracted when text extraction
    proposed it, else curated (a bundle loaded without a manifest)."""
    return props.get("evidence_tier") or ("extracted" if props.get("extracted") else "curated")


@dataclass(frozen=True)
class KeyTie:
    type: str
    direction: str  # out: the summarised organisation is the source
    other: str
    other_label: str
    name_zh: str
    name_en: str
    year: int | None
    regions: tuple[str, ...]
    until: int | None = None  # the year it ended: a past tie, shown with its dates, weighed less
    tier: str = "curated"
    sentence: str = ""

    def encode(self) -> str:
        """One element of a node's `key_ties_json` array."""
        return json.dumps(
            [self.type, self.direction, self.other, self.other_label, self.name_zh, self.name_en, self.year, list(self.regions),
             self.until, self.tier, self.sentence],
            ensure_ascii=False,
        )

    @staticmethod
    def join(encoded: Iterable[str]) -> str:
        return "[" + ",".join(encoded) + "]"

    @classmethod
    def decode_many(cls, text: str | None) -> list[KeyTie]:
        """A node's `key_ties_json`, best first (a recommendation reads them through
        matching.facts, which caches its own leaner form)."""
        return [cls(*row[:7], tuple(row[7]), *row[8:]) for row in json.loads(text or "[]")]


def year_of(since: Any) -> int | None:
    m = YEAR.search(str(since or ""))
    return int(m.group()) if m else None


def tie_print(tie_type: str, direction: str, other: str, since: Any, extracted: bool, until: Any = None,
              tier: str = "curated") -> int:
    """A stable 63-bit hash of one tie as its organisation sees it. Summed per organisation into
    `tie_fp`, it tells the next refresh whose ties changed without rebuilding every summary."""
    text = f"{tie_type}|{direction}|{other}|{since or ''}|{int(bool(extracted))}|{until or ''}|{tier}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") >> 1


FP_MASK = (1 << 63) - 1


def summarise(
    edges: Callable[[], Iterable[TieRow]],
    nodes: dict[str, Node],
    cap: int,
    home_regions: set[str],
    touched: set[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Summaries for the Organizations in `nodes` that need one, and leaders for every Sector.

    With `touched` (nodes added or changed this run), only organisations whose own ties changed
    since their stored `tie_fp`, or that are tied to such an organisation or to a touched node
    (whose name or place a key tie repeats), are rebuilt: a 1% refresh rebuilds ~1% of them.
    Without it every organisation is rebuilt. `edges` is called two or three times."""
    orgs = {i for i, n in nodes.items() if n.label == "Organization"}
    count: Counter[str] = Counter()
    latest: dict[str, int] = {}
    regions: dict[str, set[str]] = defaultdict(set)
    fp: Counter[str] = Counter()
    members: dict[str, list[str]] = defaultdict(list)
    for e in edges():
        if e.type == "LOCATED_IN":
            regions[e.source_id].add(e.target_id)
        elif e.type == "ACTIVE_IN" and e.source_id in orgs:
            members[e.target_id].append(e.source_id)
        year = year_of(e.since) if e.type not in STRUCTURAL else None
        for me, other, direction in ((e.source_id, e.target_id, "out"), (e.target_id, e.source_id, "in")):
            if me not in orgs:
                continue
            fp[me] += tie_print(e.type, direction, other, e.since, e.extracted, e.until, e.tier)
            if e.type in STRUCTURAL or e.tier == "illustrative" or year_of(e.until):  # current, real ties only
                continue
            count[me] += 1
            if year and year > latest.get(me, 0):
                latest[me] = year
    context = tie_print("summary-v2", str(cap), ",".join(sorted(home_regions)), None, False)  # a new cap or home rebuilds all
    for o in orgs:
        fp[o] += context
    if touched is None:
        todo = orgs
    else:
        seeds = {o for o in orgs if nodes[o].props.get("tie_fp") != fp.get(o, 0) & FP_MASK} | (touched & set(nodes))
        todo = {o for o in seeds if o in orgs}
        for e in edges():
            if e.source_id in seeds and e.target_id in orgs:
                todo.add(e.target_id)
            if e.target_id in seeds and e.source_id in orgs:
                todo.add(e.source_id)
    own: dict[str, list[str]] = defaultdict(list)  # its place and sectors: few, always kept
    chosen: dict[str, list[tuple[tuple, str]]] = defaultdict(list)
    for e in edges():
        for me, other, direction in ((e.source_id, e.target_id, "out"), (e.target_id, e.source_id, "in")):
            if me not in todo or other not in nodes:
                continue
            node = nodes[other]
            year, until = year_of(e.since), year_of(e.until)
            tie = KeyTie(e.type, direction, other, node.label, node.props.get("name_zh") or "",
                         node.props.get("name_en") or "", year, tuple(sorted(regions.get(other, ()))), until, e.tier,
                         (e.sentence or "")[:300] if e.tier == "extracted" else "").encode()
            if e.type in STRUCTURAL:
                own[me].append(tie)
                continue
            local = bool(regions.get(other, set()) & home_regions)
            rank = (TIER_RANK.get(e.tier, 1), until is not None, not local,
                    KEY_TIE_ORDER.index(e.type) if e.type in KEY_TIE_ORDER else 99, -(year or 0))
            chosen[me].append((rank, tie))
            if len(chosen[me]) > 4 * cap:  # keep a hub's list short while collecting
                chosen[me] = sorted(chosen[me])[:cap]
    out: dict[str, dict[str, Any]] = {}
    for o in sorted(todo):
        ties = sorted(own.get(o, [])) + [t for _, t in sorted(chosen.get(o, []))[:cap]]
        out[o] = {"tie_count": count.get(o, 0), "latest_tie_year": latest.get(o), "key_ties_json": KeyTie.join(ties),
                  "tie_fp": fp.get(o, 0) & FP_MASK}
    related = related_sectors(members)
    for sector in (i for i, n in nodes.items() if n.label == "Sector"):
        out[sector] = {"leaders": sorted(members.get(sector, []), key=lambda f: (-count.get(f, 0), f))[:SECTOR_LEADERS],
                       "member_count": len(members.get(sector, [])),
                       "related_json": json.dumps(related.get(sector, []), ensure_ascii=False) if related.get(sector) else None}
    return out


RELATED_SECTORS = 30  # per sector: the links whose firms most often also belong to it
MAX_SECTORS_PER_FIRM = 20  # a firm tagged with more says little about which links go together


def related_sectors(members: dict[str, list[str]]) -> dict[str, list[list[Any]]]:
    """For each sector, the sectors sharing the most firms with it, by the cosine of the member
    sets: [[sector id, cosine, shared firms], …] best first. Item-based collaborative filtering
    over the firm–sector bipartite graph, computed once per refresh (a firm has few sectors, so
    counting pairs costs little) and read by a recommendation for a chain link."""
    by_firm: dict[str, list[str]] = defaultdict(list)
    for sector, firms in members.items():
        for f in firms:
            by_firm[f].append(sector)
    pairs: Counter[tuple[str, str]] = Counter()
    for secs in by_firm.values():
        if 1 < len(secs) <= MAX_SECTORS_PER_FIRM:
            for a in secs:
                for b in secs:
                    if a != b:
                        pairs[(a, b)] += 1
    best: dict[str, list[list[Any]]] = defaultdict(list)
    for (a, b), shared in pairs.items():
        best[a].append([b, round(shared / (len(members[a]) * len(members[b])) ** 0.5, 4), shared])
    return {a: sorted(rows, key=lambda r: (-r[1], r[0]))[:RELATED_SECTORS] for a, rows in best.items()}


def changed_rows(summaries: dict[str, dict[str, Any]], nodes: dict[str, Node]) -> Iterator[dict[str, Any]]:
    """Rows for the organisations whose stored summary differs; a staff-set field is left alone."""
    for oid, summary in summaries.items():
        props = nodes[oid].props
        staff = set(props.get("staff_fields") or [])
        row = {k: v for k, v in summary.items() if k not in staff and _stored(props, k) != v}
        if row:
            yield {"id": oid, **row}


def _stored(props: dict[str, Any], key: str) -> Any:
    return (props.get(key) or []) if key == "leaders" else props.get(key)


def edges_from_snapshot(existing_edges: dict[str, dict[str, Any]]) -> Callable[[], Iterator[TieRow]]:
    """The refresh's edge snapshot (key 'source|TYPE|target') as TieRows, active edges only."""

    def rows() -> Iterator[TieRow]:
        for key, e in existing_edges.items():
            if e.get("status") == "unseen":
                continue
            src, dst = e["_pair"]
            yield TieRow(key.split("|")[1], src, dst, e.get("since"), bool(e.get("extracted")), e.get("until"), tier_of(e),
                         e.get("evidence") or "" if e.get("extracted") else "")

    return rows


def edges_from_view(view, rel_types: Iterable[str]) -> Callable[[], Iterator[TieRow]]:
    """Every active edge of the given types, read through the store (bench and repair use it)."""

    def rows() -> Iterator[TieRow]:
        for rel_type in rel_types:  # four columns, not whole edges: this reads every edge twice
            for a, b, since, extracted, until, tier, evidence in view.query(
                f"MATCH (a)-[e:{rel_type}]->(b) WHERE e.status IS NULL OR e.status <> 'unseen' "
                "RETURN a.id, b.id, e.since, e.extracted, e.until, e.evidence_tier, e.evidence"
            ).rows:
                props = {"evidence_tier": tier, "extracted": extracted}
                yield TieRow(rel_type, a, b, since, bool(extracted), until, tier_of(props), (evidence or "") if extracted else "")

    return rows


def summarise_ties(ctx) -> None:
    """Refresh derive step: write tie_count, latest_tie_year and key_ties_json where they changed."""
    tr_home = _home_regions(ctx.existing, ctx.settings.home_region)
    # a node whose description changed is in no one's key ties: only added and renamed nodes seed
    # a rebuild of their neighbours (a changed place or tie changes the node's own tie_fp)
    summaries = summarise(edges_from_snapshot(ctx.existing_edges), ctx.existing, ctx.settings.max_ties_per_candidate, tr_home,
                          touched=set(ctx.renamed))
    for label, rows in _by_label(changed_rows(summaries, ctx.existing), ctx.existing).items():
        ctx.writer.update_nodes(label, rows)
        for row in rows:
            node = ctx.existing[row["id"]]
            ctx.existing[row["id"]] = Node(node.id, node.label, {**node.props, **row})


def _by_label(rows: Iterable[dict[str, Any]], nodes: dict[str, Node]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[nodes[row["id"]].label].append(row)
    return out


def _home_regions(nodes: dict[str, Node], home: str) -> set[str]:
    """The home region and every region below it (PART_OF is not in the node props, so by id prefix
    as the region taxonomy names them: cn-js-wuxi, cn-js-wuxi-jiangyin, …)."""
    return {i for i, n in nodes.items() if n.label == "Region" and (i == home or i.startswith(home + "-"))}


def refresh_summaries(writer, settings) -> int:
    """Recompute every summary from the store itself (a graph built without a refresh, such as
    the benchmark's, or one migrated from before summaries existed); returns rows written."""
    nodes = {n.id: n for label in writer.schema.labels for batch in writer.iter_nodes(label, 50_000) for n in batch}
    types = [t for t in writer.schema.relationships if any("Organization" in ends for ends in writer.schema.rel(t).ends)]
    summaries = summarise(edges_from_view(writer, types), nodes, settings.max_ties_per_candidate,
                          _home_regions(nodes, settings.home_region))
    written = 0
    for label, rows in _by_label(changed_rows(summaries, nodes), nodes).items():
        for i in range(0, len(rows), 100_000):
            writer.update_nodes(label, rows[i : i + 100_000])
        written += len(rows)
    return written

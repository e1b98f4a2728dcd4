"""Per-organisation tie summaries, derived at refresh so that a recommendation never walks a hub.

On a power-law graph a few organisations have tens of thousands of relationships; reading them
inside a recommendation cost seconds (bench/recommend_scale.py measured p50 7.8 s at 100k
organisations before this). So the refresh writes three derived properties on every
Organization, and the recommender reads them by primary key:

- `tie_count`: relationships other than LOCATED_IN / ACTIVE_IN (standing reads it);
- `latest_tie_year`: the year of the newest dated one (recency reads it);
- `leaders` on each Sector: its best-connected firms (the peers and graph candidates of a
  recommendation, instead of reading the link's whole membership);
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
SUMMARY_FIELDS = ("tie_count", "latest_tie_year", "key_ties_json", "tie_fp", "leaders")
SECTOR_LEADERS = 200  # best-connected firms of a chain link: peers and graph candidates of a recommendation


@dataclass(frozen=True)
class TieRow:
    """One relationship as the summary needs it."""

    type: str
    source_id: str
    target_id: str
    since: str | None = None
    extracted: bool = False


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

    def encode(self) -> str:
        """One element of a node's `key_ties_json` array."""
        return json.dumps(
            [self.type, self.direction, self.other, self.other_label, self.name_zh, self.name_en, self.year, list(self.regions)],
            ensure_ascii=False,
        )

    @staticmethod
    def join(encoded: Iterable[str]) -> str:
        return "[" + ",".join(encoded) + "]"

    @classmethod
    def decode_many(cls, text: str | None) -> list[KeyTie]:
        """A node's `key_ties_json`, best first (a recommendation reads them through
        matching.facts, which caches its own leaner form)."""
        return [cls(t, d, o, label, zh, en, y, tuple(r)) for t, d, o, label, zh, en, y, r in json.loads(text or "[]")]


def year_of(since: Any) -> int | None:
    m = YEAR.search(str(since or ""))
    return int(m.group()) if m else None


def tie_print(tie_type: str, direction: str, other: str, since: Any, extracted: bool) -> int:
    """A stable 63-bit hash of one tie as its organisation sees it. Summed per organisation into
    `tie_fp`, it tells the next refresh whose ties changed without rebuilding every summary."""
    text = f"{tie_type}|{direction}|{other}|{since or ''}|{int(bool(extracted))}".encode()
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
            fp[me] += tie_print(e.type, direction, other, e.since, e.extracted)
            if e.type in STRUCTURAL:
                continue
            count[me] += 1
            if year and year > latest.get(me, 0):
                latest[me] = year
    context = tie_print("summary", str(cap), ",".join(sorted(home_regions)), None, False)  # a new cap or home rebuilds all
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
            year = year_of(e.since)
            tie = KeyTie(e.type, direction, other, node.label, node.props.get("name_zh") or "",
                         node.props.get("name_en") or "", year, tuple(sorted(regions.get(other, ())))).encode()
            if e.type in STRUCTURAL:
                own[me].append(tie)
                continue
            local = bool(regions.get(other, set()) & home_regions)
            rank = (e.extracted, not local, KEY_TIE_ORDER.index(e.type) if e.type in KEY_TIE_ORDER else 99, -(year or 0))
            chosen[me].append((rank, tie))
            if len(chosen[me]) > 4 * cap:  # keep a hub's list short while collecting
                chosen[me] = sorted(chosen[me])[:cap]
    out: dict[str, dict[str, Any]] = {}
    for o in sorted(todo):
        ties = sorted(own.get(o, [])) + [t for _, t in sorted(chosen.get(o, []))[:cap]]
        out[o] = {"tie_count": count.get(o, 0), "latest_tie_year": latest.get(o), "key_ties_json": KeyTie.join(ties),
                  "tie_fp": fp.get(o, 0) & FP_MASK}
    for sector in (i for i, n in nodes.items() if n.label == "Sector"):
        out[sector] = {"leaders": sorted(members.get(sector, []), key=lambda f: (-count.get(f, 0), f))[:SECTOR_LEADERS]}
    return out


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
            yield TieRow(key.split("|")[1], src, dst, e.get("since"), bool(e.get("extracted")))

    return rows


def edges_from_view(view, rel_types: Iterable[str]) -> Callable[[], Iterator[TieRow]]:
    """Every active edge of the given types, read through the store (bench and repair use it)."""

    def rows() -> Iterator[TieRow]:
        for rel_type in rel_types:  # four columns, not whole edges: this reads every edge twice
            for a, b, since, extracted in view.query(
                f"MATCH (a)-[e:{rel_type}]->(b) WHERE e.status IS NULL OR e.status <> 'unseen' "
                "RETURN a.id, b.id, e.since, e.extracted"
            ).rows:
                yield TieRow(rel_type, a, b, since, bool(extracted))

    return rows


def summarise_ties(ctx) -> None:
    """Refresh derive step: write tie_count, latest_tie_year and key_ties_json where they changed."""
    tr_home = _home_regions(ctx.existing, ctx.settings.home_region)
    summaries = summarise(edges_from_snapshot(ctx.existing_edges), ctx.existing, ctx.settings.max_ties_per_candidate, tr_home,
                          touched=set(ctx.touched))
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

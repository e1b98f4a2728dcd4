"""Local coverage of the industry chain: who of each link is present in a region, and how strongly.

A firm is *local* to a region when it is located in the region's subtree (Wuxi includes Jiangyin
and Yixing), or when a subsidiary of it is, or when it works on a project there; that is how a
promotion office counts presence (SK hynix is a Korean group, its Wuxi fab makes Wuxi a memory
town). Each local firm adds a weight

    w = presence (located 1.0, subsidiary 0.8, project 0.5)
        x tag confidence (curated 1.0, derived: the tagger's confidence)
        x (0.5 + 0.5 x standing)           standing as in matching.signals.standing

and a link's strength is the noisy-or of the best weight per corporate group (a parent and its
local subsidiary are one presence, not two), over the link and its sub-links. A link whose
strength is below settings.gap_threshold is a gap. For the leaders of strong links, the
dependencies outside the region are listed: suppliers and customers (SUPPLIES) located elsewhere,
and upstream links (UPSTREAM_OF) that are themselves gaps.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from kg.places import Gazetteer
from kg.settings import Settings, load_settings
from kg.store import GraphView, StoreError
from matching.chain.dependencies import outside_dependencies
from matching.chain.report import ChainReport, LinkCoverage, LocalFirm, ProjectRef
from matching.facts import Facts, Trees, fetch_facts, trees
from matching.signals import SignalContext, Target, standing

__all__ = ["NON_CHAIN_ROOTS", "chain_coverage", "chain_sectors", "resolve_region"]

#: Top-level sectors that are not an industry chain (the wider economy, used to tag everyone).
NON_CHAIN_ROOTS = frozenset({"other"})
#: Kinds that host or fund a link but are not presence of it (a park tagged 'IC design' designs no chips).
NOT_PRESENCE_KINDS = frozenset({"park", "government_body", "fund"})
PRESENCE_WEIGHT = {"located": 1.0, "subsidiary": 0.8, "project": 0.5}
#: A leader ranks among the first LEADERS_PER_LINK of its link nationally, with at least this standing.
LEADERS_PER_LINK = 3
LEADER_MIN_STANDING = 0.7


def resolve_region(view: GraphView, text: str | None, settings: Settings) -> str:
    """A Region id from an id or any of its names ('cn-js-wuxi', 'Wuxi', '无锡', '无锡市')."""
    text = (text or settings.home_region).strip()
    node = view.get(text)
    if node is not None and node.label == "Region":
        return text
    tr = trees(view)
    gaz = Gazetteer()
    for rid, aliases, level in view.query("MATCH (r:Region) RETURN r.id, r.aliases, r.level").rows:
        gaz.add(rid, [n for n in (*tr.names.get(rid, ()), *(aliases or [])) if n], level, tr.parent.get(rid))
    found = gaz.find(text)
    if found is None:
        raise StoreError(f"no region {text!r}: give a Region id or name (e.g. {settings.home_region})")
    return found


def sibling_stages(tr: Trees, siblings: list[str]) -> dict[str, int]:
    """Position of each sibling link along the chain: its longest UPSTREAM_OF path from a source.

    Edges between descendants count for their siblings (substrates -> packaging puts materials
    before packaging), so EDA and IP comes before design, design before fabs, fabs before packaging.
    """
    top = {d: s for s in siblings for d in tr.subtree(s)}
    feeds: dict[str, set[str]] = defaultdict(set)
    for a, targets in tr.upstream_of.items():
        for b in targets:
            if a in top and b in top and top[a] != top[b]:
                feeds[top[b]].add(top[a])
    stage: dict[str, int] = {}

    def longest(node: str, seen: frozenset[str]) -> int:
        if node not in stage:
            stage[node] = max(
                (longest(p, seen | {node}) + 1 for p in feeds[node] if p not in seen), default=0
            )
        return stage[node]

    for s in siblings:
        longest(s, frozenset())
    return stage


def chain_sectors(view: GraphView, tr: Trees) -> list[tuple[str, int, str, int]]:
    """(sector, depth, root, stage) of every chain link, depth-first, siblings in chain order."""
    sectors = {r[0] for r in view.query("MATCH (s:Sector) RETURN s.id").rows}
    roots = [s for s in sectors if s not in tr.parent and tr.children.get(s) and s not in NON_CHAIN_ROOTS]
    out: list[tuple[str, int, str, int]] = []

    def walk(nodes: list[str], depth: int, root: str | None) -> None:
        stages = sibling_stages(tr, nodes)
        for node in sorted(nodes, key=lambda n: (stages[n], n)):
            out.append((node, depth, root or node, stages[node]))
            walk(list(tr.children.get(node, ())), depth + 1, root or node)

    walk(roots, 0, None)
    return out


def _chain_order(tr: Trees, sector: str) -> tuple[list[str], list[str]]:
    """Links up- and downstream of a sector, its ancestors' included (substrates feed all packaging)."""
    up: list[str] = []
    down: list[str] = []
    for s in [sector, *tr.ancestors(sector)]:
        down += sorted(tr.upstream_of.get(s, ()))
        up += sorted(a for a, targets in tr.upstream_of.items() if s in targets)
    return list(dict.fromkeys(up)), list(dict.fromkeys(down))


def _members(view: GraphView, sectors: list[str]) -> dict[str, dict[str, tuple[str, float]]]:
    """sector -> {org: (curated|derived, confidence)} for every active tag."""
    rows = view.query(
        "UNWIND $ids AS x MATCH (o:Organization)-[e:ACTIVE_IN]->(s:Sector {id: x}) "
        "RETURN x, o.id, e.extracted, e.confidence, e.status, o.status",
        {"ids": sectors},
    ).rows
    out: dict[str, dict[str, tuple[str, float]]] = defaultdict(dict)
    for sector, org, extracted, confidence, status, org_status in rows:
        if "unseen" in (status, org_status):
            continue
        tag = ("derived", float(confidence or 0.5)) if extracted else ("curated", 1.0)
        if org not in out[sector] or tag[1] > out[sector][org][1]:
            out[sector][org] = tag
    return out


def _presence(
    facts: Facts,
    org: str,
    inside: set[str],
    places: dict[str, set[str]],
    tags: dict[str, set[str]],
    subtree: set[str],
) -> tuple[str, str, str] | None:
    """(presence, via id, via name) of the strongest way an organisation is in the region's link.

    A subsidiary or project counts only when it is of the link (or untagged): SMIC's Jiangyin
    bumping joint venture makes SMIC present in packaging, not in logic foundry.
    """
    here = sorted(facts.regions(org) & inside)
    if here:
        return "located", here[0], facts.names.get(here[0], here[0])
    ties = sorted(facts.ties.get(org, []), key=lambda t: t.other)
    for kind, ok in (
        ("subsidiary", lambda t: t.type == "SUBSIDIARY_OF" and t.direction == "in"),
        ("project", lambda t: t.other_label == "Project" and t.direction == "out"),
    ):
        for tie in ties:
            where = facts.regions(tie.other) if kind == "subsidiary" else places.get(tie.other, set())
            if ok(tie) and where & inside and (not tags.get(tie.other) or tags[tie.other] & subtree):
                return kind, tie.other, tie.other_name
    return None


def _group(facts: Facts, org: str) -> str:
    """The corporate group an organisation belongs to (its parent, if it has one)."""
    parents = sorted(
        t.other for t in facts.ties.get(org, []) if t.type == "SUBSIDIARY_OF" and t.direction == "out"
    )
    return parents[0] if parents else org


@dataclass
class _Graph:
    """The facts one coverage computation reads, fetched once in a few batched queries."""

    tr: Trees
    inside: set[str]
    province: set[str]  # the province's subtree (empty when the region is in none)
    facts: Facts
    members: dict[str, dict[str, tuple[str, float]]]
    stand: dict[str, Any]
    places: dict[str, set[str]]  # project -> regions
    tags: dict[str, set[str]]  # subsidiary / project -> its chain sectors
    projects: list[tuple[str, str | None, str | None, str | None, str | None, str]]


def _load(
    view: GraphView, tr: Trees, inside: set[str], province: str | None, sector_ids: list[str]
) -> _Graph:
    members = _members(view, sector_ids)
    orgs = sorted({o for m in members.values() for o in m})
    facts = fetch_facts(view, orgs)
    projects = _projects(view, sector_ids)
    linked_projects = {t.other for ts in facts.ties.values() for t in ts if t.other_label == "Project"}
    subsidiaries = {
        t.other for ts in facts.ties.values() for t in ts if t.type == "SUBSIDIARY_OF" and t.direction == "in"
    }
    tags: dict[str, set[str]] = defaultdict(set)
    for label, ids in (("Organization", subsidiaries), ("Project", linked_projects)):
        if ids:
            for x, sid in view.query(
                f"UNWIND $ids AS x MATCH (:{label} {{id: x}})-[:ACTIVE_IN]->(s:Sector) RETURN x, s.id",
                {"ids": sorted(ids)},
            ).rows:
                tags[x].add(sid)
    places = _project_places(view, sorted(linked_projects | {p for p, *_ in projects}))
    stand = standing(SignalContext(Target("", "Sector", "", set(), inside, province), facts, tr, [], None,
                                   datetime.date.today().year), orgs)
    in_province = tr.subtree(province) if province else set()
    return _Graph(tr, inside, in_province, facts, members, stand, places, dict(tags), projects)


def _link(g: _Graph, sector: str, depth: int, root: str, stage: int, threshold: float) -> LinkCoverage:
    tr, facts = g.tr, g.facts
    subtree = tr.subtree(sector)
    tagged = {
        o: (s, tag)
        for s in sorted(subtree)
        for o, tag in g.members.get(s, {}).items()
        if facts.props.get(o, {}).get("kind") not in NOT_PRESENCE_KINDS
    }
    ranked = sorted(tagged, key=lambda o: (-g.stand[o].value, o))
    leaders = {o for o in ranked[:LEADERS_PER_LINK] if g.stand[o].value >= LEADER_MIN_STANDING}
    firms = []
    for org, (s, (how, conf)) in tagged.items():
        found = _presence(facts, org, g.inside, g.places, g.tags, subtree)
        if found is None:
            continue
        presence, via, via_name = found
        props = facts.props.get(org, {})
        value = g.stand[org].value
        weight = PRESENCE_WEIGHT[presence] * conf * (0.5 + 0.5 * value)
        firms.append(
            LocalFirm(
                org,
                props.get("name_zh"),
                props.get("name_en"),
                props.get("kind"),
                props.get("stock_code"),
                s,
                presence,
                via,
                via_name,
                round(value, 3),
                org in leaders,
                how,
                round(conf, 3),
                round(weight, 3),
            )
        )
    firms.sort(key=lambda f: (-f.weight, f.org_id))
    best: dict[str, float] = {}
    for f in firms:
        group = _group(facts, f.org_id)
        best[group] = max(best.get(group, 0.0), f.weight)
    strength = 1 - math.prod(1 - w for w in best.values())
    up, down = _chain_order(tr, sector)
    zh, en = tr.names.get(sector, (sector, sector))
    projects = [
        ProjectRef(p, pz, pe, stage, tier, s, bool(g.places.get(p, set()) & g.inside))
        for p, pz, pe, stage, tier, s in g.projects
        if s in subtree
    ]
    projects.sort(key=lambda p: (not p.local, p.project_id))
    nearby = sum(1 for o in tagged if facts.regions(o) & g.province and not facts.regions(o) & g.inside)
    return LinkCoverage(
        sector_id=sector,
        name_zh=zh or en,
        name_en=en or zh,
        parent_id=tr.parent.get(sector),
        root=root,
        depth=depth,
        stage=stage,
        upstream=up,
        downstream=down,
        firms=firms,
        strength=round(strength, 3),
        gap=strength < threshold,
        members=len(tagged),
        province_members=nearby,
        projects=projects,
    )


def chain_coverage(
    view: GraphView, region: str | None = None, settings: Settings | None = None
) -> ChainReport:
    """Coverage of every chain link in a region; candidates are filled in by matching.chain.gaps."""
    settings = settings or load_settings()
    region_id = resolve_region(view, region, settings)
    tr = trees(view)
    levels = dict(view.query("MATCH (r:Region) RETURN r.id, r.level").rows)
    province = next((a for a in [region_id, *tr.ancestors(region_id)] if levels.get(a) == "province"), None)
    spec = chain_sectors(view, tr)
    g = _load(view, tr, tr.subtree(region_id), province, [s for s, *_ in spec])
    threshold = float(settings.gap_threshold)
    links = [_link(g, sector, depth, root, stage, threshold) for sector, depth, root, stage in spec]
    by_id = {link.sector_id: link for link in links}
    for link in links:
        link.upstream_gaps = [u for u in link.upstream if u in by_id and by_id[u].gap]
        link.dependencies = outside_dependencies(view, link, g.facts, tr, g.inside, province)
    return ChainReport(
        region_id,
        tr.name(region_id, "zh"),
        tr.name(region_id, "en"),
        province,
        tr.name(province, "zh") if province else None,
        tr.name(province, "en") if province else None,
        threshold,
        view.version,
        links,
    )


def _projects(
    view: GraphView, sectors: list[str]
) -> list[tuple[str, str | None, str | None, str | None, str | None, str]]:
    rows = view.query(
        "UNWIND $ids AS x MATCH (p:Project)-[e:ACTIVE_IN]->(:Sector {id: x}) "
        "RETURN p.id, p.name_zh, p.name_en, p.stage, p.tier, x, e.status, p.status",
        {"ids": sectors},
    ).rows
    return sorted({tuple(r[:6]) for r in rows if "unseen" not in (r[6], r[7])})


def _project_places(view: GraphView, ids: list[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    if ids:
        for p, r in view.query(
            "UNWIND $ids AS x MATCH (p:Project {id: x})-[:LOCATED_IN]->(r:Region) RETURN x, r.id",
            {"ids": ids},
        ).rows:
            out[p].add(r)
    return out

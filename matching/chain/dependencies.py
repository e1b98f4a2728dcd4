"""Dependencies of a region's strong links on firms elsewhere: who supplies its leaders, who buys.

Named from SUPPLIES edges of the link's anchor firms (its local leaders, or its strongest local
firms), each located and scoped against the region's province, so a briefing can say 'SK hynix
sources front-end equipment from ACM Research (Shanghai, outside Jiangsu)'. The chain-level
dependency (an upstream link the region lacks) is read from the report by
matching.chain.export.dependency_lines.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kg.store import GraphView
from matching.chain.report import Dependency, LinkCoverage
from matching.facts import Facts, Trees

__all__ = ["MAX_DEPENDENCIES", "outside_dependencies"]

MAX_DEPENDENCIES = 12


def _place(facts: Facts, tr: Trees, org: str, lang: str = "en") -> str:
    regions = sorted(facts.regions(org), key=lambda r: -len(tr.ancestors(r)))
    return tr.name(regions[0], lang) if regions else ""


def _scope(facts: Facts, tr: Trees, org: str, province: str | None) -> str:
    regions = facts.regions(org)
    if not regions:
        return "unknown"
    if province and any(province == r or province in tr.ancestors(r) for r in regions):
        return "province"
    return "outside_province"


def outside_dependencies(
    view: GraphView, link: LinkCoverage, facts: Facts, tr: Trees, inside: set[str], province: str | None
) -> list[Dependency]:
    """Suppliers and customers of the link's anchor firms that are not in the region.

    Anchors are the local leaders, or the strongest local firms when the link has no leader.
    Only direct members of the link are anchors, so a parent link does not repeat its children.
    """
    own = [f for f in link.firms if f.sector_id == link.sector_id]
    anchors = [f for f in own if f.leader] or own[:3]
    province_name = (
        (tr.name(province, "en"), tr.name(province, "zh")) if province else ("the province", "本省")
    )
    out: list[Dependency] = []
    others: list[tuple[Any, str, Any]] = []
    for firm in anchors:
        for tie in facts.ties.get(firm.org_id, []):
            if (
                tie.type != "SUPPLIES"
                or tie.other_label != "Organization"
                or facts.regions(tie.other) & inside
            ):
                continue
            others.append((firm, "upstream" if tie.direction == "in" else "downstream", tie))
    if not others:
        return out
    nodes = view.get_many(sorted({t.other for _, _, t in others}))
    sectors: dict[str, list[str]] = defaultdict(list)
    for o, s in view.query(
        "UNWIND $ids AS x MATCH (o:Organization {id: x})-[:ACTIVE_IN]->(s:Sector) RETURN x, s.id",
        {"ids": sorted({t.other for _, _, t in others})},
    ).rows:
        sectors[o].append(s)
    for firm, direction, tie in sorted(others, key=lambda x: (x[1] != "upstream", x[0].org_id, x[2].other)):
        # deepest first, then by id: the query has no order, and engines return rows differently
        secs = sorted(sectors.get(tie.other, []), key=lambda s: (-len(tr.ancestors(s)), s))
        what_en = tr.name(secs[0], "en") if secs else "supplies"
        what_zh = tr.name(secs[0], "zh") if secs else "产品"
        scope = _scope(facts, tr, tie.other, province)
        place_en, place_zh = _place(facts, tr, tie.other, "en"), _place(facts, tr, tie.other, "zh")
        where_en = {
            "province": f"elsewhere in {province_name[0]}",
            "outside_province": f"outside {province_name[0]}",
        }.get(scope, "location unknown")
        where_zh = {
            "province": f"{province_name[1]}内其他城市",
            "outside_province": f"{province_name[1]}以外",
        }.get(scope, "地点不详")
        local_en = firm.name_en or firm.name_zh or firm.org_id
        local_zh = firm.name_zh or firm.name_en or firm.org_id
        node = nodes.get(tie.other)
        other_en = node.display_name("en") if node else tie.other_name
        other_zh = node.display_name("zh") if node else tie.other_name
        if direction == "upstream":
            en = f"{local_en} sources {what_en} from {other_en} ({place_en or '?'}, {where_en})"
            zh = f"{local_zh}的{what_zh}来自{other_zh}（{place_zh or '?'}，{where_zh}）"
        else:
            en = f"{local_en} supplies {other_en} ({place_en or '?'}, {where_en})"
            zh = f"{local_zh}供货给{other_zh}（{place_zh or '?'}，{where_zh}）"
        out.append(
            Dependency(firm.org_id, local_zh, tie.other, other_zh, direction, secs, place_en, scope, en, zh)
        )
    return out[:MAX_DEPENDENCIES]

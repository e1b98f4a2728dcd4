"""The graph signals of a recommendation, one function each.

Every signal returns, per candidate, a value in [0, 1] and the evidence behind it as
(English, Chinese) sentences; the ranking weighs the values and the reasons shown to staff are
rendered from the evidence, never written separately (as yente's explanations).

- sector_fit: same chain link as the target (1.0), parent or child link (0.7), directly up- or
  downstream along the chain (0.6), sibling link (0.5).
- region_ties: located in the target region (1.0), a subsidiary or partner located there (0.8/0.5),
  same province (0.4).
- cooperation: existing ties to organisations already involved in the target, to local firms, or
  of the asked relationship type to peers of the target (partners of partners, shared board
  members count) — noisy-or of the ties found.
- standing: listed companies, universities and institutes, and well-connected organisations
  (log-scaled degree) stand higher; a leader is easier to defend in a meeting.
- recency: the newest dated tie (its `since` year).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from matching.facts import Facts, Trees

Evidence = tuple[str, str]  # (en, zh)
TIE_TYPES = ("PARTNERS_WITH", "SUPPLIES", "INVESTS_IN", "SUBSIDIARY_OF", "INVOLVED_IN")
TIE_WORDS = {
    "PARTNERS_WITH": ("partners with", "与{}合作"),
    "SUPPLIES": ("supplies", "向{}供货"),
    "INVESTS_IN": ("invests in", "投资{}"),
    "SUBSIDIARY_OF": ("is a subsidiary of", "是{}的子公司"),
    "INVOLVED_IN": ("is involved in", "参与{}"),
}
STANDING_BY_KIND = {
    "listed_company": 0.6,
    "university": 0.5,
    "institute": 0.5,
    "fund": 0.4,
    "company": 0.3,
    "park": 0.2,
    "government_body": 0.2,
}
DEGREE_FOR_FULL_STANDING = 40


@dataclass
class Target:
    """What a recommendation is for: a project, a sector or an organisation."""

    id: str
    label: str
    name: str
    sectors: set[str]
    regions: set[str]  # the target region's subtree (e.g. Wuxi with Jiangyin and Yixing)
    province: str | None
    involved: set[str] = field(default_factory=set)
    rel_type: str | None = None
    peers: set[str] = field(default_factory=set)  # organisations like the target (same link)
    props: dict = field(default_factory=dict)  # the target node's own properties
    ties: list = field(default_factory=list)  # the target's own ties (Tie), bounded like a candidate's
    leaders: list[str] = field(default_factory=list)  # best-connected firms of its chain links


@dataclass
class SignalValue:
    value: float
    evidence: list[Evidence] = field(default_factory=list)


def sector_fit(t: Target, cands: list[str], f: Facts, tr: Trees) -> dict[str, SignalValue]:
    out = {}
    target_sectors = sorted(t.sectors)  # sorted: the same reason every run when two links fit equally
    for c in cands:
        best, ev = 0.0, []
        for s in sorted(f.sectors(c)):
            for ts in target_sectors:
                if s == ts:
                    v, rel = 1.0, ("same chain link", "同一产业链环节")
                elif tr.parent.get(s) == ts or tr.parent.get(ts) == s:
                    v, rel = 0.7, ("within the same link", "同属一个环节")
                elif ts in tr.upstream_of.get(s, ()) or s in tr.upstream_of.get(ts, ()):
                    v, rel = 0.6, ("directly up/downstream on the chain", "产业链上下游")
                elif tr.parent.get(s) and tr.parent.get(s) == tr.parent.get(ts):
                    v, rel = 0.5, ("a neighbouring link", "相邻环节")
                else:
                    continue
                if v > best:
                    best = v
                    ev = [
                        (
                            f"active in {tr.name(s, 'en')} ({rel[0]}: {tr.name(ts, 'en')})",
                            f"从事{tr.name(s, 'zh')}（与{tr.name(ts, 'zh')}{rel[1]}）",
                        )
                    ]
        out[c] = SignalValue(best, ev)
    return out


def region_ties(t: Target, cands: list[str], f: Facts, tr: Trees) -> dict[str, SignalValue]:
    out = {}
    region_name = (
        (tr.name(min(t.regions, key=len), "en"), tr.name(min(t.regions, key=len), "zh"))
        if t.regions
        else ("", "")
    )
    for c in cands:
        here = f.regions(c) & t.regions
        if here:
            r = sorted(here)[0]
            out[c] = SignalValue(
                1.0, [(f"already located in {tr.name(r, 'en')}", f"已落户{tr.name(r, 'zh')}")]
            )
            continue
        best = SignalValue(0.0)
        for tie in f.ties.get(c, []):
            if tie.other_label != "Organization" or not (f.regions(tie.other) & t.regions):
                continue
            v = 0.8 if tie.type == "SUBSIDIARY_OF" and tie.direction == "in" else 0.5
            if v > best.value:
                en, zh = TIE_WORDS.get(tie.type, (tie.type.lower(), "关联{}"))
                if tie.type == "SUBSIDIARY_OF" and tie.direction == "in":
                    best = SignalValue(
                        v,
                        [
                            (
                                f"its subsidiary {tie.other_name_en} operates in {region_name[0]}",
                                f"其子公司{tie.other_name}位于{region_name[1]}",
                            )
                        ],
                    )
                else:
                    best = SignalValue(
                        v,
                        [
                            (
                                f"{en} {tie.other_name_en}, which operates in {region_name[0]}",
                                zh.format(tie.other_name) + f"（该企业位于{region_name[1]}）",
                            )
                        ],
                    )
        if (
            best.value == 0
            and t.province
            and any(t.province in ([r, *tr.ancestors(r)]) for r in f.regions(c))
        ):
            best = SignalValue(
                0.4,
                [
                    (
                        f"located in the same province ({tr.name(t.province, 'en')})",
                        f"位于同省（{tr.name(t.province, 'zh')}）",
                    )
                ],
            )
        out[c] = best
    return out


def cooperation(t: Target, cands: list[str], f: Facts, tr: Trees) -> dict[str, SignalValue]:
    out = {}
    def people_of(node: str) -> set[str]:
        return {x.other for x in f.ties.get(node, ()) if x.type == "HAS_ROLE"}

    anchors = t.involved | ({t.id} if t.label == "Organization" else set())
    anchor_people = set().union(*(people_of(a) for a in anchors)) if anchors else set()
    for c in cands:
        parts: list[tuple[float, Evidence]] = []
        for tie in f.ties.get(c, []):
            if tie.type not in TIE_TYPES or tie.other_label not in ("Organization", "Project"):
                continue
            en, zh = TIE_WORDS[tie.type]
            verb_en = (
                en
                if tie.direction == "out"
                else {
                    "SUPPLIES": "is supplied by",
                    "INVESTS_IN": "is backed by",
                    "SUBSIDIARY_OF": "is the parent of",
                }.get(tie.type, en)
            )
            if tie.other in anchors:
                parts.append(
                    (
                        0.8,
                        (
                            f"{verb_en} {tie.other_name_en}, already part of {t.name}",
                            zh.format(tie.other_name) + f"（已参与{t.name}）",
                        ),
                    )
                )
            elif t.rel_type and tie.type == t.rel_type and tie.other in t.peers:
                parts.append(
                    (
                        0.6,
                        (
                            f"{verb_en} {tie.other_name_en}, a peer of {t.name}",
                            zh.format(tie.other_name) + f"（{t.name}的同类企业）",
                        ),
                    )
                )
            elif f.regions(tie.other) & t.regions:
                parts.append(
                    (
                        0.4,
                        (
                            f"{verb_en} {tie.other_name_en}, a local firm",
                            zh.format(tie.other_name) + "（本地企业）",
                        ),
                    )
                )
        shared = people_of(c) & anchor_people if anchor_people else set()
        if shared:
            parts.append(
                (
                    0.4,
                    (
                        f"shares {len(shared)} board member(s) with {t.name}'s partners",
                        f"与{t.name}相关方有{len(shared)}名共同董监高",
                    ),
                )
            )
        parts.sort(key=lambda p: -p[0])
        value = 1 - math.prod(1 - p for p, _ in parts[:5])
        out[c] = SignalValue(value, [e for _, e in parts[:2]])
    return out


def standing(t: Target, cands: list[str], f: Facts, tr: Trees) -> dict[str, SignalValue]:
    out = {}
    for c in cands:
        props = f.props.get(c, {})
        kind = props.get("kind", "company")
        degree = props.get("tie_count")  # derived at refresh; counted here on a graph without it
        if degree is None:
            degree = sum(1 for x in f.ties.get(c, []) if x.type not in ("LOCATED_IN", "ACTIVE_IN"))
        base = STANDING_BY_KIND.get(kind, 0.3)
        value = min(1.0, base + 0.4 * min(1.0, math.log1p(degree) / math.log1p(DEGREE_FOR_FULL_STANDING)))
        ev = []
        if kind == "listed_company":
            code = props.get("stock_code") or ""
            ev.append((f"listed company {code}".strip(), f"上市公司 {code}".strip()))
        elif kind in ("university", "institute"):
            ev.append(
                (
                    {"university": "a university", "institute": "a research institute"}[kind],
                    {"university": "高校", "institute": "科研院所"}[kind],
                )
            )
        if degree >= 10:
            ev.append((f"well connected: {degree} known ties", f"关系广泛：{degree}条已知关系"))
        out[c] = SignalValue(value, ev)
    return out


YEAR = re.compile(r"(19|20)\d\d")
RECENT_FROM, RECENT_SPAN = 2012, 14


def recency(t: Target, cands: list[str], f: Facts, tr: Trees) -> dict[str, SignalValue]:
    out = {}
    for c in cands:
        props = f.props.get(c, {})
        if props.get("tie_count") is not None:  # summarised at refresh over all its ties, a hub's too
            years = [int(props["latest_tie_year"])] if props.get("latest_tie_year") else []
        else:
            years = [int(m.group()) for x in f.ties.get(c, []) if (m := YEAR.search(str(x.props.get("since", ""))))]
        if not years:
            out[c] = SignalValue(0.0)
            continue
        y = max(years)
        out[c] = SignalValue(
            max(0.0, min(1.0, (y - RECENT_FROM) / RECENT_SPAN)),
            [(f"latest dated tie in {y}", f"最近一次关联在{y}年")],
        )
    return out


GRAPH_SIGNALS = {
    "sector_fit": sector_fit,
    "region_ties": region_ties,
    "cooperation": cooperation,
    "standing": standing,
    "recency": recency,
}

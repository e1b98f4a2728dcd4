"""The fit signals of a recommendation that read a candidate's own facts, one function each, and
the policy boosts the office adds on top.

Every signal returns, per candidate, a value in [0, 1] and the structured evidence behind it
(matching.evidence.Evidence); the reasons staff see are rendered from that evidence in either
language, never written separately. A tie counts by its weight (Tie.weight): not at all when its
source is illustrative, less when extracted from text, decaying when it ended (`until`).

- sector_fit: same chain link as the target (1.0), parent or child link (0.7), directly up- or
  downstream along the chain (0.6), sibling link (0.5).
- cooperation: existing ties to organisations already involved in the target, or of the asked
  relationship type to peers of the target, shared board members — noisy-or of the ties found.
- recency: the newest dated current tie (its `since` year).
- region_ties (policy): located in the target region (1.0), a subsidiary or partner located there
  (0.8/0.5), same province (0.4).
- standing (policy): listed companies, universities and institutes, and well-connected
  organisations stand higher; a leader is easier to defend in a meeting.

The link-predictive graph signals (tree distance, collaborative filtering, diffusion,
popularity) are in matching.rank.graph_signals.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from matching.evidence import Evidence
from matching.facts import Facts, Tie, Trees

TIE_TYPES = ("PARTNERS_WITH", "SUPPLIES", "INVESTS_IN", "SUBSIDIARY_OF", "INVOLVED_IN")
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

    @property
    def name_en(self) -> str:
        return self.props.get("name_en") or self.name


@dataclass
class SignalValue:
    value: float
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class SignalContext:
    """What every signal of one call reads: the target, the facts of the candidates and of the
    organisations already linked to the target (anchors), the trees, and how ties are weighed."""

    t: Target
    facts: Facts
    tr: Trees
    anchors: list[str]  # organisations already linked to the target the way the question asks
    rel: str | None  # the relation type the question is about (ACTIVE_IN for a chain link)
    now: int
    extracted_weight: float = 0.5
    half_life: float = 3.0
    sector_props: dict[str, dict[str, Any]] = field(default_factory=dict)  # summaries of sectors (related_json)

    _weights: dict[tuple, float] = field(default_factory=dict)
    counterparts_cache: dict[tuple, dict] = field(default_factory=dict)  # graph_signals.counterparts, per node

    def w(self, tie: Tie) -> float:
        """The tie's weight (Tie.weight): it depends only on its tier and end year, so it is worked
        out once per combination and call (thousands of ties, a handful of combinations)."""
        key = (tie.props.get("tier"), tie.props.get("until"))
        if key not in self._weights:
            self._weights[key] = tie.weight(self.now, self.extracted_weight, self.half_life)
        return self._weights[key]

    def tie_evidence(self, tie: Tie, kind: str = "tie", context: str = "") -> Evidence:
        return Evidence(kind, rel=tie.type, direction=tie.direction, other=tie.other, other_zh=tie.other_name,
                        other_en=tie.other_name_en, since=str(tie.props.get("since") or ""),
                        until=str(tie.props.get("until") or "") if tie.ended(self.now) else "",
                        tier=tie.tier, sentence=str(tie.props.get("evidence") or "") if tie.tier == "extracted" else "",
                        context=context, target_zh=self.t.name, target_en=self.t.name_en)


def sector_fit(cx: SignalContext, cands: list[str]) -> dict[str, SignalValue]:
    out = {}
    t, f, tr = cx.t, cx.facts, cx.tr
    target_sectors = sorted(t.sectors)  # sorted: the same reason every run when two links fit equally
    for c in cands:
        best, ev = 0.0, []
        for s in sorted(f.sectors(c)):
            for ts in target_sectors:
                if s == ts:
                    v, kind, steps = 1.0, "sector_same", 0
                elif tr.parent.get(s) == ts or tr.parent.get(ts) == s:
                    v, kind, steps = 0.7, "sector_near", 1
                elif ts in tr.upstream_of.get(s, ()) or s in tr.upstream_of.get(ts, ()):
                    v, kind, steps = 0.6, "sector_chain", 1
                elif tr.parent.get(s) and tr.parent.get(s) == tr.parent.get(ts):
                    v, kind, steps = 0.5, "sector_near", 2
                else:
                    continue
                if v > best:
                    best = v
                    ev = [Evidence(kind, other=s, other_zh=tr.name(s, "zh"), other_en=tr.name(s, "en"), count=steps,
                                   target_zh=tr.name(ts, "zh"), target_en=tr.name(ts, "en"))]
        out[c] = SignalValue(best, ev)
    return out


def region_ties(cx: SignalContext, cands: list[str]) -> dict[str, SignalValue]:
    out = {}
    t, f, tr = cx.t, cx.facts, cx.tr
    for c in cands:
        here = f.regions(c) & t.regions
        if here:
            r = sorted(here)[0]
            out[c] = SignalValue(1.0, [Evidence("located", other=r, other_zh=tr.name(r, "zh"), other_en=tr.name(r, "en"))])
            continue
        best = SignalValue(0.0)
        for tie in f.ties.get(c, []):
            if tie.other_label != "Organization" or not (f.regions(tie.other) & t.regions):
                continue
            v = (0.8 if tie.type == "SUBSIDIARY_OF" and tie.direction == "in" else 0.5) * cx.w(tie)
            if v > best.value:
                best = SignalValue(v, [cx.tie_evidence(tie, "local_tie")])
        if (
            best.value == 0
            and t.province
            and any(t.province in ([r, *tr.ancestors(r)]) for r in f.regions(c))
        ):
            best = SignalValue(0.4, [Evidence("province", other=t.province, other_zh=tr.name(t.province, "zh"),
                                              other_en=tr.name(t.province, "en"))])
        out[c] = best
    return out


def cooperation(cx: SignalContext, cands: list[str]) -> dict[str, SignalValue]:
    out = {}
    t, f = cx.t, cx.facts

    def people_of(node: str) -> set[str]:
        return {x.other for x in f.ties.get(node, ()) if x.type == "HAS_ROLE"}

    anchors = t.involved | ({t.id} if t.label == "Organization" else set())
    anchor_people = set().union(*(people_of(a) for a in anchors)) if anchors else set()
    for c in cands:
        # (weight, tie, context); the evidence records are built for the two that are shown only
        # (at 1,000,000 organisations a call weighs ~5,000 ties: building them all was 16% of it)
        parts: list[tuple[float, Tie | None, str]] = []
        for tie in f.ties.get(c, []):
            if tie.type not in TIE_TYPES or tie.other_label not in ("Organization", "Project"):
                continue
            w = cx.w(tie)
            if w <= 0:
                continue
            if tie.other in anchors:
                parts.append((0.8 * w, tie, "anchor"))
            elif t.rel_type and tie.type == t.rel_type and tie.other in t.peers:
                parts.append((0.6 * w, tie, "peer"))
            elif f.regions(tie.other) & t.regions:
                parts.append((0.4 * w, tie, "local"))
        shared = people_of(c) & anchor_people if anchor_people else set()
        if shared:
            parts.append((0.4, None, "board"))
        parts.sort(key=lambda p: -p[0])
        value = 1 - math.prod(1 - p for p, _, _ in parts[:5])
        shown = [cx.tie_evidence(tie, context=context) if tie is not None
                 else Evidence("board", count=len(shared), target_zh=t.name, target_en=t.name_en)
                 for _, tie, context in parts[:2]]
        out[c] = SignalValue(value, shown)
    return out


def standing(cx: SignalContext, cands: list[str]) -> dict[str, SignalValue]:
    out = {}
    f = cx.facts
    for c in cands:
        props = f.props.get(c, {})
        kind = props.get("kind", "company")
        degree = props.get("tie_count")  # derived at refresh; counted here on a graph without it
        if degree is None:
            degree = sum(1 for x in f.ties.get(c, []) if x.type not in ("LOCATED_IN", "ACTIVE_IN") and cx.w(x) >= 1)
        base = STANDING_BY_KIND.get(kind, 0.3)
        value = min(1.0, base + 0.4 * min(1.0, math.log1p(degree) / math.log1p(DEGREE_FOR_FULL_STANDING)))
        ev = []
        if kind == "listed_company":
            ev.append(Evidence("listed", code=props.get("stock_code") or ""))
        elif kind in ("university", "institute"):
            ev.append(Evidence(kind))
        if degree >= 10:
            ev.append(Evidence("degree", count=degree))
        out[c] = SignalValue(value, ev)
    return out


YEAR = re.compile(r"(19|20)\d\d")
RECENT_FROM, RECENT_SPAN = 2012, 14


def recency(cx: SignalContext, cands: list[str]) -> dict[str, SignalValue]:
    out = {}
    f = cx.facts
    for c in cands:
        props = f.props.get(c, {})
        if props.get("tie_count") is not None:  # summarised at refresh over its current ties, a hub's too
            years = [int(props["latest_tie_year"])] if props.get("latest_tie_year") else []
        else:
            years = [int(m.group()) for x in f.ties.get(c, []) if not x.ended(cx.now) and x.tier != "illustrative"
                     and (m := YEAR.search(str(x.props.get("since", ""))))]
        if not years:
            out[c] = SignalValue(0.0)
            continue
        y = max(years)
        out[c] = SignalValue(max(0.0, min(1.0, (y - RECENT_FROM) / RECENT_SPAN)), [Evidence("recent", since=str(y))])
    return out


FIT_SIGNALS = {"sector_fit": sector_fit, "cooperation": cooperation, "recency": recency}
POLICY_SIGNALS = {"region_ties": region_ties, "standing": standing}

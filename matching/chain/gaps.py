"""Whom to bring in: for each gap link, organisations from outside the region, ranked.

The ranking is the recommendation engine's (matching.recommend.recommend with the gap link as
the target and the analysed region as the home region, so its region and cooperation signals
measure ties to *this* region's firms). On top of it, two rules that make a briefing defensible:

- only organisations outside the region (a firm already located there is local presence, not a
  candidate) and not already counted as local presence of the link;
- only organisations of the link: tagged with it or a sub-link (members); only when the link has
  no member outside the region, firms of its parent or a child link (sector_fit >= 0.7). A firm
  of a merely neighbouring link may be a partner, but it does not fill the gap.

The reasons are rendered from the recommendation's own signal evidence, grouped as chain
position (sector_fit), ties to local firms (region_ties, cooperation) and standing.
"""

from __future__ import annotations

from kg.settings import Settings
from kg.store import GraphView
from matching.chain.report import Candidate, ChainReport, LinkCoverage
from matching.facts import fetch_facts, trees
from matching.recommend import Recommendation, recommend

__all__ = ["REASON_SIGNALS", "fill_candidates", "gap_candidates"]

#: Signals whose evidence explains a candidate, in the order the reasons are shown.
REASON_SIGNALS = ("sector_fit", "region_ties", "cooperation", "standing")
MIN_SECTOR_FIT = 0.7
#: Who can fill a link: firms and research bodies (a fund or a park may help, but makes nothing).
CANDIDATE_KINDS = ("listed_company", "company", "institute", "university")
#: Nearest texts a gap search adds to the link's own members (the recommender always includes every
#: member of the link); few are needed, as only members and parent/child firms are kept.
GAP_CANDIDATE_POOL = 60
POOL_FACTOR = 8  # recommendations asked per candidate kept, before the two rules filter them


def _reasons(rec: Recommendation) -> tuple[list[str], list[str]]:
    by_name = {s.name: s for s in rec.signals}
    en: list[str] = []
    zh: list[str] = []
    for name in REASON_SIGNALS:
        sig = by_name.get(name)
        if sig is not None and sig.evidence:
            en.append(sig.evidence[0])
            zh.append(sig.evidence_zh[0])
    return en, zh


def gap_candidates(
    view: GraphView, report: ChainReport, link: LinkCoverage, k: int = 5, settings: Settings | None = None
) -> list[Candidate]:
    """The k best organisations from outside the region to fill one gap link."""
    from kg.settings import load_settings

    settings = settings or load_settings()
    pool = min(int(settings.candidate_pool), GAP_CANDIDATE_POOL)
    settings = settings.replace(home_region=report.region_id, candidate_pool=pool)
    tr = trees(view)
    inside = tr.subtree(report.region_id)
    subtree = tr.subtree(link.sector_id)
    local = {f.org_id for f in link.firms}
    recs = recommend(
        view,
        link.sector_id,
        k=max(k * POOL_FACTOR, 40),
        kinds=list(CANDIDATE_KINDS),
        exclude=local,
        settings=settings,
    )
    facts = fetch_facts(view, [r.org_id for r in recs])
    members: list[Candidate] = []
    neighbours: list[Candidate] = []
    for rec in recs:
        if facts.regions(rec.org_id) & inside:
            continue
        member = bool(facts.sectors(rec.org_id) & subtree)
        fit = next((s.value for s in rec.signals if s.name == "sector_fit"), 0.0)
        if not member and fit < MIN_SECTOR_FIT:
            continue
        regions = sorted(facts.regions(rec.org_id), key=lambda r: -len(tr.ancestors(r)))
        en, zh = _reasons(rec)
        place = (tr.name(regions[0], "en"), tr.name(regions[0], "zh")) if regions else ("", "")
        signals = {s.name: s.contribution for s in rec.signals}
        (members if member else neighbours).append(
            Candidate(
                rec.org_id,
                rec.name_zh,
                rec.name_en,
                rec.kind,
                place[0],
                place[1],
                member,
                rec.score,
                en,
                zh,
                signals,
            )
        )
    return (members or neighbours)[:k]


def fill_candidates(
    view: GraphView, report: ChainReport, k: int = 5, settings: Settings | None = None
) -> ChainReport:
    """Candidates for every gap link of a report (in place; the report is returned for chaining)."""
    for link in report.links:
        if link.gap and link.depth > 0:  # a whole chain is never one gap to fill
            link.candidates = gap_candidates(view, report, link, k, settings)
    return report

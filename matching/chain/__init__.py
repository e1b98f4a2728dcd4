"""The industry-chain map: tags, local coverage, gaps and whom to bring in.

Public API (the CLI, the web app and notebooks import from here; the modules may move)::

    from matching.chain import chain_report, to_table, to_xlsx

    with open_view(settings) as view:
        report = chain_report(view, "Wuxi", settings=settings)
    print(to_table(report))
    for link in report.gaps():
        print(link.sector_id, [c.name_en for c in link.candidates])

The chain itself is data: the Sector tree of kg/taxonomy (PART_OF, UPSTREAM_OF). The refresh
derive step `tag_sectors` tags organisations and projects with it where no source did.
"""

from __future__ import annotations

import threading

from kg.settings import Settings, load_settings
from kg.store import GraphView
from matching.chain.coverage import chain_coverage, resolve_region
from matching.chain.export import to_table, to_xlsx
from matching.chain.gaps import fill_candidates, gap_candidates
from matching.chain.report import Candidate, ChainReport, Dependency, LinkCoverage, LocalFirm, ProjectRef
from matching.chain.tagging import classify_text, tag_sectors

__all__ = [
    "Candidate",
    "ChainReport",
    "Dependency",
    "LinkCoverage",
    "LocalFirm",
    "ProjectRef",
    "chain_coverage",
    "chain_report",
    "classify_text",
    "fill_candidates",
    "gap_candidates",
    "resolve_region",
    "tag_sectors",
    "to_table",
    "to_xlsx",
]

_cache: dict[tuple, ChainReport] = {}
_lock = threading.Lock()
CACHED_REPORTS = 8


def chain_report(
    view: GraphView, region: str | None = None, *, candidates: int = 5, settings: Settings | None = None
) -> ChainReport:
    """Coverage of every chain link in a region, with candidates for each gap.

    A report is a pure function of the graph version and the settings it reads, so it is cached
    per (version, region, threshold, weights, k): the web page, the API and the XLSX download of
    one briefing then cost one computation.
    """
    settings = settings or load_settings()
    region_id = resolve_region(view, region, settings)
    key = (
        view.version,
        region_id,
        settings.gap_threshold,
        settings.signal_weights,
        settings.candidate_pool,
        candidates,
    )
    with _lock:
        if key in _cache:
            return _cache[key]
    report = chain_coverage(view, region_id, settings)
    if candidates > 0:
        fill_candidates(view, report, candidates, settings)
    with _lock:
        if len(_cache) >= CACHED_REPORTS:
            _cache.pop(next(iter(_cache)))
        _cache[key] = report
    return report

"""Derived data the refresh publishes with every graph version, in the order it is built.

A new derive step is a function `step(ctx: kg.run.RunContext) -> None` in matching/ (or
wherever its floor is), added to this list; it reads the run record and writes through
`ctx.writer`, and never imports the runner.
"""

from __future__ import annotations

from matching.chain.tagging import tag_sectors
from matching.rank.train import train_ranker
from matching.search.build import build_search_index
from matching.tie_summary import summarise_ties
from matching.vectors import build_vectors

__all__ = ["DERIVE_STEPS"]

# tag_sectors reads the Sector vectors build_vectors wrote; summarise_ties sees every edge, derived ones included;
# train_ranker asks the recommender, which reads the vectors and the summaries; the search index
# files each entity under its chain links, derived tags included
DERIVE_STEPS = [build_vectors, tag_sectors, summarise_ties, train_ranker, build_search_index]

"""Derived data the refresh publishes with every graph version (ingest.refresh runs these)."""

from matching.chain.tagging import tag_sectors
from matching.tie_summary import summarise_ties
from matching.vectors import build_vectors

# tag_sectors reads the Sector vectors build_vectors wrote; summarise_ties sees every edge, derived ones included
DERIVE_STEPS = [build_vectors, tag_sectors, summarise_ties]

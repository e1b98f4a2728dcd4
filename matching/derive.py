"""Derived data the refresh publishes with every graph version (ingest.refresh runs these)."""

from matching.chain.tagging import tag_sectors
from matching.vectors import build_vectors

DERIVE_STEPS = [build_vectors, tag_sectors]  # tag_sectors reads the Sector vectors build_vectors wrote

"""Derived data the refresh publishes with every graph version (ingest.refresh runs these)."""

from matching.vectors import build_vectors

DERIVE_STEPS = [build_vectors]

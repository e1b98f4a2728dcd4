"""Entity resolution over plain record dicts: keys, blocking, scoring, decisions, clusters.

Public entry points: resolve() and the Resolution it returns; load_overrides() for manual
decisions; compare_records() to score one pair; ResolveSettings for every threshold.
"""

from ingest.resolve.cluster import cluster_decisions, resolve
from ingest.resolve.decisions import Decision, DecisionTable, Judgement, Origin, load_overrides
from ingest.resolve.resolution import Entity, Explanation, Resolution
from ingest.resolve.score import Comparison, Evidence, compare_records
from ingest.resolve.settings import MAX_BLOCK_SIZE, ResolveSettings

__all__ = ["MAX_BLOCK_SIZE", "Comparison", "Decision", "DecisionTable", "Entity", "Evidence", "Explanation",
           "Judgement", "Origin", "Resolution", "ResolveSettings", "cluster_decisions", "compare_records",
           "load_overrides", "resolve"]

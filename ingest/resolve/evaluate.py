"""`stakegraph eval resolve`: pairwise precision and recall of the resolver against known truth.

The records of a bundle are its organisation rows, identified as `source:id`. The truth file
lists every true same-pair (`record_a,record_b,same`); any pair the resolver puts in one entity
that the file does not list as same is a false positive. Resolution runs through the same
record building and `resolve` call as the refresh, in a throw-away home.

For a one-to-one case (every record of the truth in exactly one true pair: a list matched
against another list) it also gives accuracy@1: of the query records (the source most of whose
records the truth names), how many have their true partner as their best-scored candidate,
whether or not that score merged them. It tells a ranking problem from a threshold problem.
"""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from itertools import combinations
from pathlib import Path
from typing import Any

from ingest.bundle import read_bundle
from ingest.resolve.cluster import resolve
from ingest.resolve.decisions import Judgement, load_overrides
from ingest.resolve.settings import ResolveSettings
from ingest.resolve.step import resolver_record
from kg.schema import load_schema

__all__ = ["case_records", "evaluate_resolution", "one_to_one_queries", "read_truth"]


def read_truth(path: Path) -> set[frozenset[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"record_a", "record_b", "same"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return {frozenset((r["record_a"].strip(), r["record_b"].strip())) for r in reader if r["same"].strip() in ("1", "true", "yes")}


def case_records(data: Path) -> tuple[list[dict[str, Any]], int]:
    """The organisation rows of a bundle as the resolver sees them, and how many rows the
    bundle reader rejected."""
    batch = read_bundle(Path(data), Path(data).name, load_schema())
    sectors: dict[str, list[str]] = {}
    for e in batch.edges:
        if e.type == "ACTIVE_IN":
            sectors.setdefault(e.source_id, []).append(e.target_id)
    records = [resolver_record(r.record_id, {**r.props, "_sectors": sectors.get(r.id, [])}, r.source)
               for r in batch.nodes if r.label == "Organization"]
    return records, len(batch.rejected)


def one_to_one_queries(records: list[dict[str, Any]], truth: set[frozenset[str]]) -> dict[str, str] | None:
    """query record -> its true partner, when the case is one-to-one; else None. The query
    source is the one with the largest share of its records in the truth."""
    count = Counter(r for pair in truth for r in pair)
    if not truth or any(n != 1 for n in count.values()):
        return None
    by_source = Counter(r["source"] for r in records)
    named = Counter(r["source"] for r in records if r["record_id"] in count)
    query_source = max(named, key=lambda s: (named[s] / by_source[s], s))
    partner = {a: b for pair in truth for a, b in (tuple(pair), tuple(pair)[::-1])}
    return {r["record_id"]: partner[r["record_id"]] for r in records
            if r["source"] == query_source and r["record_id"] in partner}


def evaluate_resolution(data: Path, truth_file: Path, overrides: Path | None = None,
                        settings: ResolveSettings | None = None) -> dict[str, Any]:
    truth = read_truth(truth_file)
    with tempfile.TemporaryDirectory(prefix="stakegraph-eval-"):
        records, rejected = case_records(Path(data))
        scores: dict[tuple[str, str], float] = {}
        resolution = resolve(records, load_overrides(overrides) if overrides else (), settings, scores_out=scores)
    predicted = {frozenset(p) for e in resolution.entities.values() for p in combinations(e.record_ids, 2)}
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    unsure = sum(1 for d in resolution.decisions.effective() if d.judgement is Judgement.UNSURE)
    out: dict[str, Any] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                           "pairs": len(truth), "predicted_pairs": len(predicted), "records": len(records),
                           "rejected": rejected, "unsure_pairs": unsure, "scored_pairs": len(scores),
                           "bad_records": sum(1 for r in records if resolution.problems_of(r["record_id"]))}
    queries = one_to_one_queries(records, truth)
    if queries:
        best: dict[str, tuple[float, str]] = {}
        source = {r["record_id"]: r["source"] for r in records}
        for (a, b), score in scores.items():
            for q, other in ((a, b), (b, a)):
                if q in queries and source[other] != source[q] and (score, other) > best.get(q, (-1.0, "")):
                    best[q] = (score, other)
        hits = sum(1 for q, partner in queries.items() if q in best and best[q][1] == partner)
        out["accuracy_at_1"] = round(hits / len(queries), 4)
        out["queries"] = len(queries)
    return out

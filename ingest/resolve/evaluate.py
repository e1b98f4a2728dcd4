"""`stakegraph eval resolve`: pairwise precision and recall of the resolver against known truth.

The records of a bundle are its organisation rows, identified as `source:id`. The truth file
lists every true same-pair (`record_a,record_b,same`); any pair the resolver puts in one entity
that the file does not list as same is a false positive. Resolution runs through the same
record building and `resolve` call as the refresh, in a throw-away home.
"""

from __future__ import annotations

import csv
import tempfile
from itertools import combinations
from pathlib import Path
from typing import Any

from ingest.bundle import read_bundle
from ingest.resolve.cluster import resolve
from ingest.resolve.decisions import load_overrides
from ingest.resolve.step import resolver_record
from kg.schema import load_schema


def read_truth(path: Path) -> set[frozenset[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"record_a", "record_b", "same"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return {frozenset((r["record_a"].strip(), r["record_b"].strip())) for r in reader if r["same"].strip() in ("1", "true", "yes")}


def evaluate_resolution(data: Path, truth_file: Path, overrides: Path | None = None) -> dict[str, Any]:
    truth = read_truth(truth_file)
    with tempfile.TemporaryDirectory(prefix="stakegraph-eval-"):
        batch = read_bundle(Path(data), Path(data).name, load_schema())
        sectors: dict[str, list[str]] = {}
        for e in batch.edges:
            if e.type == "ACTIVE_IN":
                sectors.setdefault(e.source_id, []).append(e.target_id)
        records = [resolver_record(r.record_id, {**r.props, "_sectors": sectors.get(r.id, [])}, r.source)
                   for r in batch.nodes if r.label == "Organization"]
        resolution = resolve(records, load_overrides(overrides) if overrides else ())
    predicted = {frozenset(p) for e in resolution.entities.values() for p in combinations(e.record_ids, 2)}
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "pairs": len(truth),
            "predicted_pairs": len(predicted), "records": len(records), "rejected": len(batch.rejected)}

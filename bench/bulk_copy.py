"""Where COPY from an Arrow table starts to beat UNWIND for new nodes and edges (embedded backend).

The setting `bulk_copy_min_rows` sends a batch of new rows (per label, or per relationship type
and end labels) below it through UNWIND ... MERGE / CREATE, and from it through COPY. This prints
both paths' time for batches of several sizes, measured side by side in one run (the two paths
alternate, each in a writer of its own), so the threshold can be set by measurement:

    PYTHONPATH=. .venv/bin/python bench/bulk_copy.py [--sizes 50,200,1000,3000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from kg.backends import open_writer
from kg.settings import load_settings

PROV = {"status": "active", "feeds": ["bench"], "last_seen": "r1", "first_seen": "r1", "source": "bench"}


def nodes(prefix: str, n: int) -> list[dict]:
    return [{"id": f"{prefix}{i}", "name_en": f"Bench {prefix}{i}", "kind": "company", **PROV} for i in range(n)]


def edges(prefix: str, n: int, n_nodes: int) -> list[dict]:
    return [{"source_id": f"{prefix}{i % n_nodes}", "target_id": f"{prefix}{(i * 7 + 1) % n_nodes}",
             "status": "active", "feeds": ["bench"], "last_seen": "r1", "first_seen": "r1", "sources": ["bench"]}
            for i in range(n)]


def timed(home: Path, min_rows: int, n: int, tag: str) -> tuple[float, float]:
    """(seconds for n new nodes, seconds for n new edges among them) in a fresh writer."""
    settings = load_settings({"home": str(home), "bulk_copy_min_rows": min_rows})
    with open_writer(settings, purpose="bench") as w:
        t0 = time.perf_counter()
        w.create_nodes("Organization", nodes(tag, n))
        t1 = time.perf_counter()
        w.create_edges("SUPPLIES", edges(tag, n, n))
        t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50,200,1000,3000")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="stakegraph-bulk-"))
    results: dict[tuple[str, int], list[tuple[float, float]]] = {}
    load_before = os.getloadavg()[0]
    for r in range(args.rounds):
        for n in sizes:
            for path, min_rows in (("copy", 1), ("unwind", 10**9)):
                results.setdefault((path, n), []).append(timed(work / f"{path}-{n}", min_rows, n, f"r{r}{path}{n}-"))
    print(f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}; median of {args.rounds} rounds; "
          "each path in a writer of its own, alternating\n")
    print("| rows | nodes COPY s | nodes UNWIND s | edges COPY s | edges UNWIND s |")
    print("|---|---|---|---|---|")
    for n in sizes:
        c = [statistics.median(x) for x in zip(*results[("copy", n)], strict=True)]
        u = [statistics.median(x) for x in zip(*results[("unwind", n)], strict=True)]
        print(f"| {n:,} | {c[0]:.2f} | {u[0]:.2f} | {c[1]:.2f} | {u[1]:.2f} |")


if __name__ == "__main__":
    main()

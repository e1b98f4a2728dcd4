"""Benchmark: the Neo4j writer's bulk path at several batch sizes (write_batch_size).

Why: the bulk path (kg/backends/neo4j_bulk.py) commits one UNWIND ... CREATE batch per
transaction; a small batch pays a round trip and a commit per few rows, a large one holds
more of the server's heap at once. This writes the same organisation-like nodes and edges
through open_writer at each size and aborts (the abort removes them again, also timed), on a
server started by .ci/neo4j/neo4j.sh with the given heap.

    .venv/bin/python bench/neo4j_batches.py --nodes 10000 --edges 20000 --sizes 1000,5000,20000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def rows(n_nodes: int, n_edges: int) -> tuple[list[dict], list[dict]]:
    nodes = [{"id": f"org:{i}", "name_zh": f"测试公司{i}有限公司", "name_en": f"Test Company {i} Ltd", "kind": "company",
              "aliases": [f"测试{i}", f"TC{i}"], "record_ids": [f"exchange:{i}", f"registry:{i}"], "status": "active",
              "feeds": ["exchange", "registry"], "first_seen": "r1", "last_seen": "r1", "tier": "A"} for i in range(n_nodes)]
    edges = [{"source_id": f"org:{i % n_nodes}", "target_id": f"org:{(i * 7919 + 1) % n_nodes}", "source": "exchange",
              "confidence": 0.9, "sources": ["exchange"], "feeds": ["exchange"], "first_seen": "r1", "last_seen": "r1",
              "status": "active", "evidence": f"annual report {i}"} for i in range(n_edges)]
    return nodes, [e for e in edges if e["source_id"] != e["target_id"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=10_000)
    ap.add_argument("--edges", type=int, default=20_000)
    ap.add_argument("--sizes", default="1000,5000,20000")
    ap.add_argument("--heap", default="1g")
    args = ap.parse_args()

    from backends import start_neo4j

    from kg.backends import open_writer
    from kg.backends.neo4j import close_drivers
    from kg.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="stakegraph-batches-"))
    state = work / "neo4j-server"
    import subprocess
    try:
        server = start_neo4j(state, args.heap, "256m")
        base = {"home": str(work / "home"), "backend": "neo4j", "neo4j_uri": server["uri"], "neo4j_user": "neo4j",
                "neo4j_password": server["password"], "bulk_copy_min_rows": 1}
        nodes, edges = rows(args.nodes, args.edges)
        print(f"load average {os.getloadavg()[0]:.1f}; {len(nodes):,} nodes, {len(edges):,} edges, heap {args.heap}")
        for size in [int(x) for x in args.sizes.split(",")] * 2:  # each size twice: the first pass warms the JIT
            settings = load_settings({**base, "write_batch_size": size})
            w = open_writer(settings, purpose="batches")
            t0 = time.perf_counter()
            w.create_nodes("Organization", nodes)
            t1 = time.perf_counter()
            w.create_edges("SUPPLIES", edges)
            t2 = time.perf_counter()
            w.abort()
            t3 = time.perf_counter()
            print(f"batch {size:>6,}: nodes {len(nodes) / (t1 - t0):8,.0f}/s  edges {len(edges) / (t2 - t1):8,.0f}/s  "
                  f"undo {t3 - t2:5.1f} s")
    finally:
        close_drivers()
        subprocess.run(["bash", str(ROOT / ".ci" / "neo4j" / "neo4j.sh"), "stop", str(state)], capture_output=True)


if __name__ == "__main__":
    main()

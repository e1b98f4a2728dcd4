"""Exact vs HNSW search on a clustered synthetic set; prints a markdown table.

    PYTHONPATH=. .venv/bin/python bench/ann_index.py [--n 200000] [--dim 1920] [--queries 500]

Vectors are a Gaussian mixture with low intrinsic dimension (cluster centre +
a point in a shared 48-d latent space + a little isotropic noise), normalised:
real sentence embeddings live near such a low-dimensional set, and pure
isotropic noise in 1,920-d would make every neighbour equidistant and the
figures meaningless. Queries are fresh draws from the same mixture. Reported:
build time, recall@10 of HNSW against exact search at several efSearch,
single-query p50/p95 latency through ``VectorIndex.search`` and memory.
This prints figures only; behaviour is asserted in tests/test_index.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from matching.embed import DEFAULT_EMBEDDER_SPEC, make_embedder  # noqa: E402
from matching.index import IndexSettings, VectorIndex  # noqa: E402

LATENT_DIM = 48
CHUNK = 20_000


def mixture(n: int, dim: int, clusters: int, seed: int) -> np.ndarray:
    """``n`` unit vectors drawn cluster by cluster from a fixed mixture (seeded, chunked)."""
    model = np.random.default_rng(0)  # the mixture itself is the same for data and queries
    centres = model.standard_normal((clusters, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    basis = model.standard_normal((LATENT_DIM, dim), dtype=np.float32) / np.sqrt(dim * LATENT_DIM / 2.0)
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        rows = centres[rng.integers(0, clusters, m)]
        rows += rng.standard_normal((m, LATENT_DIM), dtype=np.float32) @ basis
        rows += rng.standard_normal((m, dim), dtype=np.float32) * np.float32(0.1 / np.sqrt(dim))
        out[start : start + m] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def latencies(index: VectorIndex, queries: np.ndarray, k: int) -> tuple[list[list[str]], np.ndarray]:
    results, times = [], []
    for q in queries:
        start = time.perf_counter()
        hits = index.search(q, k=k)
        times.append(time.perf_counter() - start)
        results.append([i for i, _ in hits])
    return results, np.asarray(times) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="vectors in the index")
    parser.add_argument("--dim", type=int, default=make_embedder(DEFAULT_EMBEDDER_SPEC).dim)
    parser.add_argument("--clusters", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--ef", default="32,64,96,128,256", help="efSearch values to try")
    args = parser.parse_args()

    settings = IndexSettings()
    print(
        f"n={args.n:,} dim={args.dim} clusters={args.clusters} queries={args.queries} k={args.k}",
        file=sys.stderr,
    )
    t0 = time.perf_counter()
    data = mixture(args.n, args.dim, args.clusters, seed=1)
    queries = mixture(args.queries, args.dim, args.clusters, seed=2)
    ids = [f"n{i}" for i in range(args.n)]
    print(f"generated in {time.perf_counter() - t0:.1f}s", file=sys.stderr)

    exact_settings = IndexSettings()
    exact_settings.flat_max = args.n
    exact = VectorIndex(args.dim, exact_settings)
    start = time.perf_counter()
    exact.build(ids, data)
    flat_build = time.perf_counter() - start
    truth, flat_ms = latencies(exact, queries, args.k)
    print("exact done", file=sys.stderr)

    hnsw_settings = IndexSettings()
    hnsw_settings.flat_max = 0
    hnsw = VectorIndex(args.dim, hnsw_settings)
    start = time.perf_counter()
    hnsw.build(ids, data)
    hnsw_build = time.perf_counter() - start
    print(f"hnsw built in {hnsw_build:.1f}s", file=sys.stderr)

    gib = 1024**3
    print(
        f"### ANN: {args.n:,} × {args.dim}-d, {args.clusters} clusters, {args.queries} queries, k={args.k}\n"
    )
    print(
        f"HNSW M={settings.hnsw_m}, efConstruction={settings.ef_construction}; "
        f"exact = IndexFlatIP. Latency is one query at a time through VectorIndex.search.\n"
    )
    print("| index | efSearch | build s | recall@10 | p50 ms | p95 ms | memory GiB |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| flat (exact) | – | {flat_build:.1f} | 1.000 | {np.percentile(flat_ms, 50):.2f} "
        f"| {np.percentile(flat_ms, 95):.2f} | {exact.memory_bytes() / gib:.2f} |"
    )
    for ef in [int(e) for e in args.ef.split(",")]:
        hnsw.settings.ef_search = ef
        found, ms = latencies(hnsw, queries, args.k)
        recall = np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])
        mark = " (default)" if ef == settings.ef_search else ""
        print(
            f"| HNSW | {ef}{mark} | {hnsw_build:.1f} | {recall:.3f} | {np.percentile(ms, 50):.2f} "
            f"| {np.percentile(ms, 95):.2f} | {hnsw.memory_bytes() / gib:.2f} |"
        )


if __name__ == "__main__":
    main()

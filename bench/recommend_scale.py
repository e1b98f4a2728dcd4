"""Benchmark: one recommendation end to end on a large graph in the embedded store.

Builds a synthetic graph through the store interface — organisations in chain sectors and
regions, relations with power-law degrees — and clustered embeddings (a Gaussian mixture around
real sector directions, since uniform random vectors are no fair test of an ANN index), builds
the FAISS index, trains the ranking model as the refresh's derive step does (timed: it must stay
within 10% of a refresh), then times `matching.recommend.recommend` (FAISS + graph signals read
through the store + the learned model) and prints: index build time, p50/p95 latency, ANN
recall@10 against exact search, index and process memory, and the real encoder's throughput.

    .venv/bin/python bench/recommend_scale.py                       # 1,000,000 orgs, 5,000,000 relations
    .venv/bin/python bench/recommend_scale.py --orgs 100000 --relations 500000 --queries 50
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

SECTORS = ["ic.packaging_test", "ic.fab.logic", "ic.fab.memory", "ic.design.ai_accelerator", "ic.equipment",
           "ic.materials.substrates", "ai.aidc.cooling_liquid", "ai.aidc.servers", "ai.compute_service", "ai.models_inference"]
CITIES = ["无锡", "江阴", "苏州", "上海", "深圳", "北京", "合肥", "南京"]
TYPES = ["SUPPLIES", "PARTNERS_WITH", "INVESTS_IN"]


def build_graph(settings, n: int, n_rel: int, rng: random.Random) -> list[str]:
    from jobs.tasks import init_home
    from kg.backends import open_writer
    init_home(settings)  # the taxonomy: sectors, regions
    ids = [f"o{i}" for i in range(n)]
    t0 = time.perf_counter()
    with open_writer(settings, purpose="bench") as w:
        batch = 200_000
        for i in range(0, n, batch):
            w.create_nodes("Organization", [{"id": ids[j], "name_zh": f"测试{j}号科技", "name_en": f"Test {j} Technology",
                                             "kind": "listed_company" if j % 20 == 0 else "company", "status": "active",
                                             "description": f"maker in {SECTORS[j % len(SECTORS)]}"} for j in range(i, min(n, i + batch))])
        print(f"  nodes: {n:,} in {time.perf_counter() - t0:.0f} s", flush=True)
        regions = {c: w.query("MATCH (r:Region) WHERE r.name_zh STARTS WITH $c RETURN r.id LIMIT 1", {"c": c}).rows for c in CITIES}
        regions = {c: r[0][0] for c, r in regions.items() if r}
        sectors = [s for s in SECTORS if w.get(s) is not None] or SECTORS[:0]
        w.create_edges("ACTIVE_IN", [{"source_id": o, "target_id": sectors[j % len(sectors)], "status": "active"}
                                     for j, o in enumerate(ids)] if sectors else [])
        w.create_edges("LOCATED_IN", [{"source_id": o, "target_id": regions[CITIES[j % len(CITIES)]], "status": "active"}
                                      for j, o in enumerate(ids) if CITIES[j % len(CITIES)] in regions])
        print(f"  sector and place edges in {time.perf_counter() - t0:.0f} s", flush=True)
        weights = np.array([1.0 / (k + 1) ** 0.9 for k in range(n)])
        weights /= weights.sum()
        done = 0
        seen: set[tuple[int, int, int]] = set()
        while done < n_rel:
            m = min(1_000_000, n_rel - done)
            a = np.random.default_rng(done).choice(n, size=m, p=weights)
            b = np.random.default_rng(done + 1).integers(0, n, size=m)
            by_type: dict[str, list[dict]] = {t: [] for t in TYPES}
            for x, y, t in zip(a.tolist(), b.tolist(), rng.choices(range(len(TYPES)), k=m), strict=True):
                key = (min(x, y), max(x, y), t) if TYPES[t] == "PARTNERS_WITH" else (x, y, t)
                if x != y and key not in seen:
                    seen.add(key)
                    by_type[TYPES[t]].append({"source_id": ids[x], "target_id": ids[y], "since": str(2010 + (x + y) % 16),
                                              "status": "active"})
            for t, rows in by_type.items():
                w.create_edges(t, rows)  # new by construction: bulk-loaded, no MERGE walk over hub adjacency
            done += m
            print(f"  relations: {done:,} in {time.perf_counter() - t0:.0f} s", flush=True)
    return ids


def ensure_summaries(settings) -> None:
    """The refresh's derive step, recomputed from the store; skipped when a kept graph has them."""
    from kg.backends import open_view, open_writer
    from matching.tie_summary import refresh_summaries

    with open_view(settings) as view:
        if view.query("MATCH (o:Organization {id: 'o0'}) RETURN o.tie_count").rows[0][0] is not None:
            return
    t1 = time.perf_counter()
    with open_writer(settings, purpose="bench tie summaries") as w:
        written = refresh_summaries(w, settings)
    print(f"  tie summaries (the refresh's derive step, read through the store): {written:,} organisations in "
          f"{time.perf_counter() - t1:.0f} s", flush=True)


def clustered_vectors(n: int, dim: int, clusters: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    labels = rng.integers(0, clusters, size=n)
    vecs = centres[labels] + 0.35 * rng.standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orgs", type=int, default=1_000_000)
    ap.add_argument("--relations", type=int, default=5_000_000)
    ap.add_argument("--dim", type=int, default=256, help="vector size of the synthetic embeddings")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=50, help="calls on other targets before the timed ones")
    ap.add_argument("--keep", help="build the graph in this folder once and reuse it on later runs")
    ap.add_argument("--build-only", action="store_true", help="stop after building the graph (with --keep)")
    ap.add_argument("--no-train", action="store_true", help="skip training the ranking model (then the default weights rank)")
    args = ap.parse_args()

    from kg.backends import current_version, open_view, open_writer
    from kg.settings import load_settings
    from matching.embed import make_embedder
    from matching.index import VectorIndex
    from matching.recommend import recommend
    from matching.vectors import VECTORS_DIR

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="stakegraph-recbench-"))
    settings = load_settings({"home": str(work / "home")}, env={})
    rng = random.Random(3)
    t0 = time.perf_counter()
    if args.keep and current_version(settings):
        ids = [f"o{i}" for i in range(args.orgs)]
        print(f"graph reused from {work}")
    else:
        ids = build_graph(settings, args.orgs, args.relations, rng)
        print(f"graph built in {time.perf_counter() - t0:.0f} s")
    if args.build_only:
        return
    ensure_summaries(settings)

    vecs = clustered_vectors(len(ids), args.dim, 2000, np.random.default_rng(5))
    with open_view(settings) as view:
        published = Path(view.data_dir) / VECTORS_DIR
    if args.keep and (published / "Organization" / "CURRENT").is_file():  # --keep: the index published by an earlier run
        index = VectorIndex.load(published / "Organization")
        print(f"index ({index.kind}, {len(index):,} x {args.dim}) reused from the kept graph; {index.memory_bytes() / 2**20:.0f} MiB")
    else:
        t0 = time.perf_counter()
        index = VectorIndex(args.dim)
        index.build(ids, vecs)
        build_s = time.perf_counter() - t0
        with open_writer(settings, purpose="bench index", wait_s=7200) as w:  # publish the index with the graph
            out = Path(w.data_dir) / VECTORS_DIR
            out.mkdir(parents=True, exist_ok=True)
            index.save(out / "Organization")
            (out / "meta.json").write_text('{"embedder": "lexical", "encoded": 0}', encoding="utf-8")
        print(f"index ({index.kind}, {len(index):,} x {args.dim}) built in {build_s:.0f} s; {index.memory_bytes() / 2**20:.0f} MiB")

    q_ids = random.Random(9).sample(ids, args.queries)
    exact = vecs @ vecs[[ids.index(q) for q in q_ids[:20]]].T if len(ids) <= 200_000 else None
    hits = 0
    for j, q in enumerate(q_ids[:20]):
        qv = vecs[int(q[1:])]
        ann = {i for i, _ in index.search(qv, k=10)}
        top = np.argpartition(-(vecs @ qv), 10)[:10] if exact is None else np.argpartition(-exact[:, j], 10)[:10]
        hits += len(ann & {ids[t] for t in top})
    print(f"ANN recall@10 vs exact: {hits / (20 * 10):.3f}")

    if not args.no_train:
        from matching.rank.train import retrain

        t1 = time.perf_counter()
        with open_writer(settings, purpose="bench ranker", wait_s=7200) as w:
            spec = retrain(w, settings)
        train_s = time.perf_counter() - t1
        print(f"ranker training (the refresh's derive step, {settings.ranker_train_questions} questions a type): "
              f"{train_s:.0f} s, of which asking and fitting {spec['seconds']:.0f} s; trained {spec['trained']}; "
              f"fallback {spec['fallback']}", flush=True)

    lat = []
    warm_ids = random.Random(11).sample(ids, args.warmup + 1)
    with open_view(settings) as view:
        t = time.perf_counter()
        recommend(view, warm_ids[0], k=20, settings=settings)  # loads the index once per version
        print(f"first call (loads the index): {(time.perf_counter() - t) * 1000:.0f} ms")
        cold = []
        for q in warm_ids[1:]:  # a server that has answered a few: its caches hold the links' leading firms
            t = time.perf_counter()
            recommend(view, q, k=20, settings=settings)
            cold.append((time.perf_counter() - t) * 1000)
        if cold:
            cold.sort()
            print(f"warm-up ({len(cold)} other targets): p50 {statistics.median(cold):.0f} ms, max {cold[-1]:.0f} ms")
        for q in q_ids:
            t = time.perf_counter()
            recommend(view, q, k=20, settings=settings)
            lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    print(f"recommend end to end: p50 {statistics.median(lat):.0f} ms, p95 {lat[int(0.95 * len(lat)) - 1]:.0f} ms "
          f"over {len(lat)} calls ({args.orgs:,} orgs, {args.relations:,} relations)")
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

    emb = make_embedder("minilm")
    texts = [f"无锡测试{i}号封装测试有限公司 | advanced packaging and test, flip-chip, fan-out" for i in range(512)]
    emb.encode(texts[:8])
    t = time.perf_counter()
    emb.encode(texts)
    print(f"real encoder (MiniLM) throughput: {len(texts) / (time.perf_counter() - t):.0f} sentences/s")
    use = make_embedder("use")
    use.encode(texts[:8])
    t = time.perf_counter()
    use.encode(texts)
    print(f"real encoder (USE multilingual) throughput: {len(texts) / (time.perf_counter() - t):.0f} sentences/s")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

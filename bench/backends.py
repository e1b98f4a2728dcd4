"""Benchmark: the same input into both backends, side by side (embedded ladybug and Neo4j 5).

Generates bench/refresh_scale.py's input (organisation records from three overlapping sources
with bilingual names, power-law relations), then for each backend: a full load, a refresh with
1% of the rows changed, one recommendation (p50/p95 over several targets, after a warm-up) and
a 2-hop neighbourhood count (p50/p95). The sample manifest (data/sample.yaml) is loaded too.
Neo4j is a server of its own, started through .ci/neo4j/neo4j.sh with the heap and page cache
given here and the full JIT; its sizes and resident memory are printed. The last line of
stdout is one JSON object with every figure.

    .venv/bin/python bench/backends.py                          # 22,000 records, 100,000 relations
    .venv/bin/python bench/backends.py --orgs 2000 --relations 10000 --queries 10   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

NEO4J = ROOT / ".ci" / "neo4j" / "neo4j.sh"
TWO_HOP = "MATCH (o:Organization {id: $id})-[*1..2]-(x) RETURN count(DISTINCT x) AS n"


def percentiles(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {"p50_ms": round(statistics.median(ms), 1), "p95_ms": round(ms[max(0, int(0.95 * len(ms)) - 1)], 1),
            "n": len(ms)}


def start_neo4j(state: Path, heap: str, pagecache: str) -> dict[str, str]:
    env = {**os.environ, "NEO4J_HEAP": heap, "NEO4J_PAGECACHE": pagecache, "NEO4J_JAVA_OPTS": "",
           "NEO4J_PARENT_PID": str(os.getpid())}
    env.pop("NEO4J_PASSWORD", None)
    t0 = time.perf_counter()
    subprocess.run(["bash", str(NEO4J), "start", str(state)], env=env, check=True)
    print(f"neo4j: started in {time.perf_counter() - t0:.1f} s (heap {heap}, page cache {pagecache})")
    out = subprocess.run(["bash", "-c", f'source "{state}/env" && echo "$NEO4J_URI" && echo "$NEO4J_PASSWORD"'],
                         capture_output=True, text=True, check=True).stdout.split()
    return {"uri": out[0], "password": out[1], "pid": (state / "pid").read_text().strip()}


def empty_database(server: dict[str, str]) -> None:
    import neo4j

    with neo4j.GraphDatabase.driver(server["uri"], auth=("neo4j", server["password"])) as d, d.session() as s:
        s.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def rss_mib(pid: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def flip(path: Path) -> None:
    """Change 1% of the exchange rows (refresh_scale's change), or change them back."""
    lines = path.read_text(encoding="utf-8").splitlines()
    old, new = ("producer of", "maker of") if any("producer of" in line for line in lines) else ("maker of", "producer of")
    path.write_text("\n".join(line.replace(old, new) if i % 100 == 1 else line for i, line in enumerate(lines)) + "\n",
                    encoding="utf-8")


def run_backend(name: str, settings, manifest: Path, changed_file: Path, queries: int) -> dict:
    from ingest.sources import load_manifest
    from jobs.refresh import run_refresh
    from jobs.tasks import init_home
    from kg.backends import open_view
    from matching.recommend import recommend

    out: dict = {}
    init_home(settings)
    t0 = time.perf_counter()
    log = run_refresh(settings, load_manifest(manifest))
    out["full_load_s"] = round(time.perf_counter() - t0, 1)
    out["added"] = log.totals()["added"]
    print(f"{name}: full load {out['full_load_s']} s, added {out['added']:,}")

    flip(changed_file)
    try:
        t0 = time.perf_counter()
        log = run_refresh(settings, load_manifest(manifest))
        out["refresh_1pct_s"] = round(time.perf_counter() - t0, 1)
        out["refresh_changed"] = log.totals()["changed"]
    finally:
        flip(changed_file)  # the next backend reads the input as generated
    print(f"{name}: 1% refresh {out['refresh_1pct_s']} s, changed {out['refresh_changed']:,}")

    with open_view(settings) as view:
        out["counts"] = {k: v for k, v in view.counts().items() if v}
        ids = [n.id for b in view.iter_nodes("Organization", 5000) for n in b]
        ids = ids[:: max(1, len(ids) // (2 * queries + 1))][: 2 * queries]
        warm, timed = ids[:queries], ids[queries:]
        for q in warm:  # loads the vector index and warms the engine's caches (Neo4j: the JIT)
            recommend(view, q, k=20, settings=settings)
        lat = []
        for q in timed:
            t = time.perf_counter()
            recommend(view, q, k=20, settings=settings)
            lat.append((time.perf_counter() - t) * 1000)
        out["recommend"] = percentiles(lat)
        for q in warm:
            view.query(TWO_HOP, {"id": q})
        lat = []
        for q in timed:
            t = time.perf_counter()
            view.query(TWO_HOP, {"id": q})
            lat.append((time.perf_counter() - t) * 1000)
        out["two_hop"] = percentiles(lat)
    print(f"{name}: recommend p50 {out['recommend']['p50_ms']} ms p95 {out['recommend']['p95_ms']} ms; "
          f"2-hop p50 {out['two_hop']['p50_ms']} ms p95 {out['two_hop']['p95_ms']} ms")
    return out


def run_sample(settings) -> dict:
    from ingest.sources import load_manifest
    from jobs.refresh import run_refresh
    from jobs.tasks import init_home

    init_home(settings)
    t0 = time.perf_counter()
    log = run_refresh(settings, load_manifest(ROOT / "data" / "sample.yaml"))
    return {"full_load_s": round(time.perf_counter() - t0, 1), "added": log.totals()["added"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orgs", type=int, default=22_000, help="organisation records")
    ap.add_argument("--relations", type=int, default=100_000)
    ap.add_argument("--docs", type=int, default=0, help="news documents (text extraction is the same on both)")
    ap.add_argument("--embedder", default="lexical", help="embedder spec (the same on both backends)")
    ap.add_argument("--queries", type=int, default=30, help="timed recommendations and 2-hop queries (as many warm-ups)")
    ap.add_argument("--heap", default="1g", help="Neo4j JVM heap")
    ap.add_argument("--pagecache", default="512m", help="Neo4j page cache")
    ap.add_argument("--backends", default="ladybug,neo4j", help="which to run, comma-separated")
    args = ap.parse_args()

    from refresh_scale import generate

    from kg.backends.neo4j import close_drivers
    from kg.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="stakegraph-backends-"))
    state = work / "neo4j-server"
    try:
        t0 = time.perf_counter()
        truth = generate(work / "input", args.orgs, args.relations, args.docs)
        print(f"generated {len(truth):,} organisation records and {args.relations:,} relations "
              f"in {time.perf_counter() - t0:.1f} s")
        manifest = work / "sources.yaml"
        sources = [f"  - {{name: {n}, kind: bundle, path: input/{n}}}" for n in ("exchange", "registry", "news")]
        if args.docs:
            sources.append("  - {name: docs, kind: text, path: input/news_docs}")
        manifest.write_text("sources:\n" + "\n".join(sources) + "\n", encoding="utf-8")
        changed = work / "input" / "exchange" / "organizations.csv"

        print(f"load average at the start: {os.getloadavg()[0]:.1f} (1 min), {os.getloadavg()[1]:.1f} (5 min) "
              f"on {os.cpu_count()} cores")
        server = start_neo4j(state, args.heap, args.pagecache)
        neo4j = {"backend": "neo4j", "neo4j_uri": server["uri"], "neo4j_user": "neo4j",
                 "neo4j_password": server["password"]}
        base = {"embedder": args.embedder}
        result: dict = {"orgs": args.orgs, "relations": args.relations, "embedder": args.embedder, "load_avg": {},
                        "neo4j": {"version": "5.26.30 Community", "heap": args.heap, "page_cache": args.pagecache}}
        if "ladybug" in args.backends:
            result["ladybug"] = run_backend("ladybug", load_settings({**base, "home": str(work / "lb"),
                                                                      "backend": "ladybug"}), manifest, changed, args.queries)
            result["load_avg"]["after_ladybug"] = round(os.getloadavg()[1], 1)
            print(f"load average (5 min) after ladybug: {result['load_avg']['after_ladybug']}")
        result["neo4j"].update(run_backend("neo4j", load_settings({**base, "home": str(work / "n4"), **neo4j}),
                                           manifest, changed, args.queries))
        result["load_avg"]["after_neo4j"] = round(os.getloadavg()[1], 1)
        print(f"load average (5 min) after neo4j: {result['load_avg']['after_neo4j']}")
        result["neo4j"]["rss_mib_after_load"] = rss_mib(server["pid"])
        store = sum(f.stat().st_size for f in (state / "home" / "data" / "databases").rglob("*") if f.is_file())
        result["neo4j"]["store_mib"] = round(store / 2**20, 1)
        result["sample"] = {}
        if "ladybug" in args.backends:
            result["sample"]["ladybug"] = run_sample(load_settings({**base, "home": str(work / "lb-sample"),
                                                                    "backend": "ladybug"}))
        empty_database(server)  # Community has one database: the sample gets it to itself
        result["sample"]["neo4j"] = run_sample(load_settings({**base, "home": str(work / "n4-sample"), **neo4j}))
        print("sample: " + ", ".join(f"{k} {v['full_load_s']} s" for k, v in result["sample"].items()))
        print(f"neo4j: heap {args.heap}, page cache {args.pagecache}, resident after the load "
              f"{result['neo4j']['rss_mib_after_load']} MiB, store {result['neo4j']['store_mib']} MiB")
        print(json.dumps(result, ensure_ascii=False, sort_keys=True))
    finally:
        close_drivers()
        subprocess.run(["bash", str(NEO4J), "stop", str(state)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""How search scales: the tantivy index (matching.search) beside the hand-written index it
replaced (matching.search.legacy), built from the same N synthetic organisations in one process,
queried with the same queries; build time, size, memory and latency per query kind, and how
often each found the entity the query was made from. Not a test: it asserts nothing.

    .venv/bin/python bench/search_scale.py [N] [--no-old] [--queries 200] [--keep DIR]

Names are random Chinese company names (region + 2 distinctive characters + industry word +
legal form) with pinyin, initials, an English name, an alias, a stock code for one in five, a
description in both languages, a place (district, city, province) and a chain link, roughly the
shape of the sample's organisations. Query kinds, each over --queries entities drawn at random:
exact_zh (the Chinese name), alias, initials (first 5 letters), pinyin (first 12 letters),
typo_en (the English name with two letters of its core swapped), code (stock code), words (two
description words); then filtered (an alias with its city as region filter) and hybrid (two
description words, region filter, fused with the nearest of N 32-d vectors in an HNSW index
built with the production settings; encoding the query is left out, bench/embedders.py measures
the encoders). The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from pypinyin import Style, lazy_pinyin

from kg.store import Edge, GraphView, Node, QueryResult

REGIONS = {"无锡": ("cn-js-wuxi", "cn-js"), "江阴": ("cn-js-wuxi-jiangyin", "cn-js-wuxi"),
           "宜兴": ("cn-js-wuxi-yixing", "cn-js-wuxi"), "苏州": ("cn-js-suzhou", "cn-js"),
           "南京": ("cn-js-nanjing", "cn-js"), "上海": ("cn-sh", "cn"), "深圳": ("cn-gd-shenzhen", "cn-gd"),
           "北京": ("cn-bj", "cn"), "合肥": ("cn-ah-hefei", "cn-ah"), "杭州": ("cn-zj-hangzhou", "cn-zj")}
PROVINCES = {"cn-js": ("江苏", "cn"), "cn-gd": ("广东", "cn"), "cn-ah": ("安徽", "cn"), "cn-zj": ("浙江", "cn"), "cn": ("中国", None)}
CORE = "芯华微电晶科海纳长通创达源泰盛联和光中国新智能算力云天富安"
INDUSTRY = {"半导体": "semi", "微电子": "micro", "集成电路": "ic", "科技": "tech", "材料": "materials",
            "装备": "equipment", "智能": "ai", "算力": "compute", "光电": "opto", "封装": "packaging"}
LEGAL = ["有限公司", "股份有限公司", "集团有限公司"]
TOPICS_ZH = ["晶圆", "封装", "测试", "光刻", "刻蚀", "薄膜", "液冷", "服务器", "存储", "功率", "传感器", "射频",
             "显示", "电池", "激光", "模组", "基板", "设备", "材料", "算法", "芯片", "设计", "制造", "检测"]
TOPICS_EN = ["wafer", "packaging", "testing", "lithography", "etching", "deposition", "cooling", "servers",
             "memory", "power", "sensors", "radio", "display", "battery", "laser", "modules", "substrate",
             "equipment", "materials", "algorithms", "chips", "design", "foundry", "inspection"]
KINDS = ("exact_zh", "alias", "initials", "pinyin", "typo_en", "code", "words")
MORE = ("filtered", "hybrid")
DIM = 32


class MemoryView(GraphView):
    """Just enough of a view for both indexes: organisations, regions, sectors and their edges."""

    def __init__(self, nodes: list[Node], edges: list[Edge], folder: Path):
        self._nodes, self._edges, self._folder = nodes, edges, folder

    def iter_nodes(self, label: str, batch_size: int = 5000) -> Iterator[list[Node]]:
        of_label = [n for n in self._nodes if n.label == label] if label != "Organization" else None
        nodes = of_label if of_label is not None else self._nodes
        for i in range(0, len(nodes), batch_size):
            batch = [n for n in nodes[i : i + batch_size] if n.label == label]
            if batch:
                yield batch

    def iter_edges(self, rel_type: str, batch_size: int = 5000) -> Iterator[list[Edge]]:
        edges = [e for e in self._edges if e.type == rel_type]
        for i in range(0, len(edges), batch_size):
            yield edges[i : i + batch_size]

    @property
    def version(self) -> str:
        return f"bench-{len(self._nodes)}"

    def get(self, node_id: str) -> Node | None:
        return None

    def get_many(self, ids: Sequence[str]) -> dict[str, Node]:
        return {}

    def neighbours(self, node_id, types=None, direction="both", limit=200):
        return []

    def query(self, cypher, params=None, *, max_rows=None, timeout_ms=None) -> QueryResult:
        return QueryResult([], [])

    def counts(self) -> dict[str, int]:
        return {"Organization": len(self._nodes)}

    @property
    def data_dir(self):
        return self._folder

    def close(self) -> None:
        pass


def synthetic(n: int, seed: int = 7) -> tuple[list[Node], list[Edge]]:
    rnd = random.Random(seed)
    chars = CORE + "".join(REGIONS) + "".join(INDUSTRY) + "".join(LEGAL)
    pinyin_of = {ch: lazy_pinyin(ch)[0] for ch in chars}
    initial_of = {ch: lazy_pinyin(ch, style=Style.FIRST_LETTER)[0] for ch in pinyin_of}
    nodes: list[Node] = []
    edges: list[Edge] = []
    for zh, (rid, parent) in REGIONS.items():
        nodes.append(Node(rid, "Region", {"name_zh": zh + "市", "name_en": "".join(pinyin_of[c] for c in zh).title()}))
        edges.append(Edge("PART_OF", rid, parent))
    for rid, (zh, parent) in PROVINCES.items():
        nodes.append(Node(rid, "Region", {"name_zh": zh, "name_en": rid}))
        if parent:
            edges.append(Edge("PART_OF", rid, parent))
    nodes.append(Node("ic", "Sector", {"name_zh": "集成电路", "name_en": "Integrated circuits"}))
    for zh, sid in INDUSTRY.items():
        nodes.append(Node(f"ic.{sid}", "Sector", {"name_zh": zh + "环节", "name_en": f"{sid} link"}))
        edges.append(Edge("PART_OF", f"ic.{sid}", "ic"))
    regions, industries = list(REGIONS), list(INDUSTRY)
    for i in range(n):
        core = "".join(rnd.sample(CORE, 2))
        region, industry = rnd.choice(regions), rnd.choice(industries)
        name = region + core + industry + rnd.choice(LEGAL)
        topics = rnd.sample(range(len(TOPICS_ZH)), 3)
        org = f"org-{i}"
        nodes.append(Node(org, "Organization", {
            "name_zh": name,
            "name_en": f"{''.join(pinyin_of[c] for c in core).title()} Technology {i}",
            "aliases": [core + industry],
            "kind": "company",
            "stock_code": f"{600000 + i % 400000:06d}" if i % 5 == 0 else None,
            "pinyin": "".join(pinyin_of[c] for c in name),
            "initials": "".join(initial_of[c] for c in name),
            "description": "、".join(TOPICS_ZH[t] for t in topics) + "。" + ", ".join(TOPICS_EN[t] for t in topics),
            "city": region,
        }))
        edges.append(Edge("LOCATED_IN", org, REGIONS[region][0]))
        edges.append(Edge("ACTIVE_IN", org, f"ic.{INDUSTRY[industry]}"))
    return nodes, edges


def _swap(word: str) -> str:
    i = len(word) // 2
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def queries(nodes: list[Node], count: int, seed: int = 11) -> dict[str, list[tuple[str, str, dict]]]:
    """Per kind: (query, id of the entity it was made from, filters)."""
    rnd = random.Random(seed)
    orgs = [n for n in nodes if n.label == "Organization"]
    coded = [n for n in orgs if n.props.get("stock_code")]
    picks = [rnd.choice(orgs) for _ in range(count)]
    out: dict[str, list[tuple[str, str, dict]]] = {k: [] for k in (*KINDS, *MORE)}
    for n in picks:
        p = n.props
        en = p["name_en"].split()
        topics = p["description"].split("。")[1].split(", ")
        out["exact_zh"].append((p["name_zh"], n.id, {}))
        out["alias"].append((p["aliases"][0], n.id, {}))
        out["initials"].append((p["initials"][:5], n.id, {}))
        out["pinyin"].append((p["pinyin"][:12], n.id, {}))
        out["typo_en"].append((" ".join([_swap(en[0]), *en[1:]]), n.id, {}))
        out["words"].append((" ".join(topics[:2]), n.id, {}))
        out["filtered"].append((p["aliases"][0], n.id, {"region": REGIONS[p["city"]][0]}))
        out["hybrid"].append((" ".join(topics[:2]), n.id, {"region": REGIONS[p["city"]][0]}))
    out["code"] = [(c.props["stock_code"], c.id, {}) for c in (rnd.choice(coded) for _ in range(count))]
    return out


class BenchVectors:
    """N vectors, one cluster per industry, in the production VectorIndex (HNSW above
    ann_flat_max); a query's vector is its words' cluster centre, as an encoder would give."""

    def __init__(self, nodes: list[Node], seed: int = 3):
        from matching.index import VectorIndex

        rng = np.random.default_rng(seed)
        self.centres = {t: rng.normal(size=DIM).astype(np.float32) for t in TOPICS_EN}
        orgs = [n for n in nodes if n.label == "Organization"]
        vectors = np.empty((len(orgs), DIM), dtype=np.float32)
        for row, n in enumerate(orgs):
            topic = n.props["description"].split("。")[1].split(", ")[0]
            vectors[row] = self.centres[topic] + rng.normal(scale=0.6, size=DIM)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        index = VectorIndex(DIM)
        index.build([n.id for n in orgs], vectors)
        self.indexes = {"Organization": index}

    def encode(self, text: str) -> np.ndarray:
        v = sum((self.centres[w] for w in text.split() if w in self.centres), np.zeros(DIM, dtype=np.float32))
        return (v / (np.linalg.norm(v) or 1.0)).astype(np.float32)


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed(run: Callable[[str, str, dict], list[str]], items: list[tuple[str, str, dict]]) -> tuple[list[float], float, list[float]]:
    """Latencies in ms, the share of queries whose entity is among the results, and the CPU ms
    of the querying thread (on a machine shared with other work, wall time also counts waiting
    for a core; both are printed)."""
    ms, found, cpu = [], 0, []
    for q, want, filters in items:
        t0, c0 = time.perf_counter(), time.thread_time()
        ids = run(q, want, filters)
        ms.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
        found += want in ids
    return ms, found / max(len(items), 1), cpu


def pct(ms: list[float], p: float) -> float:
    return round(float(np.percentile(ms, p)), 2) if ms else float("nan")


def du_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def reader_rss(folder: Path, qs: dict[str, list[tuple[str, str, dict]]]) -> float:
    """RSS a fresh process holds for the index after answering every query once (MiB above the
    same process with the libraries imported and nothing opened)."""
    script = ("import json,sys,os\nfrom pathlib import Path\nfrom matching.search.engine import SearchEngine\n"
              "from matching.search.query import warm_segmenter\nwarm_segmenter()\n"
              "def rss():\n    return int(open('/proc/self/statm').read().split()[1])*os.sysconf('SC_PAGE_SIZE')/2**20\n"
              "base=rss()\ne=SearchEngine.open(Path(sys.argv[1]),'bench')\nqs=json.load(sys.stdin)\n"
              "for kind,items in qs.items():\n    for q,_,f in items:\n        e.query(q,limit=20,region=f.get('region'))\n"
              "print(round(rss()-base,1))\n")
    lexical = {k: v for k, v in qs.items() if k != "hybrid"}
    out = subprocess.run([sys.executable, "-c", script, str(folder)], input=json.dumps(lexical), text=True,
                         capture_output=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print("reader process failed:", out.stderr[-2000:])
        return float("nan")


def queries_from_index(engine, n: int, count: int, seed: int = 11) -> dict[str, list[tuple[str, str, dict]]]:
    """The same query kinds made from the stored documents of an index built earlier (--index),
    so the latencies of a big index can be measured again without generating its entities."""
    rnd = random.Random(seed)
    out: dict[str, list[tuple[str, str, dict]]] = {k: [] for k in (*KINDS, "filtered")}
    while len(out["exact_zh"]) < count:
        i = rnd.randrange(n)
        hit = engine.hits_for([f"org-{i}"]).get(f"org-{i}")
        if hit is None:
            continue
        shown = engine.stored(hit.id)
        keys, en = shown["keys"], shown["name_en"].split()
        topics = rnd.sample(TOPICS_EN, 2)
        out["exact_zh"].append((hit.name_zh, hit.id, {}))
        out["alias"].append((keys["k_alias"][0], hit.id, {}))
        out["initials"].append((keys["k_initials"][0][:5], hit.id, {}))
        out["pinyin"].append((keys["k_pinyin"][0][:12], hit.id, {}))
        out["typo_en"].append((" ".join([_swap(en[0]), *en[1:]]), hit.id, {}))
        out["words"].append((" ".join(topics), hit.id, {}))
        out["filtered"].append((keys["k_alias"][0], hit.id, {"region": REGIONS[hit.city][0]}))
    while len(out["code"]) < count:
        i = rnd.randrange(0, n, 5)
        shown = engine.stored(f"org-{i}")
        if shown and shown["keys"].get("k_code"):
            out["code"].append((shown["keys"]["k_code"][0], shown["id"], {}))
    return out


def measure_index(folder: Path, n: int, count: int) -> None:
    """--index: latencies and reader memory of an index built by an earlier run."""
    from matching.search.engine import SearchEngine
    from matching.search.query import warm_segmenter

    warm_segmenter()
    engine = SearchEngine.open(folder, "bench")
    qs = queries_from_index(engine, n, count)

    def run(q: str, _want: str, f: dict) -> list[str]:
        return [h.id for h in engine.query(q, limit=20, region=f.get("region")).hits]

    for kind in qs:
        run(*qs[kind][0])
    lat = {k: timed(run, v) for k, v in qs.items()}
    report = {"size_mb": round(du_mb(folder), 1), "reader_rss_mb": reader_rss(folder, qs),
              "p50_ms": {k: pct(lat[k][0], 50) for k in KINDS}, "p95_ms": {k: pct(lat[k][0], 95) for k in KINDS},
              "p95_more_ms": {"filtered": pct(lat["filtered"][0], 95)},
              "p95_cpu_ms": {k: pct(lat[k][2], 95) for k in qs}, "found": {k: round(lat[k][1], 3) for k in qs}}
    for k in qs:
        print(f"{k:12} wall p50 {pct(lat[k][0], 50):>8} p95 {pct(lat[k][0], 95):>8}  CPU p95 {pct(lat[k][2], 95):>7}"
              f"  found {lat[k][1]:>5.0%}")
    print(json.dumps({"n": n, "new": report}, ensure_ascii=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--no-old", action="store_true", help="build only the tantivy index")
    ap.add_argument("--keep", help="build the index in this folder and keep it")
    ap.add_argument("--index", help="only measure queries on the index an earlier run kept in this folder")
    ap.add_argument("--no-hybrid", action="store_true", help="skip the vector index and the hybrid queries")
    args = ap.parse_args()
    if args.index:
        measure_index(Path(args.index), args.n, args.queries)
        return
    from matching.search.build import SEARCH_DIR, build_from_view
    from matching.search.engine import SearchEngine
    from matching.search.lookup import index_for
    from matching.search.query import warm_segmenter
    from matching.search.semantic import hybrid_search

    t0 = time.perf_counter()
    gc.disable()
    nodes, edges = synthetic(args.n)
    gc.enable()
    gc.freeze()
    qs = queries(nodes, args.queries)
    print(f"generated {args.n:,} organisations in {time.perf_counter() - t0:.1f} s")
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="search-bench-"))
    view = MemoryView(nodes, edges, root)
    warm_segmenter()
    report: dict[str, dict] = {}

    # the tantivy index -------------------------------------------------------------------
    before, t0, c0, k0 = rss_mb(), time.perf_counter(), time.process_time(), children_cpu_s()
    build_from_view(view, root / SEARCH_DIR)
    # from 50,000 entities on the build runs in forked workers: their CPU counts too
    build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0 + children_cpu_s() - k0
    worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    engine = index_for(view)
    assert isinstance(engine, SearchEngine) and engine.folder == root / SEARCH_DIR
    new = {"build_s": round(build_s, 1), "build_cpu_s": round(build_cpu, 1), "size_mb": round(du_mb(root / SEARCH_DIR), 1),
           "rss_mb": round(rss_mb() - before, 1), "worker_peak_rss_mb": round(worker_rss, 1)}
    print(f"tantivy: built in {build_s:.1f} s ({build_cpu:.1f} s CPU, workers included), {new['size_mb']:,} MiB on disk, "
          f"builder RSS +{new['rss_mb']} MiB, a worker's peak RSS {worker_rss:,.0f} MiB (pages shared with the "
          "builder included)", flush=True)

    def new_run(q: str, _want: str, f: dict) -> list[str]:
        return [h.id for h in engine.query(q, limit=20, region=f.get("region")).hits]

    more = ("filtered",) if args.no_hybrid else MORE
    if not args.no_hybrid:
        t0 = time.perf_counter()
        vectors = BenchVectors(nodes)
        print(f"vectors: {args.n:,} x {DIM} in a {vectors.indexes['Organization'].kind} index, "
              f"{time.perf_counter() - t0:.1f} s", flush=True)

    def hybrid_run(q: str, _want: str, f: dict) -> list[str]:
        return [h.id for h in hybrid_search(view, q, limit=20, region=f.get("region"), vectors=vectors).hits]

    for kind in (*KINDS, *more):  # warm-up: first queries map the files
        (hybrid_run if kind == "hybrid" else new_run)(*qs[kind][0])
    lat = {k: timed(hybrid_run if k == "hybrid" else new_run, qs[k]) for k in (*KINDS, *more)}
    new["reader_rss_mb"] = reader_rss(root / SEARCH_DIR, qs)
    report["new"] = {**new, "p50_ms": {k: pct(lat[k][0], 50) for k in KINDS},
                     "p95_ms": {k: pct(lat[k][0], 95) for k in KINDS},
                     "p95_more_ms": {k: pct(lat[k][0], 95) for k in more},
                     "p95_cpu_ms": {k: pct(lat[k][2], 95) for k in (*KINDS, *more)},
                     "found": {k: round(lat[k][1], 3) for k in (*KINDS, *more)}}
    gc.collect()

    # the hand-written index it replaced ---------------------------------------------------
    if not args.no_old:
        from matching.search.legacy import SearchIndex

        before, t0, c0 = rss_mb(), time.perf_counter(), time.process_time()
        old_idx = SearchIndex.build(view)
        build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
        old = {"build_s": round(build_s, 1), "build_cpu_s": round(build_cpu, 1), "size_mb": None,
               "rss_mb": round(rss_mb() - before, 1)}
        print(f"old index: built in {build_s:.1f} s ({build_cpu:.1f} s CPU, in memory), RSS +{old['rss_mb']} MiB",
              flush=True)

        def old_run(q: str, _want: str, f: dict) -> list[str]:
            return [h.id for h in old_idx.query(q, limit=20, region=f.get("region"))]

        old_lat = {k: timed(old_run, qs[k]) for k in (*KINDS, "filtered")}
        report["old"] = {**old, "p50_ms": {k: pct(old_lat[k][0], 50) for k in KINDS},
                         "p95_ms": {k: pct(old_lat[k][0], 95) for k in KINDS},
                         "p95_more_ms": {"filtered": pct(old_lat["filtered"][0], 95)},
                         "p95_cpu_ms": {k: pct(old_lat[k][2], 95) for k in (*KINDS, "filtered")},
                         "found": {k: round(old_lat[k][1], 3) for k in (*KINDS, "filtered")}}

    # side by side -------------------------------------------------------------------------
    new_r, old_r = report["new"], report.get("old")
    print(f"\n{'':12}{'tantivy':>33}{'old index':>33}{'old/new':>10}")
    print(f"{'build s':12}{new_r['build_s']:>33}{(old_r or {}).get('build_s', '-'):>33}"
          f"{(old_r['build_s'] / new_r['build_s']) if old_r else float('nan'):>10.2f}")
    print(f"{'build CPU s':12}{new_r['build_cpu_s']:>33}{(old_r or {}).get('build_cpu_s', '-'):>33}"
          f"{(old_r['build_cpu_s'] / new_r['build_cpu_s']) if old_r else float('nan'):>10.2f}")
    print(f"{'size MiB':12}{new_r['size_mb']:>33}{'(in memory)':>33}")
    print(f"{'RSS MiB':12}{str(new_r['rss_mb']) + ' build / ' + str(new_r['reader_rss_mb']) + ' reader':>33}"
          f"{(old_r or {}).get('rss_mb', '-'):>33}")
    print(f"{'wall p50 / p95 ms, found; CPU p95 ms':>50}")
    for k in (*KINDS, *more):
        n50 = new_r["p50_ms"].get(k)
        n95 = new_r["p95_ms"].get(k, new_r["p95_more_ms"].get(k))
        cell_new = f"{n50 if n50 is not None else '':>7} {n95:>8} {new_r['found'][k]:>5.0%} {new_r['p95_cpu_ms'][k]:>6}"
        cell_old, ratio = "-", ""
        if old_r and k in old_r["found"]:
            o95 = old_r["p95_ms"].get(k, old_r["p95_more_ms"].get(k))
            cell_old = (f"{old_r['p50_ms'].get(k, ''):>7} {o95:>8} {old_r['found'][k]:>5.0%} "
                        f"{old_r['p95_cpu_ms'][k]:>6}")
            ratio = f"{o95 / n95:>10.1f}" if n95 else ""
        print(f"{k:12}{cell_new:>33}{cell_old:>33}{ratio}")
    if not args.keep:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps({"n": args.n, **report}, ensure_ascii=False))


if __name__ == "__main__":
    main()

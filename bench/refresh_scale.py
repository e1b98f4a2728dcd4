"""Benchmark: a full load and a 1%-changed refresh of a large synthetic but realistic input.

Generates three sources that list overlapping organisations with bilingual names (an exchange
list with stock codes and full Chinese names, a registry with short names and credit codes, an
English news feed), relations with power-law degrees and a folder of news documents, then prints:
full load time (with and without the embedding step), refresh time with 1% of rows changed,
entity-resolution pairwise precision/recall against the generator's truth, and peak memory.

    .venv/bin/python bench/refresh_scale.py                # --size full: 200,000 orgs, 1,000,000 relations, 20,000 docs
    .venv/bin/python bench/refresh_scale.py --size small   # 22k records, 100k relations, 2k docs: under 5 min idle
    .venv/bin/python bench/refresh_scale.py --keep ...; .venv/bin/python bench/refresh_scale.py --refresh-only WORK

Order: the full load, a refresh with nothing changed, a refresh with 1% of the exchange rows
changed. Progress goes to stderr; the last line of stdout is one JSON object with "records",
"relations", "load_s", "load_no_embed_s" (the load minus its embedding step), "refresh_1pct_s",
"refresh_0pct_s", "peak_rss_mb", "er_precision", "er_recall", "embed_texts_per_s" (texts the load
encoded / seconds of its embedding step), and the 1-minute load average at each figure
("load_avg_*"): the machine it runs on is often shared, so compare runs made side by side.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

from pypinyin import lazy_pinyin

CORE = "华中长江新天东南海信通达科创微芯晶电光智联泰航博盛宏瑞恒汇星源鼎泽和安康力德利丰"
REGIONS = [("无锡", "Wuxi"), ("江阴", "Jiangyin"), ("苏州", "Suzhou"), ("南京", "Nanjing"), ("上海", "Shanghai"), ("深圳", "Shenzhen")]
TRADES = [("半导体", "Semiconductor", "ic.fab"), ("微电子", "Microelectronics", "ic.design"), ("封装测试", "Packaging & Test", "ic.packaging_test"),
          ("智能科技", "Intelligent Technology", "ai.applications_manufacturing"), ("数据科技", "Data Technology", "ai.aidc"),
          ("新材料", "New Materials", "ic.materials"), ("精密装备", "Precision Equipment", "ic.equipment")]
TYPES = ["SUPPLIES", "PARTNERS_WITH", "INVESTS_IN"]


def credit_code(rng: random.Random) -> str:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    body = "91" + "320200" + "".join(rng.choice(chars) for _ in range(9))
    total = sum(chars.index(c) * w for c, w in zip(body, weights, strict=False))
    return body + chars[(31 - total % 31) % 31]


def generate(out: Path, n_orgs: int, n_rel: int, n_docs: int, seed: int = 7) -> dict[str, str]:
    """Writes three bundles and a news folder; returns record id -> true entity id."""
    rng = random.Random(seed)
    n_entities = int(n_orgs / 1.25)
    entities = []
    seen = set()
    while len(entities) < n_entities:
        core = "".join(rng.choice(CORE) for _ in range(rng.choice((2, 2, 3))))
        (rzh, ren), (tzh, ten, sector) = rng.choice(REGIONS), rng.choice(TRADES)
        if (core, tzh) in seen:
            continue
        seen.add((core, tzh))
        py = "".join(lazy_pinyin(core)).title()
        entities.append({"core": core, "zh": f"{rzh}{core}{tzh}股份有限公司", "short": f"{core}{tzh[:2]}", "en": f"{ren} {py} {ten} Co., Ltd.",
                         "py": py, "city": rzh, "sector": sector, "code": f"{600000 + len(entities):06d}.SH" if rng.random() < 0.6 else "",
                         "credit": credit_code(rng)})
    truth: dict[str, str] = {}
    rows = {"exchange": [], "registry": [], "news": []}
    for i, e in enumerate(entities):
        eid = f"E{i}"
        if len(rows["exchange"]) < int(n_orgs * 0.6):
            rows["exchange"].append([f"x{i}", e["zh"], e["en"], "", "company", e["code"], "", e["sector"], e["city"], f"{e['short']} maker of {e['sector']}", "exchange"])
            truth[f"exchange:x{i}"] = eid
        if rng.random() < 0.3 or f"exchange:x{i}" not in truth:
            rows["registry"].append([f"r{i}", e["zh"].replace("股份有限公司", "有限公司"), "", e["short"], "company", e["code"].split(".")[0] if e["code"] else "",
                                     e["credit"], e["sector"], e["city"] + "市", "", "registry"])
            truth[f"registry:r{i}"] = eid
        if rng.random() < 0.15:
            rows["news"].append([f"n{i}", "", f"{e['py']} {e['en'].split()[-3]}", "", "company", e["code"], "", "", "", "", "news"])
            truth[f"news:n{i}"] = eid
    header = ["id", "name_zh", "name_en", "aliases", "kind", "stock_code", "credit_code", "sectors", "city", "description", "source"]
    for name, data in rows.items():
        folder = out / name
        folder.mkdir(parents=True)
        with open(folder / "organizations.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(data)
    ids = [r[0] for r in rows["exchange"]]
    weights = [1.0 / (k + 1) ** 0.8 for k in range(len(ids))]  # power-law degrees
    with open(out / "exchange" / "relations.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source_id", "target_id", "type", "source"])
        done = set()
        while len(done) < n_rel:
            for a, b in zip(rng.choices(ids, weights, k=10_000), rng.choices(ids, k=10_000), strict=True):
                t = rng.choice(TYPES)
                if a != b and (a, b, t) not in done:
                    done.add((a, b, t))
                    w.writerow([a, b, t, "exchange"])
    docs = out / "news_docs"
    docs.mkdir()
    for d in range(n_docs):
        a, b = rng.sample(entities, 2)
        (docs / f"2025-01-{d % 28 + 1:02d}-item{d}.txt").write_text(
            f"{a['short']}与{b['short']}签署合作协议\n{a['zh']}与{b['zh']}在{a['city']}签署战略合作协议，共建产线。\n", encoding="utf-8")
    return truth


def pairwise(truth: dict[str, str], clusters: list[list[str]]) -> tuple[float, float]:
    by_entity = defaultdict(list)
    for rec, ent in truth.items():
        by_entity[ent].append(rec)
    true_pairs = {frozenset(p) for recs in by_entity.values() for p in combinations(sorted(recs), 2)}
    pred = {frozenset(p) for c in clusters for p in combinations(sorted(c), 2)}
    tp = len(true_pairs & pred)
    return (tp / len(pred) if pred else 1.0), (tp / len(true_pairs) if true_pairs else 1.0)


SIZES = {"full": (200_000, 1_000_000, 20_000), "small": (20_000, 100_000, 2_000)}


def say(text: str) -> None:
    """Progress and figures go to stderr: stdout's last line is the JSON summary."""
    print(text, file=sys.stderr, flush=True)


def load_avg() -> float:
    """The 1-minute load average when a figure was taken: the bench machine is shared."""
    return round(os.getloadavg()[0], 1)


def load(work: Path, args: argparse.Namespace, out: dict) -> tuple[Path, object]:
    """Generate the input into work, then the full load; records its figures and the ER scores."""
    from ingest.sources import load_manifest
    from jobs.refresh import run_refresh
    from jobs.tasks import init_home
    from kg.settings import load_settings

    t0 = time.perf_counter()
    truth = generate(work / "input", args.orgs, args.relations, args.docs)
    with open(work / "truth.csv", "w", encoding="utf-8", newline="") as fh:  # for --refresh-only's ER figure
        csv.writer(fh).writerows(sorted(truth.items()))
    say(f"generated {len(truth):,} organisation records, {args.relations:,} relations, {args.docs:,} documents "
        f"in {time.perf_counter() - t0:.1f} s")
    out.update(records=len(truth), relations=args.relations)
    manifest = work / "sources.yaml"
    kinds = [f"  - {{name: {n}, kind: bundle, path: input/{n}}}" for n in ("exchange", "registry", "news")]
    from ingest.sources import KINDS, load_kinds

    load_kinds()
    if "text" in KINDS:
        kinds.append("  - {name: docs, kind: text, path: input/news_docs}")
    manifest.write_text("sources:\n" + "\n".join(kinds) + "\n", encoding="utf-8")
    settings = load_settings({"home": str(work / "home"), "embedder": args.embedder})
    init_home(settings)

    t0 = time.perf_counter()
    log = run_refresh(settings, load_manifest(manifest, settings))  # as `stakegraph refresh` reads it
    full = time.perf_counter() - t0
    embed = log.timings.get("build_vectors", 0.0)
    encoded = int(log.timings.get("texts_encoded", 0) or 0)
    say(f"full load: {full:.1f} s (embedding step {embed:.1f} s, {encoded:,} texts; without it {full - embed:.1f} s); "
        f"added {log.totals()['added']:,}, merges {log.merges:,}, rejected {len(log.rejected):,}; load average {load_avg()}")
    say_steps(log)
    out.update(load_s=round(full, 1), load_no_embed_s=round(full - embed, 1),
               embed_texts_per_s=round(encoded / embed, 1) if embed else None, load_avg_load=load_avg())
    out["er_precision"], out["er_recall"] = er_scores(settings, truth)
    return manifest, settings


def say_steps(log) -> None:
    """Each step's seconds, and the memory after it (the run record keeps both)."""
    say("  steps: " + ", ".join(f"{k} {v}" for k, v in log.timings.items()))
    say("  memory MiB (now/peak so far): " + ", ".join(f"{k} {m.get('rss', '?')}/{m['peak']}" for k, m in log.memory_mb.items()))


def er_scores(settings, truth: dict[str, str]) -> tuple[float, float]:
    """Pairwise precision and recall of the published graph's organisations against the truth."""
    from kg.backends import open_view

    with open_view(settings) as v:
        clusters = [[r for r in (n.props.get("record_ids") or []) if r in truth]
                    for b in v.iter_nodes("Organization", 50_000) for n in b]
    p, r = pairwise(truth, [c for c in clusters if c])
    say(f"entity resolution: pairwise precision {p:.3f}, recall {r:.3f}")
    return round(p, 4), round(r, 4)


def timed_refresh(settings, manifest: Path, what: str) -> tuple[float, object]:
    """The weekly refresh as `stakegraph refresh --manifest` runs it."""
    from jobs.tasks import refresh_manifest

    t0 = time.perf_counter()
    log = refresh_manifest(settings, manifest)
    took = time.perf_counter() - t0
    say(f"refresh with {what}: {took:.1f} s ({log.status}); changed {log.totals()['changed']:,}, added {log.totals()['added']:,}, "
        f"texts re-encoded {log.timings.get('texts_encoded', '?')}; load average {load_avg()}")
    say_steps(log)
    return took, log


def flip_one_percent(work: Path) -> None:
    """Change the description of every 100th exchange row (each call flips the same rows back)."""
    path = work / "input" / "exchange" / "organizations.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    old, new = ("producer of", "maker of") if any("producer of" in line for line in lines) else ("maker of", "producer of")
    changed = [line.replace(old, new) if i % 100 == 1 else line for i, line in enumerate(lines)]
    path.write_text("\n".join(changed) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="full",
                    help="full: 200,000 orgs, 1,000,000 relations, 20,000 docs; small: a tenth (under 5 min idle)")
    ap.add_argument("--orgs", type=int, help="override the size's organisations")
    ap.add_argument("--relations", type=int, help="override the size's relations")
    ap.add_argument("--docs", type=int, help="override the size's documents")
    ap.add_argument("--embedder", default="default", help="embedder spec for the embedding step")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--quiet", action="store_true", help="do not log each refresh step as it ends (stderr)")
    ap.add_argument("--refresh-only", metavar="WORK", type=Path,
                    help="only the refreshes, against the work folder of an earlier run kept with --keep "
                         "(each call flips the same 1%% of rows back and forth, so it can be repeated)")
    ap.add_argument("--load-only", action="store_true", help="stop after the full load (implies --keep)")
    args = ap.parse_args()
    orgs, rels, docs = SIZES[args.size]
    args.orgs, args.relations, args.docs = args.orgs or orgs, args.relations or rels, args.docs or docs
    logging.basicConfig(format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    if not args.quiet:
        logging.getLogger("stakegraph.refresh").setLevel(logging.INFO)

    from kg.settings import load_settings

    out: dict = dict.fromkeys(["records", "relations", "load_s", "load_no_embed_s", "refresh_1pct_s", "refresh_0pct_s",
                               "peak_rss_mb", "er_precision", "er_recall", "embed_texts_per_s"])
    if args.refresh_only:
        work = args.refresh_only
        manifest = work / "sources.yaml"
        settings = load_settings({"home": str(work / "home"), "embedder": args.embedder})
    else:
        work = Path(tempfile.mkdtemp(prefix="stakegraph-bench-"))
        manifest, settings = load(work, args, out)
        if args.load_only:
            say(f"kept {work}")
            out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            print(json.dumps(out))
            return
    out["refresh_0pct_s"] = round(timed_refresh(settings, manifest, "nothing changed")[0], 1)
    out["load_avg_0pct"] = load_avg()
    flip_one_percent(work)
    out["refresh_1pct_s"] = round(timed_refresh(settings, manifest, "1% changed")[0], 1)
    out["load_avg_1pct"] = load_avg()
    if (work / "truth.csv").exists():
        with open(work / "truth.csv", encoding="utf-8", newline="") as fh:
            truth = dict(csv.reader(fh))
        out["records"] = out["records"] or len(truth)
        out["er_precision"], out["er_recall"] = er_scores(settings, truth)
    scope = " (these refreshes only)" if args.refresh_only else ""
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    say(f"peak memory (RSS){scope}: {out['peak_rss_mb']} MiB")
    if args.keep:
        say(f"kept {work}")
    elif not args.refresh_only:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

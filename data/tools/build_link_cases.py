"""Build the link-prediction development and test cases of `stakegraph eval links` from real data.

    .venv/bin/python data/tools/build_link_cases.py          # reads data/eval/source/, writes data/eval/

Inputs (copied verbatim into data/eval/source/, see its SOURCE.md): the Shenwan-2021 level-3
industry of 4,430 A-share companies, the Shenwan industry tree and the industries' upstream
industries (ChainKnowledgeGraph), joined by stock code with tushare's stock_basic (listing date,
area, tushare industry).

Outputs:

- `data/eval/shenwan/` — a bundle: every company (`stock-<code>`, kind listed_company, its short
  name, area as province, its tushare industry as a coarse sector `ts-<industry>` and in the
  description), the Shenwan tree (`sw-<code>`, PART_OF) and the tushare industries as sectors,
  UPSTREAM_OF between Shenwan industries (weight = how often the link was stated). Companies
  listed from 2020 on carry only their tushare industry: their Shenwan membership is the future.
Memberships of the few industry codes missing from the industry list are left out (no sector).

- `links_shenwan_members_{dev,test}.csv` — 20% (at least one) of the pre-2020 members of each
  level-3 industry with >= 5 such members, hidden (present in the bundle; eval removes them
  before loading). A row asks: rank companies for the industry (ACTIVE_IN).
- `links_shenwan_time_{dev,test}.csv` — the Shenwan memberships of companies listed from 2020
  on (absent from the bundle: a time split).
- `links_sample_invest_time.csv` — the sample's INVESTS_IN relations dated 2022 or later, asked
  from the investee ("who invests next in this company"); eval removes them before loading.

Industries are split into development and test halves once (seeded), the same halves for both
Shenwan cases: tune on dev, report test. The run is deterministic.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "data" / "eval"
SEED = 14
HIDE_SHARE = 0.2
MIN_MEMBERS = 5
TIME_CUT = "2020-01-01"  # list_date is written 2020-01-03
SAMPLE_TIME_CUT = 2022
SOURCE_NOTE = "shenwan_chain (ChainKnowledgeGraph, evaluation only)"


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def build(src: Path, out: Path) -> dict[str, int]:
    members = read_jsonl(src / "shenwan_chain" / "company_industry.json")
    industries = read_jsonl(src / "shenwan_chain" / "industry.json")
    tree = read_jsonl(src / "shenwan_chain" / "industry_industry.json")
    ups = read_jsonl(src / "shenwan_chain" / "industry_up.json")
    with open(src / "a_share_stock_basic" / "stock_basic.csv", encoding="utf-8-sig", newline="") as fh:
        basic = {r["ts_code"]: r for r in csv.DictReader(fh)}

    by_name = {i["name"]: i["code"] for i in industries}
    known = {i["code"] for i in industries}
    ts_industries = sorted({r["industry"] for r in basic.values() if r["industry"]})
    ts_id = {name: f"ts-{i:03d}" for i, name in enumerate(ts_industries)}
    bundle = out / "shenwan"
    bundle.mkdir(parents=True, exist_ok=True)

    parent = {t["from_code"]: t["to_code"] for t in tree}
    sectors = [["id", "name_zh", "name_en", "parent_id", "description", "source"],
               ["sw", "申万行业分类（2021）", "Shenwan industry classification (2021)", "", "", SOURCE_NOTE],
               ["ts", "tushare行业", "tushare industries", "", "", "a_share_stock_basic (tushare)"]]
    for i in sorted(industries, key=lambda x: x["code"]):
        sectors.append([f"sw-{i['code']}", i["name"], "", f"sw-{parent[i['code']]}" if i["code"] in parent else "sw",
                        f"申万{'一二三'[_level(i['code']) - 1]}级行业", SOURCE_NOTE])
    for name in ts_industries:
        sectors.append([ts_id[name], name, "", "ts", "tushare行业", "a_share_stock_basic (tushare)"])
    write_csv(bundle / "sectors.csv", sectors[0], sectors[1:])

    relations = []
    for u in sorted(ups, key=lambda x: x["industry"]):
        down = by_name.get(u["industry"])
        for up_name, weight in sorted(u["ups"].items()):
            if down and up_name in by_name and by_name[up_name] != down:
                relations.append([f"sw-{by_name[up_name]}", f"sw-{down}", "UPSTREAM_OF", weight, SOURCE_NOTE])
    write_csv(bundle / "relations.csv", ["source_id", "target_id", "type", "weight", "source"], relations)

    orgs, present, future = [], defaultdict(list), defaultdict(list)
    for m in sorted(members, key=lambda r: r["company_code"]):
        code = m["company_code"]
        b = basic.get(code, {})
        oid = f"stock-{code.split('.')[0]}"
        listed = b.get("list_date") or ""
        is_future = listed >= TIME_CUT
        secs = [ts_id[b["industry"]]] if b.get("industry") else []
        if m["industry_code"] not in known:  # a code missing from the industry list: no sector to join
            pass
        elif not is_future:
            secs.insert(0, f"sw-{m['industry_code']}")
            present[m["industry_code"]].append(oid)
        else:
            future[m["industry_code"]].append(oid)
        desc = f"A股上市公司，{b['industry']}行业" if b.get("industry") else "A股上市公司"
        if b.get("area"):
            desc += f"，位于{b['area']}"
        orgs.append([oid, b.get("name") or m["company_name"], "listed_company", code.split(".")[0], "|".join(secs),
                     b.get("area") or "", desc + "。", SOURCE_NOTE])
    write_csv(bundle / "organizations.csv",
              ["id", "name_zh", "kind", "stock_code", "sectors", "province", "description", "source"], orgs)

    codes = sorted(set(present) | set(future) | {m["industry_code"] for m in members if m["industry_code"] not in known})
    rng = random.Random(SEED)
    shuffled = codes[:]
    rng.shuffle(shuffled)
    dev = set(shuffled[: len(shuffled) // 2])
    hidden = {"dev": [], "test": []}
    for code in codes:
        firms = sorted(present.get(code, []))
        if len(firms) >= MIN_MEMBERS:
            pick = random.Random(f"{SEED}:{code}").sample(firms, max(1, round(HIDE_SHARE * len(firms))))
            hidden["dev" if code in dev else "test"] += [[f"sw-{code}", f, "ACTIVE_IN"] for f in sorted(pick)]
    timed = {"dev": [], "test": []}
    for code in codes:
        timed["dev" if code in dev else "test"] += [[f"sw-{code}", f, "ACTIVE_IN"] for f in sorted(future.get(code, []))]
    counts = {}
    for part in ("dev", "test"):
        write_csv(out / f"links_shenwan_members_{part}.csv", ["source_id", "target_id", "type"], hidden[part])
        write_csv(out / f"links_shenwan_time_{part}.csv", ["source_id", "target_id", "type"], timed[part])
        counts[f"members_{part}"], counts[f"time_{part}"] = len(hidden[part]), len(timed[part])

    invest = []
    with open(ROOT / "data" / "sample" / "relations.csv", encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["type"] == "INVESTS_IN" and r["since"][:4].isdigit() and int(r["since"][:4]) >= SAMPLE_TIME_CUT:
                invest.append([r["target_id"], r["source_id"], "INVESTS_IN"])
    write_csv(out / "links_sample_invest_time.csv", ["source_id", "target_id", "type"], sorted(invest))
    counts["sample_invest_time"] = len(invest)
    counts["organizations"] = len(orgs)
    return counts


def _level(code: str) -> int:
    return 1 if code.endswith("0000") else 2 if code.endswith("00") else 3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=EVAL / "source")
    ap.add_argument("--out", type=Path, default=EVAL)
    args = ap.parse_args()
    print(json.dumps(build(args.source, args.out), sort_keys=True))


if __name__ == "__main__":
    main()

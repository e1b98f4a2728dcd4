"""Build the entity-resolution evaluation cases in data/eval/resolve/ from real name lists.

Why from real lists: the hand-made case file scores P = R = 1.0 and no longer tells a good
resolver from a bad one. The SZSE list gives, for 2,875 companies, the full Chinese name, the
English name and the stock code; stock_basic gives the exchange short name of all 5,448
A-shares. Joined on the code they are labelled pairs no one had to judge:

  en     SZSE English names (szse-en:<code>)   -> stock_basic short names (stock-basic:<ts_code>)
  zh     SZSE full Chinese names (szse-zh:<code>) -> stock_basic short names
  chips  English names and acronyms of Chinese chip and AI firms as foreign research and trade
         lists write them (chips_curated.csv, one public source per row; research:<slug>)
         -> stock_basic short names; firms not listed have no pair (CXMT, YMTC, UNISOC ...)
  curated  tests/cases/resolution_cases.csv as a bundle (with its override file)

Every case but curated is split by stock code into dev and test halves (a stable hash of the
code, so a company is never in both, and its English and Chinese rows fall on the same side):
tune and train on dev, report on test. Each split is a bundle folder (organizations.csv:
the query rows of that half plus all 5,448 short names as candidates) and, beside it,
<case>_<split>.truth.csv with `record_a,record_b,same` as `stakegraph eval resolve` reads it.

    python data/tools/build_resolve_cases.py      # rewrites data/eval/resolve/*, deterministic

Inputs are the copies in data/eval/resolve/sources/ (see SOURCE.md there); nothing here or at
run time reads ../shared.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "data" / "eval" / "resolve"
SOURCES = OUT / "sources"
COLUMNS = ["id", "name_zh", "name_en", "aliases", "kind", "stock_code", "city", "source"]
CANDIDATE_SOURCE = "stock-basic"


def split_of(key: str) -> str:
    """dev or test, by a stable hash of the stock code (or slug for an unlisted firm)."""
    return "dev" if int(hashlib.sha1(key.encode()).hexdigest(), 16) % 2 == 0 else "test"


def read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def candidates() -> list[dict[str, str]]:
    """All A-share short names as they stand in stock_basic (with *ST, -U, A as written)."""
    return [{"id": r["ts_code"], "name_zh": r["name"], "name_en": "", "aliases": "", "kind": "listed_company",
             "stock_code": r["ts_code"], "city": r["area"], "source": CANDIDATE_SOURCE}
            for r in read(SOURCES / "stock_basic.csv")]


def write_case(name: str, rows: list[dict[str, str]], truth: list[tuple[str, str]]) -> None:
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "organizations.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with open(OUT / f"{name}.truth.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["record_a", "record_b", "same"])
        w.writerows(sorted((*sorted(p), 1) for p in truth))
    print(f"{name}: {len(rows):,} records, {len(truth):,} true pairs")


def szse_cases(cands: list[dict[str, str]]) -> None:
    listed = {r["id"] for r in cands}
    szse = [r for r in read(SOURCES / "szse_a_share_list.csv") if f"{r['A股代码']}.SZ" in listed]
    for split in ("dev", "test"):
        half = [r for r in szse if split_of(f"{r['A股代码']}.SZ") == split]
        for case, source, field, column in (("en", "szse-en", "name_en", "英文名称"), ("zh", "szse-zh", "name_zh", "公司全称")):
            rows = [{"id": r["A股代码"], "name_zh": "", "name_en": "", "aliases": "", "kind": "listed_company",
                     "stock_code": "", "city": "", "source": source, field: r[column].strip()} for r in half]
            truth = [(f"{source}:{r['A股代码']}", f"{CANDIDATE_SOURCE}:{r['A股代码']}.SZ") for r in half]
            write_case(f"{case}_{split}", rows + cands, truth)


def chips_cases(cands: list[dict[str, str]]) -> None:
    listed = {r["id"] for r in cands}
    chips = read(OUT / "chips_curated.csv")
    for r in chips:
        if r["ts_code"] and r["ts_code"] not in listed:
            raise SystemExit(f"chips_curated.csv: {r['slug']}: {r['ts_code']} is not in stock_basic")
        if not r["source_url"].startswith("http"):
            raise SystemExit(f"chips_curated.csv: {r['slug']}: every row needs a public source URL")
    for split in ("dev", "test"):
        half = [r for r in chips if split_of(r["ts_code"] or r["slug"]) == split]
        rows = [{"id": r["slug"], "name_zh": "", "name_en": r["name_en"], "aliases": "", "kind": "company",
                 "stock_code": "", "city": "", "source": "research"} for r in half]
        members: dict[str, list[str]] = {}
        for r in half:
            if r["ts_code"]:
                members.setdefault(r["ts_code"], [f"{CANDIDATE_SOURCE}:{r['ts_code']}"]).append(f"research:{r['slug']}")
        truth = [p for group in members.values() for p in itertools.combinations(group, 2)]
        write_case(f"chips_{split}", rows + cands, truth)


def curated_case() -> None:
    """The hand-made case file as a bundle; an empty kind reads as company (the bundle needs one)."""
    rows, by_case = [], {}
    for r in read(ROOT / "tests" / "cases" / "resolution_cases.csv"):
        source, _, rid = r["record_id"].partition(":")
        rows.append({"id": rid, "name_zh": r["name_zh"], "name_en": r["name_en"], "aliases": r["aliases"],
                     "kind": r["kind"] or "company", "stock_code": r["stock_code"], "city": r["city"], "source": source})
        by_case.setdefault(r["case"], []).append(r["record_id"])
    truth = [p for group in by_case.values() for p in itertools.combinations(sorted(group), 2)]
    write_case("curated", rows, truth)
    (OUT / "curated.overrides.csv").write_text(
        (ROOT / "tests" / "cases" / "resolution_overrides.csv").read_text(encoding="utf-8"), encoding="utf-8")


def main() -> None:
    cands = candidates()
    szse_cases(cands)
    chips_cases(cands)
    curated_case()


if __name__ == "__main__":
    main()

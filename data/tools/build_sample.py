"""Build the sample bundle (data/sample/) and the taxonomy's region list from public data.

Inputs are the shared public data sets (--shared, default ../shared/data next to the project)
and the hand-curated facts in data/curated/ (one CSV per kind of fact, each row with its
source). Code only joins, normalises and checks; facts live in the data files.

The output is deterministic (rows sorted by id, UTF-8 without BOM, '\\n' line ends), so a rerun
gives the same bytes and a diff of data/sample/ shows only real changes. The run stops with a
list of problems instead of writing a bundle whose references do not resolve.

    .venv/bin/python data/tools/build_sample.py [--shared DIR] [--out DIR] [--taxonomy DIR]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pypinyin import lazy_pinyin

ROOT = Path(__file__).resolve().parents[2]
CURATED = ROOT / "data" / "curated"
DIVISIONS = ROOT / "data" / "sources" / "cn_divisions" / "adcodes.csv"
# The county-level divisions (and the cities the taxonomy lacks) as Regions: a source of the starter
# graph (data/sources.yaml), not of the taxonomy, so the sample keeps its small region tree.
DIVISION_REGIONS = ROOT / "data" / "sources" / "cn_divisions" / "regions.csv"

ORG_COLUMNS = ["id", "name_zh", "name_en", "aliases", "kind", "stock_code", "credit_code", "sectors", "city",
               "province", "country", "description", "website", "source"]
PEOPLE_COLUMNS = ["id", "name_zh", "name_en", "gender", "source"]
RELATION_COLUMNS = ["source_id", "target_id", "type", "since", "until", "role", "weight", "evidence", "source"]
PROJECT_COLUMNS = ["id", "name_zh", "name_en", "description", "needs", "sectors", "city", "tier", "stage",
                   "investment_cny", "source"]
REGION_COLUMNS = ["id", "name_zh", "name_en", "parent_id", "level", "aliases", "source"]
KINDS = {"listed_company", "company", "institute", "university", "government_body", "park", "fund"}

WUXI = "无锡市"
# Directors who sit on one board only as independents add people but no links; keep them out
# unless they join two sample companies.
INDEPENDENT_ROLES = {"独立董事", "独立非执行董事"}
# Wuxi's county-level cities: the SZSE list files their companies under 无锡市, users say 江阴/宜兴.
COUNTY_CITIES = ("江阴", "宜兴")
CITY_SUFFIXES = ("地区", "盟", "市")
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯",
                     "长孙", "宇文", "司徒", "端木", "申屠")
# Surnames whose reading differs from the character's common reading.
SURNAME_READINGS = {"单": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "区": "ou", "查": "zha", "朴": "piao",
                    "乐": "yue", "缪": "miao", "翟": "zhai", "覃": "qin", "盖": "ge", "种": "chong", "员": "yun",
                    "召": "shao", "繁": "po", "黑": "he", "那": "na", "长": "chang", "柏": "bai", "薄": "bo",
                    "臧": "zang", "燕": "yan", "冼": "xian", "牟": "mou", "谌": "chen", "瞿": "qu"}
SOURCE_SZSE = "szse_a_share_list"
SOURCE_BASIC = "a_share_stock_basic"
SOURCE_KG = "stock_kg"
SOURCE_HIPO = "universities_cn (Hipo)"


# ---------------------------------------------------------------- CSV helpers

def read_rows(path: Path) -> list[dict[str, str]]:
    """All rows of a UTF-8 CSV (a BOM is tolerated because the shared exports carry one)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def write_rows(path: Path, columns: list[str], rows: Iterable[dict[str, str]], key: list[str]) -> int:
    """Write rows sorted by `key` columns, so the file is byte-identical on every run."""
    ordered = sorted(rows, key=lambda r: tuple(r.get(k, "") for k in key))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[row.get(c, "") for c in columns] for row in ordered])
    return len(ordered)


def clean(text: str) -> str:
    """NFKC (full-width letters and dots to ASCII) and single spaces, as exchange exports need."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip()


def join_cell(values: Iterable[str], drop: Iterable[str] = ()) -> str:
    """A '|' cell with duplicates and the `drop` values (the row's own names) left out."""
    seen = {v for v in drop if v}
    out = []
    for value in values:
        if value and value not in seen:
            seen.add(value)
            out.append(value)
    return "|".join(out)


def split_cell(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split("|") if part.strip()]


# ---------------------------------------------------------------- inputs

@dataclass
class Shared:
    """The shared public data, keyed the way the build joins it."""

    szse: dict[str, dict[str, str]]
    basic: dict[str, dict[str, str]]
    people: dict[str, dict[str, str]]
    roles: list[tuple[str, str, str]]
    hipo: dict[str, dict[str, str]]


def load_shared(folder: Path) -> Shared:
    szse = {r["A股代码"]: r for r in read_rows(folder / "szse_a_share_list" / "szse_a_share_list.csv")}
    basic = {r["symbol"]: r for r in read_rows(folder / "a_share_stock_basic" / "stock_basic.csv")}
    people = {r["person_id:ID(Executive)"]: r for r in read_rows(folder / "stock_kg" / "executive.csv")}
    # stock_kg lost the leading zeros of Shenzhen codes (2156 for 002156).
    roles = [(r[":START_ID(Executive)"], r[":END_ID(Stock)"].zfill(6), r["jobs"])
             for r in read_rows(folder / "stock_kg" / "executive_stock.csv")]
    hipo = {r["name"]: r for r in read_rows(folder / "universities_cn" / "hipo_universities_cn_hk_mo_tw.csv")}
    return Shared(szse, basic, people, roles, hipo)


def load_sector_map(taxonomy: Path) -> dict[tuple[str, str], str]:
    """(scheme, label) -> the sector with the highest confidence for that label."""
    best: dict[tuple[str, str], tuple[float, str]] = {}
    for row in read_rows(taxonomy / "source_sector_map.csv"):
        if row["sector_id"].startswith("other.") and row["sector_id"].count(".") > 1:
            continue  # the general tree's industry leaves serve the starter graph's tagger; the sample keeps the coarse sector
        key, score = (row["source_scheme"], row["source_label"]), float(row["confidence"])
        if key not in best or score > best[key][0]:
            best[key] = (score, row["sector_id"])
    return {key: sector for key, (_, sector) in best.items()}


# ---------------------------------------------------------------- organisations

def select_codes(shared: Shared, curated: dict[str, dict[str, str]]) -> list[str]:
    """Curated companies, every tushare 半导体 firm, every Wuxi SZSE firm, then Jiangsu SZSE firms
    that share a director with those, so board interlocks have both ends in the sample."""
    semis = {code for code, row in shared.basic.items() if row["industry"] == "半导体"}
    wuxi = {code for code, row in shared.szse.items() if row["城市"] == WUXI}
    core = set(curated) | semis | wuxi
    by_person: dict[str, set[str]] = defaultdict(set)
    for person, code, _ in shared.roles:
        by_person[person].add(code)
    jiangsu = {code for code, row in shared.szse.items() if row["省份"] == "江苏"} - core
    linked = {code for codes in by_person.values() if codes & core for code in codes & jiangsu}
    return sorted(core | linked)


def szse_city(row: dict[str, str]) -> str:
    """The city as people write it: 无锡市 -> 无锡, and 江阴/宜兴 when the registered address says so."""
    city = row["城市"]
    if "直辖县级行政区划" in city:
        return ""
    if city == WUXI:
        for county in COUNTY_CITIES:
            if county in row["注册地址"]:
                return county
    return city[:-1] if city.endswith("市") and len(city) > 2 else city


def listed_org(code: str, shared: Shared, cur: dict[str, str], smap: dict[tuple[str, str], str]) -> dict[str, str]:
    """One A-share company: SZSE names and place, stock_basic code and industry, curated facts on top."""
    basic, szse = shared.basic[code], shared.szse.get(code)
    sources = [SOURCE_BASIC] + ([SOURCE_SZSE] if szse else []) + ([cur["source"]] if cur else [])
    short = clean(basic["name"]).replace(" ", "")
    bare = re.sub(r"^\*?ST|-[UW]+$|^C(?=[\u4e00-\u9fff])", "", short)
    name_zh = cur.get("name_zh") or (szse["公司全称"] if szse else "") or short
    name_en = cur.get("name_en") or (clean(szse["英文名称"]) if szse else "")
    sectors = cur.get("sectors") or smap.get(("tushare", basic["industry"]), "")
    szse_short = clean(szse["A股简称"]).replace(" ", "") if szse else ""
    description = cur.get("description") or generic_description(basic, szse, name_en or name_zh)
    website = cur.get("website") or (re.split(r"[、,;\s]", szse["公司网址"])[0] if szse else "")
    return {
        "id": f"stock-{code}", "name_zh": name_zh, "name_en": name_en, "kind": "listed_company",
        # Curated aliases stay as written (SMIC lists its full name too); derived ones skip the names.
        "aliases": join_cell([*split_cell(cur.get("aliases", "")),
                              *(a for a in (bare, szse_short, short) if a not in (name_zh, name_en))]),
        "stock_code": basic["ts_code"], "sectors": sectors,
        "city": cur.get("city") or (szse_city(szse) if szse else ""),
        "province": cur.get("province") or (szse["省份"] if szse else basic["area"]),
        "country": "中国", "description": description, "website": website, "source": "; ".join(sources),
    }


def generic_description(basic: dict[str, str], szse: dict[str, str] | None, name: str) -> str:
    """A plain factual line from the exchange data, for companies nobody has described by hand."""
    text = f"{name}: A-share company ({basic['ts_code']}) in the tushare industry '{basic['industry']}'"
    if szse:
        text += f", CSRC sector '{szse['所属行业']}', registered in {szse['城市']}, {szse['省份']}"
    return text + f". {basic['name']}，行业：{basic['industry']}。"


def curated_orgs(rows: list[dict[str, str]], shared: Shared) -> list[dict[str, str]]:
    """Hand-curated non-A-share organisations; universities gain their Hipo English names as aliases."""
    out = []
    for row in rows:
        org = {c: row.get(c, "") for c in ORG_COLUMNS}
        hipo = [shared.hipo[n] for n in split_cell(row.get("hipo_name", "")) if n in shared.hipo]
        if hipo:
            names = [h["name"] for h in hipo]
            org["aliases"] = join_cell([*split_cell(org["aliases"]), *names], [org["name_zh"], org["name_en"]])
            org["website"] = org["website"] or hipo[0]["domains"].split(";")[0]
            org["source"] = f"{org['source']}; {SOURCE_HIPO}"
        out.append(org)
    return out


# ---------------------------------------------------------------- people

def romanise(name: str) -> str:
    """Surname-first pinyin (张三丰 -> Zhang Sanfeng); Latin names are kept as written."""
    if re.search(r"[A-Za-z]", name):
        return clean(name)
    parts = [p for p in re.split(r"[·•.\s]", name) if p]
    if len(parts) > 1:
        return " ".join("".join(lazy_pinyin(p)).capitalize() for p in parts).replace("v", "yu")
    surname = next((s for s in COMPOUND_SURNAMES if name.startswith(s) and len(name) > len(s)), name[:1])
    family = SURNAME_READINGS.get(surname) or "".join(lazy_pinyin(surname))
    given = "".join(lazy_pinyin(name[len(surname):]))
    return " ".join(p.replace("v", "yu").capitalize() for p in (family, given) if p)


def people_and_roles(shared: Shared, names: dict[str, str]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Board members of sample companies who either link two of them or hold a non-independent seat."""
    held: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for person, code, jobs in shared.roles:
        if f"stock-{code}" in names:
            held[person].append((code, jobs))
    people, roles = [], []
    for person, seats in held.items():
        insider = any(set(jobs.split("/")) - INDEPENDENT_ROLES for _, jobs in seats)
        if person not in shared.people or not (len(seats) > 1 or insider):
            continue
        row = shared.people[person]
        people.append({"id": f"person-{person}", "name_zh": row["name"], "name_en": romanise(row["name"]),
                       "gender": row["gender"], "source": SOURCE_KG})
        for code, jobs in seats:
            roles.append({"source_id": f"person-{person}", "target_id": f"stock-{code}", "type": "HAS_ROLE",
                          "role": jobs, "source": SOURCE_KG,
                          "evidence": f"Board role {jobs} at {names[f'stock-{code}']} ({code}) in the stock_kg "
                                      "executive snapshot (10jqka company pages, as of c. 2018)."})
    return people, roles


# ---------------------------------------------------------------- regions

def place_pinyin(name: str) -> str:
    """Place-name pinyin with the apostrophe before a/o/e syllables (西安 -> Xi'an, 泰安 -> Tai'an)."""
    syllables = lazy_pinyin(name)
    text = syllables[0] + "".join(("'" if s[0] in "aoe" else "") + s for s in syllables[1:])
    return text.capitalize()


def place_key(name: str) -> str:
    for suffix in CITY_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def build_regions(base: list[dict[str, str]], places: Iterable[tuple[str, str]]) -> tuple[list[dict[str, str]], list[str]]:
    """The curated regions plus one row per Chinese prefecture-level city named by the data."""
    rows = [dict(r) for r in base]
    provinces = {n: r["id"] for r in base if r["level"] == "province" for n in [r["name_zh"], *split_cell(r["aliases"])]}
    known: dict[str, set[str]] = defaultdict(set)
    for r in base:
        for name in [r["name_zh"], r["name_en"], *split_cell(r["aliases"])]:
            known[place_key(name)].add(r["parent_id"] if r["level"] == "district" else r["id"])
    problems = []
    for province, city in sorted(set(places)):
        prov_id, key = provinces.get(province), place_key(city)
        if not city or key in known or (prov_id and city in provinces) or "直辖" in city:
            continue
        if not prov_id or not re.fullmatch(r"[\u4e00-\u9fff]+", key):
            problems.append(f"regions: no region for city {city!r} (province {province!r})")
            continue
        name_en = place_pinyin(key)
        region_id = f"{prov_id}-{name_en.lower().replace(chr(39), '')}"
        name_zh = city if city.endswith(("市", "自治州", "盟", "地区")) else f"{city}市"
        plain = name_en.replace("'", "")
        rows.append({"id": region_id, "name_zh": name_zh, "name_en": name_en, "parent_id": prov_id, "level": "city",
                     "aliases": join_cell([key, plain, f"{name_en} City"], [name_zh, name_en]),
                     "source": f"{SOURCE_SZSE} (city names); English by pypinyin"})
        known[key].add(region_id)
    ids = [r["id"] for r in rows]
    problems += [f"regions: duplicate id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    return rows, problems


# Placeholders of the division table that are not places: a municipality's districts, a
# province's directly administered county-level cities.
DIVISION_PLACEHOLDERS = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")
DISTRICT_SUFFIXES = (("自治县", "County"), ("自治旗", "Banner"), ("林区", "Forestry District"), ("区", "District"),
                     ("县", "County"), ("旗", "Banner"), ("市", "City"))


def division_rows(rows: list[dict[str, str]], divisions: list[dict[str, str]]) -> list[dict[str, str]]:
    """Every county-level division of GB/T 2260 (districts, counties, county-level cities) and
    the prefecture-level cities the taxonomy lacks, so the district an address names has a
    region (data/sources/cn_divisions/regions.csv, read by the default manifest). Parents come from the code (320214 新吴区 is in 320200 无锡市 in 320000 江苏省);
    rows that exist already (the curated Wuxi districts) are kept as curated."""
    source = "cn_divisions (cpca 0.5.5 adcodes: GB/T 2260 division codes); English by pypinyin"
    names = {r["adcode"][:6]: r["name"] for r in divisions}
    by_name: dict[tuple[str, str], str] = {}
    for r in rows:
        for name in [r["name_zh"], *split_cell(r["aliases"])]:
            by_name.setdefault((r["parent_id"], place_key(name)), r["id"])
    province_of = {code: by_name.get(("cn", place_key(name))) for code, name in names.items() if code.endswith("0000")}
    taken = {r["id"] for r in rows}
    out: list[dict[str, str]] = []

    def add(code: str, parent: str, level: str) -> str:
        name = names[code]
        existing = by_name.get((parent, place_key(name)))
        if existing:
            return existing
        key = place_key(name) if level == "city" else next(
            (name[: -len(s)] for s, _ in DISTRICT_SUFFIXES if name.endswith(s) and len(name) > len(s) + 1), name)
        name_en = place_pinyin(key)
        region_id = f"{parent}-{name_en.lower().replace(chr(39), '')}"
        region_id = region_id if region_id not in taken else f"{region_id}-{code}"
        kind = next((en for s, en in DISTRICT_SUFFIXES if name.endswith(s)), "") if level == "district" else "City"
        out.append({"id": region_id, "name_zh": name, "name_en": name_en, "parent_id": parent, "level": level,
                    "aliases": join_cell([key, name_en.replace("'", ""), f"{name_en} {kind}".strip()], [name, name_en]),
                    "source": source})
        taken.add(region_id)
        by_name[(parent, place_key(name))] = region_id
        return region_id

    for code in sorted(names):
        province = province_of.get(code[:2] + "0000")
        if province is None or code.endswith("0000") or names[code] in DIVISION_PLACEHOLDERS:
            continue
        if code.endswith("00"):
            add(code, province, "city")
            continue
        city = code[:4] + "00"
        parent = province if city not in names or names[city] in DIVISION_PLACEHOLDERS else add(city, province, "city")
        add(code, parent, "district")
    return out


# ---------------------------------------------------------------- checks

def check(orgs: list[dict[str, str]], people: list[dict[str, str]], projects: list[dict[str, str]],
          relations: list[dict[str, str]], sectors: set[str], regions: set[str]) -> list[str]:
    """Every id unique, every reference resolvable, every kind and sector valid."""
    problems: list[str] = []
    ids: dict[str, int] = defaultdict(int)
    for row in [*orgs, *people, *projects]:
        ids[row["id"]] += 1
        if not row.get("source"):
            problems.append(f"{row['id']}: empty source")
        problems += [f"{row['id']}: unknown sector {s}" for s in split_cell(row.get("sectors", "")) if s not in sectors]
    problems += [f"duplicate id {i}" for i, n in ids.items() if n > 1]
    problems += [f"{o['id']}: bad kind {o['kind']!r}" for o in orgs if o["kind"] not in KINDS]
    ends = set(ids) | sectors | regions
    seen = set()
    for rel in relations:
        edge = (rel["source_id"], rel["target_id"], rel["type"])
        problems += [f"relation {edge}: unknown end {e}" for e in edge[:2] if e not in ends]
        problems += [f"relation {edge}: empty source or evidence"] if not (rel["source"] and rel["evidence"]) else []
        problems += [f"relation {edge}: duplicate"] if edge in seen else []
        seen.add(edge)
    return problems


# ---------------------------------------------------------------- main

def build(shared_dir: Path, out: Path, taxonomy: Path) -> list[str]:
    shared = load_shared(shared_dir)
    smap = load_sector_map(taxonomy)
    curated_listed = {r["stock_code"]: r for r in read_rows(CURATED / "listed_companies.csv")}
    missing = [c for c, row in shared.basic.items() if row["industry"] == "半导体" and c not in curated_listed]
    problems = [f"半导体 company {c} has no curated sectors" for c in missing]
    problems += [f"curated listed company {c} is not in stock_basic" for c in curated_listed if c not in shared.basic]
    codes = [c for c in select_codes(shared, curated_listed) if c in shared.basic]
    orgs = [listed_org(c, shared, curated_listed.get(c, {}), smap) for c in codes]
    orgs += curated_orgs(read_rows(CURATED / "organizations.csv"), shared)
    names = {o["id"]: o["name_zh"] for o in orgs}
    people, roles = people_and_roles(shared, names)
    people += [{**r, "gender": ""} for r in read_rows(CURATED / "people.csv")]
    projects = read_rows(CURATED / "projects.csv")
    relations = [*roles, *read_rows(CURATED / "relations.csv")]

    places = [(r["省份"], r["城市"]) for r in shared.szse.values()]
    places += [(o["province"], o["city"]) for o in orgs if o["country"] == "中国"]
    places += [("江苏", p["city"]) for p in projects]
    foreign = {o["city"] for o in orgs if o["country"] != "中国" and o["city"]}
    regions, region_problems = build_regions(read_rows(CURATED / "regions_base.csv"), places)
    region_names = {n for r in regions for n in [r["name_zh"], r["name_en"], *split_cell(r["aliases"])]}
    problems += region_problems + [f"regions: no region for foreign city {c!r}" for c in foreign - region_names]
    sector_ids = {r["id"] for r in read_rows(taxonomy / "sectors.csv")}
    problems += check(orgs, people, projects, relations, sector_ids, {r["id"] for r in regions})
    if problems:
        return problems
    write_rows(taxonomy / "regions.csv", REGION_COLUMNS, regions, ["id"])
    divisions = division_rows(regions, read_rows(DIVISIONS))
    write_rows(DIVISION_REGIONS, REGION_COLUMNS, divisions, ["id"])
    write_rows(out / "organizations.csv", ORG_COLUMNS, orgs, ["id"])
    write_rows(out / "people.csv", PEOPLE_COLUMNS, people, ["id"])
    write_rows(out / "projects.csv", PROJECT_COLUMNS, projects, ["id"])
    write_rows(out / "relations.csv", RELATION_COLUMNS, relations, ["source_id", "target_id", "type"])
    for licence, target in (("stock_kg/LICENSE", "LICENSE_stock_kg"), ("universities_cn/LICENSE_Hipo.txt", "LICENSE_Hipo.txt")):
        (out / target).write_bytes((shared_dir / licence).read_bytes())
    print(f"organizations {len(orgs)}, people {len(people)}, projects {len(projects)}, "
          f"relations {len(relations)}, regions {len(regions)} -> {out}")
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data",
                        help="folder with the shared public data sets (default: ../shared/data)")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "sample", help="bundle folder to write")
    parser.add_argument("--taxonomy", type=Path, default=ROOT / "kg" / "taxonomy",
                        help="taxonomy bundle; its regions.csv is regenerated")
    args = parser.parse_args(argv)
    problems = build(args.shared, args.out, args.taxonomy)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""The word lists behind name normalisation, loaded once from the YAML files beside this module.

Why a module of its own: names.py should read as the rules for handling a name, not as file
parsing, and tests can check the data (no duplicates, parents exist) through one object.
Entries are cleaned with the same function as names, so a list entry written in traditional
characters or full-width forms still matches.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import opencc
import yaml

from kg.run_cache import run_cache
from kg.schema import TAXONOMY_DIR

HERE = Path(__file__).parent
# Dots between single letters are abbreviations ("S.A.", "N.V."), not separators.
_DOTTED = re.compile(r"(?<![a-z0-9])((?:[a-z]\.){2,})")
_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "(", "】": ")", "［": "(", "］": ")",
                           "「": "(", "」": ")", "[": "(", "]": ")", "{": "(", "}": ")"})


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


_TRADITIONAL: dict[str, bool] = {}


def _has_traditional(s: str) -> bool:
    for ch in set(s):
        if ch >= "\u2e80":
            known = _TRADITIONAL.get(ch)
            if known is None:
                known = _TRADITIONAL[ch] = _t2s().convert(ch) != ch
            if known:
                return True
    return False


@run_cache(maxsize=262_144)
def clean_text(s: str) -> str:
    """NFKC (full-width to half-width), traditional to simplified, casefold, one kind of bracket.

    The t2s conversion is costly (~30 µs a name), so it runs only when some character would
    change: most names are already simplified or Latin.
    """
    s = unicodedata.normalize("NFKC", s or "")
    if not s.isascii() and _has_traditional(s):
        s = _t2s().convert(s)
    s = s.casefold().translate(_BRACKETS)
    return _DOTTED.sub(lambda m: m.group(1).replace(".", "") + " ", s)


def latin_words(s: str) -> list[str]:
    """Latin words of cleaned text; hyphens and apostrophes join (micro-fabrication, xi'an)."""
    s = re.sub(r"(?<=[a-z0-9])['’\-](?=[a-z0-9])", "", s)
    return re.findall(r"[a-z0-9]+", s)


@dataclass(frozen=True)
class Region:
    id: str
    zh: str
    abbr: str | None
    latin: tuple[tuple[str, ...], ...]  # word sequences naming it
    parent: str | None
    suffix: str | None = None  # administrative word that may follow the Chinese name (区 of 惠山区)


@dataclass(frozen=True)
class Concept:
    id: str
    zh: tuple[str, ...]
    en: tuple[tuple[str, ...], ...]
    closure: frozenset[str]  # itself and every broader concept
    weak: bool
    unit: bool = False  # a part of a parent organisation (研究所, 分公司, fab)
    place_bound: bool = False  # a body defined by its place (人民政府, 开发区, 大学)
    org: bool = False  # says what kind of organisation, not what it does (研究所, 人民政府, 科学院)


@dataclass(frozen=True)
class NumberWords:
    """numbers.yaml: when a Chinese numeral or a Latin letter is a number in a name."""

    zh_counters: tuple[str, ...]
    zh_ordinal_prefix: tuple[str, ...]
    en_series_words: frozenset[str]
    en_ordinals: dict[str, int]


@dataclass(frozen=True)
class Vocabulary:
    legal_zh: tuple[str, ...]  # longest first
    legal_zh_set: frozenset[str]
    protected_zh: tuple[str, ...]
    legal_en: tuple[tuple[str, ...], ...]  # longest first
    legal_en_set: frozenset[tuple[str, ...]]
    legal_single_words: frozenset[str]  # one-word legal forms (ltd, corp), for acronyms
    boilerplate: frozenset[str]
    regions: tuple[Region, ...]
    region_by_zh: dict[str, Region]
    region_by_latin: dict[tuple[str, ...], Region]
    region_by_id: dict[str, Region]
    abbreviated_regions: tuple[Region, ...]  # those with a one-character form (上海 -> 沪)
    ancestors: dict[str, tuple[str, ...]]
    concepts: dict[str, Concept]
    industry_zh: dict[str, str]  # term -> concept id (industry_terms.yaml only: text extraction uses these)
    industry_en: dict[tuple[str, ...], str]
    short_forms: tuple[tuple[str, str], ...]
    # Descriptive words name parsing peels off the core: industry terms plus org_terms.yaml.
    term_zh: dict[str, str] = field(default_factory=dict)
    term_en: dict[tuple[str, ...], str] = field(default_factory=dict)
    unit_concepts: frozenset[str] = frozenset()
    place_bound_concepts: frozenset[str] = frozenset()
    org_concepts: frozenset[str] = frozenset()  # kinds of organisation: agree on kind, not on trade
    group_words: frozenset[str] = frozenset()  # 集团, group: a group, not its listed company
    registered_zh: tuple[str, ...] = ()  # endings of a registered Chinese name (有限公司)
    listing_prefixes: frozenset[str] = frozenset()  # *ST, ST before a Chinese short name
    listing_suffixes: frozenset[str] = frozenset()  # A, -U, -UW after it
    numbers: NumberWords | None = None

    def region(self, region_id: str | None) -> Region | None:
        return self.region_by_id.get(region_id) if region_id else None

    def region_ancestors(self, region_id: str) -> tuple[str, ...]:
        """The region itself and every place containing it, nearest first (unknown: itself)."""
        return self.ancestors.get(region_id, (region_id,))


def _ancestors(regions: list[Region]) -> dict[str, tuple[str, ...]]:
    by_id = {r.id: r for r in regions}
    out = {}
    for r in regions:
        chain: list[str] = []
        current: str | None = r.id
        while current and current not in chain:
            chain.append(current)
            current = by_id[current].parent if current in by_id else None
        out[r.id] = tuple(chain)
    return out


_ZH_ADMIN = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "地区", "省", "市")


def _short_zh(name: str) -> str:
    """无锡市 -> 无锡, 广西壮族自治区 -> 广西; a name of two characters keeps its suffix (沙市)."""
    for suffix in _ZH_ADMIN:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _taxonomy_regions(listed: list[Region]) -> list[Region]:
    """The provinces and cities of the taxonomy (kg/taxonomy/regions.csv: every city of the SZSE
    list, GB/T 2260 names) that regions.yaml does not list, so that 台州, 淄博 or "Luoyang" open
    a name as a place and a city cell meets its province. regions.yaml stays the place for
    abbreviations, districts and spellings; its entries win where both name a place."""
    import csv

    by_zh = {r.zh: r for r in listed}
    with open(TAXONOMY_DIR / "regions.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    zh_of = {row["id"]: _short_zh(clean_text(row["name_zh"])) for row in rows}
    taken = {r.id for r in listed}
    out: list[Region] = []
    for row in rows:
        zh = zh_of[row["id"]]
        if row["level"] not in ("province", "city") or zh in by_zh or len(zh) < 2:
            continue
        latin = {_words(row["name_en"])} | {_words(a) for a in row["aliases"].split("|") if a.isascii() and a.strip()}
        rid = "".join(_words(row["name_en"]))
        if not rid or rid in taken:
            rid = f"{rid}-{row['level']}"
        parent_zh = zh_of.get(row["parent_id"])
        parent = by_zh.get(parent_zh) if parent_zh else None
        parent_id = parent.id if parent else next((r.id for r in out if r.zh == parent_zh), None)
        region = Region(rid, zh, None, tuple(sorted((w for w in latin if w), key=lambda w: (-len(w), w))),
                        parent_id or "china")
        taken.add(rid)
        by_zh[zh] = region
        out.append(region)
    return out


def _load(name: str) -> object:
    with open(HERE / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _words(entry: str) -> tuple[str, ...]:
    return tuple(latin_words(clean_text(entry)))


def _by_length(items: list) -> tuple:
    """Longest first, so "co ltd" is tried before "ltd" and 股份有限公司 before 公司."""
    return tuple(sorted(set(items), key=lambda x: (-len(x), x)))


@cache
def vocabulary() -> Vocabulary:
    """Load and cross-check the lists; a broken reference is an error at load, not a silent miss."""
    legal = _load("legal_forms.yaml")
    legal_zh = _by_length([clean_text(x) for x in legal["zh"]])
    legal_en = _by_length([_words(x) for x in legal["en"]])
    regions = []
    for row in _load("regions.yaml"):
        latin = {(row["id"],)} | {_words(x) for x in row.get("en", [])}
        regions.append(Region(row["id"], clean_text(row["zh"]), row.get("abbr"),
                              tuple(sorted(latin, key=lambda w: (-len(w), w))), row.get("parent"),
                              row.get("suffix")))
    regions += _taxonomy_regions(regions)
    ids = {r.id for r in regions}
    for r in regions:
        if r.parent and r.parent not in ids:
            raise ValueError(f"regions.yaml: {r.id} has unknown parent {r.parent}")
    industry_rows = _load("industry_terms.yaml")
    org_rows = _load("org_terms.yaml")
    org_ids = {row["id"] for row in org_rows if not row.get("weak")}
    raw = industry_rows + org_rows
    broader = {row["id"]: set(row.get("broader", [])) for row in raw}
    if len(broader) != len(raw):
        raise ValueError("industry_terms.yaml / org_terms.yaml: a concept id is listed twice")
    concepts: dict[str, Concept] = {}
    for row in raw:
        unknown = broader[row["id"]] - broader.keys()
        if unknown:
            raise ValueError(f"industry_terms.yaml: {row['id']} has unknown broader {sorted(unknown)}")
        closure, todo = {row["id"]}, list(broader[row["id"]])
        while todo:
            c = todo.pop()
            if c not in closure:
                closure.add(c)
                todo.extend(broader[c])
        concepts[row["id"]] = Concept(row["id"], tuple(clean_text(t) for t in row.get("zh", [])),
                                      tuple(_words(t) for t in row.get("en", [])),
                                      frozenset(closure), bool(row.get("weak", False)),
                                      bool(row.get("unit", False)), bool(row.get("place_bound", False)),
                                      bool(row.get("org", row["id"] in org_ids)))
    industry_ids = {row["id"] for row in industry_rows}
    industry = [c for c in concepts.values() if c.id in industry_ids]
    numbers = _load("numbers.yaml")
    return Vocabulary(
        legal_zh=legal_zh,
        legal_zh_set=frozenset(legal_zh),
        protected_zh=tuple(clean_text(x) for x in legal.get("zh_protected", [])),
        legal_en=legal_en,
        legal_en_set=frozenset(legal_en),
        legal_single_words=frozenset(f[0] for f in legal_en if len(f) == 1),
        boilerplate=frozenset(clean_text(x) for x in legal.get("boilerplate", [])),
        regions=tuple(regions),
        region_by_zh={r.zh: r for r in regions},
        region_by_latin={w: r for r in regions for w in r.latin},
        region_by_id={r.id: r for r in regions},
        abbreviated_regions=tuple(r for r in regions if r.abbr),
        ancestors=_ancestors(regions),
        concepts=concepts,
        industry_zh={t: c.id for c in industry for t in c.zh},
        industry_en={t: c.id for c in industry for t in c.en},
        short_forms=tuple((clean_text(a), clean_text(b)) for a, b in _load("short_forms.yaml")),
        term_zh={t: c.id for c in concepts.values() for t in c.zh},
        term_en={t: c.id for c in concepts.values() for t in c.en},
        unit_concepts=frozenset(c.id for c in concepts.values() if c.unit),
        place_bound_concepts=frozenset(c.id for c in concepts.values() if c.place_bound),
        org_concepts=frozenset(c.id for c in concepts.values() if c.org or c.unit or c.place_bound),
        group_words=frozenset(clean_text(x) for x in legal.get("group", [])),
        registered_zh=tuple(clean_text(x) for x in legal.get("registered", [])),
        listing_prefixes=frozenset(clean_text(x) for x in legal.get("listing_marks", {}).get("prefix", [])),
        listing_suffixes=frozenset(clean_text(x) for x in legal.get("listing_marks", {}).get("suffix", [])),
        numbers=NumberWords(
            zh_counters=_by_length([clean_text(x) for x in numbers["zh_counters"]]),
            zh_ordinal_prefix=tuple(clean_text(x) for x in numbers["zh_ordinal_prefix"]),
            en_series_words=frozenset(w for x in numbers["en_series_words"] for w in _words(x)),
            en_ordinals={_words(k)[0]: int(v) for k, v in numbers["en_ordinals"].items()},
        ),
    )

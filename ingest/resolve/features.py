"""A record prepared once for comparison: its names taken apart, keys, place, sectors, kind.

Why precompute: blocking and scoring both look at every name of every record, often many
times; parsing and pinyin happen once per record here, and the comparison code stays free of
record-format details. A record is a plain dict (see resolve()), so sources need no classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ingest.normalize.legal import empty_name
from ingest.normalize.names import NameParts, parse_name, short_name_variants
from ingest.normalize.pinyin import pinyin_variants
from ingest.normalize.vocab import clean_text, vocabulary
from ingest.resolve.keys import RecordKeys, record_keys, split_values
from ingest.resolve.settings import ResolveSettings

__all__ = ["RecordFeatures", "code_problem", "features", "place_within", "record_names", "record_problems",
           "regions_related", "registered_name"]

REQUIRED = ("record_id", "source")
JOINT_STOCK = ("股份有限公司", "股份公司")  # a company limited by shares: the legal form a listed firm must have


def _region_id(value: str) -> str | None:
    """A city cell (无锡市, 惠山区, Wuxi, Wuxi City) as a region id, else its cleaned text."""
    text = clean_text(value).strip()
    for suffix in ("市", "省", "区", "县", " city", " province", " shi", " district", " county"):
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            text = text[: -len(suffix)].strip()
    v = vocabulary()
    r = v.region_by_zh.get(text) or v.region_by_latin.get(tuple(text.split()))
    return r.id if r else (text or None)


def place_within(place: str | None, area: str) -> bool:
    """True when `place` (a region id or an unlisted city's text) is `area` or lies inside it."""
    return bool(place) and area in vocabulary().region_ancestors(place)  # type: ignore[arg-type]


def registered_name(text: str) -> bool:
    """A Chinese name that ends in a registered legal form (…有限公司): the name of one legal entity."""
    cleaned = clean_text(text).strip()
    return cleaned.endswith(vocabulary().registered_zh)


def joint_stock_name(n: NameFeatures) -> bool:
    """A Chinese name in the legal form of a company limited by shares (…股份有限公司)."""
    return n.parts.chinese and clean_text(n.text).strip().endswith(JOINT_STOCK)


def regions_related(a: str | None, b: str | None) -> bool | None:
    """True when equal or one contains the other; False when both are known places that differ;
    None otherwise: an unlisted city (Icheon, 圣克拉拉) may be another spelling of the other."""
    if not a or not b:
        return None
    if a == b:
        return True
    v = vocabulary()
    if a not in v.ancestors or b not in v.ancestors:
        return None
    return a in v.region_ancestors(b) or b in v.region_ancestors(a)


def record_names(record: Mapping[str, Any], keys: RecordKeys | None = None) -> list[str]:
    """name_zh, name_en and the aliases that are names (not codes), in that order, deduplicated."""
    keys = keys or record_keys(record)
    out: list[str] = []
    for name in [*split_values_keep(record.get("name_zh")), *split_values_keep(record.get("name_en")),
                 *keys.aliases]:
        name = name.strip()
        if name and name not in out:
            out.append(name)
    return out


def split_values_keep(value: Any) -> list[str]:
    """Name fields are one name each (a comma may belong to "Co., Ltd."), or a list of names."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


@dataclass(frozen=True)
class NameFeatures:
    text: str
    parts: NameParts
    pinyin_core: frozenset[str]  # Chinese names only
    pinyin_base: frozenset[str]
    variants: frozenset[str]  # short_name_variants: 沪硅产业 for 上海硅产业集团


@dataclass(frozen=True)
class RecordFeatures:
    record_id: str
    source: str
    names: tuple[NameFeatures, ...]
    keys: RecordKeys
    city: str | None
    sectors: frozenset[str]
    kind: str | None
    strong_keys: frozenset[str]  # "stock:688981.SH", "credit:91…"
    name_keys: frozenset[str]  # the normalised names, for the exact-match shortcut
    # Record-level facts the pairwise name scores cannot see (see score.record_caps):
    qualifiers: frozenset[str] = frozenset()  # places qualifying any name: 华虹(无锡), SK hynix Wuxi
    registered: frozenset[str] = frozenset()  # bases of its registered Chinese names (…有限公司)
    listed: bool = False  # has a stock code or is of kind listed_company
    group_named: bool = False  # some name marks a group (浪潮集团, Inspur Group)
    place_bound: bool = False  # a government, agency, zone or university (by kind or by name)
    problems: tuple[str, ...] = ()  # bad input (record_problems): reported, never merged on a name alone
    joint_stock: bool = False  # a Chinese name ends in 股份有限公司 (every A-share company's legal form)


def code_problem(value: str, reason: str) -> str:
    """The problem a refused code makes, as record_problems words it."""
    return f"code {value!r} refused: {reason}"


def record_problems(record: Mapping[str, Any], keys: RecordKeys) -> tuple[str, ...]:
    """What is wrong with a record as input to resolution, one reason each: a code that failed
    its check (a credit code's GB 32100 check character, a stock code's format), names that are
    empty once legal forms and marks are stripped (有限公司, "Co., Ltd."), nothing but an id.

    Why a record with a refused code is never merged on its names alone: it claims one legal
    entity by its code, and a look-alike name may be another (a typo in 91320214… is no licence
    to join whichever firm is called alike); it goes to review instead."""
    out = [code_problem(value, reason) for value, reason in keys.rejected]
    names = record_names(record, keys)
    if names and all(empty_name(n) for n in names):
        out.append(f"no name left after normalisation: {' / '.join(names)}")
    if not names and not keys.keys:
        out.append("only an id: no name and no valid code")
    return tuple(out)


def _name_features(text: str) -> NameFeatures | None:
    parts = parse_name(text)
    if not parts.key:
        return None
    if parts.chinese:
        core = pinyin_variants(parts.core) if len(parts.core) >= 2 else frozenset()
        return NameFeatures(text, parts, core, pinyin_variants(parts.base), frozenset(short_name_variants(text)))
    return NameFeatures(text, parts, frozenset(), frozenset(), frozenset(short_name_variants(text)))


def features(record: Mapping[str, Any], settings: ResolveSettings | None = None, *,
             with_names: bool = True) -> RecordFeatures:
    """Prepare one record; raises ValueError when record_id or source is missing.

    with_names=False skips the names (parsing and pinyin are most of the cost): enough for keys,
    codes and canonical ids of a record whose pair decisions are reused (ingest.resolve.incremental),
    never for compare().
    """
    s = settings or ResolveSettings()
    for name in REQUIRED:
        if not record.get(name):
            raise ValueError(f"record lacks {name}: {dict(record)!r:.200}")
    keys = record_keys(record)
    named: dict[str, NameFeatures] = {}
    for n in record_names(record, keys) if with_names else ():
        f = _name_features(n)
        if f is not None and f.parts.key not in named:  # 長電科技 and 长电科技 compare the same
            named[f.parts.key] = f
    names = tuple(named.values())
    city = _region_id(str(record["city"])) if record.get("city") else None
    sectors = frozenset(clean_text(s).strip() for s in split_values(record.get("sectors")) if s.strip())
    kind = clean_text(str(record["kind"])).strip() if record.get("kind") else None
    return RecordFeatures(
        str(record["record_id"]), str(record["source"]), names, keys, city, sectors, kind or None, keys.keys,
        frozenset(n.parts.key for n in names),
        qualifiers=frozenset(n.parts.qualifier for n in names if n.parts.qualifier),
        registered=frozenset(n.parts.base for n in names if n.parts.chinese and registered_name(n.text)),
        listed=bool(keys.stock_codes) or kind in s.listed_kinds,
        group_named=any(n.parts.group for n in names),
        place_bound=kind in s.place_bound_kinds or any(n.parts.place_bound for n in names),
        problems=record_problems(record, keys),
        joint_stock=any(joint_stock_name(n) for n in names))

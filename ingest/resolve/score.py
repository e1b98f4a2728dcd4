"""Comparing two records: a score in [0, 1] and the evidence behind it.

Why evidence rows: staff must see why two records were merged ("pinyin of 通富 equals
'Tongfu', industries agree"), and the decision table stores them, so the explanation is
rendered from what the scorer saw, never written separately. The score is the best single
name feature (max, not a sum: two weak hints are not a strong one), capped by contradictions
(industry, place, codes) and nudged by context (city, sectors, kind).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from rapidfuzz import fuzz

from ingest.normalize.names import NameParts
from ingest.normalize.pinyin import pinyin_initials
from ingest.resolve.features import NameFeatures, RecordFeatures, features, regions_related
from ingest.resolve.keys import key_conflicts
from ingest.resolve.settings import ResolveSettings

__all__ = ["Comparison", "Evidence", "compare", "compare_records"]


class Evidence(NamedTuple):
    feature: str
    value: float
    detail: str


@dataclass(frozen=True)
class Comparison:
    score: float
    evidence: tuple[Evidence, ...]
    conflicts: tuple[str, ...] = ()  # hard contradictions: the pair must not be judged the same

    @property
    def reason(self) -> str:
        return self.evidence[0].detail if self.evidence else "no evidence"


def _industry_relation(x: NameParts, y: NameParts) -> str:
    """same / compatible / conflict. Weak words (科技, international) can agree, never conflict."""
    if x.strong_industry and y.strong_industry:
        return "same" if x.strong_industry & y.strong_industry else "conflict"
    return "same" if x.industry & y.industry else "compatible"


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def _zh_pair(x: NameParts, y: NameParts, s: ResolveSettings) -> list[Evidence]:
    out = []
    if x.base == y.base and len(x.base) >= 2:
        out.append(Evidence("name_base", s.name_base, f"same name without place: {x.base}"))
    short, long = sorted((x, y), key=lambda p: (len(p.base), p.base))
    if len(short.base) >= 3 and short.base != long.base:
        if long.base.startswith(short.base):
            out.append(Evidence("short_name", s.short_name, f"{short.base} is the start of {long.base}"))
        elif short.core and len(short.core) >= 2 and short.base[0] == long.base[0] and _is_subsequence(
                short.base, long.base):
            out.append(Evidence("abbreviation", s.abbreviation,
                                f"{short.base} abbreviates {long.base} (characters in order)"))
    if x.core and x.core == y.core:
        rel = _industry_relation(x, y)
        if rel == "same":
            out.append(Evidence("core_match", s.core_same_industry, f"same core {x.core}, industries agree"))
        elif rel == "compatible":
            value = s.core_compatible if len(x.core) >= 3 else s.core_compatible_short
            out.append(Evidence("core_match", value, f"same core {x.core}"))
    ratio = fuzz.ratio(x.base, y.base) / 100
    if ratio >= 0.5:
        out.append(Evidence("fuzzy_name", round(ratio * s.fuzzy_zh_weight, 3),
                            f"character similarity {ratio:.2f}: {x.base} ~ {y.base}"))
    return out


def _latin_pair(x: NameParts, y: NameParts, s: ResolveSettings) -> list[Evidence]:
    out = []
    if x.base == y.base and len(x.base) >= 3:
        out.append(Evidence("name_base", s.name_base, f"same name without place: {x.base}"))
    for a, b in ((x, y), (y, x)):
        if 3 <= len(a.core) <= 6 and len(a.tokens) <= 2 and a.core in b.acronyms:
            out.append(Evidence("acronym", s.acronym, f"{a.core.upper()} is the initials of {' '.join(b.tokens)}"))
    if x.core and x.core == y.core and len(x.core) >= 3:
        rel = _industry_relation(x, y)
        if rel == "same":
            out.append(Evidence("core_match", s.core_same_industry, f"same core {x.core}, industries agree"))
        elif rel == "compatible":
            value = s.core_compatible if len(x.core) >= 4 else s.core_compatible_short
            out.append(Evidence("core_match", value, f"same core {x.core}"))
    tx, ty = " ".join(x.tokens), " ".join(y.tokens)
    weight = s.fuzzy_weight if min(len(x.key), len(y.key)) >= s.fuzzy_min_length else s.fuzzy_short_weight
    ratio = fuzz.token_sort_ratio(tx, ty) / 100
    if ratio >= 0.5:
        out.append(Evidence("fuzzy_name", round(ratio * weight, 3), f"token similarity {ratio:.2f}: {tx} ~ {ty}"))
    if min(len(tx), len(ty)) >= s.partial_min_length:
        partial = fuzz.partial_ratio(tx, ty) / 100
        if partial >= 0.8:
            out.append(Evidence("partial_name", round(partial * s.partial_weight, 3),
                                f"substring similarity {partial:.2f}: {tx} ~ {ty}"))
    return out


def _cross_pair(z: NameFeatures, latin: NameParts, s: ResolveSettings) -> list[Evidence]:
    out = []
    x = z.parts
    if latin.base in z.pinyin_base or latin.key in z.pinyin_base:
        out.append(Evidence("pinyin_name", s.pinyin_name, f"pinyin of {x.base} is {latin.base}"))
    if len(latin.core) >= 4 and latin.core in z.pinyin_core:
        rel = _industry_relation(x, latin)
        if rel != "conflict":
            value = s.pinyin_core_same_industry if rel == "same" else s.pinyin_core_compatible
            agree = ", industries agree" if rel == "same" else ""
            out.append(Evidence("pinyin_core", value, f"pinyin of {x.core} is {latin.core}{agree}"))
    if 3 <= len(latin.core) <= 6 and len(x.core) >= 3 and pinyin_initials(x.core) == latin.core:
        out.append(Evidence("pinyin_initials", s.pinyin_initials,
                            f"pinyin initials of {x.core} are {latin.core.upper()}"))
    return out


def _name_evidence(a: NameFeatures, b: NameFeatures, s: ResolveSettings) -> list[Evidence]:
    x, y = a.parts, b.parts
    if x.key == y.key:
        found = [Evidence("name_exact", s.name_exact, f"same normalised name: {x.key}")]
    elif x.chinese and y.chinese:
        found = _zh_pair(x, y, s)
    elif not x.chinese and not y.chinese:
        found = _latin_pair(x, y, s)
    else:
        z, latin = (a, y) if x.chinese else (b, x)
        found = _cross_pair(z, latin, s)
    if not found:
        return []
    if _industry_relation(x, y) == "conflict":
        cap = s.industry_conflict_cap
        found = [e._replace(value=min(e.value, cap), detail=f"{e.detail}; industries conflict "
                 f"({'/'.join(sorted(x.strong_industry))} vs {'/'.join(sorted(y.strong_industry))})")
                 for e in found]
    if regions_related(x.region, y.region) is False:
        found = [e._replace(value=round(e.value * s.region_conflict_factor, 3),
                            detail=f"{e.detail}; places conflict ({x.region} vs {y.region})") for e in found]
    return found


def _context(a: RecordFeatures, b: RecordFeatures, s: ResolveSettings) -> list[Evidence]:
    out = []
    related = regions_related(a.city, b.city)
    if related is True:
        out.append(Evidence("city", s.city_agree, f"cities agree: {a.city} / {b.city}"))
    elif related is False:
        out.append(Evidence("city", s.city_conflict, f"cities differ: {a.city} vs {b.city}"))
    if a.sectors and b.sectors:
        shared = a.sectors & b.sectors
        if shared:
            out.append(Evidence("sectors", s.sector_overlap, f"shared sectors: {', '.join(sorted(shared))}"))
        else:
            out.append(Evidence("sectors", s.sector_disjoint, "no shared sector"))
    if a.kind and b.kind and a.kind != b.kind:
        out.append(Evidence("kind", s.kind_conflict, f"kinds differ: {a.kind} vs {b.kind}"))
    return out


def compare(a: RecordFeatures, b: RecordFeatures, settings: ResolveSettings | None = None) -> Comparison:
    """Score a pair of prepared records. Shared strong keys give 1.0; conflicting codes cap it."""
    s = settings or ResolveSettings()
    conflicts = tuple(key_conflicts(a.keys, b.keys))
    hard = tuple(c for c in conflicts if c.startswith("credit"))
    shared = sorted(a.strong_keys & b.strong_keys)
    if shared and not hard:
        return Comparison(1.0, tuple(Evidence("shared_key", 1.0, f"both have {k}") for k in shared))
    names: list[Evidence] = []
    for na in a.names:
        for nb in b.names:
            names.extend(_name_evidence(na, nb, s))
    names.sort(key=lambda e: (-e.value, e.feature, e.detail))
    best: dict[str, Evidence] = {}
    for e in names:  # the strongest instance of each feature, for the explanation
        best.setdefault(e.feature, e)
    evidence = list(best.values())
    score = evidence[0].value if evidence else 0.0
    if score > 0:
        context = _context(a, b, s)
        score += sum(e.value for e in context)
        evidence += context
    if conflicts:
        cap = 0.0 if hard else s.stock_conflict_cap
        score = min(score, cap)
        evidence += [Evidence("code_conflict", cap, c) for c in conflicts]
    return Comparison(round(max(0.0, min(1.0, score)), 4), tuple(evidence), hard)


def compare_records(a: Mapping[str, Any], b: Mapping[str, Any],
                    settings: ResolveSettings | None = None) -> Comparison:
    """compare() for plain record dicts, for notebooks and one-off checks."""
    return compare(features(a), features(b), settings)

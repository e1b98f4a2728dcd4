"""Comparing two records: a score in [0, 1] and the evidence behind it.

Why evidence rows: staff must see why two records were merged ("pinyin of 通富 equals
'Tongfu', industries agree"), and the decision table stores them, so the explanation is
rendered from what the scorer saw, never written separately. The score is the best single
name feature (max, not a sum: two weak hints are not a strong one), nudged by context (city,
sectors, kind), and then held under caps for contradictions (industry, place, codes), so no
bonus can lift a contradicted pair over the threshold.
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

# Features relating a short form to the full name it abbreviates: a short form names the main
# company, so a place qualifier on the full name does not make it a subsidiary (盛合晶微).
SHORT_FORMS = ("short_name", "abbreviation")


COMPANY_KINDS = {"company", "listed_company"}


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
    """same / compatible / conflict.

    Same: a word in common (微电子 ~ Microelectronics). Conflict: both have specific words and
    nothing in common even through broader concepts (电力 vs 微电子). Weak words (科技,
    international) can agree but never conflict.
    """
    if x.strong_industry and y.strong_industry and not x.strong_industry & y.strong_industry:
        return "conflict"
    if x.concepts & y.concepts:
        return "same"
    return "differ" if x.concepts and y.concepts else "compatible"


def _core_match(x: NameParts, y: NameParts, s: ResolveSettings, long_core: int) -> list[Evidence]:
    if not x.core or x.core != y.core:
        return []
    rel = _industry_relation(x, y)
    if rel == "same":
        return [Evidence("core_match", s.core_same_industry, f"same core {x.core}, industries agree")]
    if rel == "compatible":
        value = s.core_compatible if len(x.core) >= long_core else s.core_compatible_short
        return [Evidence("core_match", value, f"same core {x.core}")]
    if rel == "differ":  # held under industry_differ_cap by _name_evidence
        return [Evidence("core_match", s.core_compatible, f"same core {x.core}")]
    return []


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def _zh_pair(a: NameFeatures, b: NameFeatures, s: ResolveSettings) -> list[Evidence]:
    x, y = a.parts, b.parts
    out = []
    if x.base == y.base and len(x.base) >= 2:
        out.append(Evidence("name_base", s.name_base, f"same name without place: {x.base}"))
    (short, _), (long, long_f) = sorted(((x, a), (y, b)), key=lambda p: (len(p[0].base), p[0].base))
    if len(short.base) >= 3 and short.base != long.base:
        if long.base.startswith(short.base):
            out.append(Evidence("short_name", s.short_name, f"{short.base} is the start of {long.base}"))
        elif short.key in long_f.variants or short.base in long_f.variants:
            out.append(Evidence("short_name", s.short_name, f"{short.key} is a contraction of {long.key}"))
        elif len(short.core) >= 2 and short.base[0] == long.base[0] and _is_subsequence(short.base, long.base):
            out.append(Evidence("abbreviation", s.abbreviation,
                                f"{short.base} abbreviates {long.base} (characters in order)"))
    out += _core_match(x, y, s, long_core=3)
    ratio = fuzz.ratio(x.base, y.base) / 100
    if ratio >= 0.5:
        out.append(Evidence("fuzzy_name", round(ratio * s.fuzzy_zh_weight, 3),
                            f"character similarity {ratio:.2f}: {x.base} ~ {y.base}"))
    return out


def _latin_pair(a: NameFeatures, b: NameFeatures, s: ResolveSettings) -> list[Evidence]:
    x, y = a.parts, b.parts
    out = []
    if x.base == y.base and len(x.base) >= 3:
        out.append(Evidence("name_base", s.name_base, f"same name without place: {x.base}"))
    for p, q, q_text in ((x, y, b.text), (y, x, a.text)):
        if 3 <= len(p.core) <= 6 and len(p.tokens) <= 2 and p.core in q.acronyms:
            out.append(Evidence("acronym", s.acronym, f"{p.core.upper()} is the initials of {q_text}"))
    out += _core_match(x, y, s, long_core=4)
    tx, ty = " ".join(x.tokens), " ".join(y.tokens)
    weight = s.fuzzy_weight if min(len(x.key), len(y.key)) >= s.fuzzy_min_length else s.fuzzy_short_weight
    # Shared generic words make names look alike; what must be alike is the core.
    if x.core and y.core:
        core_factor = fuzz.ratio(x.core, y.core) / 100
    else:  # one is all generic words ("semiconductor manufacturing international"): weak evidence
        core_factor = 1.0 if x.core == y.core else s.one_core_factor
    ratio = fuzz.token_sort_ratio(tx, ty) / 100
    if ratio * core_factor >= 0.5:
        out.append(Evidence("fuzzy_name", round(ratio * weight * core_factor, 3),
                            f"token similarity {ratio:.2f} (cores {core_factor:.2f}): {tx} ~ {ty}"))
    if min(len(tx), len(ty)) >= s.partial_min_length:
        partial = fuzz.partial_ratio(tx, ty) / 100
        if partial >= 0.8:
            out.append(Evidence("partial_name", round(partial * s.partial_weight * core_factor, 3),
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


def _name_evidence(a: NameFeatures, b: NameFeatures, s: ResolveSettings) -> tuple[list[Evidence], float]:
    """Evidence for one pair of names, and the cap that contradictions between them impose."""
    x, y = a.parts, b.parts
    if x.key == y.key:
        return [Evidence("name_exact", s.name_exact, f"same normalised name: {x.key}")], 1.0
    if x.chinese and y.chinese:
        found = _zh_pair(a, b, s)
    elif not x.chinese and not y.chinese:
        found = _latin_pair(a, b, s)
    else:
        found = _cross_pair(a, y, s) if x.chinese else _cross_pair(b, x, s)
    if not found:
        return [], 1.0
    cap, why = 1.0, []
    rel = _industry_relation(x, y)
    if rel in ("conflict", "differ"):
        cap = min(cap, s.industry_conflict_cap if rel == "conflict" else s.industry_differ_cap)
        why.append(f"industries {rel} ({'/'.join(sorted(x.concepts))} vs {'/'.join(sorted(y.concepts))})")
    if regions_related(x.region, y.region) is False:
        found = [e._replace(value=round(e.value * s.region_conflict_factor, 3)) for e in found]
        why.append(f"places conflict ({x.region} vs {y.region})")
    if bool(x.qualifier) != bool(y.qualifier) and not any(e.feature in SHORT_FORMS for e in found):
        cap = min(cap, s.qualifier_cap)
        why.append(f"only one is qualified by a place ({x.qualifier or y.qualifier}): parent vs subsidiary?")
    if not x.core and not y.core and x.industry != y.industry:
        cap = min(cap, s.empty_core_cap)
        why.append("only generic words, and they differ")
    if why:
        found = [e._replace(value=min(e.value, cap), detail=f"{e.detail}; {'; '.join(why)}") for e in found]
    return found, cap


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
    # A listed company is a company: sources that do not track listings say 'company'.
    if a.kind and b.kind and a.kind != b.kind and {a.kind, b.kind} != COMPANY_KINDS:
        out.append(Evidence("kind", s.kind_conflict, f"kinds differ: {a.kind} vs {b.kind}"))
    return out


def _best_name_evidence(a: RecordFeatures, b: RecordFeatures, s: ResolveSettings
                        ) -> tuple[list[Evidence], float, float]:
    """The strongest instance of each name feature over all name pairs, the best value and its cap."""
    found: list[Evidence] = []
    best, best_cap = 0.0, 1.0
    for na in a.names:
        for nb in b.names:
            evidence, cap = _name_evidence(na, nb, s)
            if evidence:
                top = max(e.value for e in evidence)
                if (top, cap) > (best, best_cap):
                    best, best_cap = top, cap
                found.extend(evidence)
    found.sort(key=lambda e: (-e.value, e.feature, e.detail))
    strongest: dict[str, Evidence] = {}
    for e in found:  # the strongest instance of each feature, for the explanation
        strongest.setdefault(e.feature, e)
    return list(strongest.values()), best, best_cap


def compare(a: RecordFeatures, b: RecordFeatures, settings: ResolveSettings | None = None) -> Comparison:
    """Score a pair of prepared records. Shared strong keys give 1.0; conflicting codes cap it."""
    s = settings or ResolveSettings()
    conflicts = tuple(key_conflicts(a.keys, b.keys)) if a.strong_keys and b.strong_keys else ()
    hard = tuple(c for c in conflicts if c.startswith("credit"))
    shared = sorted(a.strong_keys & b.strong_keys)
    if shared and not hard:
        return Comparison(1.0, tuple(Evidence("shared_key", 1.0, f"both have {k}") for k in shared))
    same_names = sorted(a.name_keys & b.name_keys)
    if same_names:  # nothing can score higher: skip the other features
        evidence = [Evidence("name_exact", s.name_exact, f"same normalised name: {same_names[0]}")]
        best, best_cap = s.name_exact, 1.0
    else:
        evidence, best, best_cap = _best_name_evidence(a, b, s)
    score = best
    if score > 0:
        context = _context(a, b, s)
        score = min(score + sum(e.value for e in context), best_cap)
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

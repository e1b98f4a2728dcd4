"""Comparing two records: a score in [0, 1] and the evidence behind it.

Why evidence rows: staff must see why two records were merged ("pinyin of 通富 equals
'Tongfu', industries agree"), and the decision table stores them, so the explanation is
rendered from what the scorer saw, never written separately. The score is the best single
name feature (max, not a sum: two weak hints are not a strong one), nudged by context (city,
sectors, kind), and then held under caps for contradictions (industry, place, codes), so no
bonus can lift a contradicted pair over the threshold.

Some contradictions say the records are two entities however alike their names look: other
numbers (基金 vs 基金二期), a parent and its unit (中国科学院 vs its 研究所), a government, zone
or university of another place, a local unit of a firm based elsewhere (SK hynix Wuxi), two
registered names, an unlisted group and a listed company. Those pairs are judged not the same
(Comparison.conflicts), which also stops a third record that resembles both from joining them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from rapidfuzz import fuzz

from ingest.normalize.names import NameParts
from ingest.normalize.parts import split_industry_zh
from ingest.normalize.pinyin import pinyin_initials
from ingest.normalize.vocab import clean_text, vocabulary
from ingest.resolve.features import (
    NameFeatures,
    RecordFeatures,
    code_problem,
    features,
    joint_stock_name,
    place_within,
    regions_related,
    registered_name,
)
from ingest.resolve.keys import key_conflicts, refused_claim
from ingest.resolve.model import PairModel, load_model
from ingest.resolve.pair_features import pair_features
from ingest.resolve.settings import ResolveSettings

__all__ = ["Comparison", "Evidence", "compare", "compare_records", "model_inputs"]

# Features relating a short form to the full name it abbreviates: a short form names the main
# company, so a place qualifier on the full name does not make it a subsidiary (盛合晶微).
SHORT_FORMS = ("short_name", "abbreviation")
# The only name evidence that may merge governments, zones and universities besides an exact
# name: a romanisation of the same name (江南大学 ~ Jiangnan University), places equal.
PLACE_BOUND_FEATURES = ("name_exact", "pinyin_name", "pinyin_core")


COMPANY_KINDS = ("company", "listed_company")


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
    international) can agree but never conflict. Words for kinds of organisation (研究所,
    人民政府) are compared apart: two institutes agree on being institutes, not on a trade.
    """
    org = vocabulary().org_concepts  # kinds of organisation (研究所, 人民政府) agree apart from trades
    for xs, ys in ((x.strong_industry - org, y.strong_industry - org), (x.strong_industry & org, y.strong_industry & org)):
        if xs and ys and not xs & ys:
            return "conflict"
    xc, yc = x.concepts - org, y.concepts - org
    if xc & yc or (not xc and not yc and x.concepts & y.concepts):  # 大学 ~ University: the kind is all
        return "same"
    return "differ" if xc and yc else "compatible"


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


def _organisational(rest: str) -> bool:
    """True when text is only descriptive words and names a kind or part of an organisation:
    人民政府 + 国有资产监督管理委员会, 中科院 + 计算所. Such a rest makes no short form."""
    core, terms = split_industry_zh(rest)
    if core or not terms:
        return False
    v = vocabulary()
    org = v.unit_concepts | v.place_bound_concepts
    return any(v.term_zh[t] in org for t in terms)


def _zh_pair(a: NameFeatures, b: NameFeatures, s: ResolveSettings) -> list[Evidence]:
    x, y = a.parts, b.parts
    out = []
    if x.base == y.base and len(x.base) >= 2:
        out.append(Evidence("name_base", s.name_base, f"same name without place: {x.base}"))
    (short, _), (long, long_f) = sorted(((x, a), (y, b)), key=lambda p: (len(p[0].base), p[0].base))
    if len(short.base) >= 3 and short.base != long.base:
        if long.base.startswith(short.base) and _organisational(long.base[len(short.base):]):
            pass  # 人民政府 is not a short form of 人民政府国有资产监督管理委员会
        elif long.base.startswith(short.base):
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


def _core_similarity(x: NameParts, y: NameParts, s: ResolveSettings) -> float:
    """How alike two Latin cores are, judged on the words they do not share: a shared word
    (cloud, research) makes names look alike, the distinctive word tells them apart (tencent
    cloud vs bytedance cloud). A short distinctive word must be equal (acm vs lam)."""
    if x.core == y.core:
        return 1.0
    shared = set(x.core_words) & set(y.core_words)
    rx = "".join(w for w in x.core_words if w not in shared)
    ry = "".join(w for w in y.core_words if w not in shared)
    if not (rx and ry):  # one core is the other plus words: compare them whole
        rx, ry = x.core, y.core
    if min(len(rx), len(ry)) < s.fuzzy_min_core:
        return 0.0
    return fuzz.ratio(rx, ry) / 100


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
        core_factor = _core_similarity(x, y, s)
    else:  # one is all generic words ("semiconductor manufacturing international"): weak evidence
        core_factor = 1.0 if x.core == y.core else s.one_core_factor
    ratio = fuzz.token_sort_ratio(tx, ty) / 100
    if ratio * core_factor >= 0.5:
        out.append(Evidence("fuzzy_name", round(ratio * weight * core_factor, 3),
                            f"token similarity {ratio:.2f} (cores {core_factor:.2f}): {tx} ~ {ty}"))
    if core_factor and min(len(tx), len(ty)) >= s.partial_min_length:
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


class NameMatch(NamedTuple):
    evidence: list[Evidence]  # capped values, reasons appended to the details
    cap: float  # the cap the contradictions between the names impose
    raw: float  # the best value before any cap: how alike the names look
    hard: tuple[str, ...]  # contradictions that make the pair two entities however alike the names


def _fmt(values: frozenset[str]) -> str:
    return "/".join(sorted(values)) or "none"


def _company_name(n: NameFeatures) -> bool:
    """A registered company's name (…股份有限公司, …有限公司), not a branch's (…分公司)."""
    text = n.text.strip()
    return n.parts.chinese and registered_name(text) and not clean_text(text).endswith(vocabulary().protected_zh)


def _listed_with_place(qualified: NameFeatures, other: NameFeatures) -> bool:
    """A company limited by shares whose registered name carries a place (天顺风能（苏州）股份有限公司)
    against a name with no legal form (天顺风能): the short name is the company's own, as an
    exchange lists it; a subsidiary would be named against its parent's registered name, which
    keeps the parent-or-subsidiary cap."""
    return joint_stock_name(qualified) and not registered_name(other.text.strip())


def _words_within(x: NameParts, y: NameParts) -> bool:
    """One Chinese name's words all stand, in order, in the other's (思进智能 in 思进智能成形装备,
    中钢国际 in 中钢国际工程技术, 陕西能源 in 陕西能源投资): its industry or generic words are the
    longer name's own, read as part of that name's core, so the two do not name different
    trades; the longer name only says more. Words that differ elsewhere (华新电子 vs 华新材料)
    still do."""
    if not (x.chinese and y.chinese) or len(x.base) == len(y.base):
        return False
    short, long = (x.base, y.base) if len(x.base) < len(y.base) else (y.base, x.base)
    return len(short) >= 3 and short in long


def _name_evidence(a: NameFeatures, b: NameFeatures, s: ResolveSettings, place_bound: bool = False) -> NameMatch:
    """Evidence for one pair of names, the cap that contradictions between them impose, and the
    contradictions that are hard (different numbers, a parent and its unit, a place-bound body
    of another place).

    place_bound: one of the records is a government, zone or university, whose names differ
    only in the place: only an exact name or a romanisation with the same place may merge them.
    """
    x, y = a.parts, b.parts
    if x.key == y.key:
        return NameMatch([Evidence("name_exact", s.name_exact, f"same normalised name: {x.key}")], 1.0, 1.0, ())
    if x.chinese and y.chinese:
        found = _zh_pair(a, b, s)
    elif not x.chinese and not y.chinese:
        found = _latin_pair(a, b, s)
    else:
        found = _cross_pair(a, y, s) if x.chinese else _cross_pair(b, x, s)
    if not found:
        return NameMatch([], 1.0, 0.0, ())
    raw = max(e.value for e in found)
    cap, why, hard = 1.0, [], []
    rel = _industry_relation(x, y)
    if rel == "differ" and _words_within(x, y):
        rel = "compatible"
    if rel in ("conflict", "differ"):
        cap = min(cap, s.industry_conflict_cap if rel == "conflict" else s.industry_differ_cap)
        why.append(f"industries {rel} ({_fmt(x.concepts)} vs {_fmt(y.concepts)})")
    if x.numbers != y.numbers:  # 基金 vs 基金二期, Fab 7 vs Fab 9
        hard.append(f"numbers differ ({_fmt(x.numbers)} vs {_fmt(y.numbers)})")
    # One name is the other plus a unit word (中国科学院 + 研究所): a parent and its unit. A unit
    # word in place of another kind (大学 -> 学院) is a change of kind, which the industry
    # relation already weighs.
    # A unit word inside a registered company name is no unit: 广州地铁设计研究院股份有限公司 is a
    # listed firm (its short name 地铁设计), not an institute of something else.
    if (x.units != y.units and (x.kinds < y.kinds or y.kinds < x.kinds)
            and not any(_company_name(n) for n, p in ((a, x), (b, y)) if p.units)):
        hard.append(f"a parent and its unit ({_fmt(x.kinds)} vs {_fmt(y.kinds)})")
    # Different places are a conflict, also when one contains the other: 江阴 is in 无锡, yet
    # 江阴市人民政府 is not the 无锡 government.
    if x.region and y.region and x.region != y.region:
        found = [e._replace(value=round(e.value * s.region_conflict_factor, 3)) for e in found]
        why.append(f"places conflict ({x.region} vs {y.region})")
    if place_bound:
        # A leading place is part of the name (西安电子科技大学, 江苏省工信厅 vs 工信部); a place after
        # the name proper only says where it is ("Tsinghua University, Beijing").
        lx, ly = (p.region if p.region != p.qualifier else None for p in (x, y))
        if (x.region and y.region and x.region != y.region) or lx != ly:
            hard.append(f"a government, zone or university of another place ({x.region or 'none'} vs "
                        f"{y.region or 'none'})")
        elif not any(e.feature in PLACE_BOUND_FEATURES for e in found):
            cap = min(cap, s.place_bound_cap)
            why.append("a government, zone or university: only an exact name merges")
        else:
            found = [e if e.feature in PLACE_BOUND_FEATURES else e._replace(value=min(e.value, s.place_bound_cap))
                     for e in found]
    if (bool(x.qualifier) != bool(y.qualifier) and not any(e.feature in SHORT_FORMS for e in found)
            and not _listed_with_place(a if x.qualifier else b, b if x.qualifier else a)):
        cap = min(cap, s.qualifier_cap)
        why.append(f"only one is qualified by a place ({x.qualifier or y.qualifier}): parent vs subsidiary?")
    if not x.core and not y.core and x.industry != y.industry and not _words_within(x, y):
        cap = min(cap, s.empty_core_cap)
        why.append("only generic words, and they differ")
    if hard:
        cap = min(cap, s.contradiction_cap)
    why += hard
    if why:
        found = [e._replace(value=min(e.value, cap), detail=f"{e.detail}; {'; '.join(why)}") for e in found]
    return NameMatch(found, cap, raw, tuple(hard))


def _context(a: RecordFeatures, b: RecordFeatures, s: ResolveSettings) -> list[Evidence]:
    out = []
    related = regions_related(a.city, b.city)
    if related is True and a.city == b.city:  # 江阴 lies in 无锡, but it is not the same city
        out.append(Evidence("city", s.city_agree, f"same city: {a.city}"))
    elif related is False:
        out.append(Evidence("city", s.city_conflict, f"cities differ: {a.city} vs {b.city}"))
    if a.sectors and b.sectors:
        shared = a.sectors & b.sectors
        if shared:
            out.append(Evidence("sectors", s.sector_overlap, f"shared sectors: {', '.join(sorted(shared))}"))
        else:
            out.append(Evidence("sectors", s.sector_disjoint, "no shared sector"))
    # A listed company is a company: sources that do not track listings say 'company'.
    if a.kind and b.kind and a.kind != b.kind and {a.kind, b.kind} != set(COMPANY_KINDS):
        out.append(Evidence("kind", s.kind_conflict, f"kinds differ: {a.kind} vs {b.kind}"))
    return out


def _best_name_evidence(a: RecordFeatures, b: RecordFeatures, s: ResolveSettings
                        ) -> tuple[list[Evidence], float, float, tuple[str, ...], float]:
    """The strongest instance of each name feature over all name pairs, the best value, its cap,
    the hard contradictions of the best pair when its names look alike (raw value at least
    unsure_threshold): then the records are two entities, not merely unlike; and the best value
    of two Latin names (the learned model never scores those: compare keeps their evidence)."""
    found: list[Evidence] = []
    best, best_cap, hard, latin = 0.0, 1.0, (), 0.0
    place_bound = a.place_bound or b.place_bound
    for na in a.names:
        for nb in b.names:
            match = _name_evidence(na, nb, s, place_bound)
            if match.evidence:
                top = max(e.value for e in match.evidence)
                if (top, match.cap) > (best, best_cap):
                    best, best_cap = top, match.cap
                    hard = match.hard if match.raw >= s.unsure_threshold else ()
                if not na.parts.chinese and not nb.parts.chinese:
                    latin = max(latin, top)
                found.extend(match.evidence)
    found.sort(key=lambda e: (-e.value, e.feature, e.detail))
    strongest: dict[str, Evidence] = {}
    for e in found:  # the strongest instance of each feature, for the explanation
        strongest.setdefault(e.feature, e)
    return list(strongest.values()), best, best_cap, hard, latin


def _local_unit(a: RecordFeatures, b: RecordFeatures) -> str | None:
    """a is qualified by places (SK hynix Wuxi, 华虹半导体(无锡)) and b, unqualified, is based in
    a city outside them: a is the local unit of the firm b names. None when b has no city or its
    city lies in a's place (盛合晶微半导体(江阴) and a 盛合晶微 based in 江阴)."""
    if not a.qualifiers or b.qualifiers or not b.city:
        return None
    if any(place_within(b.city, q) or regions_related(b.city, q) for q in a.qualifiers):
        return None  # based in the qualifier's place, or in the province around it (维峰电子(广东) in 广东)
    return f"{a.record_id} is the {'/'.join(sorted(a.qualifiers))} unit of a firm based in {b.city}"


def record_contradictions(a: RecordFeatures, b: RecordFeatures, s: ResolveSettings) -> list[Evidence]:
    """Contradictions between the records as wholes, each with the cap it imposes on names: a
    local unit and the firm it belongs to; two different registered Chinese names (two legal
    entities); an unlisted group and a listed company not named as one."""
    out = []
    why = _local_unit(a, b) or _local_unit(b, a)
    if why:
        out.append(Evidence("local_unit", s.contradiction_cap, why))
    if a.registered and b.registered and not a.registered & b.registered:
        out.append(Evidence("registered_names", s.contradiction_cap,
                            f"registered names differ: {_fmt(a.registered)} vs {_fmt(b.registered)}"))
    for g, other in ((a, b), (b, a)):
        if g.group_named and not g.listed and other.listed and not other.group_named:
            out.append(Evidence("group_vs_listed", s.contradiction_cap,
                                f"{g.record_id} is a group, {other.record_id} a listed company"))
            break
    return out


def in_model_domain(a: RecordFeatures, b: RecordFeatures) -> bool:
    """The learned model was trained on firms (listed companies against their names): it scores
    pairs of firms, or of records whose kind is not known, and nothing else (a university, an
    institute, a government or a zone keeps the hand-set evidence made for it)."""
    return (a.kind in MODEL_KINDS and b.kind in MODEL_KINDS and not a.place_bound and not b.place_bound)


MODEL_KINDS = (None, *COMPANY_KINDS)


@cache
def _model_feature(name: str) -> str:
    """'model:<feature>', one string object per feature for the millions of evidence rows."""
    return f"model:{name}"


def _learned(a: RecordFeatures, b: RecordFeatures, rule: float, evidence: list[Evidence], model: PairModel,
             s: ResolveSettings) -> tuple[float, list[Evidence]] | None:
    """The model's score for the pair and its evidence (the probability, then each feature's
    contribution), or None when the model does not score this kind of pair."""
    if not in_model_domain(a, b):
        return None
    x = pair_features(a, b, rule, evidence)
    kind = model.kind(x)
    if kind is None:
        return None
    p = model.probability(x)
    score = model.to_score(p, kind, s.same_threshold, s.unique_threshold, s.unsure_threshold)
    if score < s.keep_below:  # not kept at all: no explanation needed
        return score, [Evidence("model", round(score, 4), f"learned model: probability {p:.3f} ({kind} pair)")]
    parts = sorted(((c, f) for f, c in model.contributions(x).items() if abs(c) >= 0.005), key=lambda t: (-abs(t[0]), t[1]))
    top = ", ".join(f"{f} {c:+.2f}" for c, f in parts[:3])
    evidence = [Evidence("model", round(score, 4), f"learned model: probability {p:.3f} ({kind} pair); {top}")]
    evidence += [Evidence(_model_feature(f), round(c, 3), f"{f} = {x[f]:.2f} moves the log-odds by {c:+.2f}") for c, f in parts]
    return score, evidence


def _by_names(a: RecordFeatures, b: RecordFeatures, s: ResolveSettings):
    """The hand-set part: (equal normalised names, evidence, best name value, its cap, hard
    contradictions, context evidence, the hand-set score before record-level contradictions)."""
    same_names = sorted(a.name_keys & b.name_keys)
    contradictions: tuple[str, ...] = ()
    latin = 0.0
    if same_names:  # nothing can score higher: skip the other features
        evidence = [Evidence("name_exact", s.name_exact, f"same normalised name: {same_names[0]}")]
        best, best_cap = s.name_exact, 1.0
    else:
        evidence, best, best_cap, contradictions, latin = _best_name_evidence(a, b, s)
    context = _context(a, b, s) if best > 0 else []
    rule = max(0.0, min(best + sum(e.value for e in context), best_cap)) if best > 0 else 0.0
    latin_rule = max(0.0, min(latin + sum(e.value for e in context), best_cap)) if latin > 0 else 0.0
    return same_names, evidence, best, best_cap, contradictions, context, rule, latin_rule


def model_inputs(a: RecordFeatures, b: RecordFeatures, settings: ResolveSettings | None = None
                 ) -> dict[str, float] | None:
    """The learned model's features for a pair, exactly as compare() computes them; None for a
    pair compare() settles without the model (a shared code, equal normalised names). The
    training script reads pairs through this, so training and scoring never drift apart."""
    s = settings or ResolveSettings()
    if (a.strong_keys & b.strong_keys) and not any(c.startswith("credit") for c in key_conflicts(a.keys, b.keys)):
        return None
    same_names, evidence, *_, rule, _ = _by_names(a, b, s)
    return None if same_names or not in_model_domain(a, b) else pair_features(a, b, rule, evidence)


def compare(a: RecordFeatures, b: RecordFeatures, settings: ResolveSettings | None = None,
            model: PairModel | None | bool = True) -> Comparison:
    """Score a pair of prepared records. Shared strong keys give 1.0; conflicting codes cap it.

    Contradictions (different credit codes; for names that look alike, different numbers, a
    parent and its unit, a local unit, two registered names...) are returned as `conflicts`:
    the pair is then judged not the same, which also keeps a third record from joining them.

    Chinese-Chinese and cross-script pairs are scored by the learned model (the setting
    resolve_model; `model` True reads it, False or None scores by hand-set evidence only, as
    the model's own training does), which sees the hand-set score as one of its features; the
    caps of contradictions hold its score down too. A record with a code that failed its check
    is never merged on its names: its pairs go to review.
    """
    s = settings or ResolveSettings()
    conflicts = tuple(key_conflicts(a.keys, b.keys)) if a.strong_keys and b.strong_keys else ()
    hard = tuple(c for c in conflicts if c.startswith("credit"))
    shared = sorted(a.strong_keys & b.strong_keys)
    if shared and not hard:
        return Comparison(1.0, tuple(Evidence("shared_key", 1.0, f"both have {k}") for k in shared))
    same_names, evidence, best, best_cap, contradictions, context, rule, latin_rule = _by_names(a, b, s)
    pair_model = load_model(s.model) if model is True else (model or None)
    # Two different registered names are two legal entities (record_contradictions): the pair is
    # never judged the same, so the model, which could only say how alike the names look, is not
    # asked; the hand-set evidence decides whether they look alike enough to be kept apart
    # explicitly. Lists of registered names share many characters: this is most pairs of a run.
    two_entities = bool(a.registered and b.registered and not a.registered & b.registered)
    learned = (_learned(a, b, rule, evidence, pair_model, s)
               if pair_model is not None and not same_names and not two_entities else None)
    if max(best, learned[0] if learned else 0.0) >= s.unsure_threshold:
        against = record_contradictions(a, b, s)
        if against:
            best_cap = min(best_cap, s.contradiction_cap)
            note = "; ".join(e.detail for e in against)
            evidence = [e._replace(value=min(e.value, best_cap), detail=f"{e.detail}; {note}") for e in evidence]
            evidence += against
            contradictions += tuple(e.detail for e in against)
    score = min(best + sum(e.value for e in context), best_cap) if best > 0 else 0.0
    evidence += context
    if learned is not None:  # two Latin names of the pair keep their own evidence
        score = min(max(learned[0], latin_rule), best_cap)
        if contradictions:  # the reason a reviewer reads first names what held the pair down
            head = learned[1][0]
            learned[1][0] = head._replace(detail=f"{head.detail}; {'; '.join(contradictions)}")
        if learned[0] > best_cap:  # the hand-set caps hold the model down: never promoted as unique (cluster.one_to_one)
            evidence.append(Evidence("capped", best_cap, f"model score {learned[0]:.2f} held at {best_cap:.2f} by a contradiction"))
        evidence = learned[1] + evidence
    group = next((g for g, other in ((a, b), (b, a))
                  if g.group_named and not g.listed and not g.joint_stock and not other.group_named), None)
    if learned is not None and group is not None:  # 紫光集团 vs 紫光国微: a group and a firm sharing its brand
        evidence.append(Evidence("group_vs_firm", score, f"{group.record_id} is named as a group, the other is not: "
                                                         "merged only on a score above the same threshold, never as the only good match"))
    problems = _bad_input(a, b)
    if problems and score > s.unsure_threshold:
        score = s.unsure_threshold
        evidence.append(Evidence("bad_input", score, f"left for review, never merged on names alone: {problems[0]}"))
    if conflicts:
        cap = 0.0 if hard else s.stock_conflict_cap
        score = min(score, cap)
        evidence += [Evidence("code_conflict", cap, c) for c in conflicts]
    return Comparison(round(max(0.0, min(1.0, score)), 4), tuple(evidence), hard + contradictions)


def _bad_input(a: RecordFeatures, b: RecordFeatures) -> tuple[str, ...]:
    """The records' problems that hold the pair for review: all of them, but a refused code
    the other record carries too. Why: both then claim the same code, so their names are not
    all they agree on (a list and a registry copying one malformed code); a refused code on one
    side only, or a record with no usable name, is still never merged on names alone."""
    if not (a.keys.rejected and b.keys.rejected):
        return (*a.problems, *b.problems)
    shared = {refused_claim(v) for v, _ in a.keys.rejected} & {refused_claim(v) for v, _ in b.keys.rejected}
    answered = {code_problem(v, why) for f in (a, b) for v, why in f.keys.rejected if refused_claim(v) in shared}
    return tuple(p for p in (*a.problems, *b.problems) if p not in answered)


def compare_records(a: Mapping[str, Any], b: Mapping[str, Any],
                    settings: ResolveSettings | None = None) -> Comparison:
    """compare() for plain record dicts, for notebooks and one-off checks."""
    return compare(features(a, settings), features(b, settings), settings)

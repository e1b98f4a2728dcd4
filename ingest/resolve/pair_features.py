"""Comparison features of a pair of records: the inputs of the learned pairwise model.

Why these: the hand-set evidence of score.py knows exact forms (same core, a short name, an
acronym) and contradictions; what it cannot see is a Chinese name explained piece by piece by
an English one (力盛体育 = Lisheng + Sports, 东北制药 = Northeast + Pharmaceutical), a
romanisation that is not textbook pinyin (Tinci for 天赐), or how much of a full registered
name a short name keeps (威孚高科 in 无锡威孚高科技集团). Each feature is a number in [-1, 1],
the best over all name pairs of its kind; the model (ingest.resolve.model) weighs them.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import LCSseq

from ingest.normalize.glossary import translate, word_options
from ingest.normalize.names import NameParts
from ingest.normalize.pinyin import pinyin_initials, pinyin_variants, sound_key
from ingest.normalize.vocab import vocabulary
from ingest.resolve.features import NameFeatures, RecordFeatures, regions_related
from kg.run_cache import run_cache

__all__ = ["FEATURES", "pair_features"]

FEATURES = (
    "rule",  # the hand-set score of score.py (evidence, caps and context)
    "r_short",  # hand-set evidence: a short form (prefix, contraction, name without place, abbreviation)
    "r_core",  # hand-set evidence: the same distinctive core
    "r_pinyin",  # hand-set evidence: the pinyin of a Chinese name or core equals a Latin one
    "r_acronym",  # hand-set evidence: an acronym or pinyin initials
    "r_fuzzy",  # hand-set evidence: edit or substring similarity
    "cross",  # a Chinese and a Latin name were compared
    "zh_pair",  # two Chinese names were compared
    "x_cover_zh",  # share of the Chinese base the Latin words explain (pinyin, sound, glossary)
    "x_cover_en",  # share of the Latin core words that explain part of the Chinese base
    "x_lead",  # the Chinese base's first two characters are spelt by one Latin word (the brand)
    "x_pinyin_fuzzy",  # best similarity of the Chinese core's pinyin (or its first two characters') to a Latin word run
    "x_trans",  # best character F1 of a glossary translation of the Latin name and the Chinese base
    "x_initials",  # a Latin acronym equals the pinyin initials of the Chinese core or base
    "z_prefix",  # the shorter Chinese base starts the longer
    "z_inorder",  # share of the shorter base's characters found in order in the longer
    "z_lead",  # the shorter base's first two characters occur in the longer
    "z_jaccard",  # character Jaccard of the two bases
    "z_short2",  # the shorter base has two characters or fewer (many firms share one)
    "place",  # +1 places agree (a city inside the other's province), -1 they differ, 0 unknown
    "industry",  # +1 the names' industry words agree, -1 they conflict, 0 otherwise
)
MAX_SPAN = 4  # Chinese characters one Latin word may spell
# Which hand-set evidence (score.py features) feeds which r_ feature, at its (capped) value.
RULE_GROUPS = {"short_name": "r_short", "abbreviation": "r_short", "name_base": "r_short", "core_match": "r_core",
               "pinyin_name": "r_pinyin", "pinyin_core": "r_pinyin", "acronym": "r_acronym",
               "pinyin_initials": "r_acronym", "fuzzy_name": "r_fuzzy", "partial_name": "r_fuzzy"}


def _lcs(a: str, b: str) -> int:
    """Length of the longest common subsequence (rapidfuzz's, in C)."""
    return LCSseq.similarity(a, b) if a and b else 0


@run_cache(maxsize=100_000)
def _spellings(z: str) -> tuple[dict[str, list[tuple[int, int]]], dict[str, list[tuple[int, int]]]]:
    """Where each spelling of a Chinese base stands: pinyin spelling -> (start, end) of the runs
    of 1..MAX_SPAN characters spelt so, and sound key -> runs of two characters or more."""
    spelt: dict[str, list[tuple[int, int]]] = {}
    sounds: dict[str, list[tuple[int, int]]] = {}
    for i in range(len(z)):
        for j in range(i + 1, min(len(z), i + MAX_SPAN) + 1):
            for v in pinyin_variants(z[i:j]):
                spelt.setdefault(v, []).append((i, j))
                if j - i >= 2:
                    sounds.setdefault(sound_key(v), []).append((i, j))
    return spelt, sounds


@run_cache(maxsize=200_000)
def _cover(z: str, words: tuple[str, ...], core: tuple[str, ...]) -> tuple[float, float, float]:
    """(share of z's characters explained, share of the core words that explain something,
    1 if z's first two characters are spelt by one word). A word explains a run of z when it
    is a pinyin spelling of the run, sounds like one (sound_key, runs of two characters or
    more), or the glossary translates it into the run."""
    if not z or not words:
        return 0.0, 0.0, 0.0
    covered = [False] * len(z)
    used: set[str] = set()
    lead = 0.0
    spelt, sounds = _spellings(z)
    for phrase, options in word_options(words):
        for option in options:
            start = z.find(option)
            if start >= 0:
                covered[start:start + len(option)] = [True] * len(option)
                used.update(phrase)
    runs = {(w,): w for w in words} | {(a, b): a + b for a, b in zip(words, words[1:], strict=False)}
    for parts, w in runs.items():
        spans = spelt.get(w, []) + (sounds.get(sound_key(w), []) if len(w) >= 4 else [])
        for i, j in spans:
            covered[i:j] = [True] * (j - i)
            used.update(parts)
            if i == 0 and j >= 2:
                lead = 1.0
    share_zh = sum(covered) / len(z)
    share_en = sum(1 for w in core if w in used) / len(core) if core else 0.0
    return share_zh, share_en, lead


def _cross(z: NameFeatures, latin: NameParts) -> dict[str, float]:
    x = z.parts
    words = latin.base_words or latin.core_words
    share_zh, share_en, lead = _cover(x.base, words, latin.core_words)
    runs = set(latin.core_words) | {a + b for a, b in zip(latin.core_words, latin.core_words[1:], strict=False)}
    runs |= {latin.core} if latin.core else set()
    spellings = z.pinyin_core | (pinyin_variants(x.core[:2]) if len(x.core) >= 3 else frozenset())
    # Romanisations keep the first letter (Tinci, Hicin, VanJee aside): comparing only spellings
    # that share it costs a tenth and loses almost nothing.
    fuzzy = 1.0 if spellings & runs else max((fuzz.ratio(s, r) / 100 for s in spellings for r in runs
                                               if r and s[:1] == r[:1]), default=0.0)
    trans = 0.0
    for t in translate(words) | translate(latin.core_words):
        common = _lcs(t, x.base)
        if common:
            trans = max(trans, 2 * common / (len(t) + len(x.base)))
    initials = float(3 <= len(latin.core) <= 6 and len(latin.core_words) <= 2
                     and latin.core in {pinyin_initials(t) for t in (x.core, x.base) if t})
    return {"x_cover_zh": share_zh, "x_cover_en": share_en, "x_lead": lead, "x_pinyin_fuzzy": fuzzy,
            "x_trans": trans, "x_initials": initials}


def _zh(a: NameFeatures, b: NameFeatures) -> dict[str, float]:
    """Chinese-Chinese features; the longer name is also read with its leading place abbreviated
    as short names write it (深圳中华自行车 as 深中华自行车, against 深中华A)."""
    (short, _), (long, long_f) = sorted(((a.parts.base, a), (b.parts.base, b)), key=lambda t: (len(t[0]), t[0]))
    if not short:
        return {}
    forms = [long] + [v for v in long_f.variants if v[:1] in _abbreviations() and v[:1] != long[:1] and len(v) > len(short)]
    best: dict[str, float] = {}
    for form in forms:
        union = set(short) | set(form)
        values = {"z_prefix": float(form.startswith(short)), "z_inorder": _lcs(short, form) / len(short),
                  "z_lead": float(len(short) >= 2 and short[:2] in form),
                  "z_jaccard": len(set(short) & set(form)) / len(union) if union else 0.0,
                  "z_short2": float(len(short) <= 2)}
        if not best or _strength(values) > _strength(best):
            best = values
    return best


@lru_cache(maxsize=1)
def _abbreviations() -> frozenset[str]:
    return frozenset(r.abbr for r in vocabulary().abbreviated_regions if r.abbr)


def _industry(a: NameParts, b: NameParts) -> float:
    if a.strong_industry and b.strong_industry and not a.strong_industry & b.strong_industry:
        return -1.0
    return 1.0 if a.industry & b.industry else 0.0


def _places(f: RecordFeatures) -> set[str]:
    out = {n.parts.region for n in f.names if n.parts.region}
    return out | ({f.city} if f.city else set())


def _strength(values: dict[str, float]) -> float:
    """How much a name pair's features say, to pick one name pair per kind: features of two
    different name pairs (a long one in order, a short one of two characters) never mix."""
    return sum(v for k, v in values.items() if k != "z_short2") - values.get("z_short2", 0.0)


def pair_features(a: RecordFeatures, b: RecordFeatures, rule: float,
                  evidence: Iterable[tuple[str, float, str]] = ()) -> dict[str, float]:
    """The model's inputs for one pair of prepared records (FEATURES, all present): the
    hand-set score and its evidence (score.py), and for each kind of name pair (Chinese-Chinese,
    Chinese-Latin) the features of its strongest pair."""
    out = dict.fromkeys(FEATURES, 0.0)
    out["rule"] = rule
    for feature, value, _ in evidence:
        group = RULE_GROUPS.get(feature)
        if group:
            out[group] = max(out[group], value)
    best: dict[str, dict[str, float]] = {}
    industry: float | None = None
    for na in a.names:
        for nb in b.names:
            x, y = na.parts, nb.parts
            if x.chinese and y.chinese:
                kind, values = "zh_pair", _zh(na, nb)
            elif x.chinese != y.chinese:
                z, latin = (na, y) if x.chinese else (nb, x)
                kind, values = "cross", _cross(z, latin)
            else:
                continue
            out[kind] = 1.0
            if kind not in best or _strength(values) > _strength(best[kind]):
                best[kind] = values
            rel = _industry(x, y)
            industry = rel if industry is None else max(industry, rel)
    for values in best.values():
        out.update(values)
    out["industry"] = industry or 0.0
    related = [regions_related(p, q) for p in _places(a) for q in _places(b)]
    out["place"] = 1.0 if any(r is True for r in related) else -1.0 if related and all(r is False for r in related) else 0.0
    return out

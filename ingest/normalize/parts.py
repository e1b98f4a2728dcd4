"""Taking an organisation name apart: place, distinctive core, industry words, acronyms.

Why: what tells firms apart is the core (长电, tongfu); places and industry words only confirm
or contradict (华润微电子 vs 华润电力 share a core but not an industry). Some of what is
stripped still tells entities apart, so it is kept beside the core: the place, the kinds of
organisation named (人民政府, 研究所: org_terms.yaml), the numbers (二期, Fab 7: numbers.yaml)
and a group word (集团). The lists behind it are regions.yaml, industry_terms.yaml,
org_terms.yaml and numbers.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ingest.normalize.legal import (
    BRACKET_RE,
    STOPWORDS,
    drop_boilerplate_brackets,
    is_chinese,
    joined_word,
    legal_stripped_tokens,
    normalize_org_name,
    raw_tokens,
    strip_legal_tokens,
    tokenize,
)
from ingest.normalize.vocab import clean_text, latin_words, vocabulary
from kg.run_cache import run_cache

__all__ = ["NameParts", "acronyms", "name_numbers", "parse_name", "split_industry_zh", "split_region_zh",
           "split_trailing_region_zh"]

_ADMIN_SUFFIX = ("省", "市")
MIN_CORE_ZH = 2  # a Chinese core of one character (华, 新) names nothing in particular


def _region_of_text(text: str):
    """The region a bracket qualifier or a city cell names (上海, 上海市, 惠山区, Shanghai), if any."""
    text = text.strip()
    return _region_zh(text) or vocabulary().region_by_latin.get(tuple(latin_words(text)))


def _region_zh(text: str):
    """The region a Chinese place name names, with its administrative word or without (无锡市, 惠山区)."""
    v = vocabulary()
    r = v.region_by_zh.get(text)
    if r is None and len(text) > 2:
        r = v.region_by_zh.get(text[:-1])
        if r is not None and text[-1] not in _ADMIN_SUFFIX and text[-1] != r.suffix:
            r = None
    return r


def _after_place(rest: str, r) -> str:
    """The text after a leading place name, without the administrative word that may follow it."""
    if rest[:1] in _ADMIN_SUFFIX or (r.suffix and rest.startswith(r.suffix)):
        return rest[1:]
    return rest


def split_region_zh(key: str) -> tuple[str | None, str]:
    """Strip leading places (江苏无锡…), but only if something distinctive is left.

    The region is the innermost place: 无锡市惠山区… is in Huishan, not merely in Wuxi.
    """
    v = vocabulary()
    region = None
    for _ in range(2):
        for size in (3, 2):
            head = key[:size]
            r = v.region_by_zh.get(head)
            if r is None:
                continue
            rest = _after_place(key[size:], r)
            if len(split_industry_zh(rest)[0]) >= MIN_CORE_ZH:
                region, key = r.id, rest
                break
        else:
            break
    return region, key


def split_trailing_region_zh(base: str) -> tuple[str | None, str]:
    """A place after the name proper (英飞凌无锡, 三星西安): the local unit of a firm, like a
    bracketed place. Only when a distinctive core is left, and never a boilerplate word (中国)."""
    v = vocabulary()
    for size in (4, 3, 2):
        if len(base) <= size:
            continue
        r = _region_zh(base[-size:])
        if r is None or r.zh in v.boilerplate or r.id in v.boilerplate:
            continue
        rest = base[:-size]
        if len(split_industry_zh(rest)[0]) >= MIN_CORE_ZH:
            return r.id, rest
    return None, base


def split_industry_zh(text: str) -> tuple[str, list[str]]:
    """Peel industry terms off the end: 华润微电子 -> (华润, [微电子]); 银行 -> ("", [银行])."""
    v = vocabulary()
    terms: list[str] = []
    longest = _longest_term_zh()
    while text:
        for size in range(min(longest, len(text)), 0, -1):
            if text[-size:] in v.term_zh:
                terms.insert(0, text[-size:])
                text = text[:-size]
                break
        else:
            break
    return text, terms


@lru_cache(maxsize=1)
def _longest_term_zh() -> int:
    return max(map(len, vocabulary().term_zh), default=1)


@lru_cache(maxsize=4096)
def _industry(concepts: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(direct concepts, closure, non-weak part of the closure) for a tuple of concept ids."""
    v = vocabulary()
    closure = frozenset(c for cid in concepts for c in v.concepts[cid].closure)
    return frozenset(concepts), closure, frozenset(c for c in closure if not v.concepts[c].weak)


_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_NUMERAL = "".join(_ZH_DIGITS) + "".join(_ZH_UNITS)
_ZH_NUMERAL_SET = frozenset(_ZH_NUMERAL)
_DIGITS = re.compile(r"\d+")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}


def _zh_int(s: str) -> int:
    """五十八 -> 58, 二 -> 2, 十二 -> 12; digit by digit when there is no 十/百/千 (一零 -> 10)."""
    if not any(ch in _ZH_UNITS for ch in s):
        return int("".join(str(_ZH_DIGITS[ch]) for ch in s))
    total = current = 0
    for ch in s:
        if ch in _ZH_DIGITS:
            current = _ZH_DIGITS[ch]
        else:
            total += (current or 1) * _ZH_UNITS[ch]
            current = 0
    return total + current


@lru_cache(maxsize=1)
def _zh_number_re() -> re.Pattern[str]:
    n = vocabulary().numbers
    assert n is not None
    prefix = "|".join(map(re.escape, n.zh_ordinal_prefix))
    counters = "|".join(map(re.escape, n.zh_counters))
    return re.compile(f"(?:{prefix})([{_ZH_NUMERAL}]+)|([{_ZH_NUMERAL}]+)(?={counters})")


def name_numbers(text: str, words: list[str] | None = None) -> frozenset[str]:
    """The numbers in a cleaned name (numbers.yaml): digits, Chinese numerals before a counter
    or after 第, Roman numerals and ordinal words. 二期 and Phase II both give '2'.
    `words`: latin_words(text), when the caller has them."""
    n = vocabulary().numbers
    assert n is not None
    out = {str(int(d)) for d in _DIGITS.findall(text)} if any(ch.isdigit() for ch in text) else set()
    if not _ZH_NUMERAL_SET.isdisjoint(text):
        for m in _zh_number_re().finditer(text):
            out.add(str(_zh_int(m.group(1) or m.group(2))))
    if words is None:
        words = latin_words(text)
    for i, w in enumerate(words):
        if w in n.en_ordinals:
            out.add(str(n.en_ordinals[w]))
        elif w in _ROMAN and (len(w) > 1 or (i > 0 and words[i - 1] in n.en_series_words)):
            out.add(str(_ROMAN[w]))
    return frozenset(out)


@dataclass(frozen=True)
class NameParts:
    """A name taken apart: what identifies it (core) and what only describes it."""

    key: str  # normalize_org_name
    chinese: bool
    region: str | None  # region id from a leading place, a qualifier or a Latin place word
    qualifier: str | None  # a place after the name proper: 华虹半导体(无锡), "TSMC Nanjing"
    base: str  # the key without its place names
    core: str  # the base without industry words: 长电, tongfu; may be empty (江苏银行)
    concepts: frozenset[str]  # industry concept ids the words name directly (微电子: microelectronics)
    industry: frozenset[str]  # the same closed over "broader" (adds electronics, semiconductor)
    strong_industry: frozenset[str]  # the non-weak ones: these can conflict
    tokens: tuple[str, ...]  # Chinese: place, core, industry terms; Latin: the words
    acronyms: frozenset[str]  # Latin names: initials of their words (smic, tsmc)
    numbers: frozenset[str] = frozenset()  # 二期, Phase II, Fab 7, 第五十八: see numbers.yaml
    kinds: frozenset[str] = frozenset()  # kinds of organisation named anywhere: 科学院 and 研究所 in 中国科学院…研究所
    units: frozenset[str] = frozenset()  # the kinds that are parts of a parent (institute, branch, plant)
    place_bound: bool = False  # names a government, zone or university: its place is its identity
    group: bool = False  # names a group (集团, Group), which legal-form stripping hides
    core_words: tuple[str, ...] = ()  # the words of the core (Latin: acm; tencent, cloud)
    base_words: tuple[str, ...] = ()  # Latin: the words of the base (no places, no stop words)


@run_cache(maxsize=200_000)
def parse_name(s: str) -> NameParts:
    """Split a name into place, core and industry.

    A place in brackets, or a Latin place word after the name proper, is a qualifier: it
    usually marks a subsidiary (华虹半导体(无锡)有限公司), which scoring keeps apart from the
    unqualified parent.

    >>> p = parse_name("江苏长电科技股份有限公司")
    >>> (p.region, p.core, sorted(p.industry))
    ('jiangsu', '长电', ['technology'])
    """
    key = normalize_org_name(s)
    cleaned = clean_text(s)
    extra = _extras(cleaned)
    text = drop_boilerplate_brackets(cleaned)
    qualifier = None
    for m in BRACKET_RE.finditer(text):
        r = _region_of_text(m.group(1))
        if r is not None:
            qualifier = qualifier or r.id
            text = text.replace(m.group(0), " ")
    tokens = strip_legal_tokens(tokenize(text)) if qualifier else list(legal_stripped_tokens(s))
    if is_chinese(key):
        return _parse_zh(key, "".join(joined_word(t) for t in tokens), qualifier, extra)
    return _parse_latin(key, [joined_word(t) for t in tokens], qualifier, acronyms(s), extra)


_LATIN = re.compile(r"[a-z0-9]")


def _extras(cleaned: str) -> tuple[frozenset[str], bool]:
    """What legal-form stripping would hide: numbers and whether the name is a group's."""
    v = vocabulary()
    words = latin_words(cleaned) if cleaned.isascii() or _LATIN.search(cleaned) else []
    group = any(g in words if g.isascii() else g in cleaned for g in v.group_words)
    return name_numbers(cleaned, words), group


def _parse_zh(key: str, joined: str, qualifier: str | None, extra: tuple[frozenset[str], bool]) -> NameParts:
    v = vocabulary()
    region, base = split_region_zh(joined)
    head = joined[: len(joined) - len(base)]
    trailing, rest = split_trailing_region_zh(base)
    if trailing:  # 英飞凌无锡: the Wuxi unit of 英飞凌, like 英飞凌(无锡)
        qualifier, base = qualifier or trailing, rest
    core, terms = split_industry_zh(base)
    place = _region_zh(core) if core else None
    if place is not None:  # 江苏银行, 江苏省人民政府: the place was all there was besides the terms
        region, head, core = place.id, head + core, ""
    seg = tuple(t for t in (head, core, *terms) if t)
    return _parts(key, True, region or qualifier, qualifier, base, core, [v.term_zh[t] for t in terms], seg,
                  frozenset(), extra)


def _parse_latin(key: str, words: list[str], qualifier: str | None, acr: frozenset[str],
                 extra: tuple[frozenset[str], bool]) -> NameParts:
    v = vocabulary()
    concepts, region, core_words, base_words = [], None, [], []
    i = 0
    while i < len(words):
        for n in (4, 3, 2, 1):
            phrase = tuple(words[i:i + n])
            if len(phrase) < n:
                continue
            if phrase in v.term_en:
                concepts.append(v.term_en[phrase])
                base_words += phrase
                break
            place = v.region_by_latin.get(phrase)
            if place is None and n == 2:  # "Zhe Jiang", "Shen Zhen": a place spelt in syllables
                place = v.region_by_latin.get(("".join(phrase),))
            if place is not None:
                region = region or place.id
                if core_words:  # "TSMC Nanjing": a place after the name proper
                    qualifier = qualifier or place.id
                break
        else:
            n = 1
            base_words.append(words[i])
            if words[i] not in STOPWORDS:
                core_words.append(words[i])
        i += n
    base = "".join(w for w in base_words if w not in STOPWORDS)
    return _parts(key, False, region or qualifier, qualifier, base, "".join(core_words), concepts,
                  tuple(words), acr, extra, tuple(core_words), tuple(w for w in base_words if w not in STOPWORDS))


@lru_cache(maxsize=1)
def _org_terms_zh() -> tuple[re.Pattern[str], dict[str, str]]:
    """Chinese words for kinds of organisation of two characters or more, longest first."""
    v = vocabulary()
    terms = {t: c for t, c in v.term_zh.items() if c in v.org_concepts and len(t) >= 2}
    ordered = sorted(terms, key=lambda t: (-len(t), t))
    return re.compile("|".join(map(re.escape, ordered)) or "(?!)"), terms


def _kinds_zh(text: str) -> set[str]:
    """Kinds of organisation named anywhere in a Chinese name, longest word first at each place:
    江南大学物联网工程学院 names a university and a college, 中国科学院 an academy (not a 学院)."""
    pattern, concept = _org_terms_zh()
    return {concept[m.group(0)] for m in pattern.finditer(text)}


def _parts(key, chinese, region, qualifier, base, core, concepts, tokens, acr, extra, core_words=(),
           base_words=()) -> NameParts:
    v = vocabulary()
    direct, closure, strong = _industry(tuple(concepts))
    numbers, group = extra
    kinds = frozenset((direct & v.org_concepts) | (_kinds_zh(key) if chinese else set()))
    return NameParts(key, chinese, region, qualifier, base, core, direct, closure, strong, tokens, acr, numbers,
                     kinds, kinds & v.unit_concepts, bool(direct & v.place_bound_concepts), group,
                     core_words or ((core,) if core else ()), base_words)


def acronyms(s: str) -> frozenset[str]:
    """Initials of a Latin name, with and without its legal-form words, three letters or more.

    SMIC is the initials of "Semiconductor Manufacturing International Corp" (legal form
    included), JCET of "Jiangsu Changjiang Electronics Technology" (legal form excluded), so
    both readings are kept; hyphenated words count once and, in a second reading, per part.
    """
    if is_chinese(s):
        return frozenset()
    v = vocabulary()
    raw = [t for t in raw_tokens(s) if joined_word(t) not in STOPWORDS]
    if len(raw) < 2:
        return frozenset()
    words = [joined_word(t) for t in raw]
    whole = [t[0] for t in raw]
    parts = ["".join(p[0] for p in re.split(r"[-'’]", t) if p) if t != w else t[0] for t, w in zip(raw, words,
                                                                                               strict=True)]
    legal = [w in v.legal_single_words for w in words]
    keep = [i for i, is_legal in enumerate(legal) if not is_legal]
    ends = [len(raw)]
    # Drop trailing legal words one at a time: TSMC keeps "Company" but not "Limited".
    while ends[-1] > 1 and (legal[ends[-1] - 1] or words[ends[-1] - 1] in v.boilerplate):
        ends.append(ends[-1] - 1)
    out = set()
    for letters in (whole, parts):
        out.update("".join(letters[:end]) for end in ends if end >= 2)
        if len(keep) >= 2:
            out.add("".join(letters[i] for i in keep))
    return frozenset(a for a in out if len(a) >= 3)

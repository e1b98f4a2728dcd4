"""Taking an organisation name apart: place, distinctive core, industry words, acronyms.

Why: what tells firms apart is the core (长电, tongfu); places and industry words only confirm
or contradict (华润微电子 vs 华润电力 share a core but not an industry). The lists behind it
are regions.yaml and industry_terms.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ingest.normalize.legal import (
    _BRACKET_RE,
    STOPWORDS,
    _drop_boilerplate_brackets,
    _legal_stripped_tokens,
    _strip_legal_tokens,
    _word,
    is_chinese,
    normalize_org_name,
    raw_tokens,
    tokenize,
)
from ingest.normalize.vocab import clean_text, latin_words, vocabulary

__all__ = ["NameParts", "acronyms", "parse_name", "split_industry_zh", "split_region_zh"]

_ADMIN_SUFFIX = ("省", "市")
MIN_CORE_ZH = 2  # a Chinese core of one character (华, 新) names nothing in particular


def _region_of_text(text: str):
    """The region a bracket qualifier or a city cell names (上海, 上海市, Shanghai), if any."""
    v = vocabulary()
    text = text.strip()
    for suffix in _ADMIN_SUFFIX:
        if text.endswith(suffix) and text[:-1] in v.region_by_zh:
            text = text[:-1]
    return v.region_by_zh.get(text) or v.region_by_latin.get(tuple(latin_words(text)))


def split_region_zh(key: str) -> tuple[str | None, str]:
    """Strip leading places (江苏无锡…), but only if something distinctive is left."""
    v = vocabulary()
    region = None
    for _ in range(2):
        for size in (3, 2):
            head = key[:size]
            r = v.region_by_zh.get(head)
            if r is None:
                continue
            rest = key[size:]
            if rest[:1] in _ADMIN_SUFFIX:
                rest = rest[1:]
            if len(split_industry_zh(rest)[0]) >= MIN_CORE_ZH:
                region, key = region or r.id, rest
                break
        else:
            break
    return region, key


def split_industry_zh(text: str) -> tuple[str, list[str]]:
    """Peel industry terms off the end: 华润微电子 -> (华润, [微电子]); 银行 -> ("", [银行])."""
    v = vocabulary()
    terms: list[str] = []
    while text:
        for size in range(min(6, len(text)), 0, -1):
            if text[-size:] in v.industry_zh:
                terms.insert(0, text[-size:])
                text = text[:-size]
                break
        else:
            break
    return text, terms


@lru_cache(maxsize=4096)
def _industry(concepts: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(direct concepts, closure, non-weak part of the closure) for a tuple of concept ids."""
    v = vocabulary()
    closure = frozenset(c for cid in concepts for c in v.concepts[cid].closure)
    return frozenset(concepts), closure, frozenset(c for c in closure if not v.concepts[c].weak)


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


@lru_cache(maxsize=200_000)
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
    text = _drop_boilerplate_brackets(clean_text(s))
    qualifier = None
    for m in _BRACKET_RE.finditer(text):
        r = _region_of_text(m.group(1))
        if r is not None:
            qualifier = qualifier or r.id
            text = text.replace(m.group(0), " ")
    tokens = _strip_legal_tokens(tokenize(text)) if qualifier else list(_legal_stripped_tokens(s))
    if is_chinese(key):
        return _parse_zh(key, "".join(_word(t) for t in tokens), qualifier)
    return _parse_latin(key, [_word(t) for t in tokens], qualifier, acronyms(s))


def _parse_zh(key: str, joined: str, qualifier: str | None) -> NameParts:
    v = vocabulary()
    region, base = split_region_zh(joined)
    head = joined[: len(joined) - len(base)]
    core, terms = split_industry_zh(base)
    if core in v.region_by_zh:  # 江苏银行: the place was all there was besides the industry
        region, head, core = region or v.region_by_zh[core].id, head + core, ""
    seg = tuple(t for t in (head, core, *terms) if t)
    return _parts(key, True, region or qualifier, qualifier, base, core, [v.industry_zh[t] for t in terms], seg,
                  frozenset())


def _parse_latin(key: str, words: list[str], qualifier: str | None, acr: frozenset[str]) -> NameParts:
    v = vocabulary()
    concepts, region, core_words, base_words = [], None, [], []
    i = 0
    while i < len(words):
        for n in (4, 3, 2, 1):
            phrase = tuple(words[i:i + n])
            if len(phrase) < n:
                continue
            if phrase in v.industry_en:
                concepts.append(v.industry_en[phrase])
                base_words += phrase
                break
            if phrase in v.region_by_latin:
                region = region or v.region_by_latin[phrase].id
                if core_words:  # "TSMC Nanjing": a place after the name proper
                    qualifier = qualifier or v.region_by_latin[phrase].id
                break
        else:
            n = 1
            base_words.append(words[i])
            if words[i] not in STOPWORDS:
                core_words.append(words[i])
        i += n
    base = "".join(w for w in base_words if w not in STOPWORDS)
    return _parts(key, False, region or qualifier, qualifier, base, "".join(core_words), concepts,
                  tuple(words), acr)


def _parts(key, chinese, region, qualifier, base, core, concepts, tokens, acr) -> NameParts:
    direct, closure, strong = _industry(tuple(concepts))
    return NameParts(key, chinese, region, qualifier, base, core, direct, closure, strong, tokens, acr)


def acronyms(s: str) -> frozenset[str]:
    """Initials of a Latin name, with and without its legal-form words, three letters or more.

    SMIC is the initials of "Semiconductor Manufacturing International Corp" (legal form
    included), JCET of "Jiangsu Changjiang Electronics Technology" (legal form excluded), so
    both readings are kept; hyphenated words count once and, in a second reading, per part.
    """
    if is_chinese(s):
        return frozenset()
    v = vocabulary()
    raw = [t for t in raw_tokens(s) if _word(t) not in STOPWORDS]
    if len(raw) < 2:
        return frozenset()
    words = [_word(t) for t in raw]
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

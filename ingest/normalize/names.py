"""Organisation names turned into matching keys and parts, in Chinese and Latin script.

Why all the stripping: sources write one firm as 江苏长电科技股份有限公司, 长电科技, 長電科技 and
"JCET Group Co., Ltd."; what tells firms apart is the distinctive core (长电, jcet), while
legal forms, regions and industry words only confirm or contradict. The word lists are data
(legal_forms.yaml, regions.yaml, industry_terms.yaml, short_forms.yaml), loaded by vocab.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ingest.normalize.pinyin import pinyin_initials, pinyin_key, pinyin_variants
from ingest.normalize.vocab import clean_text, latin_words, vocabulary

__all__ = ["NameParts", "acronyms", "is_chinese", "name_tokens", "normalize_org_name", "parse_name",
           "pinyin_initials", "pinyin_key", "pinyin_variants", "short_name_variants",
           "strip_legal_forms", "strip_region_prefix"]

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{_HAN}]")
# A token is a run of Han characters or a run of other letters/digits (any script, so Korean
# or Japanese names survive); hyphens and apostrophes inside a Latin word keep it whole.
_TOKEN_RE = re.compile(f"[{_HAN}]+|(?:[^\\W_{_HAN}]|['’\\-](?=[^\\W_{_HAN}]))+")
_BRACKET_RE = re.compile(r"\(([^()]*)\)")
_ADMIN_SUFFIX = ("省", "市")
STOPWORDS = frozenset({"of", "and", "the", "for", "de", "&"})
MIN_CORE_ZH = 2  # a Chinese core of one character (华, 新) names nothing in particular


def is_chinese(s: str) -> bool:
    """True when the name contains Han characters (SK海力士 counts: it is written for Chinese readers)."""
    return bool(_HAN_RE.search(s or ""))


def _word(token: str) -> str:
    return re.sub(r"['’\-]", "", token)


def _region_of_text(text: str):
    """The region a bracket qualifier or a city cell names (上海, 上海市, Shanghai), if any."""
    v = vocabulary()
    text = text.strip()
    for suffix in _ADMIN_SUFFIX:
        if text.endswith(suffix) and text[:-1] in v.region_by_zh:
            text = text[:-1]
    return v.region_by_zh.get(text) or v.region_by_latin.get(tuple(latin_words(text)))


def _drop_boilerplate_brackets(text: str) -> str:
    v = vocabulary()
    return _BRACKET_RE.sub(lambda m: " " if m.group(1).strip() in v.boilerplate else m.group(0), text)


def _strip_legal_tokens_once(tokens: list[str]) -> list[str]:
    """Remove one legal-form suffix from the end, if there is one; never the whole name."""
    v = vocabulary()
    if not tokens:
        return tokens
    last = tokens[-1]
    if _HAN_RE.match(last):
        if any(last.endswith(p) for p in v.protected_zh):
            return tokens
        for suffix in v.legal_zh:
            if last.endswith(suffix) and (len(last) > len(suffix) or len(tokens) > 1):
                rest = last[: -len(suffix)]
                return [*tokens[:-1], rest] if rest else tokens[:-1]
        return tokens
    words = tuple(_word(t) for t in tokens)
    for form in v.legal_en:
        if len(words) > len(form) and words[-len(form):] == form:
            return tokens[: -len(form)]
    # "Inc. China": a boilerplate qualifier right after a legal form goes with it.
    if len(words) > 2 and words[-1] in v.boilerplate and any(
            len(words) > len(f) + 1 and words[-1 - len(f):-1] == f for f in v.legal_en):
        return tokens[:-1]
    return tokens


def _strip_legal_tokens(tokens: list[str]) -> list[str]:
    while (shorter := _strip_legal_tokens_once(tokens)) != tokens:
        tokens = shorter
    return tokens


@lru_cache(maxsize=200_000)
def _legal_stripped_tokens(s: str) -> tuple[str, ...]:
    text = _drop_boilerplate_brackets(clean_text(s))
    return tuple(_strip_legal_tokens(_TOKEN_RE.findall(text)))


def strip_legal_forms(s: str) -> str:
    """The cleaned name without legal-form suffixes, words separated by single spaces."""
    return " ".join(_legal_stripped_tokens(s))


def normalize_org_name(s: str) -> str:
    """The matching key: cleaned, legal forms and boilerplate stripped, no punctuation or spaces.

    >>> normalize_org_name("Semiconductor Manufacturing International Corp.")
    'semiconductormanufacturinginternational'
    >>> normalize_org_name("中芯國際集成電路製造有限公司")
    '中芯国际集成电路制造'
    """
    return "".join(_word(t) for t in _legal_stripped_tokens(s))


def _split_region_zh(key: str) -> tuple[str | None, str]:
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
            if len(_split_industry_zh(rest)[0]) >= MIN_CORE_ZH:
                region, key = region or r.id, rest
                break
        else:
            break
    return region, key


def _split_industry_zh(text: str) -> tuple[str, list[str]]:
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


def strip_region_prefix(s: str) -> str:
    """江苏长电科技 -> 长电科技, 无锡华润微电子 -> 华润微电子; 江苏银行 stays (银行 alone names no one).

    Latin names lose a leading place name the same way (Wuxi Rural Commercial Bank keeps its
    "Wuxi" for the same reason).
    """
    key = normalize_org_name(s)
    if is_chinese(key):
        return _split_region_zh(key)[1]
    return parse_name(s).base or key


def _industry_closure(concepts: list[str]) -> frozenset[str]:
    v = vocabulary()
    return frozenset(c for cid in concepts for c in v.concepts[cid].closure)


@dataclass(frozen=True)
class NameParts:
    """A name taken apart: what identifies it (core) and what only describes it."""

    key: str  # normalize_org_name
    chinese: bool
    region: str | None  # region id from a leading place, a bracket qualifier or a Latin place word
    base: str  # the key without its place names
    core: str  # the base without industry words: 长电, tongfu; may be empty (江苏银行)
    industry: frozenset[str]  # concept ids, closed over "broader"
    strong_industry: frozenset[str]  # the non-weak ones: these can conflict
    tokens: tuple[str, ...]
    acronyms: frozenset[str]  # Latin names: initials of their words (smic, tsmc)


@lru_cache(maxsize=200_000)
def parse_name(s: str) -> NameParts:
    """Split a name into region, core and industry.

    >>> p = parse_name("江苏长电科技股份有限公司")
    >>> (p.region, p.core, sorted(p.industry))
    ('jiangsu', '长电', ['technology'])
    """
    v = vocabulary()
    key = normalize_org_name(s)
    text = _drop_boilerplate_brackets(clean_text(s))
    qualifier = None
    for m in _BRACKET_RE.finditer(text):
        r = _region_of_text(m.group(1))
        if r is not None:
            qualifier = qualifier or r.id
            text = text.replace(m.group(0), " ")
    tokens = _strip_legal_tokens(_TOKEN_RE.findall(text))
    if is_chinese(key):
        joined = "".join(_word(t) for t in tokens)
        region, base = _split_region_zh(joined)
        head = joined[: len(joined) - len(base)]
        core, terms = _split_industry_zh(base)
        if core in v.region_by_zh:  # 江苏银行: the place was all there was besides the industry
            region, head, core = region or v.region_by_zh[core].id, head + core, ""
        concepts = [v.industry_zh[t] for t in terms]
        seg = tuple(t for t in (head, core, *terms) if t)
        return _parts(key, True, region or qualifier, base, core, concepts, seg, frozenset())
    words = [_word(t) for t in tokens]
    concepts, region, core_words, base_words = [], None, [], []
    i = 0
    while i < len(words):
        for n in (4, 3, 2, 1):
            phrase = tuple(words[i:i + n])
            if len(phrase) == n and phrase in v.industry_en:
                concepts.append(v.industry_en[phrase])
                base_words += phrase
                break
            if len(phrase) == n and phrase in v.region_by_latin:
                region = region or v.region_by_latin[phrase].id
                break
        else:
            n = 1
            base_words.append(words[i])
            if words[i] not in STOPWORDS:
                core_words.append(words[i])
        i += n
    base = "".join(w for w in base_words if w not in STOPWORDS)
    return _parts(key, False, region or qualifier, base, "".join(core_words), concepts,
                  tuple(words), acronyms(s))


def _parts(key, chinese, region, base, core, concepts, tokens, acr) -> NameParts:
    v = vocabulary()
    closure = _industry_closure(concepts)
    strong = frozenset(c for c in closure if not v.concepts[c].weak)
    return NameParts(key, chinese, region, base, core, closure, strong, tokens, acr)


def name_tokens(s: str) -> list[str]:
    """Words of the name without legal forms: Latin words, and Chinese split into core and
    industry terms (长电科技 -> [长电, 科技]). A domain split, not a general segmenter: the
    pieces that matter for organisation names are exactly the ones our lists know."""
    return list(parse_name(s).tokens)


def acronyms(s: str) -> frozenset[str]:
    """Initials of a Latin name, with and without its legal-form words, three letters or more.

    SMIC is the initials of "Semiconductor Manufacturing International Corp" (legal form
    included), JCET of "Jiangsu Changjiang Electronics Technology" (legal form excluded), so
    both readings are kept; hyphenated words count once and, in a second reading, per part.
    """
    if is_chinese(s):
        return frozenset()
    v = vocabulary()
    raw = [t for t in _TOKEN_RE.findall(_drop_boilerplate_brackets(clean_text(s)))
           if _word(t) not in STOPWORDS]
    single_legal = {f[0] for f in v.legal_en if len(f) == 1}
    readings = [raw, [t for t in raw if _word(t) not in single_legal]]
    # Drop trailing legal words one at a time: TSMC keeps "Company" but not "Limited".
    shorter = raw
    while len(shorter) > 1 and (_word(shorter[-1]) in single_legal or _word(shorter[-1]) in v.boilerplate):
        shorter = shorter[:-1]
        readings.append(shorter)
    out = set()
    for seq in readings:
        if len(seq) < 2:
            continue
        out.add("".join(t[0] for t in seq))
        out.add("".join(p[0] for t in seq for p in re.split(r"[-'’]", t) if p))
    return frozenset(a for a in out if len(a) >= 3)


def short_name_variants(name: str) -> set[str]:
    """Short forms a source might use for this name, as matching keys.

    >>> sorted(short_name_variants("上海硅产业集团股份有限公司"))[:3]
    ['沪硅产业', '硅产业', '上海硅产业']
    """
    v = vocabulary()
    p = parse_name(name)
    out = {p.key, p.base}
    if p.chinese:
        for form in (p.key, p.base):
            for long, short in v.short_forms:
                if long in form:
                    form = form.replace(long, short)
                    out.add(form)
        for r in v.regions:
            if r.abbr and p.key.startswith(r.zh):
                out.add(r.abbr + p.key[len(r.zh):])
        for size in (3, 4):
            if len(p.base) > size and len(_split_industry_zh(p.base[:size])[0]) >= MIN_CORE_ZH:
                out.add(p.base[:size])
        if len(p.core) >= MIN_CORE_ZH:
            out.add(p.core)
            terms = [t for t in p.tokens[1:]]
            if terms:
                out.add(p.core + terms[0])
    elif len(p.core) >= 3:
        out.add(p.core)
    return {x for x in out if len(x) >= 2 and x not in v.region_by_zh and x not in v.industry_zh}

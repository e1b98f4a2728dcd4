"""Cleaning and legal-form stripping: the lowest layer of name normalisation.

Why its own module: parts.py (taking a name apart) and names.py (the public functions) both
stand on it. It knows legal forms and, to strip "Co., Ltd. Shanghai", Latin place names.
"""

from __future__ import annotations

import re

from ingest.normalize.vocab import clean_text, vocabulary
from kg.run_cache import run_cache

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{_HAN}]")
# A token is a run of Han characters or a run of other letters/digits (any script, so Korean
# or Japanese names survive); hyphens and apostrophes inside a Latin word keep it whole.
_TOKEN_RE = re.compile(f"[{_HAN}]+|(?:[^\\W_{_HAN}]|['’\\-](?=[^\\W_{_HAN}]))+")
BRACKET_RE = re.compile(r"\(([^()]*)\)")
STOPWORDS = frozenset({"of", "and", "the", "for", "de", "&"})
_LONGEST_ZH = 8  # longest Chinese legal form we look for, in characters
_LONGEST_EN = 4  # longest English legal form, in words


def is_chinese(s: str) -> bool:
    """True when the name contains Han characters (SK海力士 counts: it is written for Chinese readers)."""
    return bool(_HAN_RE.search(s or ""))


def joined_word(token: str) -> str:
    """A token with its inner hyphens and apostrophes dropped (co-op, O'Neil), so both spellings meet."""
    if "-" in token or "'" in token or "’" in token:
        return re.sub(r"['’\-]", "", token)
    return token


# ASCII fast path of _TOKEN_RE (regexes over Unicode classes cost microseconds a name): every
# ASCII character but letters, digits, hyphen and apostrophe separates words.
_ASCII_SEPARATORS = str.maketrans({chr(c): " " for c in range(128)
                                   if not (chr(c).isalnum() or chr(c) in "-'")})


def tokenize(text: str) -> list[str]:
    """Words of cleaned text: Han runs, and runs of other letters/digits (hyphen-joined words kept)."""
    if text.isascii():
        return [w for w in (t.strip("-'") for t in text.translate(_ASCII_SEPARATORS).split()) if w]
    return _TOKEN_RE.findall(text)


@run_cache(maxsize=200_000)
def raw_tokens(s: str) -> tuple[str, ...]:
    """Tokens of the cleaned name with boilerplate brackets and listing marks dropped, legal
    forms still there."""
    return tuple(drop_listing_marks(tokenize(drop_boilerplate_brackets(clean_text(s)))))


def drop_listing_marks(tokens: list[str]) -> list[str]:
    """Exchange marks around a Chinese short name: *ST国华, ST任子行, C华润 (status before it),
    万科A, 寒武纪-U, 云从科技-UW (share class or listing flags after it). They say how a share
    trades, not which firm it is; only Latin marks next to Han text count (ST Microelectronics
    keeps its ST)."""
    v = vocabulary()
    if len(tokens) >= 2 and _HAN_RE.match(tokens[1]) and joined_word(tokens[0]) in v.listing_prefixes:
        tokens = tokens[1:]
    if len(tokens) >= 2 and _HAN_RE.match(tokens[-2]) and joined_word(tokens[-1]) in v.listing_suffixes:
        tokens = tokens[:-1]
    return tokens


def drop_boilerplate_brackets(text: str) -> str:
    if "(" not in text:
        return text
    v = vocabulary()
    return BRACKET_RE.sub(lambda m: " " if m.group(1).strip() in v.boilerplate else m.group(0), text)


def _strip_legal_tokens_once(tokens: list[str]) -> list[str]:
    """Remove one legal-form suffix from the end, if there is one; never the whole name."""
    v = vocabulary()
    if not tokens:
        return tokens
    last = tokens[-1]
    if _HAN_RE.match(last):
        if last.endswith(v.protected_zh) or not last.endswith(v.legal_zh):
            return tokens
        for size in range(min(len(last), _LONGEST_ZH), 0, -1):  # longest suffix first
            if last[-size:] in v.legal_zh_set and (len(last) > size or len(tokens) > 1):
                rest = last[:-size]
                return [*tokens[:-1], rest] if rest else tokens[:-1]
        return tokens
    words = tuple(joined_word(t) for t in tokens[-_LONGEST_EN - 1:])
    for size in range(min(len(words) - 1 if len(words) == len(tokens) else len(words), _LONGEST_EN), 0, -1):
        if words[-size:] in v.legal_en_set:
            return tokens[:-size]
    # "Inc. China", "Co., Ltd. Shanghai": a place right after a legal form goes with it.
    if len(tokens) > 2 and (words[-1] in v.boilerplate or (words[-1],) in v.region_by_latin):
        for size in range(min(len(words) - 1, _LONGEST_EN), 0, -1):
            if words[-1 - size:-1] in v.legal_en_set and len(tokens) > size + 1:
                return tokens[:-1]
    return tokens


def strip_legal_tokens(tokens: list[str]) -> list[str]:
    while (shorter := _strip_legal_tokens_once(tokens)) != tokens:
        tokens = shorter
    return tokens


@run_cache(maxsize=200_000)
def legal_stripped_tokens(s: str) -> tuple[str, ...]:
    return tuple(strip_legal_tokens(list(raw_tokens(s))))


def strip_legal_forms(s: str) -> str:
    """The cleaned name without legal-form suffixes, words separated by single spaces."""
    return " ".join(legal_stripped_tokens(s))


def normalize_org_name(s: str) -> str:
    """The matching key: cleaned, legal forms and boilerplate stripped, no punctuation or spaces.

    >>> normalize_org_name("Semiconductor Manufacturing International Corp.")
    'semiconductormanufacturinginternational'
    >>> normalize_org_name("中芯國際集成電路製造有限公司")
    '中芯国际集成电路制造'
    """
    return "".join(joined_word(t) for t in legal_stripped_tokens(s))





def empty_name(s: str) -> bool:
    """True when nothing of the name is left once legal forms, boilerplate and punctuation go:
    "有限公司", "Co., Ltd.", "(中国)", "-". normalize_org_name keeps such a name whole (it never
    strips a name to nothing), so resolution asks this to report it as bad input."""
    v = vocabulary()
    words = [w for w in (joined_word(t) for t in raw_tokens(s)) if w not in v.boilerplate]
    while words:  # English legal forms from the end ("co ltd", "limited")
        for size in range(min(len(words), _LONGEST_EN), 0, -1):
            if tuple(words[-size:]) in v.legal_en_set:
                words = words[:-size]
                break
        else:
            break
    text = "".join(words)
    while text:  # Chinese legal forms from the end (股份有限公司, 集团)
        for size in range(min(len(text), _LONGEST_ZH), 0, -1):
            if text[-size:] in v.legal_zh_set:
                text = text[:-size]
                break
        else:
            break
    return not text

"""Cleaning and legal-form stripping: the lowest layer of name normalisation.

Why its own module: parts.py (taking a name apart) and names.py (the public functions) both
stand on it. It knows legal forms and, to strip "Co., Ltd. Shanghai", Latin place names.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ingest.normalize.vocab import clean_text, vocabulary

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{_HAN}]")
# A token is a run of Han characters or a run of other letters/digits (any script, so Korean
# or Japanese names survive); hyphens and apostrophes inside a Latin word keep it whole.
_TOKEN_RE = re.compile(f"[{_HAN}]+|(?:[^\\W_{_HAN}]|['’\\-](?=[^\\W_{_HAN}]))+")
_BRACKET_RE = re.compile(r"\(([^()]*)\)")
STOPWORDS = frozenset({"of", "and", "the", "for", "de", "&"})


def is_chinese(s: str) -> bool:
    """True when the name contains Han characters (SK海力士 counts: it is written for Chinese readers)."""
    return bool(_HAN_RE.search(s or ""))


def _word(token: str) -> str:
    return re.sub(r"['’\-]", "", token)


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
    # "Inc. China", "Co., Ltd. Shanghai": a place right after a legal form goes with it.
    trailing_place = words[-1] in v.boilerplate or (words[-1],) in v.region_by_latin
    if len(words) > 2 and trailing_place and any(
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



"""Turning names, codes and queries into comparable search keys.

A query and a name must meet on the same key however either was typed: full-width or half-width,
traditional or simplified characters, spaces or none ("zhong xin" = "zhongxin"), a stock code with
or without its exchange ("688981.SH" = "688981"). Both sides go through `norm`, so matching is a
plain dictionary or prefix lookup.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["HAN", "is_han", "name_parts", "norm", "stock_key", "to_simplified"]

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_DROP = re.compile(r"[\W_]+", re.UNICODE)  # spaces, punctuation, brackets: never part of a key
_STOCK = re.compile(r"^(?:(?:sh|sz|bj|ss|hk)\.?)?(\d{4,6})(?:\.?(?:sh|sz|bj|ss|hk))?$")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Han names keep their distinctive core after a region prefix (江苏长电科技 → 长电科技); indexing
# the name from its 2nd, 3rd and 4th character on makes such cores prefix-searchable without a
# vocabulary of place names. More positions would multiply the index for little gain.
MAX_HAN_SKIP = 3
MAX_WORD_PARTS = 6


@lru_cache(maxsize=1)
def _t2s():
    try:
        import opencc
    except ImportError:  # the package is a dependency; without it traditional queries just miss
        return None
    return opencc.OpenCC("t2s")


def is_han(text: str) -> bool:
    return bool(HAN.search(text or ""))


def to_simplified(text: str) -> str:
    conv = _t2s() if is_han(text) else None
    return conv.convert(text) if conv else text


def norm(text: object) -> str:
    """The key of a name or query: NFKC, simplified, case-folded, without spaces or punctuation."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).casefold()
    return _DROP.sub("", to_simplified(s))


def stock_key(text: str) -> str | None:
    """The bare digits of a stock code ('SH688981', '688981.SH' → '688981'), or None."""
    m = _STOCK.match(norm(text))
    return m.group(1) if m else None


def name_parts(name: str) -> list[str]:
    """Keys for a name found by a later part of it: 'advanced packaging line' → 'packagingline',
    'line'; 江苏长电科技 → 苏长电科技, 长电科技, 电科技. The full name's key is not included."""
    text = unicodedata.normalize("NFKC", name or "")
    out: list[str] = []
    if is_han(text):
        key = norm(text)
        out += [key[i:] for i in range(1, min(MAX_HAN_SKIP, len(key) - 2) + 1)]
    words = [norm(w) for w in _WORD.findall(text) if not is_han(w)]
    if len(words) > 1:
        out += ["".join(words[i:]) for i in range(1, min(len(words), MAX_WORD_PARTS))]
    return [k for k in dict.fromkeys(out) if len(k) >= 2]

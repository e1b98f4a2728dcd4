"""Pinyin keys, so a Chinese name can meet its romanised spelling (长电 ~ Changdian).

Why per-character readings: pypinyin's phrase-aware conversion is right more often but costs
~100 µs a name, too slow for 200,000 records; reading each character from a cache and taking
the cartesian product of its two commonest readings is fast and still finds 长 = chang as in
Changjiang. pinyin_key (one reading, phrase-aware) is for display and exact keys.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

from pypinyin import Style, lazy_pinyin, pinyin

from ingest.normalize.vocab import clean_text
from kg.run_cache import run_cache

__all__ = ["pinyin_initials", "pinyin_key", "pinyin_variants", "sound_key"]

MAX_READINGS_PER_CHAR = 2  # rarer readings (能 = tai, xiong) only add false keys
MAX_PINYIN_VARIANTS = 8
_PIECES = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[^\W_\u3400-\u4dbf\u4e00-\u9fff]+")


def _pieces(s: str) -> list[str]:
    return _PIECES.findall(clean_text(s))


@run_cache(maxsize=50_000)
def pinyin_key(s: str) -> str:
    """Full pinyin without tones or spaces; other letters and digits kept (中芯国际 -> zhongxinguoji)."""
    return "".join(p for p in lazy_pinyin("".join(_pieces(s)), errors="default") if p.isalnum()).lower()


@lru_cache(maxsize=65536)
def _readings(ch: str) -> tuple[str, ...]:
    if not _is_han(ch):
        return (ch,)
    found = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")
    return tuple(found[0][:MAX_READINGS_PER_CHAR]) if found and found[0] else ()


def _is_han(ch: str) -> bool:
    return len(ch) == 1 and ("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")


@run_cache(maxsize=100_000)
def pinyin_initials(s: str) -> str:
    """First letter of each character's pinyin; other words kept whole (中芯国际 -> zxgj)."""
    out = []
    for piece in _pieces(s):
        if _is_han(piece):
            out.append(_readings(piece)[0][0] if _readings(piece) else "")
        else:
            out.append(piece)
    return "".join(out)


@run_cache(maxsize=200_000)
def pinyin_variants(s: str) -> frozenset[str]:
    """Plausible full-pinyin spellings: the product of each character's commonest readings.

    >>> sorted(pinyin_variants("长电"))
    ['changdian', 'zhangdian']
    """
    choices = [_readings(p) if _is_han(p) else (p,) for p in _pieces(s)]
    choices = [c for c in choices if c]
    if not choices:
        return frozenset()
    combos = itertools.islice(itertools.product(*choices), MAX_PINYIN_VARIANTS)
    return frozenset("".join(c) for c in combos)


_SOUND_DIGRAPHS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("ng", "n"), ("ph", "f"), ("ck", "k"), ("ts", "c"),
                   ("hs", "s"), ("ee", "i"))
_SOUND_LETTERS = str.maketrans({"p": "b", "t": "d", "k": "g", "q": "c", "x": "s", "v": "w", "j": "z"})


@run_cache(maxsize=200_000)
def sound_key(s: str) -> str:
    """How a romanised name sounds, roughly: its first letter, then its consonants with voiced
    and unvoiced pairs (b/p, d/t, g/k) and look-alike spellings (zh/j/z, ch/q/c, sh/x/s, ng/n,
    Wade-Giles ts and hs) folded together, vowels and doubled letters dropped.

    Why: firms romanise their own names freely (Tinci for 天赐 tianci, Hicin for 海辰 haichen,
    VanJee for 万集 wanji, Hengong for 恒工 henggong), so exact pinyin misses them; the key puts
    such spellings in one block and the scorer decides.

    >>> sound_key("tianci"), sound_key("tinci"), sound_key("haichen"), sound_key("hicin")
    ('dnc', 'dnc', 'hcn', 'hcn')
    """
    text = "".join(ch for ch in s.lower() if "a" <= ch <= "z")
    if not text:
        return ""
    for long, short in _SOUND_DIGRAPHS:
        text = text.replace(long, short)
    head, rest = text[0], text[1:].translate(_SOUND_LETTERS)
    head = head.translate(_SOUND_LETTERS) if head not in "aeiouyw" else head
    out = [head]
    for ch in rest:
        if ch in "aeiouywh" or ch == out[-1]:
            continue
        out.append(ch)
    return "".join(out)

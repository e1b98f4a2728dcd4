"""Turning names, codes and queries into comparable search keys.

A query and a name must meet on the same key however either was typed: full-width or half-width,
traditional or simplified characters, spaces or none ("zhong xin" = "zhongxin"), a stock code with
or without its exchange ("688981.SH" = "688981"). Both sides go through `norm`, so matching is a
plain dictionary or prefix lookup.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache

__all__ = ["HAN", "clean", "han_bigrams", "han_keys", "han_runs", "han_spellings", "is_han", "latin_words", "name_parts", "norm",
           "pinyin_parts", "stock_key", "to_simplified"]

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_DROP = re.compile(r"[\W_]+", re.UNICODE)  # spaces, punctuation, brackets: never part of a key
_STOCK = re.compile(r"^(?:(?:sh|sz|bj|ss|hk)\.?)?(\d{4,6})(?:\.?(?:sh|sz|bj|ss|hk))?$")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[^\W_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+", re.UNICODE)
# Lone surrogates (a broken client's UTF-16) and control characters cannot be encoded for the
# engine; they are dropped from queries, never passed on as an error page.
_UNSAFE = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Han names keep their distinctive core after a region prefix (江苏长电科技 → 长电科技); indexing
# the name from its 2nd, 3rd and 4th character on makes such cores prefix-searchable without a
# vocabulary of place names. More positions would multiply the index for little gain.
MAX_HAN_SKIP = 3
MAX_WORD_PARTS = 6


@lru_cache(maxsize=1)
def _t2s_table() -> dict[int, str]:
    """Traditional → simplified, character by character, as a str.translate table.

    Built once with one OpenCC call over the whole CJK block: phrase-level conversion would
    need OpenCC per key, which is most of the build time of a million-name index, and a search
    key only needs 長電 and 长电 to meet.
    """
    try:
        import opencc
    except ImportError:  # a dependency; without it traditional queries just miss
        return {}
    chars = "".join(chr(c) for c in range(0x4E00, 0xA000))
    simple = opencc.OpenCC("t2s").convert(chars)
    if len(simple) != len(chars):
        return {}
    return {ord(a): b for a, b in zip(chars, simple, strict=True) if a != b}


def is_han(text: str) -> bool:
    return bool(HAN.search(text or ""))


# The index builder asks for the same name's key, characters and readings several times while it
# makes one document; a small cache turns the repeats into lookups (a third of the build time).
@lru_cache(maxsize=1024)
def to_simplified(text: str) -> str:
    return text.translate(_t2s_table()) if is_han(text) else text


def norm(text: object) -> str:
    """The key of a name or query: NFKC, simplified, case-folded, without spaces or punctuation."""
    if text is None:
        return ""
    return _norm(str(text))


@lru_cache(maxsize=1024)
def _norm(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).casefold()
    return _DROP.sub("", to_simplified(s))


def clean(text: object) -> str:
    """Text without lone surrogates and control characters (tabs and newlines become spaces)."""
    s = "" if text is None else str(text)
    return _UNSAFE.sub("", s.replace("\t", " ").replace("\n", " ").replace("\r", " "))


def han_runs(text: str) -> list[str]:
    """The runs of Chinese characters in a text, simplified (jieba segments each run)."""
    return _HAN_RUN.findall(to_simplified(unicodedata.normalize("NFKC", text or "")))


def han_bigrams(text: str) -> list[str]:
    """Overlapping character pairs of each run of Chinese characters, simplified: 长电科技 →
    长电 电科 科技; a run of one character is kept as it is. Indexed with positions, a phrase of
    a query word's pairs finds that word anywhere in a name or description, with no dictionary."""
    out: list[str] = []
    for run in han_runs(text):
        out += [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
    return out


def latin_words(text: str) -> list[str]:
    """The words of a text that are not Chinese, case-folded: 'JCET Group Co., Ltd.' → jcet group co ltd."""
    return [w for w in _LATIN_WORD.findall(unicodedata.normalize("NFKC", text or "").casefold())]


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


# Characters that company and place names read two ways, usual reading first. A curated list,
# not pypinyin's heteronyms: those include rare readings (技 qi) that would only add noise keys.
POLYPHONES = {
    "长": ("chang", "zhang"), "行": ("hang", "xing"), "重": ("zhong", "chong"), "都": ("du", "dou"),
    "厦": ("xia", "sha"), "乐": ("le", "yue"), "朝": ("chao", "zhao"), "传": ("chuan", "zhuan"),
    "调": ("tiao", "diao"), "藏": ("zang", "cang"), "单": ("dan", "shan"), "曾": ("zeng", "ceng"),
    "省": ("sheng", "xing"), "盛": ("sheng", "cheng"), "会": ("hui", "kuai"), "蚌": ("bang", "beng"),
    "六": ("liu", "lu"), "番": ("fan", "pan"), "柏": ("bai", "bo"), "泊": ("bo", "po"),
}
MAX_POLYPHONES = 2  # at most 4 spellings per name


@lru_cache(maxsize=65536)
def _readings(ch: str) -> tuple[str, ...]:
    if ch in POLYPHONES:
        return POLYPHONES[ch]
    from pypinyin import lazy_pinyin

    return (lazy_pinyin(ch)[0],)


@lru_cache(maxsize=1024)
def han_spellings(name: str) -> tuple[tuple[str, ...], ...]:
    """The syllables of a Chinese name or alias, once per reading of its polyphones.

    长电科技 is changdian to everyone but pypinyin's phrase dictionary says zhangdian; people type
    what they say, so both cdkj and zdkj must find it. Readings are cached per character, so a
    million names cost dictionary lookups, not pypinyin's phrase segmentation.
    """
    han = "".join(HAN.findall(to_simplified(name or "")))
    if len(han) < 2:
        return ()
    choices: list[tuple[str, ...]] = []
    varied = 0
    for ch in han:
        readings = _readings(ch)
        if len(readings) > 1 and varied < MAX_POLYPHONES:
            varied += 1
            choices.append(readings)
        else:
            choices.append(readings[:1])
    return tuple(itertools.product(*choices))  # in the order the loop of readings gave them


def han_keys(name: str) -> list[tuple[str, str]]:
    """Pinyin and initials of a Chinese name or alias, in both readings of its polyphones."""
    out: list[tuple[str, str]] = []
    for syllables in han_spellings(name):
        out += [("pinyin", "".join(syllables)), ("initials", "".join(x[0] for x in syllables if x))]
    return out


def pinyin_parts(name: str) -> list[str]:
    """Pinyin of a Chinese name from its 2nd, 3rd and 4th syllable on (江苏长电科技 → changdiankeji…),
    so the distinctive core after a place name is a pinyin prefix too, as name_parts does for the
    characters."""
    out: list[str] = []
    for syllables in han_spellings(name):
        out += ["".join(syllables[i:]) for i in range(1, min(MAX_HAN_SKIP, len(syllables) - 2) + 1)]
    return list(dict.fromkeys(out))

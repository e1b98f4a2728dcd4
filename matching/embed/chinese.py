"""Chinese-aware text normalisation shared by the lexical and MiniLM embedders.

Organisation names reach us in simplified and traditional script, full-width
punctuation and pinyin romanisation ("Changdian" for 长电). Normalising them the
same way in every embedder is what lets a Chinese name meet its romanised form.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from itertools import product

__all__ = ["CJK_RUN", "LATIN_WORD", "normalise", "pinyin_variants", "romanise", "segment"]

#: A run of CJK ideographs (basic block, extension A, compatibility ideographs).
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
#: A Latin/digit word after lower-casing; accented Latin letters stay in the word.
LATIN_WORD = re.compile(r"[0-9a-z\u00c0-\u024f]+")
_TOKEN = re.compile(CJK_RUN.pattern + "|" + LATIN_WORD.pattern)

#: Polyphonic characters multiply readings; cap them so a long name stays cheap.
MAX_PINYIN_VARIANTS = 4


@lru_cache(maxsize=1)
def _t2s():
    """Traditional→simplified converter, built once (台積電 must meet 台积电)."""
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=1)
def _jieba():
    """jieba, imported once and quietened (it logs its dictionary build)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def normalise(text: str) -> str:
    """NFKC (full-width → ASCII), traditional → simplified, lower case, trimmed."""
    text = unicodedata.normalize("NFKC", text or "")
    if CJK_RUN.search(text):
        text = _t2s().convert(text)
    return " ".join(text.lower().split())


def segment(text: str) -> list[tuple[str, str]]:
    """Split normalised text into ``("zh", run)`` and ``("latin", word)`` tokens, in order."""
    return [("zh" if CJK_RUN.fullmatch(m) else "latin", m) for m in _TOKEN.findall(text)]


def zh_words(run: str) -> list[str]:
    """jieba words of a CJK run, plus the finer words of its search mode.

    Search mode also yields 江南 and 大学 from 江南大学, so a romanised
    "Jiangnan" can meet the shorter word even when jieba keeps the long one.
    """
    jieba = _jieba()
    words = jieba.lcut(run)
    extra = [w for w in jieba.lcut_for_search(run) if w not in words]
    return words + extra


@lru_cache(maxsize=65536)
def pinyin_variants(word: str) -> tuple[str, ...]:
    """Toneless pinyin spellings of a Chinese word, one per reading combination.

    pypinyin picks 长 = "zhang" in 长电, but the firm romanises as "Changdian";
    emitting every reading of polyphonic characters (up to a cap) keeps both.
    """
    from pypinyin import Style, pinyin

    readings = pinyin(word, style=Style.NORMAL, heteronym=True, errors="ignore")
    options = [r[:2] for r in readings if r]
    out: list[str] = []
    for combo in product(*options):
        out.append("".join(combo))
        if len(out) >= MAX_PINYIN_VARIANTS:
            break
    return tuple(dict.fromkeys(out))


@lru_cache(maxsize=65536)
def syllables(run: str) -> tuple[str, ...]:
    """Most likely toneless syllable per character (pypinyin's phrase-aware choice)."""
    from pypinyin import lazy_pinyin

    return tuple(lazy_pinyin(run, errors="ignore"))


def romanise(text: str) -> str:
    """Replace each Chinese word with its capitalised pinyin, keep the rest.

    An English-only model sees 江南大学 as [UNK] tokens; as "Jiangnan Daxue" it at
    least shares word pieces with "Jiangnan University".
    """
    text = unicodedata.normalize("NFKC", text or "")
    if not CJK_RUN.search(text):
        return text
    text = _t2s().convert(text)

    def _run(match: re.Match[str]) -> str:
        words = _jieba().lcut(match.group(0))
        return " " + " ".join("".join(syllables(w)).capitalize() for w in words) + " "

    return " ".join(CJK_RUN.sub(_run, text).split())

"""A hashed bag of character n-grams, words, pinyin and acronyms.

Neural models blur names: "Hua Hong" and "Huawei" are both "a Chinese tech
firm". Exact surface overlap is what separates them, and pinyin is what lets a
Chinese name meet its romanisation (长电 / Changdian, 华虹 / Hua Hong), and
initials are what let "SMIC" meet "Semiconductor Manufacturing International
Corporation". Features are hashed into a fixed dimension (the hashing trick,
Weinberger et al. 2009) so there is no vocabulary to fit, store or version.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from .base import DEFAULT_BATCH_SIZE, as_text_list, l2_normalise
from .chinese import normalise, pinyin_variants, segment, syllables, zh_words

__all__ = ["LEXICAL_DIM", "LexicalEmbedder", "lexical_features"]

#: Hashing dimension. 1024 scored as well as 2048 and 512 on the pairs bench and
#: keeps the default blend at 1,536-d (4 bytes each: 6 KB a row, 6 GB a million).
LEXICAL_DIM = 1024

#: Feature weights by kind. Whole words and acronyms are the strongest evidence
#: of identity; single characters and trigrams only soften spelling variation.
WEIGHTS = {
    "word": 1.0,  # Latin word, jieba word, or pinyin of a jieba word
    "bigram": 1.0,  # Chinese character bigram
    "char": 0.4,  # single Chinese character
    "tri": 0.5,  # all Latin character trigrams of one word together
    "joined": 0.7,  # two adjacent Latin words joined ("hua hong" -> "huahong")
    "syllable": 0.3,  # one pinyin syllable
    "acronym": 1.5,  # initials of a Latin phrase, or a short Latin token itself
}

#: Legal forms and filler words: present in most names, so they say little about
#: *which* organisation is meant and would make every pair of firms look alike.
GENERIC_WEIGHT = 0.15


def _wordlist(words: str) -> frozenset[str]:
    return frozenset(words.split())


GENERIC_WORDS = _wordlist(
    """
    co ltd limited inc incorporated corp corporation company group holdings holding plc llc gmbh ag sa
    the of and for a an in on with to by at as is are from its our we
    technology technologies tech
    有限公司 股份有限公司 有限责任公司 公司 有限 股份 集团 控股 科技 技术 责任 的 和 与 及 在 是
    youxiangongsi gongsi youxian gufen jituan konggu keji jishu
    """
)
#: Acronyms ignore these words ("Bank of China" -> "bc", not "boc").
_ACRONYM_SKIP = _wordlist("the of and for a an in on with to by at")
_ACRONYM_MAX_WORDS = 8


def _word_weight(word: str) -> float:
    return GENERIC_WEIGHT if word in GENERIC_WORDS else WEIGHTS["word"]


def _trigrams(word: str, add) -> None:
    """Boundary-marked trigrams sharing one word's ``tri`` weight, so long words
    do not outweigh their own whole-word feature."""
    padded = f"#{word}#"
    count = len(padded) - 2
    for i in range(count):
        add("t:" + padded[i : i + 3], WEIGHTS["tri"] / count)


def _latin_features(words: list[str], add) -> None:
    for w in words:
        add("w:" + w, _word_weight(w))
        _trigrams(w, add)
        if 2 <= len(w) <= 6 and w.isalpha():
            add("a:" + w, WEIGHTS["acronym"] * 0.5)
    for a, b in zip(words, words[1:], strict=False):
        add("w:" + a + b, WEIGHTS["joined"])
    content = [w for w in words if w not in _ACRONYM_SKIP and w.isalpha()]
    if 2 <= len(content) <= _ACRONYM_MAX_WORDS:
        add("a:" + "".join(w[0] for w in content), WEIGHTS["acronym"])
        core = [w for w in content if w not in GENERIC_WORDS]
        if 2 <= len(core) < len(content):
            add("a:" + "".join(w[0] for w in core), WEIGHTS["acronym"])


def _zh_features(run: str, add) -> None:
    words = zh_words(run)
    # Characters inside a generic word (有限公司, 科技) count as little as the word.
    generic = [False] * len(run)
    for word in words:
        if word in GENERIC_WORDS:
            for start in (m.start() for m in re.finditer(re.escape(word), run)):
                generic[start : start + len(word)] = [True] * len(word)
    for i, ch in enumerate(run):
        add("c:" + ch, GENERIC_WEIGHT if generic[i] else WEIGHTS["char"])
    for i in range(len(run) - 1):
        add("b:" + run[i : i + 2], GENERIC_WEIGHT if generic[i] and generic[i + 1] else WEIGHTS["bigram"])
    for word in words:
        weight = _word_weight(word)
        add("w:" + word, weight)
        for n, spelling in enumerate(pinyin_variants(word)):
            # Same "w:" namespace as Latin words: that is how 长电 meets Changdian.
            add("w:" + spelling, weight)
            if n == 0 and weight == WEIGHTS["word"]:
                # Trigrams too, so 江南大学 ("jiangnandaxue") still meets "Jiangnan".
                _trigrams(spelling, add)
    sylls = syllables(run)
    for s in sylls:
        add("s:" + s, WEIGHTS["syllable"])
    if 2 <= len(sylls) <= _ACRONYM_MAX_WORDS:
        add("a:" + "".join(s[0] for s in sylls if s), WEIGHTS["syllable"])


@lru_cache(maxsize=8192)
def _zh_run_features(run: str) -> tuple[tuple[str, float], ...]:
    """A run of Chinese characters' features, kept: descriptions repeat their phrases (位于,
    上市公司, 集成电路), and segmenting and romanising a run was two thirds of encoding. A few
    thousand runs hold the repeated phrases; an entry is ~5 KB, so 65,536 of them (names are
    mostly unique runs) held ~300 MB for nothing."""
    out: list[tuple[str, float]] = []
    _zh_features(run, lambda feature, weight: out.append((feature, weight)))
    return tuple(out)


def lexical_features(text: str) -> dict[str, float]:
    """Weighted features of one text; exposed so a match can be explained."""
    feats: dict[str, float] = defaultdict(float)

    def add(feature: str, weight: float) -> None:
        feats[feature] += weight

    latin_run: list[str] = []
    for kind, token in segment(normalise(text)):
        if kind == "latin":
            latin_run.append(token)
            continue
        _latin_features(latin_run, add)
        latin_run = []
        for feature, weight in _zh_run_features(token):
            feats[feature] += weight
    _latin_features(latin_run, add)
    return dict(feats)


@lru_cache(maxsize=262144)
def _bucket(feature: str, dim: int) -> tuple[int, float]:
    """Stable (index, sign) of a feature; Python's hash() is salted per process."""
    h = int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "little")
    return h % dim, (1.0 if (h >> 63) & 1 else -1.0)


class LexicalEmbedder:
    """Hashed lexical features as a dense unit vector (no model, no download)."""

    def __init__(self, dim: int = LEXICAL_DIM) -> None:
        self.dim = dim
        self.name = f"lexical-v1-{dim}"

    def encode(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Encode texts; ``batch_size`` is accepted for the interface and unused."""
        items = as_text_list(texts)
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        rows: list[int] = []
        cols: list[int] = []
        values: list[float] = []
        for row, text in enumerate(items):
            for feature, weight in lexical_features(text).items():
                # Sub-linear term frequency: a word repeated in a long description
                # should not outweigh the name.
                index, sign = _bucket(feature, self.dim)
                rows.append(row)
                cols.append(index)
                values.append(sign * math.sqrt(weight))
        # one scatter-add in the same order as adding each value in turn (numpy's per-element
        # indexing was a fifth of encoding)
        np.add.at(out, (np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)), np.array(values, dtype=np.float32))
        return l2_normalise(out)

    def __repr__(self) -> str:
        return f"LexicalEmbedder(dim={self.dim})"

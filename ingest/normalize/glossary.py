"""English words of a firm's name back into the Chinese words they translate.

Why: a Chinese firm's English name is a romanisation of its brand (Tongfu, Hicin), a translation
(Northeast Pharmaceutical = 东北制药, Green Pine = 青松), or both (Lisheng Sports = 力盛体育).
Pinyin finds the first; this module gives the second, from glossary.yaml and the industry,
organisation and legal word lists, so that blocking can put 东北制药 and "Northeast
Pharmaceutical Group" in one block and the scorer can see how much of one name the other
explains.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import cache

import yaml

from ingest.normalize.legal import STOPWORDS
from ingest.normalize.vocab import HERE, clean_text, latin_words, vocabulary
from kg.run_cache import run_cache

__all__ = ["MAX_TRANSLATIONS", "glossary", "translate", "translated_segments", "word_options"]

MAX_PHRASE = 4  # words in the longest glossary phrase looked up
MAX_TRANSLATIONS = 8  # combinations of word options kept per name: the rest add keys, not recall


@cache
def glossary() -> dict[tuple[str, ...], tuple[str, ...]]:
    """English word sequence -> Chinese words, from glossary.yaml, the term lists and the places."""
    out: dict[tuple[str, ...], list[str]] = {}

    def add(words: tuple[str, ...], zh: Sequence[str]) -> None:
        if words:
            bucket = out.setdefault(words, [])
            bucket.extend(z for z in zh if z and z not in bucket)

    v = vocabulary()
    with open(HERE / "glossary.yaml", encoding="utf-8") as fh:
        rows = yaml.safe_load(fh)
    for row in rows:
        if not isinstance(row, list) or len(row) < 2:
            raise ValueError(f"glossary.yaml: each row is [english, chinese, ...], not {row!r}")
        add(tuple(latin_words(clean_text(str(row[0])))), [clean_text(str(z)) for z in row[1:]])
    for words, concept in v.term_en.items():
        add(words, v.concepts[concept].zh)
    for words, region in v.region_by_latin.items():  # Shanxi Hi-speed = 山西高速: places translate too
        add(words, [region.zh])
    return {k: tuple(z) for k, z in out.items()}


@run_cache(maxsize=100_000)
def word_options(words: tuple[str, ...]) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """The words segmented longest phrase first: (phrase, Chinese options or ()) per segment.

    >>> word_options(("northeast", "pharmaceutical"))[0]
    (('northeast',), ('东北',))
    """
    table = glossary()
    out = []
    i = 0
    while i < len(words):
        for n in range(min(MAX_PHRASE, len(words) - i), 0, -1):
            phrase = words[i:i + n]
            if phrase in table:
                out.append((phrase, table[phrase]))
                i += n
                break
        else:
            out.append(((words[i],), ()))
            i += 1
    return tuple(out)


@run_cache(maxsize=100_000)
def translate(words: tuple[str, ...]) -> frozenset[str]:
    """Chinese renderings of a Latin name's words (places and stop words already out), when
    every word translates: Northeast Pharmaceutical -> 东北制药, 东北药业, 东北医药.

    >>> sorted(translate(("green", "pine")))
    ['绿松', '青松']
    """
    segments = word_options(tuple(w for w in words if w not in STOPWORDS))
    if not segments or any(not options for _, options in segments):
        return frozenset()
    combos = itertools.islice(itertools.product(*(options for _, options in segments)), MAX_TRANSLATIONS)
    return frozenset("".join(c) for c in combos)


def translated_segments(words: tuple[str, ...]) -> frozenset[str]:
    """The Chinese of each word or phrase the glossary knows, however much of the name it does
    not: Titan Wind Energy -> 风能, 风电, 能源 ... (Titan itself is a brand)."""
    return frozenset(o for _, options in word_options(tuple(w for w in words if w not in STOPWORDS)) for o in options)

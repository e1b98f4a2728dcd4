"""Candidate pairs: only records that share a blocking key are ever compared.

Why: comparing all pairs of 200,000 records is 2e10 comparisons; records of one firm almost
always share something cheap to index: a normalised name, a short form, a pinyin spelling, an
acronym, a leading pair of characters or a word. A key shared by more than `max_block_size`
records (科技, "technology", a common pinyin) is skipped: it would cost the most and tell the
least. Pinyin and acronym keys are two-sided: they pair a Chinese name with a romanised one,
or an acronym with a full name, never two of a kind (华新 and 华欣 share a pinyin, not a firm).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from ingest.normalize.legal import STOPWORDS
from ingest.resolve.features import RecordFeatures
from ingest.resolve.settings import MAX_BLOCK_SIZE

__all__ = ["MAX_BLOCK_SIZE", "block_keys", "candidate_pairs"]

# Key kinds (the prefix before ":"): n name, v short form, g leading characters, t word are
# one-sided; p pinyin and a acronym are two-sided, with side "<" and ">" after the kind letter.
TWO_SIDED = ("p", "a")


def block_keys(f: RecordFeatures) -> set[str]:
    """The keys a record is indexed under, prefixed by kind so that kinds never collide."""
    keys: set[str] = set()
    for n in f.names:
        p = n.parts
        keys.add("n:" + p.key)
        keys.update("v:" + v for v in n.variants)
        if p.chinese:
            # The first two characters: in-order abbreviations (紫光国微) keep the first one,
            # and a typo elsewhere keeps the start. The core's start catches typos after a place.
            keys.add("g:" + p.base[:2])
            if len(p.core) >= 2:
                keys.add("g:" + p.core[:2])
            keys.update("p<:" + v for v in n.pinyin_core | n.pinyin_base if len(v) >= 4)
        else:
            keys.update("t:" + t for t in p.tokens if len(t) >= 3 and t not in STOPWORDS)
            keys.update("p>:" + text for text in (p.core, p.base) if len(text) >= 4)
            keys.update("a>:" + a for a in p.acronyms)
            if 3 <= len(p.core) <= 6 and len(p.tokens) <= 2:
                keys.add("a<:" + p.core)
    return keys


def candidate_pairs(records: Sequence[RecordFeatures], max_block_size: int = MAX_BLOCK_SIZE
                    ) -> Iterator[tuple[int, int]]:
    """Index pairs (i < j) into `records` sharing at least one key of a small enough block.

    Pairs come out sorted, so the same input always gives the same order of decisions.
    """
    index: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(records):
        for key in block_keys(f):
            index[key].append(i)
    n = len(records)
    seen: set[int] = set()

    def add(i: int, j: int) -> None:
        if i != j:
            seen.add(i * n + j if i < j else j * n + i)

    for key, members in index.items():
        kind = key[0]
        if kind in TWO_SIDED:
            if key[1] != "<":
                continue
            others = index.get(f"{kind}>{key[2:]}", [])
            if others and len(members) + len(others) <= max_block_size:
                for i in members:
                    for j in others:
                        add(i, j)
        elif 2 <= len(members) <= max_block_size:
            for x, i in enumerate(members):
                for j in members[x + 1:]:
                    seen.add(i * n + j)
    for code in sorted(seen):
        yield divmod(code, n)

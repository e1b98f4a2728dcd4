"""Candidate pairs: only records that share a blocking key are ever compared.

Why: comparing all pairs of 200,000 records is 2e10 comparisons; records of one firm almost
always share something cheap to index: a normalised name, a short form, a pinyin spelling, an
acronym, a pair of characters or a word. A key shared by more than `max_block_size` records
(科技, "technology") is skipped: it would cost the most and tell the least.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from ingest.normalize.legal import STOPWORDS
from ingest.resolve.features import RecordFeatures
from ingest.resolve.settings import MAX_BLOCK_SIZE

__all__ = ["MAX_BLOCK_SIZE", "block_keys", "candidate_pairs"]


def block_keys(f: RecordFeatures) -> set[str]:
    """The keys a record is indexed under, prefixed by kind (n: name, v: short form, g: bigram,
    t: word, p: pinyin or romanised core, a: acronym) so that kinds never collide."""
    keys: set[str] = set()
    for n in f.names:
        p = n.parts
        keys.add("n:" + p.key)
        keys.update("v:" + v for v in n.variants)
        if p.chinese:
            base = p.base
            keys.update("g:" + base[i:i + 2] for i in range(len(base) - 1))
            keys.update("p:" + v for v in n.pinyin_core | n.pinyin_base if len(v) >= 4)
        else:
            keys.update("t:" + t for t in p.tokens if len(t) >= 3 and t not in STOPWORDS)
            for text in (p.core, p.base):
                if len(text) >= 4:
                    keys.add("p:" + text)
            keys.update("a:" + a for a in p.acronyms)
            if 3 <= len(p.core) <= 6:
                keys.add("a:" + p.core)
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
    seen: set[int] = set()
    n = len(records)
    for members in index.values():
        if 2 <= len(members) <= max_block_size:
            for x, i in enumerate(members):
                for j in members[x + 1:]:
                    seen.add(i * n + j)
    for code in sorted(seen):
        yield divmod(code, n)

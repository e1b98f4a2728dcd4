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

from ingest.normalize.glossary import translate, translated_segments
from ingest.normalize.legal import STOPWORDS
from ingest.normalize.names import NameParts
from ingest.normalize.pinyin import pinyin_initials, pinyin_variants, sound_key
from ingest.resolve.features import RecordFeatures, registered_name
from ingest.resolve.settings import MAX_BLOCK_SIZE

__all__ = ["MAX_BLOCK_SIZE", "block_keys", "candidate_pairs"]

# Key kinds (the prefix before ":"): n name, v short form, g leading characters, t word are
# one-sided; p pinyin, s sound, a acronym, c any two characters are two-sided, with side "<"
# (Chinese, a Latin acronym, a registered full Chinese name) and ">" (Latin, what an acronym may
# stand for, a Chinese short name) after the kind letter.
TWO_SIDED = ("p", "s", "a", "c")
MIN_SOUND = 3  # a sound key of two consonants (hd, zc) names no one in particular


def _syllable_keys(text: str) -> set[str]:
    """Pinyin spellings of a Chinese core or name and of its first two characters: a brand of
    two characters leads most short names (立高 of 立高食品, 奇德 of 奇德新材)."""
    out = set(pinyin_variants(text))
    if len(text) >= 3:
        out |= pinyin_variants(text[:2])
    return out


def _latin_words(p: NameParts) -> set[str]:
    """A Latin core's words and runs of two or three of them (Hua Hong -> huahong), and the
    whole core: what a pinyin spelling of a Chinese name may equal."""
    words = [w for w in p.core_words if w not in STOPWORDS]
    out = {w for w in words}
    out |= {a + b for a, b in zip(words, words[1:], strict=False)}
    out |= {a + b + c for a, b, c in zip(words, words[1:], words[2:], strict=False)}
    return out | {p.core, p.base}


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
            spelt = (_syllable_keys(p.core) if len(p.core) >= 2 else set()) | n.pinyin_base
            keys.update("p<:" + v for v in spelt if len(v) >= 4)
            keys.update("s<:" + k for k in map(sound_key, spelt) if len(k) >= MIN_SOUND)
            # Every pair of characters of the base, a short name's against a registered full
            # name's (…有限公司): a short name keeps two of the full name's characters wherever they
            # stand (天银机电 in 常熟市天银机电, 易购 in 苏宁易购). Two short or two full names meet
            # on other keys, and so does the short name of a record with a registered name of its
            # own: two different registered names are two firms (score.record_contradictions).
            side = "<" if registered_name(n.text) else ">"
            if side == "<" or not f.registered:
                keys.update(f"c{side}:" + p.base[i:i + 2] for i in range(len(p.base) - 1))
            for text in (p.core, p.base):  # BYD = 比亚迪: a Latin acronym of the pinyin initials
                if 3 <= len(text) <= 6:
                    keys.add("a>:" + pinyin_initials(text))
        else:
            keys.update("t:" + t for t in p.tokens if len(t) >= 3 and t not in STOPWORDS)
            words = _latin_words(p)
            keys.update("p>:" + w for w in words if len(w) >= 4)
            keys.update("s>:" + k for k in map(sound_key, words) if len(k) >= MIN_SOUND)
            keys.update("a>:" + a for a in p.acronyms)
            # What the words translate into (Northeast Pharmaceutical -> 东北制药) meets the
            # Chinese names' own keys: the whole name, and its first two characters.
            for t in translate(p.tokens) | translate(p.base_words) | translate(p.core_words):
                keys.update(("n:" + t, "g:" + t[:2], "c<:" + t[:2]))
            keys.update("c<:" + t for t in translated_segments(p.tokens) if len(t) == 2)
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

"""A search box's text as one tantivy query, ranked in tiers, and its filters as clauses.

The query is built from terms, never parsed: quotes, colons, brackets, stars and tildes a user
types are plain characters of a name, not query syntax, so no input is an engine error.

Each tier is a band of constant scores, far enough apart that no sum of lower tiers reaches a
higher one, so the order is the old index's intent (matching.search.legacy): a whole name, alias,
pinyin, initials, code or id (exact), then the start of one (prefix), then a word or part of a
name (part: a later part of a name, a Chinese word anywhere in it as a phrase of its character
pairs, an English word stemmed), then a word of a description or need (text), then a typo of a
name (fuzzy: Levenshtein automata, edit distance 1 or 2 with transpositions). Within a band,
each field's weight, the share of query words matched (a disjunction-max tie-breaker), BM25,
and the entity's weight (label, shorter names first) order the hits.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import tantivy
from tantivy import Occur, Query

from matching.search.fields import KEY_FIELDS, stem
from matching.search.keys import clean, han_bigrams, han_runs, latin_words, norm, stock_key

__all__ = ["BAND", "TIER_FLOOR", "Filters", "QueryPlan", "plan", "tier_of"]

#: Constant score of a match in each tier, before field and entity weights (0.68 .. 1.0).
BAND = {"exact": 10_000.0, "prefix": 1_000.0, "part": 100.0, "fuzzy": 30.0, "text": 5.0}
#: The lowest score (after weights) of each tier: a tier's floor is above the most all lower
#: tiers can sum to (part: 100 + coverage 55 + BM25 x 0.1 of at most MAX_WORDS words ~ 190;
#: text: 5 + coverage 2.75 + BM25 x 0.02 ~ 15).
TIER_FLOOR = (("exact", 3_000.0), ("prefix", 300.0), ("part", 60.0), ("fuzzy", 18.0), ("text", 0.0))
COVERAGE = 0.05  # a disjunction-max tie-breaker: each further query word matched adds 5%
PART_BM25 = 0.03
TEXT_BM25 = 0.01
MEMBER_TEXT_BM25 = 0.3  # orders the members of a named chain link by their descriptions (≤ ~6 points)
MIN_WORD_SHARE = 0.6  # of three or more query words, at least this share must match
MAX_GATE_CONJUNCTIONS = 10  # "need of n words" as a union of this many conjunctions at most
#: Legal forms and filler: in nearly every name, so they tell no entity apart; a query made only
#: of them still finds names and keys that start with it.
STOPWORDS = frozenset({"有限公司", "有限", "公司", "股份", "股份有限公司", "有限责任", "集团", "集团有限公司", "co",
                       "ltd", "inc", "corp", "corporation", "company", "limited", "group", "holdings", "the",
                       "and", "of", "for", "llc", "plc", "sa", "ag", "gmbh"})
MAX_WORDS = 12  # query words that count; a pasted paragraph is cut, not a thousand clauses
MAX_QUERY_CHARS = 200
PREFIX_MIN = 2  # a one-letter Latin prefix would match a twenty-sixth of every key
FUZZY_MIN = 5  # English words and keys shorter than this are too short for a typo to be told apart
FUZZY_TWO = 8  # from this length on, two edits
HAN_FUZZY_MIN = 4  # Chinese keys: one edit from four characters on (中芯国技 → 中芯国际)
FUZZY_FIELDS = ("k_name", "k_alias", "k_pinyin")  # never initials: a typo there is another firm


@dataclass(frozen=True)
class Filters:
    """Resolved filter values (ids and enum tokens); an empty tuple filters nothing."""

    labels: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()

    def any(self) -> bool:
        return bool(self.labels or self.kinds or self.regions or self.sectors or self.tiers)

    def clauses(self, schema: tantivy.Schema) -> list[tuple[Occur, Query]]:
        out = []
        for field, values in (("label", self.labels), ("kind", self.kinds), ("region", self.regions),
                              ("sector", self.sectors), ("tier", self.tiers)):
            if values:
                q = (Query.term_query(schema, field, values[0]) if len(values) == 1
                     else Query.term_set_query(schema, field, list(values)))
                out.append((Occur.Must, Query.const_score_query(q, 0.0)))
        return out


@dataclass(frozen=True)
class QueryPlan:
    """The text query and what the explanation of a hit needs: the key and the query words."""

    query: Query | None
    key: str
    han_words: tuple[str, ...]
    latin_words: tuple[str, ...]
    linked: tuple[str, ...] = ()  # chain links the query names exactly; their members match as parts
    with_fuzzy: Query | None = None  # the query with typo matching, run when it alone finds too little


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it logs its dictionary build at INFO
    jieba.initialize()
    return jieba


def warm_segmenter() -> None:
    """Load jieba's dictionary (seconds) before the first query needs it."""
    _jieba()


@lru_cache(maxsize=4096)
def words(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The query's Chinese words (jieba, simplified) and other words (case-folded).

    Characters jieba leaves single (a name it does not know: 中芯 → 中 / 芯) are joined back
    into one word: as single characters each would match half the index."""
    han: list[str] = []
    for run in han_runs(text):
        pending = ""
        for w in [*_jieba().lcut(run, HMM=False), ""]:
            if len(w) == 1:
                pending += w
                continue
            if pending:
                han.append(pending)
                pending = ""
            if w:
                han.append(w)
    return tuple(han[:MAX_WORDS]), tuple(latin_words(text)[:MAX_WORDS])


def plan(schema: tantivy.Schema, text: str, linked: Sequence[str] = (),
         searcher: tantivy.Searcher | None = None) -> QueryPlan:
    """The query of a search box's text; `linked` chain links (found by a first plan, see
    SearchEngine.run) add their member entities to the part tier: 封装 names the packaging and
    test link, so its firms are what the user is after even where no name says 封装."""
    q = clean(text)[:MAX_QUERY_CHARS]
    key = norm(q)
    if not key:
        return QueryPlan(None, "", (), ())
    han, latin = words(q)
    han, latin = list(han), list(latin)
    tiers: list[Query] = []
    exact = [Query.const_score_query(Query.term_query(schema, f, key), BAND["exact"] * w) for f, w in KEY_FIELDS.items()]
    code = stock_key(q)
    if code and code != key:
        exact.append(Query.const_score_query(Query.term_query(schema, "k_code", code), BAND["exact"]))
    tiers.append(Query.disjunction_max_query(exact))
    if len(key) >= PREFIX_MIN or not key.isascii():
        tiers.append(Query.disjunction_max_query(
            [Query.const_score_query(starts_with(schema, f, key), BAND["prefix"] * w)
             for f, w in KEY_FIELDS.items()]))
    han = [w for w in han if w not in STOPWORDS]
    latin = [w for w in latin if w not in STOPWORDS]
    name_words = _name_word_queries(schema, han, latin)
    part = [] if len(key) < PREFIX_MIN and key.isascii() else [
        Query.const_score_query(starts_with(schema, "k_part", key), BAND["part"])]
    if name_words:
        part.append(_words_tier(name_words, BAND["part"], PART_BM25))
    text_words = _text_word_queries(schema, han, latin)
    if linked:  # a member of the link the whole query names matches as if by every word; among
        # members, those whose descriptions say the query's words come first
        full = BAND["part"] * (1 + COVERAGE * max(len(name_words) - 1, 0))
        members = Query.const_score_query(Query.term_set_query(schema, "sector", list(linked)), full)
        if text_words:
            members = Query.boolean_query([(Occur.Must, members),
                                           (Occur.Should, Query.boost_query(_should(text_words), MEMBER_TEXT_BM25))])
        part.append(members)
    if part:
        tiers.append(Query.disjunction_max_query(part))
    if text_words:
        tiers.append(_words_tier(text_words, BAND["text"], TEXT_BM25))
    fuzzy = _fuzzy_queries(schema, key, latin, searcher)
    fuzzy_tier = Query.disjunction_max_query([Query.const_score_query(q, BAND["fuzzy"]) for q in fuzzy]) if fuzzy else None
    return QueryPlan(_should(tiers), key, tuple(han), tuple(latin), tuple(linked),
                     _should([*tiers, fuzzy_tier]) if fuzzy_tier is not None else None)


def _words_tier(words: Sequence[Query], band: float, bm25: float) -> Query:
    """Entities matching enough of the query's words (all of one or two, all but a few of more),
    scored `band` plus COVERAGE for every further word and BM25 for which words they are. Letting
    one common word of several match alone would make most of a million names match and be
    counted (a name's 半导体 or 科技), for nothing anybody looks for."""
    need = len(words) if len(words) <= 2 else max(2, math.ceil(len(words) * MIN_WORD_SHARE))
    gate = Query.const_score_query(_at_least(words, need), band)
    clauses = [(Occur.Must, gate), (Occur.Should, Query.boost_query(_should(words), bm25))]
    if len(words) > 1:
        clauses.append((Occur.Should, Query.disjunction_max_query(
            [Query.const_score_query(w, band * COVERAGE) for w in words], 1.0)))
    return Query.boolean_query(clauses)




def _at_least(words: Sequence[Query], need: int) -> Query:
    """Entities matching at least `need` of `words`, as a union of conjunctions where there are
    few: tantivy answers "2 of 3" by walking every posting of all three words (a region's name
    and an industry word each sit in a tenth of a million names), while each conjunction skips
    along its rarest word's postings. The same entities either way; 30-40% of an exact-name
    query at 1,000,000 names (bench/search_scale.py)."""
    if need >= len(words):
        return words[0] if len(words) == 1 else Query.boolean_query([(Occur.Must, w) for w in words])
    combos = list(itertools.combinations(words, need))
    if len(combos) > MAX_GATE_CONJUNCTIONS:
        return Query.boolean_query([(Occur.Should, w) for w in words], need)
    return Query.boolean_query([(Occur.Should, Query.boolean_query([(Occur.Must, w) for w in c])) for c in combos])


def starts_with(schema: tantivy.Schema, field: str, prefix: str) -> Query:
    """Every term of `field` that starts with `prefix`, however many.

    Not tantivy's phrase-prefix query: it expands a prefix to at most 50 terms per segment, so
    "zh" on the 470-firm sample found 76 firms by pinyin instead of 203 (中国科学院 among those
    left out) and the totals were not true. A prefix Levenshtein automaton at distance 0 walks
    the whole term dictionary range; a regex (`zh.*`) does the same but compiling its Unicode
    automaton cost 0.25 ms a field, 2.3 ms of a 4 ms search page."""
    return Query.fuzzy_term_query(schema, field, prefix, 0, True, True)


def _should(queries: Sequence[Query]) -> Query:
    return queries[0] if len(queries) == 1 else Query.boolean_query([(Occur.Should, q) for q in queries])


def _han_word(schema: tantivy.Schema, field: str, word: str) -> Query:
    pairs = han_bigrams(word)
    if len(word) == 1:  # a one-character word: the pairs it starts, or the character alone
        return _should([starts_with(schema, field, word), Query.term_query(schema, field, word)])
    # every pair of the word, not as a phrase: positions cost more to check than they add (the
    # pairs of one short word rarely meet apart), and a full name's words sit in a tenth of a
    # million names each
    terms = [Query.term_query(schema, field, p) for p in dict.fromkeys(pairs)]
    return terms[0] if len(terms) == 1 else Query.boolean_query([(Occur.Must, t) for t in terms])


def _latin_word(schema: tantivy.Schema, field: str, word: str) -> Query | None:
    stems = stem(word)
    if not stems:
        return None
    return Query.term_query(schema, field, stems[0]) if len(stems) == 1 else Query.phrase_query(schema, field, stems)


def _name_word_queries(schema: tantivy.Schema, han: Iterable[str], latin: Iterable[str]) -> list[Query]:
    out = [_han_word(schema, "zh", w) for w in han]
    out += [q for w in latin if (q := _latin_word(schema, "en", w)) is not None]
    return out


def _text_word_queries(schema: tantivy.Schema, han: Iterable[str], latin: Iterable[str]) -> list[Query]:
    out = [_han_word(schema, "text_zh", w) for w in han]
    out += [q for w in latin if (q := _latin_word(schema, "text_en", w)) is not None]
    return out


def _distance(n: int) -> int:
    return 2 if n >= FUZZY_TWO else 1


def _fuzzy_queries(schema: tantivy.Schema, key: str, latin: Sequence[str],
                   searcher: tantivy.Searcher | None) -> list[Query]:
    out: list[Query] = []
    if key.isascii() and len(key) >= FUZZY_MIN:
        out += [Query.fuzzy_term_query(schema, f, key, _distance(len(key)), True, True) for f in FUZZY_FIELDS]
    elif not key.isascii() and len(key) >= HAN_FUZZY_MIN:
        out += [Query.fuzzy_term_query(schema, f, key, 1, True, True) for f in ("k_name", "k_alias")]
    for w in latin:
        # a word some name has is no typo, and its near words would drag in every name that has it
        if len(w) >= FUZZY_MIN and w.isalpha() and not (searcher and searcher.doc_freq("en_raw", w)):
            out.append(Query.fuzzy_term_query(schema, "en_raw", w, _distance(len(w)), True, False))
    return out


def tier_of(score: float) -> str:
    for tier, floor in TIER_FLOOR:
        if score >= floor:
            return tier
    return "text"

"""The names text extraction looks for: every way a document may write a known organisation or
place, each linked to one graph node.

Why derived forms: news rarely writes 江苏长电科技股份有限公司; it writes 长电科技, 长电 or
"JCET". From the graph's own names and aliases we derive, with the normaliser's word lists
(ingest.normalize.vocab: legal forms, regions, industry terms), the forms without brackets,
legal suffix or leading region, and for companies the short core (长电, Hua Hong). Each form
has a priority (an exact name or alias beats a derived form, which beats a short core); a form
that two nodes share at their best priority is dropped as ambiguous rather than guessed (except
that one organisation beats places: a park's name is also its district's alias).

Why not the normaliser's own functions: they cost 60-200 µs a name, too slow for 200,000
organisations in every refresh; the rules here are the same cuts, applied to its lists.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import opencc

from ingest.normalize.vocab import vocabulary
from kg.places import ZH_SUFFIXES
from kg.store import Node

VERSION = "1"  # bump when the rules below change, so cached extraction results are redone
EXACT, FORM, SHORT = 0, 1, 2
LABELS = {"Organization": "ORG", "Region": "GPE"}  # spaCy's entity labels for the two kinds
COMPANY_KINDS = {"company", "listed_company", "fund"}  # kinds whose short core names the firm
REGION_WORDS_EN = {"city", "district", "province", "county", "prefecture", "municipality", "shi", "qu", "sheng"}
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[0-9a-z]+")
_BRACKETED = re.compile(r"\([^()]*\)")
COMMON_WORD_FREQ = 300  # a derived short name jieba counts this often is a word (联合, 移动), not a firm


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


class _FoldTable(dict[int, str]):
    """A str.translate table built on demand: each character maps to exactly one character, so
    offsets in the folded text are offsets in the original."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        out = unicodedata.normalize("NFKC", ch)
        out = out if len(out) == 1 else ch
        if HAN_RE.match(out):
            simple = _t2s().convert(out)
            out = simple if len(simple) == 1 else out
        low = out.casefold()
        out = low if len(low) == 1 else out
        self[code] = out
        return out


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Full-width to half-width, traditional to simplified, lower case; same length as text."""
    return text.translate(_FOLD)


@dataclass
class NameIndex:
    """Surface forms to node ids, in the shape the scanner (ingest.extract.ruler) reads fast."""

    han: dict[str, str] = field(default_factory=dict)  # folded form with Han characters -> node id
    han_lengths: dict[str, tuple[int, ...]] = field(default_factory=dict)  # first two chars -> lengths, longest first
    latin: dict[str, str] = field(default_factory=dict)  # "hua hong" -> node id
    latin_lengths: dict[str, tuple[int, ...]] = field(default_factory=dict)  # first word -> word counts
    upper_only: set[str] = field(default_factory=set)  # acronyms matched only in capitals (JCET, not jcet)
    labels: dict[str, str] = field(default_factory=dict)  # node id -> ORG / GPE
    nodes: int = 0
    ambiguous: int = 0
    digest: str = ""

    @property
    def size(self) -> int:
        return len(self.han) + len(self.latin)


class _Affixes:
    """A word list for cutting ends: a set plus its lengths, longest first, so a cut costs a
    few set lookups instead of a scan of the list (this runs for every name in the graph)."""

    def __init__(self, items: Iterable[Any]):
        self.items = frozenset(items)
        self.lengths = sorted({len(x) for x in self.items}, reverse=True)

    def strip_end(self, s: Any, keep: int = 1) -> Any:
        """Cut the longest listed suffix while at least `keep` elements stay; repeat."""
        cut = True
        while cut:
            cut = False
            for n in self.lengths:
                if len(s) - n >= keep and s[-n:] in self.items:
                    s, cut = s[:-n], True
                    break
        return s

    def strip_start(self, s: Any, keep: int = 1, times: int = 1) -> Any:
        for _ in range(times):
            for n in self.lengths:
                if len(s) - n >= keep and s[:n] in self.items:
                    s = s[n:]
                    break
        return s


@cache
def _lists() -> dict[str, _Affixes]:
    v = vocabulary()
    return {
        "legal_zh": _Affixes(v.legal_zh),
        "industry_zh": _Affixes(v.industry_zh),
        "region_zh": _Affixes({r for r in v.region_by_zh} | {r + s for r in v.region_by_zh for s in ("省", "市")}),
        "place_suffix_zh": _Affixes(ZH_SUFFIXES),
        "legal_en": _Affixes(v.legal_en),
        "industry_en": _Affixes(v.industry_en),
        "region_words_en": _Affixes((w,) for w in REGION_WORDS_EN),
    }


@cache
def _word_freq() -> dict[str, int]:
    """jieba's dictionary frequencies (60M-token corpus), to tell words from firm names."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt.FREQ


def han_forms(name: str, label: str, kind: str | None) -> list[tuple[str, int]]:
    """Folded Han-script forms of a name with their priorities."""
    v = vocabulary()
    exact = re.sub(r"\s+", "", fold(name))
    out = [(exact, EXACT)]
    lists = _lists()
    if label == "Region":
        out.append((lists["place_suffix_zh"].strip_end(exact, keep=2), FORM))
        return out
    if any(exact.endswith(p) for p in v.protected_zh):  # a branch office is not its parent
        return out
    brackets = [b.strip("()") for b in _BRACKETED.findall(exact)]
    plain = _BRACKETED.sub("", exact)
    base = lists["legal_zh"].strip_end(plain, keep=2)
    rest = lists["region_zh"].strip_start(base, keep=2, times=2)  # 江苏无锡华光 -> 华光
    out += [(plain, FORM), (base, FORM), (rest, FORM)]
    if kind in COMPANY_KINDS:
        core = lists["industry_zh"].strip_end(rest, keep=2)
        common = (_word_freq().get(core) or 0) >= COMMON_WORD_FREQ
        if core != rest and core not in v.region_by_zh and core not in v.industry_zh and not common:
            out.append((core, SHORT))
            out += [(core + b, SHORT) for b in brackets if b in v.region_by_zh]  # 华虹(无锡) -> 华虹无锡
    return [(s, p) for s, p in out if len(s) >= 2 and HAN_RE.search(s)]


def latin_forms(name: str, label: str, kind: str | None) -> list[tuple[str, int, bool]]:
    """Latin-script forms as space-joined words, with priority and whether only capitals match."""
    v = vocabulary()
    folded = fold(name)
    original = re.findall(r"[0-9A-Za-z]+", unicodedata.normalize("NFKC", name))
    words = tuple(LATIN_WORD.findall(folded))
    forms: list[tuple[tuple[str, ...], int]] = [(words, EXACT)]
    lists = _lists()
    if label == "Region":
        forms.append((lists["region_words_en"].strip_end(words), FORM))
    else:
        plain = tuple(LATIN_WORD.findall(_BRACKETED.sub(" ", folded)))
        base = lists["legal_en"].strip_end(plain)
        forms += [(plain, FORM), (base, FORM)]
        if kind in COMPANY_KINDS:
            core = lists["industry_en"].strip_end(base)
            if core != base and core not in v.region_by_latin:
                forms.append((core, SHORT))
    out = []
    for ws, prio in forms:
        text = " ".join(ws)
        if len(text) < 3 or (len(ws) == 1 and ws[0] in v.legal_single_words):
            continue
        if len(ws) == 1 and len(text) <= 5:  # short single words: acronyms in capitals only
            upper = ws[0] in {w.lower() for w in original if w.isupper() and len(w) > 1}
            if not upper and (prio != EXACT or len(text) < 4):
                continue
            out.append((text, prio, upper))
        elif len(ws) == 1 and prio == SHORT:  # one plain word cut from a name is too often a word
            continue
        else:
            out.append((text, prio, False))
    return out


def index_inputs(nodes: Iterable[Node], redirects: Mapping[str, str]) -> list[tuple]:
    """What the index depends on, as sorted plain data: its hash decides whether cached
    extraction results still hold."""
    rows = []
    for n in nodes:
        if n.label not in LABELS:
            continue
        p = n.props
        names = [p.get("name_zh"), p.get("name_en"), *(p.get("aliases") or [])]
        rows.append((redirects.get(n.id, n.id), n.label, p.get("kind") or "", tuple(x for x in names if x)))
    rows.sort()
    return rows


def inputs_digest(rows: list[tuple], *extra: str) -> str:
    h = hashlib.sha1(VERSION.encode())
    for part in extra:
        h.update(part.encode())
    h.update(json.dumps(rows, ensure_ascii=False).encode())
    return h.hexdigest()


def build_index(rows: list[tuple], digest: str = "") -> NameIndex:
    """The index from `index_inputs` rows; ambiguous forms are dropped, not guessed.

    The cyclic garbage collector is paused meanwhile: the build makes millions of small dicts
    and tuples that hold no cycles, and repeated collections over them doubled the time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build_index(rows, digest)
    finally:
        if enabled:
            gc.enable()


def _build_index(rows: list[tuple], digest: str) -> NameIndex:
    han: dict[str, dict[str, int]] = defaultdict(dict)
    latin: dict[str, dict[str, int]] = defaultdict(dict)
    upper: set[str] = set()
    index = NameIndex(digest=digest, nodes=len(rows))
    for node_id, label, kind, names in rows:
        index.labels[node_id] = LABELS[label]
        for name in names:
            if HAN_RE.search(name):
                for form, prio in han_forms(name, label, kind):
                    han[form][node_id] = min(prio, han[form].get(node_id, prio))
            else:
                for form, prio, caps in latin_forms(name, label, kind):
                    latin[form][node_id] = min(prio, latin[form].get(node_id, prio))
                    if caps:
                        upper.add(form)
    for table, out in ((han, index.han), (latin, index.latin)):
        for form, owners in table.items():
            best = min(owners.values())
            ids = sorted(n for n, p in owners.items() if p == best)
            orgs = [n for n in ids if index.labels[n] == "ORG"]
            if len(ids) > 1 and len(orgs) == 1:  # an organisation's own name beats a place alias
                ids = orgs
            if len(ids) == 1:
                out[form] = ids[0]
            else:
                index.ambiguous += 1
    index.upper_only = {f for f in upper if f in index.latin}
    index.han_lengths = _lengths((f[:2], len(f)) for f in index.han)
    index.latin_lengths = _lengths((f.split(" ", 1)[0], f.count(" ") + 1) for f in index.latin)
    return index


def _lengths(pairs: Iterable[tuple[str, int]]) -> dict[str, tuple[int, ...]]:
    out: dict[str, set[int]] = defaultdict(set)
    for key, n in pairs:
        out[key].add(n)
    return {k: tuple(sorted(v, reverse=True)) for k, v in out.items()}

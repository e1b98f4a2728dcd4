"""Re-resolve only what changed: which pairs must be scored again, given the previous run.

Why this is exact: an automatic decision about a pair is a pure function of its two records (and
of the resolver's code and settings, see `fingerprint`), and whether a pair is scored at all
depends only on the blocks the two records share (`blocking.block_keys`, skipped above
`max_block_size`) and on whether a shared code already links them. So after a run, a pair of
unchanged records keeps its decision unless one of its blocks changed size across the limit or
its code link changed. The blocks that can change are those holding an added, changed or removed
record ("dirty" blocks); only their pairs are looked at. Clustering, canonical ids and manual
decisions are recomputed in full every run (they are cheap), so an override file or a staff
decision changed since the last run takes effect without any cache of its own.

The state is saved with the graph version it was computed for (`ingest.resolve.step`), so a
killed run leaves the previous state with the previous graph. With no state, or one from other
code or settings, every block is dirty and this is a from-scratch resolution.

The state is JSON, never a pickle: it travels with the graph folder and its backups, and
unpickling a file someone else wrote runs their code. JSON objects decode straight into the
dicts the state holds, so it loads about as fast as the pickle did.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from itertools import combinations
from pathlib import Path
from typing import Any

from ingest.resolve.blocking import TWO_SIDED
from ingest.resolve.decisions import Decision, Judgement, Origin
from ingest.resolve.score import Evidence
from ingest.resolve.settings import ResolveSettings
from kg.gcpause import gc_paused

__all__ = ["PairPlan", "ResolveState", "fingerprint", "plan_pairs", "record_hash"]

STATE_VERSION = 4  # 4: JSON (3 and before were pickles, never loaded now)
STATE_FORMAT = "stakegraph-resolve-state"
SEP = "\x1f"
Pair = tuple[str, str]
_ROOT = Path(__file__).resolve().parents[2]
# What a record's features and a pair's score are computed by: a change here invalidates the state.
_CODE = ("ingest/resolve", "ingest/normalize")
_NOT_SCORING = {"step.py", "explain.py", "evaluate.py", "resolution.py", "incremental.py", "__init__.py"}
_LIBRARIES = ("pypinyin", "opencc", "opencc-python-reimplemented", "rapidfuzz", "jieba")


@dataclass
class ResolveState:
    """What the next run needs of this one: per record its content hash and block keys, the
    automatic pair decisions from scoring, and the pairs a shared code linked (never scored)."""

    fingerprint: str
    hashes: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # block keys joined by SEP: one string a record loads fast
    rows: dict[Pair, Decision] = field(default_factory=dict)
    linked: set[Pair] = field(default_factory=set)
    explained: dict[str, str] = field(default_factory=dict)  # merged entity -> Resolution.explanation_inputs

    def block_keys(self, record_id: str) -> frozenset[str]:
        joined = self.keys[record_id]
        return frozenset(joined.split(SEP)) if joined else frozenset()

    @staticmethod
    def joined(keys: frozenset[str]) -> str:
        return SEP.join(sorted(keys))

    def save(self, path: Path) -> None:
        """One JSON document: the dicts as objects, each decision as a list (its fields in order)."""
        doc = {"format": STATE_FORMAT, "version": STATE_VERSION, "fingerprint": self.fingerprint,
               "hashes": self.hashes, "keys": self.keys, "explained": self.explained,
               "linked": sorted(self.linked),
               "rows": [[d.record_a, d.record_b, d.judgement.value, d.origin.value, d.reason, d.score,
                         [list(e) for e in d.evidence], d.who, d.when] for d in self.rows.values()]}
        tmp = path.with_suffix(".tmp")
        with gc_paused():
            text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), check_circular=False)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ResolveState | None:
        """The saved state, or None when absent, unreadable or not of this format (the run then
        resolves from scratch). It is data only: a wrong field is refused, never executed."""
        try:
            with gc_paused():  # millions of small objects, no cycles
                doc = json.loads(path.read_bytes())
                if not (isinstance(doc, dict) and doc.get("format") == STATE_FORMAT and doc.get("version") == STATE_VERSION):
                    return None
                state = cls(_text(doc["fingerprint"]), _texts(doc["hashes"]), _texts(doc["keys"]),
                            _decisions(doc["rows"]), {(_text(a), _text(b)) for a, b in doc["linked"]},
                            _texts(doc["explained"]))
        except (OSError, ValueError, TypeError, KeyError, RecursionError):
            return None
        return state


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, found {type(value).__name__}")
    return value


def _texts(value: Any) -> dict[str, str]:
    """A dict of text to text, as JSON decoded it (checked, not copied: this is the fast path)."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise TypeError("expected an object of texts")
    return value


def _decisions(rows: Any) -> dict[Pair, Decision]:
    """Decisions from their saved lists, checked by Decision itself (order, judgement, origin)."""
    out: dict[Pair, Decision] = {}
    for a, b, judgement, origin, reason, score, evidence, who, when in rows:
        if score is not None and not isinstance(score, (int, float)):
            raise TypeError(f"score {score!r} of {a!r}/{b!r} is not a number")
        d = Decision(_text(a), _text(b), Judgement(judgement), Origin(origin), _text(reason), score,
                     tuple(Evidence(_text(f), float(v), _text(t)) for f, v, t in evidence), _text(who),
                     None if when is None else _text(when))
        out[d.pair] = d
    return out


def record_hash(record: Mapping[str, Any]) -> str:
    return hashlib.sha1(json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


_code_hash: str | None = None


def fingerprint(settings: ResolveSettings) -> str:
    """The settings, the resolver's and normaliser's files (code and word lists) and the versions
    of the libraries they use: decisions cached under another fingerprint are not reused."""
    global _code_hash
    if _code_hash is None:
        h = hashlib.sha1()
        for folder in _CODE:
            for path in sorted((_ROOT / folder).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.name not in _NOT_SCORING:
                    h.update(str(path.relative_to(_ROOT)).encode())
                    h.update(path.read_bytes())
        for lib in _LIBRARIES:
            with contextlib.suppress(metadata.PackageNotFoundError):
                h.update(f"{lib}={metadata.version(lib)}".encode())
        _code_hash = h.hexdigest()
    return hashlib.sha1(f"{_code_hash}|{settings!r}".encode()).hexdigest()


def _block(key: str) -> str:
    """Two-sided keys ("p<:x", "p>:x") form one block "p:x"; other keys are their own block."""
    return f"{key[0]}:{key[3:]}" if key[0] in TWO_SIDED else key


@dataclass
class PairPlan:
    score: list[tuple[int, int]]  # index pairs (i < j) to score now
    keep: list[Decision]  # earlier decisions that still stand


class _Blocks:
    """Block membership now, and block sizes as they were in the previous run."""

    def __init__(self, keys: Sequence[frozenset[str]], delta: Mapping[str, int], max_size: int):
        self.index: dict[str, list[int]] = defaultdict(list)
        for i, ks in enumerate(keys):
            for k in ks:
                self.index[k].append(i)
        self.delta = delta  # per key: its size in the previous run minus its size now
        self.max_size = max_size

    def _size(self, key: str, before: bool) -> int:
        return len(self.index.get(key, ())) + (self.delta.get(key, 0) if before else 0)

    def valid(self, block: str, before: bool = False) -> bool:
        """Scored at all: one-sided blocks of 2..max records; two-sided ones with records on both
        sides and at most max in all (blocking.candidate_pairs' rule)."""
        kind, text = block[0], block[2:]
        if kind in TWO_SIDED:
            left, right = self._size(f"{kind}<:{text}", before), self._size(f"{kind}>:{text}", before)
            return left > 0 and right > 0 and left + right <= self.max_size
        return 2 <= self._size(block, before) <= self.max_size

    def pairs(self, block: str, only: set[int] | None = None) -> Iterator[tuple[int, int]]:
        """Index pairs (i < j) of a block; with `only`, those with at least one member in it."""
        kind, text = block[0], block[2:]
        if kind in TWO_SIDED:
            left, right = self.index.get(f"{kind}<:{text}", []), self.index.get(f"{kind}>:{text}", [])
            for i in left:
                for j in right:
                    if i != j and (only is None or i in only or j in only):
                        yield (i, j) if i < j else (j, i)
        else:
            for i, j in combinations(self.index.get(block, []), 2):
                if only is None or i in only or j in only:
                    yield (i, j) if i < j else (j, i)


def _shared_blocks(a: frozenset[str], b: frozenset[str]) -> set[str]:
    out = {k for k in a & b if k[0] not in TWO_SIDED}
    for k in a:
        if k[0] in TWO_SIDED and f"{k[0]}{'>' if k[1] == '<' else '<'}:{k[3:]}" in b:
            out.add(_block(k))
    return out


def plan_pairs(ids: Sequence[str], hashes: Sequence[str], keys: Sequence[frozenset[str]], linked: set[Pair],
               old: ResolveState | None, max_block_size: int) -> PairPlan:
    """Which pairs to score and which earlier decisions still stand; with `old` None, every
    candidate pair is scored (the same pairs as blocking.candidate_pairs)."""
    pos = {rid: i for i, rid in enumerate(ids)}
    clean = {i for i, rid in enumerate(ids) if old is not None and old.hashes.get(rid) == hashes[i]}
    dirty = set(range(len(ids))) - clean
    delta: Counter[str] = Counter()
    for i in dirty:
        delta.update({k: -1 for k in keys[i]})
    if old is not None:
        for rid in old.keys:
            if rid not in pos or pos[rid] in dirty:  # removed or changed: its old blocks lose it
                delta.update({k: 1 for k in old.block_keys(rid)})
    blocks = _Blocks(keys, delta, max_block_size)
    dirty_blocks = sorted({_block(k) for k in delta})

    def pair_ids(i: int, j: int) -> Pair:
        return (ids[i], ids[j]) if ids[i] < ids[j] else (ids[j], ids[i])

    def candidate(i: int, j: int, before: bool) -> bool:
        return any(blocks.valid(b, before) for b in _shared_blocks(keys[i], keys[j]))

    score: set[tuple[int, int]] = set()
    shrunk = False  # a block scored before is not scored now: its old pairs may have lost their only block
    for block in dirty_blocks:
        now, before = blocks.valid(block), old is not None and blocks.valid(block, before=True)
        shrunk |= before and not now
        if not now:
            continue
        for i, j in blocks.pairs(block, only=dirty if before else None):
            if (i, j) in score or pair_ids(i, j) in linked:
                continue
            if i in dirty or j in dirty:
                score.add((i, j))
            elif not candidate(i, j, before=True) or pair_ids(i, j) in old.linked:  # type: ignore[union-attr]
                score.add((i, j))  # two unchanged records scored for the first time
    keep: list[Decision] = []
    if old is not None:
        for pair in sorted(old.linked - linked):  # a code link gone: the pair is scored if blocked together
            i, j = sorted((pos.get(pair[0], -1), pos.get(pair[1], -1)))
            if i >= 0 and i in clean and j in clean and candidate(i, j, before=False):
                score.add((i, j))
        for pair, row in old.rows.items():
            i, j = pos.get(pair[0], -1), pos.get(pair[1], -1)
            if i in clean and j in clean and pair not in linked and (not shrunk or candidate(i, j, before=False)):
                keep.append(row)
    return PairPlan(sorted(score), keep)

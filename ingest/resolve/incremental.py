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

The state is an Arrow IPC file of plain typed columns, never a pickle: it travels with the graph
folder and its backups, and unpickling a file someone else wrote runs their code. A file whose
columns are not exactly the expected ones is ignored (from scratch). Arrow rather than JSON: its
strings turn into Python objects in C++, so 220,000 records load about as fast as the pickle did.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from itertools import combinations, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.resolve.blocking import TWO_SIDED
from ingest.resolve.decisions import Decision, Judgement, Origin
from ingest.resolve.model import load_model
from ingest.resolve.score import Evidence
from ingest.resolve.settings import ResolveSettings
from kg.gcpause import gc_paused

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["PairPlan", "ResolveState", "fingerprint", "plan_pairs", "record_hash"]

STATE_VERSION = 4  # 4: Arrow columns (3 and before were pickles, never loaded now)
STATE_FORMAT = "stakegraph-resolve-state"
log = logging.getLogger("stakegraph.refresh")
SEP = "\x1f"
Pair = tuple[str, str]
_ROOT = Path(__file__).resolve().parents[2]
# What a record's features and a pair's score are computed by: a change here invalidates the state.
_CODE = ("ingest/resolve", "ingest/normalize")
_NOT_SCORING = {"step.py", "explain.py", "evaluate.py", "resolution.py", "incremental.py", "__init__.py", "review.py"}
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
        import pyarrow as pa

        tmp = path.with_suffix(".tmp")
        with gc_paused():
            table = _to_table(self)
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ResolveState | None:
        """The saved state, or None when absent, unreadable or not exactly this format (the run
        then resolves from scratch). Data only: nothing in the file is ever executed."""
        import pyarrow as pa

        if not path.is_file():
            return None
        try:
            with pa.memory_map(str(path), "r") as source:  # no copy: values are converted straight from the file
                table = pa.ipc.open_file(source).read_all()
            if table.schema.metadata != _METADATA or not table.schema.remove_metadata().equals(_schema()) or table.num_rows != 1:
                log.info("resolution state %s is of another format or version; not used", path)
                return None
            table.validate(full=True)  # offsets and UTF-8 checked before any value is read
            with gc_paused():  # millions of small objects, no cycles
                return _from_table(cls, table)
        except (OSError, ValueError, TypeError, KeyError, pa.ArrowException) as exc:
            log.info("resolution state %s is unreadable (%s); not used", path, exc)
            return None


_METADATA = {b"format": STATE_FORMAT.encode(), b"version": str(STATE_VERSION).encode()}
# Every column is a list in a table of one row: the sections have different lengths.
_TEXT_COLUMNS = ("fingerprint", "ids", "hashes", "key_ids", "keys",  # key_ids empty: the same as ids
                 "a", "b", "judgement", "origin", "reason", "who", "when",  # reason null: the first evidence's detail
                 "feature", "detail", "linked_a", "linked_b", "explained_ids", "explained")
_NUMBER_COLUMNS = ("score", "value")
_COUNT_COLUMNS = ("evidence_count",)
_NULLABLE = ("reason", "score", "who", "when")
_schema_cache: list[pa.Schema] = []


def _schema() -> pa.Schema:
    """Built on first use: importing the resolver needs no pyarrow."""
    import pyarrow as pa

    if not _schema_cache:
        kinds = {**dict.fromkeys(_TEXT_COLUMNS, pa.large_string()), **dict.fromkeys(_NUMBER_COLUMNS, pa.float64()),
                 **dict.fromkeys(_COUNT_COLUMNS, pa.int64())}
        _schema_cache.append(pa.schema([(name, pa.large_list(kind)) for name, kind in kinds.items()]))
    return _schema_cache[0]


def _to_table(state: ResolveState) -> pa.Table:
    import pyarrow as pa

    ids = list(state.hashes)
    rows = list(state.rows.values())
    evidence = [e for d in rows for e in d.evidence]
    linked = sorted(state.linked)
    values: dict[str, list[Any]] = {
        "fingerprint": [state.fingerprint], "ids": ids, "hashes": list(state.hashes.values()),
        "key_ids": [] if list(state.keys) == ids else list(state.keys), "keys": list(state.keys.values()),
        "a": [d.record_a for d in rows], "b": [d.record_b for d in rows], "judgement": [d.judgement.value for d in rows],
        "origin": [d.origin.value for d in rows],
        "reason": [None if d.evidence and d.reason == d.evidence[0].detail else d.reason for d in rows],
        "who": [d.who for d in rows], "when": [d.when for d in rows],
        "feature": [e.feature for e in evidence], "detail": [e.detail for e in evidence],
        "linked_a": [a for a, _ in linked], "linked_b": [b for _, b in linked],
        "explained_ids": list(state.explained), "explained": list(state.explained.values()),
        "score": [d.score for d in rows], "value": [float(e.value) for e in evidence],
        "evidence_count": [len(d.evidence) for d in rows],
    }
    schema = _schema()
    return pa.table([pa.array([values[f.name]], f.type) for f in schema], schema=schema.with_metadata(_METADATA))


def _from_table(cls: type[ResolveState], table: pa.Table) -> ResolveState:
    import numpy as np

    def column(name: str) -> list[Any]:
        values = table.column(name).chunk(0).values  # the one row's list
        if values.null_count and name not in _NULLABLE:
            raise ValueError(f"column {name} has an empty value")
        out = values.to_numpy(zero_copy_only=False).tolist()  # converted in C++; to_pylist goes value by value
        if values.null_count and name in _NUMBER_COLUMNS:
            for i in np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False)):
                out[i] = None  # a null number comes back as NaN
        return out

    (fingerprint,) = column("fingerprint")
    ids, hashes, keys = column("ids"), column("hashes"), column("keys")
    key_ids = column("key_ids") or (ids if keys else [])
    linked_a, linked_b, explained_ids, explained = (column(n) for n in ("linked_a", "linked_b", "explained_ids", "explained"))
    # Evidence._make without its per-call overhead (1.3 million at 220,000 records)
    # Feature names and record ids repeat millions of times: one string object each (sys.intern)
    # instead of one per row saves ~0.2 GiB at 220,000 records.
    features = list(map(sys.intern, column("feature")))
    evidence = list(map(tuple.__new__, repeat(Evidence), zip(features, column("value"), column("detail"), strict=True)))
    counts = column("evidence_count")
    if sum(counts) != len(evidence) or min(counts, default=0) < 0:
        raise ValueError("the evidence counts do not add up")
    judgements, origins = {j.value: j for j in Judgement}, {o.value: o for o in Origin}
    rows: dict[Pair, Decision] = {}
    at = 0
    for a, b, j, o, reason, score, who, when, n in zip(map(sys.intern, column("a")), map(sys.intern, column("b")),
                                                       column("judgement"), column("origin"),
                                                       column("reason"), column("score"), column("who"), column("when"),
                                                       counts, strict=True):
        ev = tuple(evidence[at:at + n])
        at += n
        if reason is None and not ev:
            raise ValueError(f"decision {a!r}/{b!r} has neither a reason nor evidence")
        d = _decision(a, b, judgements[j], origins[o], ev[0].detail if reason is None else reason, score, ev, who, when)
        rows[d.pair] = d
    # strict: two columns of one section that differ in length are a damaged file
    return cls(fingerprint, dict(zip(ids, hashes, strict=True)), dict(zip(key_ids, keys, strict=True)), rows,
               set(zip(linked_a, linked_b, strict=True)), dict(zip(explained_ids, explained, strict=True)))


def _decision(a: str, b: str, judgement: Judgement, origin: Origin, reason: str, score: float | None,
              evidence: tuple[Evidence, ...], who: str | None, when: str | None) -> Decision:
    """A Decision made the way unpickling made one, without __init__ (which took a third of the
    load time at 300,000 rows); the checks of its __post_init__ are made here: two different
    records in order, judgement and origin members of their enums (the caller looked them up)."""
    if not a < b:
        raise ValueError(f"decision {a!r}/{b!r}: two records in order expected")
    d = object.__new__(Decision)
    object.__setattr__(d, "__dict__", {"record_a": a, "record_b": b, "judgement": judgement, "origin": origin, "reason": reason,
                                       "score": score, "evidence": evidence, "who": who or "", "when": when})
    return d


def record_hash(record: Mapping[str, Any]) -> str:
    return hashlib.sha1(json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


_code_hash: str | None = None


def fingerprint(settings: ResolveSettings) -> str:
    """The settings, the resolver's and normaliser's files (code, word lists, the shipped model),
    the learned model in use (its file's digest: features, trees and thresholds) and the versions
    of the libraries they use: decisions cached under another fingerprint are not reused, so a
    new model rescores every pair."""
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
    model = load_model(settings.model)
    return hashlib.sha1(f"{_code_hash}|{settings!r}|{model.digest if model else 'no model'}".encode()).hexdigest()


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

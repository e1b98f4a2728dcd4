"""The decision table: every judgement about a pair of records is a row.

Why a table (after nomenklatura's resolver): the merged view must be reproducible and
reviewable. Automatic rows come from keys and scores; manual rows come from staff (an
override file) and always win over automatic ones for the same pair. Clusters are then a pure
function of the table (see cluster.py), so undoing a manual decision is removing a row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from ingest.resolve.score import Evidence

__all__ = ["Decision", "DecisionTable", "Judgement", "Origin", "load_overrides"]

OVERRIDE_COLUMNS = ("record_a", "record_b", "judgement", "who", "note")


class Judgement(StrEnum):
    SAME = "same"
    NOT_SAME = "not_same"
    UNSURE = "unsure"
    BELOW = "below"  # scored, too low to review: kept so an explanation can show the best refused candidate


class Origin(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


@dataclass(frozen=True)
class Decision:
    """One judgement about one unordered pair; record_a < record_b always."""

    record_a: str
    record_b: str
    judgement: Judgement
    origin: Origin
    reason: str = ""
    score: float | None = None
    evidence: tuple[Evidence, ...] = field(default=(), compare=False)
    who: str = ""
    when: str | None = None  # ISO date of a manual decision; automatic rows carry none (reproducible)

    def __post_init__(self) -> None:
        if self.record_a == self.record_b:
            raise ValueError(f"a decision needs two different records, got {self.record_a!r} twice")
        if self.record_a > self.record_b:
            a, b = self.record_b, self.record_a
            object.__setattr__(self, "record_a", a)
            object.__setattr__(self, "record_b", b)
        object.__setattr__(self, "judgement", Judgement(self.judgement))
        object.__setattr__(self, "origin", Origin(self.origin))

    @property
    def pair(self) -> tuple[str, str]:
        return (self.record_a, self.record_b)

    def other(self, record_id: str) -> str:
        return self.record_b if record_id == self.record_a else self.record_a

    def as_dict(self) -> dict:
        return {"record_a": self.record_a, "record_b": self.record_b, "judgement": self.judgement.value,
                "origin": self.origin.value, "reason": self.reason, "score": self.score,
                "evidence": [e._asdict() for e in self.evidence], "who": self.who, "when": self.when}


class DecisionTable:
    """All rows, and for each pair the one in force: the last manual row, else the last automatic."""

    def __init__(self, rows: Iterable[Decision] = ()) -> None:
        self._rows: list[Decision] = []
        self._effective: dict[tuple[str, str], Decision] = {}
        self._by_record: dict[str, set[tuple[str, str]]] = {}
        for row in rows:
            self.add(row)

    def add(self, row: Decision) -> None:
        self._rows.append(row)
        current = self._effective.get(row.pair)
        if current is not None and current.origin is Origin.MANUAL and row.origin is Origin.AUTO:
            return  # a manual decision is never overruled by the machine
        self._effective[row.pair] = row
        for rid in row.pair:
            self._by_record.setdefault(rid, set()).add(row.pair)

    def get(self, a: str, b: str) -> Decision | None:
        return self._effective.get((a, b) if a < b else (b, a))

    def rows(self) -> list[Decision]:
        """Every row ever added, superseded ones included (the audit trail)."""
        return list(self._rows)

    def effective(self) -> Iterator[Decision]:
        """The row in force for each pair, in a stable order."""
        for pair in sorted(self._effective):
            yield self._effective[pair]

    def for_record(self, record_id: str) -> list[Decision]:
        return [self._effective[p] for p in sorted(self._by_record.get(record_id, ()))]

    def __len__(self) -> int:
        return len(self._effective)


def load_overrides(path: str | Path) -> list[Decision]:
    """Manual decisions from a CSV with columns record_a,record_b,judgement,who,note[,when].

    judgement is same or not_same. A bad row raises ValueError naming its line: an override file
    is short and hand-written, and silently skipping a staff decision would be worse.
    """
    path = Path(path)
    out: list[Decision] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in OVERRIDE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns {missing}")
        for row in reader:
            line = reader.line_num
            a, b = (row.get("record_a") or "").strip(), (row.get("record_b") or "").strip()
            judgement = (row.get("judgement") or "").strip().lower()
            if not a or not b:
                raise ValueError(f"{path}:{line}: record_a and record_b are required")
            if judgement not in (Judgement.SAME.value, Judgement.NOT_SAME.value):
                raise ValueError(f"{path}:{line}: judgement must be same or not_same, not {judgement!r}")
            try:
                out.append(Decision(a, b, Judgement(judgement), Origin.MANUAL,
                                    reason=(row.get("note") or "").strip() or "manual decision",
                                    who=(row.get("who") or "").strip(),
                                    when=(row.get("when") or "").strip() or None))
            except ValueError as exc:
                raise ValueError(f"{path}:{line}: {exc}") from exc
    return out

"""The change log of a run: what was added, changed (old and new values) and no longer seen.

As in nomenklatura's delta, the log is the difference between the graph before and after a run,
per label and relationship type. Run bookkeeping (last_seen, feeds) is not a change.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

MAX_DETAILS = 2000  # changes listed one by one per kind; counts are always complete


@dataclass
class ChangeLog:
    run_id: str
    started: str
    finished: str = ""
    status: str = "running"
    feeds: list[str] = field(default_factory=list)
    added: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    changed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unseen: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    details: list[dict[str, Any]] = field(default_factory=list)
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)  # read problems that rejected nothing
    merges: int = 0
    merges_by_sources: dict[str, int] = field(default_factory=dict)  # "feed a + feed b" -> entities joined
    normalised: list[dict[str, Any]] = field(default_factory=list)  # per source, field and rule: count, example
    timings: dict[str, float] = field(default_factory=dict)
    memory_mb: dict[str, dict[str, int]] = field(default_factory=dict)  # after each step: resident now, peak so far

    def _detail(self, entry: dict[str, Any]) -> None:
        if len(self.details) < MAX_DETAILS:
            self.details.append(entry)

    def add(self, kind: str, key: str) -> None:
        self.added[kind] += 1
        self._detail({"op": "added", "kind": kind, "id": key})

    def change(self, kind: str, key: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.changed[kind] += 1
        fields = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        self._detail({"op": "changed", "kind": kind, "id": key,
                      "fields": {f: {"old": old.get(f), "new": new.get(f)} for f in fields}})

    def mark_unseen(self, kind: str, key: str) -> None:
        self.unseen[kind] += 1
        self._detail({"op": "unseen", "kind": kind, "id": key})

    def totals(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "added": sum(self.added.values()),
            "changed": sum(self.changed.values()),
            "unseen": sum(self.unseen.values()),
            "rejected": len(self.rejected),
            "warnings": len(self.warnings),
            "disagreements": len(self.disagreements),
            "merges": self.merges,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.totals(),
            "started": self.started,
            "finished": self.finished,
            "feeds": self.feeds,
            "by_kind": {
                k: {"added": self.added.get(k, 0), "changed": self.changed.get(k, 0), "unseen": self.unseen.get(k, 0)}
                for k in sorted(set(self.added) | set(self.changed) | set(self.unseen))
            },
            "details": self.details,
            "disagreements": self.disagreements,
            "rejected_rows": self.rejected,
            "warning_rows": self.warnings,
            "merges_by_sources": self.merges_by_sources,
            "normalised": self.normalised,
            "timings_s": self.timings,
            "memory_mb": self.memory_mb,
        }

    def summary(self) -> str:
        t = self.totals()
        lines = [f"run {self.run_id}: {t['status']}; sources: {', '.join(self.feeds) or '-'}",
                 f"  added {t['added']}, changed {t['changed']}, no longer seen {t['unseen']}, "
                 f"rejected {t['rejected']}, merges {t['merges']}"]
        for kind, c in self.as_dict()["by_kind"].items():
            lines.append(f"  {kind:<14} +{c['added']} ~{c['changed']} -{c['unseen']}")
        for pair, n in sorted(self.merges_by_sources.items()):
            lines.append(f"  joined {n:>6} entities: {pair}")
        for note in self.normalised:
            lines.append(f"  normalised {note['count']:>6} {note['source']}: {note['field']}: {note['rule']} "
                         f"(e.g. {note['example']})")
        if self.disagreements:
            lines.append(f"  {len(self.disagreements)} staff-set values now differ from their source (kept)")
        for r in self.rejected[:20]:
            lines.append(f"  rejected {r['source']}: {r['file']}:{r['row']}: field {r['field']}: {r['reason']}")
        if len(self.rejected) > 20:
            lines.append(f"  … and {len(self.rejected) - 20} more rejected rows (see the run's JSON)")
        for w in self.warnings[:20]:
            where = f"{w['file']}:{w['row']}" if w["row"] else w["file"]
            lines.append(f"  warning {w['source']}: {where}: field {w['field']}: {w['reason']}")
        if len(self.warnings) > 20:
            lines.append(f"  … and {len(self.warnings) - 20} more warnings (see the run's JSON)")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=1, sort_keys=True, default=str)

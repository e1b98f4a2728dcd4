"""What the console tells a person whose query it stopped, lost or could not start.

One English sentence per reason; the web shows the same reasons in Chinese (web/console.py).
"""

from __future__ import annotations

from typing import Any

from kg.store import StoreError

__all__ = ["STOPPED", "ConsoleStopped", "memory_text", "stopped_at_time_limit"]


def memory_text(mb: int) -> str:
    return f"{mb // 1024} GB" if mb % 1024 == 0 else f"{mb} MB"


# What the user is told when the console stops or loses a query; the web translates by reason.
STOPPED = {
    "time": "the query was stopped at the time limit of {seconds:g} s; add a LIMIT or narrow the MATCH",
    "memory": "the query was stopped: memory limit {limit}; return fewer or smaller values",
    "crash": "the engine crashed on this query ({how}); the next query gets a fresh worker",
    "killed": "the query's worker was killed ({how}), probably by the system for lack of memory",
    "exited": "the query's worker stopped unexpectedly ({how}); the next query gets a fresh worker",
    "too_large": "the result is larger than the console's limit of {limit}; return fewer rows or columns",
    "busy": "the console is busy (it runs {workers} at a time); try again when a query has finished",
    "start": "the console could not start its query worker: {detail}",
}


class ConsoleStopped(StoreError):
    """A query the console stopped, lost or could not start; `reason` is a key of STOPPED and
    `values` fill its message."""

    def __init__(self, reason: str, **values: Any):
        super().__init__(STOPPED[reason].format(**values))
        self.reason, self.values = reason, values


def stopped_at_time_limit(timeout_ms: int) -> ConsoleStopped:
    return ConsoleStopped("time", seconds=timeout_ms / 1000)

"""What every source reader produces: node and edge records, rejections and warnings.

Readers differ (bundle CSV, JSON, an HTTP API, text documents); what they hand on is the same,
so resolution, change detection and writing are written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class NodeRecord:
    label: str
    id: str
    props: dict[str, Any]
    source: str  # the row's source (citation), also the first half of its record id
    feed: str  # the manifest source that supplied it
    where: str  # file:row, for messages
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def record_id(self) -> str:
        return f"{self.source}:{self.id}"


@dataclass
class EdgeRecord:
    type: str
    source_id: str
    target_id: str
    props: dict[str, Any]
    source: str
    feed: str
    where: str
    extra: dict[str, Any] = field(default_factory=dict)
    # A staff retraction: the fact is wrong. The diff drops every source's record of the same
    # edge and deletes it from the graph, on every run while the retraction stands.
    retracted: bool = False


@dataclass(frozen=True)
class Problem:
    """Something a reader reports, named by source, file, row, field and reason."""

    source: str  # the feed
    file: str
    row: int  # 1-based line of the file; the header is row 1; 0 when the whole file is refused
    field: str
    reason: str
    value: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}" if self.row else self.file
        value = f" (value {self.value!r})" if self.value else ""
        return f"{self.source}: {where}: field {self.field}: {self.reason}{value}"

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "file": self.file, "row": self.row, "field": self.field,
                "reason": self.reason, "value": self.value}


class Rejection(Problem):
    """The row was not loaded (row 0, or "file refused" in the reason: none of the file was)."""


class ReadWarning(Problem):
    """The row loaded, or the file held no bundle data, but the owner should know: a value was
    cleaned, a file in the folder was not read. Warnings do not make a run fail."""


@dataclass
class Batch:
    """Everything read from one or more sources in one run."""

    nodes: list[NodeRecord] = field(default_factory=list)
    edges: list[EdgeRecord] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[ReadWarning] = field(default_factory=list)
    feeds: set[str] = field(default_factory=set)
    # values a mapping's normalising rule changed, counted per (source, field, rule), with the
    # first example: '万  科Ａ' -> '万科A' is not a problem of the row, but the owner should see it
    normalised: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)

    def extend(self, other: Batch) -> None:
        self.nodes += other.nodes
        self.edges += other.edges
        self.rejected += other.rejected
        self.warnings += other.warnings
        self.feeds |= other.feeds
        for key, note in other.normalised.items():
            mine = self.normalised.setdefault(key, {**note, "count": 0})
            mine["count"] += note["count"]

    def note_fixes(self, feed: str, file: str, row: int, fixes: list[tuple[str, str, str, str]]) -> None:
        """Count what normalising rules changed in one loaded row (ingest.sources.mapping)."""
        for field_name, rule, before, after in fixes:
            note = self.normalised.get((feed, field_name, rule))
            if note is None:
                note = self.normalised[(feed, field_name, rule)] = {
                    "source": feed, "field": field_name, "rule": rule, "count": 0,
                    "example": f"{file}:{row}: {before!r} -> {after!r}"}
            note["count"] += 1

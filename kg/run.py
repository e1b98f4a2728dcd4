"""What one refresh run hands its steps: the run record and the content hashes.

Both floors above kg/ write steps that the refresh runs (ingest/ diffs and writes the sources'
records, matching/ derives vectors, tags and summaries), so what a step needs of the run lives
here, below both: a step receives a `RunContext` and returns; it never imports the runner
(jobs/refresh.py), as nomenklatura's matchers never import its xref. ingest/ extends the record
with what only its own steps share (the batch, merge redirects).

A derive step that sets a property of a node computes the node's new hash with
`node_content_hash`, exactly as the diff does, so the next run sees no change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from kg.changelog import ChangeLog
from kg.gcpause import gc_paused
from kg.schema import Schema
from kg.settings import Settings
from kg.store import GraphWriter, Node

__all__ = ["BOOKKEEPING", "NODE_HASHED_PROVENANCE", "RunContext", "content_hash", "node_content_hash"]

#: Run bookkeeping: never part of what a change is.
BOOKKEEPING = frozenset({"first_seen", "last_seen", "status", "feeds", "content_hash", "staff_fields"})
#: Provenance that does count as a change of a node (a new source or record joined it).
NODE_HASHED_PROVENANCE = ("extra", "sources", "record_ids")


def content_hash(props: dict[str, Any]) -> str:
    """A stable hash of the non-empty, non-bookkeeping properties."""
    payload = {k: v for k, v in props.items() if k not in BOOKKEEPING and v not in (None, "", [])}
    return hashlib.sha1(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def node_content_hash(props: dict[str, Any], spec: dict[str, Any]) -> str:
    """What a node's change detection covers: its declared properties marked hashed, extra source
    columns, sources and record ids."""
    return content_hash(
        {k: v for k, v in props.items() if (k in spec and spec[k].hashed) or k in NODE_HASHED_PROVENANCE}
    )


@dataclass
class RunContext:
    """The run record every step shares: who writes, what the graph held when the run began, and
    which nodes this run added or changed (derive steps redo only those)."""

    settings: Settings
    schema: Schema
    writer: GraphWriter
    log: ChangeLog
    run_id: str
    existing: dict[str, Node] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)  # node ids added or changed this run
    renamed: set[str] = field(default_factory=set)  # of those, added or with a new name: what others' key ties repeat
    existing_edges: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges_read: bool = False  # existing_edges holds the graph's edges (see read_edges)

    @gc_paused()
    def read_edges(self) -> dict[str, dict[str, Any]]:
        """The graph's edges by key ("source|TYPE|target"), each its properties plus `_pair`,
        read once per run: text extraction looks up curated pairs in them, the edge diff diffs
        against them and derive steps summarise them (reading a million edges twice cost seconds).
        Read it after merged nodes moved their edges."""
        if not self.edges_read:
            existing: dict[str, dict[str, Any]] = {}
            for rel in self.schema.relationships:
                for edges in self.writer.iter_edges(rel, batch_size=50_000):
                    for e in edges:
                        e.props["_pair"] = (e.source_id, e.target_id)  # the batch's own dicts: no copy
                        existing[e.props.get("id") or f"{e.source_id}|{rel}|{e.target_id}"] = e.props
            self.existing_edges, self.edges_read = existing, True
        return self.existing_edges

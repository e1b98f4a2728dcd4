"""The run record of ingest's own steps: the kg run record plus what only they share.

Resolution, text extraction and the diff pass the batch of source records along, and the merge
redirects resolution decides; derive steps above never need them, so they are not in
`kg.run.RunContext`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.records import Batch
from kg.run import RunContext

__all__ = ["Context"]


@dataclass(kw_only=True)
class Context(RunContext):
    batch: Batch
    redirects: dict[str, str] = field(default_factory=dict)  # merged record/node id -> surviving id
    rebuild: set[str] = field(default_factory=set)  # nodes whose merge was undone: rebuilt from their records

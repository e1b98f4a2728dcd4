"""JSON documents as a source: a file (or folder of *.json files) holding a list of objects.

`records` is the dotted path of the list inside each document (`data.items`); the mapping's
columns are dotted paths into each object (`name.zh`, `listing.codes.*`). A record's row in a
rejection is its 1-based position in that list: JSON has no rows, and the position is what
someone fixing the file can find.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.records import Batch, Rejection
from ingest.sources.mapping import Mapping, lookup
from ingest.sources.registry import register_kind
from kg.schema import Schema


def records_at(document: Any, path: str | None) -> list[Any] | None:
    """The list of records in a parsed document, or None when `path` does not lead to a list."""
    found = lookup(document, path) if path else document
    if isinstance(found, dict) and not path:
        return [found]
    return found if isinstance(found, list) else None


@dataclass
class JsonSource:
    name: str
    path: Path
    mapping: dict[str, Any]
    records: str | None = None
    _mapping: Mapping = field(init=False, repr=False)
    pattern = "*.json"

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self._mapping = Mapping.parse(self.mapping, f"source {self.name}: mapping")

    def read(self, schema: Schema) -> Batch:
        batch = Batch()
        if not self.path.exists():
            batch.rejected.append(Rejection(self.name, str(self.path), 0, "(file)", "no such file or folder"))
            return batch
        files = sorted(self.path.glob(self.pattern)) if self.path.is_dir() else [self.path]
        if all([self.read_file(f, batch) for f in files]):
            batch.feeds.add(self.name)  # a refused file means the feed is incomplete: judge nothing unseen
        return batch

    def read_file(self, path: Path, batch: Batch) -> bool:
        try:
            document = json.loads(path.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError as exc:
            batch.rejected.append(Rejection(self.name, path.name, 0, "(file)", f"not UTF-8 text: {exc.reason}"))
            return False
        except json.JSONDecodeError as exc:
            batch.rejected.append(Rejection(self.name, path.name, exc.lineno, "(file)", f"not JSON: {exc.msg}"))
            return False
        items = records_at(document, self.records)
        if items is None:
            batch.rejected.append(Rejection(self.name, path.name, 0, self.records or "(document)",
                                            "no list of records there; set `records` to its dotted path"))
            return False
        for i, item in enumerate(items, 1):
            if not isinstance(item, dict):
                batch.rejected.append(Rejection(self.name, path.name, i, "(record)", "not an object", str(item)[:80]))
                continue
            self._mapping.apply(item, self.name, path.name, i, batch)
        return True


register_kind("json", JsonSource)

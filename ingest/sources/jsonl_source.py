"""JSON Lines as a source: one object per line, so a rejection names the real line number.

The mapping is the same as for `json` (dotted paths into each object); a line that is not
JSON is rejected on its own and the other lines still load.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from pathlib import Path

from ingest.records import Batch, Rejection
from ingest.sources.json_source import JsonSource
from ingest.sources.registry import register_kind


@dataclass
class JsonlSource(JsonSource):
    pattern = "*.jsonl"

    def read_file(self, path: Path, batch: Batch) -> bool:
        if self.records:
            batch.rejected.append(Rejection(self.name, path.name, 0, "records", "`records` is for json, not jsonl"))
            return False
        raw = path.read_bytes().removeprefix(codecs.BOM_UTF8)
        for line_no, data in enumerate(raw.split(b"\n"), 1):  # not splitlines: U+2028 may sit in a string
            try:
                line = data.decode("utf-8")
            except UnicodeDecodeError:
                batch.rejected.append(Rejection(self.name, path.name, line_no, "(line)", "not UTF-8 text (bad encoding)"))
                continue
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                batch.rejected.append(Rejection(self.name, path.name, line_no, "(line)", f"not JSON: {exc.msg}"))
                continue
            if not isinstance(item, dict):
                batch.rejected.append(Rejection(self.name, path.name, line_no, "(line)", "not an object", line[:80]))
                continue
            self._mapping.apply(item, self.name, path.name, line_no, batch)
        return True


register_kind("jsonl", JsonlSource)

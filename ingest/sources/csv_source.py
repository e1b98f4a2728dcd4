"""A CSV file (or a folder of them) with any headers, mapped onto the graph by the manifest.

Rows are read by the same reader as a bundle's (ingest.csv_rows), so row numbers, the BOM, bad
encodings, quotes, over-long cells and links are handled one way everywhere; the manifest's
`mapping` (ingest.sources.mapping) says what the columns mean, and so which columns are prose
that a quoted cell may continue over several lines. Exports from Chinese office software are
often GBK, hence `encoding`.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.csv_rows import CsvLimits, read_csv
from ingest.records import Batch, ReadWarning, Rejection
from ingest.sources.mapping import Mapping, key_columns, referenced_columns
from ingest.sources.registry import register_kind
from kg.schema import Schema


@dataclass
class CsvSource:
    name: str
    path: Path
    mapping: dict[str, Any]
    encoding: str = "utf-8"
    limits: CsvLimits | None = None  # None: the process's settings (CsvLimits.from_settings)
    _mapping: Mapping = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self._mapping = Mapping.parse(self.mapping, f"source {self.name}: mapping")
        codecs.lookup(self.encoding)  # an unknown encoding fails when the manifest loads

    def files(self) -> list[Path]:
        if not self.path.is_dir():
            return [self.path]
        return sorted(p for p in self.path.iterdir() if p.suffix.lower() == ".csv")

    def read(self, schema: Schema) -> Batch:
        batch = Batch()
        if not self.path.exists():
            batch.rejected.append(Rejection(self.name, str(self.path), 0, "(file)", "no such file or folder"))
            return batch  # the feed did not run, so nothing of it is judged unseen
        if self.path.is_dir():
            for other in sorted(set(self.path.iterdir()) - set(self.files())):
                batch.warnings.append(ReadWarning(self.name, other.name, 0, "(file)", "not a .csv file, not read"))
        limits = self.limits or CsvLimits.from_settings()
        complete = True
        needed = referenced_columns(self._mapping)
        keys = key_columns(self._mapping)
        for path in self.files():
            table = read_csv(path, self.name, limits, multiline=lambda col: col not in keys, encoding=self.encoding)
            batch.rejected += table.rejected
            if table.refused:
                complete = False
                continue
            missing = sorted(needed - set(table.header))
            if missing:
                batch.rejected.append(Rejection(self.name, path.name, 1, ", ".join(missing),
                                                "column named in the mapping is missing; file refused"))
                complete = False
                continue
            for line, row in table.rows:
                self._mapping.apply(row, self.name, path.name, line, batch)
        if complete:
            batch.feeds.add(self.name)
        return batch


register_kind("csv", CsvSource, reads_csv=True)

"""A bundle folder as a source (the format `stakegraph load` takes; docs/bundle.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest.bundle import read_bundle
from ingest.csv_rows import CsvLimits
from ingest.records import Batch
from kg.schema import Schema


@dataclass
class BundleSource:
    name: str
    path: Path
    ignore: tuple[str, ...] = ()  # files in the folder that are not bundle files (e.g. mapping tables)
    limits: CsvLimits | None = None  # None: the process's settings (CsvLimits.from_settings)

    def read(self, schema: Schema) -> Batch:
        return read_bundle(Path(self.path), self.name, schema, tuple(self.ignore), self.limits)

"""A bundle folder as a source (the format `stakegraph load` takes; docs/bundle.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kg.schema import Schema
from ingest.bundle import read_bundle
from ingest.records import Batch


@dataclass
class BundleSource:
    name: str
    path: Path

    def read(self, schema: Schema) -> Batch:
        return read_bundle(Path(self.path), self.name, schema)

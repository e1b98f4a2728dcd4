"""What a source kind is and where kinds register: the registry, apart from what loads it.

Each kind module (csv_source, json_source, …) registers its reader here when imported; the
manifest loader (ingest.sources) imports the kind modules. Kind modules import only this module,
never the loader, so there is no import circle (datasette's hookspecs.py beside plugins.py).
"""

from __future__ import annotations

from typing import Any, Protocol

from ingest.records import Batch
from kg.schema import Schema

__all__ = ["CSV_KINDS", "KINDS", "ManifestError", "Source", "register_kind"]


class Source(Protocol):
    """A source of one run: a name (its feed) and a read that returns its records."""

    name: str

    def read(self, schema: Schema) -> Batch: ...


class ManifestError(ValueError):
    """The manifest or a source's options are wrong; the message names the source."""


KINDS: dict[str, Any] = {}
CSV_KINDS: set[str] = set()  # kinds that read CSV files and take the reader's limits (`limits=`)


def register_kind(name: str, factory: Any, *, reads_csv: bool = False) -> None:
    """Register a source kind; `reads_csv`: its factory takes `limits` (ingest.csv_rows)."""
    KINDS[name] = factory
    if reads_csv:
        CSV_KINDS.add(name)

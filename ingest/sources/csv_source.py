"""A CSV file (or a folder of them) with any headers, mapped onto the graph by the manifest.

Rows are read by the bundle reader (ingest.bundle.read_csv), so row numbers, the BOM and bad
encodings are handled one way everywhere; the manifest's `mapping` (ingest.sources.mapping)
says what the columns mean. Exports from Chinese office software are often GBK, hence
`encoding`.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ingest.bundle import read_csv
from ingest.records import Batch, Rejection
from ingest.sources import register_kind
from ingest.sources.mapping import Mapping, referenced_columns
from kg.schema import Schema


class _Recoded:
    """A file in another encoding presented to read_csv as UTF-8 bytes. Undecodable bytes
    survive (surrogateescape), so read_csv still rejects exactly the rows that hold them."""

    def __init__(self, path: Path, encoding: str):
        self.path, self.name, self.encoding = path, path.name, encoding

    def read_bytes(self) -> bytes:
        text = self.path.read_bytes().decode(self.encoding, errors="surrogateescape")
        return text.encode("utf-8", errors="surrogateescape")


@dataclass
class CsvSource:
    name: str
    path: Path
    mapping: dict[str, Any]
    encoding: str = "utf-8"
    _mapping: Mapping = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self._mapping = Mapping.parse(self.mapping, f"source {self.name}: mapping")
        codecs.lookup(self.encoding)  # an unknown encoding fails when the manifest loads

    def files(self) -> list[Path]:
        return sorted(self.path.glob("*.csv")) if self.path.is_dir() else [self.path]

    def read(self, schema: Schema) -> Batch:
        batch = Batch()
        if not self.path.exists():
            batch.rejected.append(Rejection(self.name, str(self.path), 0, "(file)", "no such file or folder"))
            return batch  # the feed did not run, so nothing of it is judged unseen
        complete = True
        needed = referenced_columns(self._mapping)
        for path in self.files():
            utf8 = codecs.lookup(self.encoding).name == "utf-8"
            header, rows, rejected = read_csv(path if utf8 else cast(Path, _Recoded(path, self.encoding)), self.name)
            batch.rejected += rejected
            missing = sorted(needed - set(header))
            if header and missing:
                batch.rejected.append(Rejection(self.name, path.name, 1, ", ".join(missing),
                                                "column named in the mapping is missing; file refused"))
                complete = False
                continue
            complete = complete and bool(header)
            for line, row in rows:
                self._mapping.apply(row, self.name, path.name, line, batch)
        if complete:
            batch.feeds.add(self.name)
        return batch


register_kind("csv", CsvSource)

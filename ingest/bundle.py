"""Reading a bundle: a folder of UTF-8 CSV files in the documented format (docs/bundle.md).

Each bad row is rejected with file, row, field and reason, and every good row still loads.
Row numbers are the file's line numbers as an editor shows them (the header is row 1).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ingest.records import Batch, EdgeRecord, NodeRecord, Rejection
from kg.schema import Prop, Schema, SchemaError, coerce_value, load_schema

NODE_FILES = {
    "organizations.csv": "Organization",
    "people.csv": "Person",
    "projects.csv": "Project",
    "sectors.csv": "Sector",
    "regions.csv": "Region",
    "documents.csv": "Document",
}
RELATIONS_FILE = "relations.csv"
# Columns that are read into edges or provenance rather than kept as node properties.
CELL_LINKS = {"sectors", "parent_id", "source"}
EDGE_COLUMNS = {"source_id", "target_id", "type", "source"}
LIST_CELL = Prop("sectors", "string[]")


def read_csv(path: Path, feed: str) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[Rejection]]:
    """Rows with their line numbers; undecodable rows are rejected one by one, not the file."""
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    rejected: list[Rejection] = []
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return [], [], [Rejection(feed, path.name, 0, "(file)", "the file is empty: no header row")]
    if any(_undecodable(h) for h in header):
        return [], [], [Rejection(feed, path.name, 1, "(header)", "not UTF-8 text")]
    rows: list[tuple[int, dict[str, str]]] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rejected.append(Rejection(feed, path.name, line, "(row)", f"malformed CSV: {exc}"))
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            rejected.append(Rejection(feed, path.name, line, "(row)",
                                      f"{len(cells)} cells but the header has {len(header)} columns"))
            continue
        row = dict(zip(header, (c.strip() for c in cells), strict=False))
        bad = [k for k, v in row.items() if _undecodable(v)]
        if bad:
            rejected.append(Rejection(feed, path.name, line, bad[0], "not UTF-8 text (bad encoding)"))
            continue
        rows.append((line, row))
    return header, rows, rejected


def _undecodable(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def read_bundle(folder: Path, feed: str, schema: Schema | None = None, ignore: tuple[str, ...] = ()) -> Batch:
    """Read every known file of a bundle; unknown files are reported, not silently skipped."""
    schema = schema or load_schema()
    folder = Path(folder)
    batch = Batch(feeds={feed})
    if not folder.is_dir():
        batch.rejected.append(Rejection(feed, str(folder), 0, "(folder)", "no such bundle folder"))
        return batch
    for path in sorted(folder.glob("*.csv")):
        if path.name in ignore:
            continue
        if path.name in NODE_FILES:
            _read_nodes(path, NODE_FILES[path.name], feed, schema, batch)
        elif path.name == RELATIONS_FILE:
            _read_edges(path, feed, schema, batch)
        else:
            known = ", ".join([*NODE_FILES, RELATIONS_FILE])
            batch.rejected.append(Rejection(feed, path.name, 0, "(file)", f"not a bundle file; expected one of {known}"))
    return batch


def _read_nodes(path: Path, label: str, feed: str, schema: Schema, batch: Batch) -> None:
    header, rows, rejected = read_csv(path, feed)
    batch.rejected += rejected
    spec = schema.label(label)
    if header and "id" not in header:
        batch.rejected.append(Rejection(feed, path.name, 1, "id", "missing required column"))
        return
    if header and not set(spec.required_any) & set(header):
        batch.rejected.append(Rejection(feed, path.name, 1, "|".join(spec.required_any), "missing required column (one of)"))
        return
    for line, row in rows:
        where = f"{path.name}:{line}"

        def reject(field: str, reason: str, value: str = "", line: int = line) -> None:
            batch.rejected.append(Rejection(feed, path.name, line, field, reason, value))

        node_id = row.get("id", "")
        if not node_id:
            reject("id", "empty id")
            continue
        if not any(row.get(n) for n in spec.required_any):
            reject("|".join(spec.required_any), "no name: at least one is required")
            continue
        props: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        ok = True
        for col, value in row.items():
            if col in ("id", *CELL_LINKS) or col in schema.provenance:
                continue
            prop = spec.props.get(col)
            if prop is None:
                if value:
                    extra[col] = value
                continue
            try:
                props[col] = coerce_value(prop, value)
            except SchemaError as exc:
                reject(col, exc.reason, value)
                ok = False
                break
        for name, prop in spec.props.items():
            if ok and prop.required and not props.get(name):
                reject(name, f"required; one of {', '.join(prop.enum)}" if prop.enum else "required")
                ok = False
        if not ok:
            continue
        source = row.get("source") or feed
        batch.nodes.append(NodeRecord(label, node_id, props, source, feed, where, extra))
        for sector in coerce_value(LIST_CELL, row.get("sectors", "")):
            batch.edges.append(EdgeRecord("ACTIVE_IN", node_id, sector, {}, source, feed, where + " (sectors)"))
        if row.get("parent_id"):
            batch.edges.append(EdgeRecord("PART_OF", node_id, row["parent_id"], {}, source, feed, where + " (parent_id)"))


def _read_edges(path: Path, feed: str, schema: Schema, batch: Batch) -> None:
    header, rows, rejected = read_csv(path, feed)
    batch.rejected += rejected
    missing = [c for c in ("source_id", "target_id", "type") if header and c not in header]
    if missing:
        batch.rejected.append(Rejection(feed, path.name, 1, ", ".join(missing), "missing required column"))
        return
    for line, row in rows:
        where = f"{path.name}:{line}"
        bad = next((c for c in ("source_id", "target_id", "type") if not row.get(c)), None)
        if bad:
            batch.rejected.append(Rejection(feed, path.name, line, bad, "empty"))
            continue
        if row["type"] not in schema.relationships:
            batch.rejected.append(Rejection(feed, path.name, line, "type", "unknown relationship type", row["type"]))
            continue
        props: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        ok = True
        for col, value in row.items():
            if col in EDGE_COLUMNS or not value:
                continue
            prop = schema.edge_props.get(col)
            if prop is None:
                extra[col] = value
                continue
            try:
                props[col] = coerce_value(prop, value)
            except SchemaError as exc:
                batch.rejected.append(Rejection(feed, path.name, line, col, exc.reason, value))
                ok = False
                break
        if ok:
            source = row.get("source") or feed
            batch.edges.append(EdgeRecord(row["type"], row["source_id"], row["target_id"], props, source, feed, where, extra))

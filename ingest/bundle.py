"""Reading a bundle: a folder of UTF-8 CSV files in the documented format (docs/bundle.md).

Each bad row is rejected with file, row, field and reason, and every good row still loads.
Row numbers are the file's line numbers as an editor shows them (the header is row 1). How rows
are cut from the file (quotes, over-long cells, links) is ingest.csv_rows; what a value may hold
(control characters) is ingest.cell_rules; this module maps the rows onto the schema.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.cell_rules import ControlCharacter, is_prose, screen
from ingest.csv_rows import CsvLimits, file_problem, read_csv
from ingest.records import Batch, EdgeRecord, NodeRecord, ReadWarning, Rejection
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
BUNDLE_FILES = (*NODE_FILES, RELATIONS_FILE)
# Columns that are read into edges or provenance rather than kept as node properties.
CELL_LINKS = {"sectors", "parent_id", "source"}
EDGE_COLUMNS = {"source_id", "target_id", "type", "source"}
LIST_CELL = Prop("sectors", "string[]")
VALUE_SHOWN = 80  # characters of a refused value quoted in its rejection


def read_bundle(folder: Path, feed: str, schema: Schema | None = None, ignore: tuple[str, ...] = (),
                limits: CsvLimits | None = None) -> Batch:
    """Read every known file of a bundle; every other entry of the folder is reported.

    A CSV that is not a bundle file (a misspelt name, `Organizations.CSV`) holds rows that will
    not load, so it is a rejection and the run fails; other files (a README, a folder) are
    warnings."""
    schema = schema or load_schema()
    limits = limits or CsvLimits.from_settings()
    folder = Path(folder)
    batch = Batch(feeds={feed})
    if not folder.is_dir():
        batch.rejected.append(Rejection(feed, str(folder), 0, "(folder)", "no such bundle folder"))
        return batch
    for path in sorted(folder.iterdir()):
        if path.name in ignore:
            continue
        if path.name in NODE_FILES:
            _read_nodes(path, NODE_FILES[path.name], feed, schema, batch, limits)
        elif path.name == RELATIONS_FILE:
            _read_edges(path, feed, schema, batch, limits)
        else:
            _report_other(path, feed, batch, limits)
    return batch


def _report_other(path: Path, feed: str, batch: Batch, limits: CsvLimits) -> None:
    expected = f"expected one of {', '.join(BUNDLE_FILES)}"
    if path.name.lower() in BUNDLE_FILES:
        batch.rejected.append(Rejection(feed, path.name, 0, "(file)",
                                        f"file refused: bundle file names are lower case; rename it {path.name.lower()}"))
    elif path.suffix.lower() == ".csv" and file_problem(path, limits) is None:
        batch.rejected.append(Rejection(feed, path.name, 0, "(file)", f"not a bundle file, not read; {expected}"))
    else:
        what = "a folder" if path.is_dir() and not path.is_symlink() else "not a bundle file"
        batch.warnings.append(ReadWarning(feed, path.name, 0, "(file)", f"{what}, not read; {expected}"))


def _screen(row: dict[str, str], prose: Callable[[str], bool], feed: str, file: str, line: int,
            batch: Batch) -> bool:
    """Refuse the row when an id, name or key holds a control character; strip them from prose
    (with a warning). False when the row is rejected."""
    notes = []
    for col, value in row.items():
        try:
            row[col], removed = screen(value, prose(col))
        except ControlCharacter as exc:
            batch.rejected.append(Rejection(feed, file, line, col, exc.reason, value[:VALUE_SHOWN]))
            return False
        if removed:
            notes.append(ReadWarning(feed, file, line, col, removed))
    batch.warnings += notes
    return True


def _refuse_file(feed: str, file: str, columns: list[str], reason: str, batch: Batch) -> None:
    """One rejection for the file, not one per row: every row would fail the same way."""
    batch.rejected.append(Rejection(feed, file, 1, "|".join(columns), f"file refused: {reason} {', '.join(columns)}"))


def _read_nodes(path: Path, label: str, feed: str, schema: Schema, batch: Batch, limits: CsvLimits) -> None:
    spec = schema.label(label)

    def prose(col: str) -> bool:
        return col not in ("id", *CELL_LINKS) and is_prose(spec.props.get(col), spec)

    table = read_csv(path, feed, limits, multiline=prose)
    batch.rejected += table.rejected
    if table.refused:
        return
    header = table.header
    required = ["id", *(name for name, prop in spec.props.items() if prop.required)]
    missing = [c for c in required if c not in header]
    if missing:
        return _refuse_file(feed, path.name, missing, "missing required column", batch)
    if not set(spec.required_any) & set(header):
        return _refuse_file(feed, path.name, list(spec.required_any), "missing required column, one of", batch)
    for line, row in table.rows:
        where = f"{path.name}:{line}"

        def reject(field: str, reason: str, value: str = "", line: int = line) -> None:
            batch.rejected.append(Rejection(feed, path.name, line, field, reason, value))

        if table.controls and not _screen(row, prose, feed, path.name, line, batch):
            continue
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


def _read_edges(path: Path, feed: str, schema: Schema, batch: Batch, limits: CsvLimits) -> None:
    def prose(col: str) -> bool:
        return col not in EDGE_COLUMNS and is_prose(schema.edge_props.get(col))

    table = read_csv(path, feed, limits, multiline=prose)
    batch.rejected += table.rejected
    if table.refused:
        return
    missing = [c for c in ("source_id", "target_id", "type") if c not in table.header]
    if missing:
        return _refuse_file(feed, path.name, missing, "missing required column", batch)
    for line, row in table.rows:
        where = f"{path.name}:{line}"
        if table.controls and not _screen(row, prose, feed, path.name, line, batch):
            continue
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

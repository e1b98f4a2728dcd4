"""Copying a graph between backends and to files, without loss.

A graph travels as a stream of batches: ("node", label, rows) then ("edge", type, rows), rows
being exactly what `GraphWriter.upsert_*` takes. Every source (a view, a JSONL export, a
neo4j-admin export) yields that stream and one function writes it into any writer, so the
round trips `ladybug → files → ladybug` and `ladybug → Neo4j → ladybug` share one code path.

Formats:
- `jsonl`: nodes.jsonl and edges.jsonl, one JSON object a line; exact (types, empty lists).
- `neo4j-admin`: the CSV files `neo4j-admin database import full` reads, one per label and
  relationship type, typed headers (`id:ID`, `aliases:string[]`, `:START_ID`, `:TYPE`), plus
  import.sh with the exact command. Arrays are joined with U+001F, which no text contains;
  an empty list and an absent property are the same thing there (neo4j-admin stores neither).
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kg.backends import BACKENDS, open_view, open_writer
from kg.schema import Schema, load_schema, schema_fingerprint
from kg.settings import Settings
from kg.store import GraphView, GraphWriter, StoreError

Batch = tuple[str, str, list[dict[str, Any]]]
FORMATS = ("jsonl", "neo4j-admin")
ARRAY_DELIMITER = "\u001f"
ADMIN_TYPES = {"string": "", "string[]": "string[]", "int": "long", "float": "double", "bool": "boolean"}
META_ID = "graph"


# sources ----------------------------------------------------------------------------------
def view_batches(view: GraphView, batch_size: int = 5000) -> Iterator[Batch]:
    """The whole graph of a view, nodes (label by label) before edges."""
    for label in view.schema.labels:
        for nodes in view.iter_nodes(label, batch_size):
            yield "node", label, [{"id": n.id, **n.props} for n in nodes]
    for rel in view.schema.relationships:
        for edges in view.iter_edges(rel, batch_size):
            yield "edge", rel, [{"source_id": e.source_id, "target_id": e.target_id, **e.props} for e in edges]


def jsonl_batches(folder: Path, batch_size: int = 5000) -> Iterator[Batch]:
    for kind, name in (("node", "nodes.jsonl"), ("edge", "edges.jsonl")):
        current, rows = None, []
        with open(folder / name, encoding="utf-8") as fh:
            for line in fh:
                item = json.loads(line)
                key = item["label"] if kind == "node" else item["type"]
                if (key != current or len(rows) >= batch_size) and rows:
                    yield kind, current, rows
                    rows = []
                current = key
                if kind == "node":
                    rows.append({"id": item["id"], **item["props"]})
                else:
                    rows.append({"source_id": item["source_id"], "target_id": item["target_id"], **item["props"]})
        if rows:
            yield kind, current, rows


def admin_batches(folder: Path, batch_size: int = 5000) -> Iterator[Batch]:
    """Re-read neo4j-admin CSV files by their typed headers (what the import tool would store)."""
    for kind, sub in (("node", "nodes"), ("edge", "relationships")):
        for path in sorted((folder / sub).glob("*.csv")):
            with open(path, encoding="utf-8", newline="") as fh:
                reader = csv.reader(fh)
                header = [_parse_header(h) for h in next(reader)]
                rows: list[dict[str, Any]] = []
                name = path.stem
                for cells in reader:
                    row = _row_from_cells(header, cells)
                    name = row.pop(":LABEL", None) or row.pop(":TYPE", None) or name
                    if name == "_Meta":
                        continue  # the version marker is not graph data
                    rows.append(row)
                    if len(rows) >= batch_size:
                        yield kind, name, rows
                        rows = []
                if rows:
                    yield kind, name, rows


def _parse_header(text: str) -> tuple[str, str]:
    name, _, typ = text.partition(":")
    if not name:  # :LABEL, :TYPE, :START_ID, :END_ID
        return ":" + typ, "string"
    return name, typ or "string"


def _row_from_cells(header: list[tuple[str, str]], cells: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for (name, typ), cell in zip(header, cells, strict=True):
        if cell == "":
            continue
        key = {":START_ID": "source_id", ":END_ID": "target_id"}.get(name, name)
        if typ == "ID":
            row[key] = cell
        elif typ.endswith("[]"):
            row[key] = cell.split(ARRAY_DELIMITER)
        elif typ in ("long", "int"):
            row[key] = int(cell)
        elif typ in ("double", "float"):
            row[key] = float(cell)
        elif typ == "boolean":
            row[key] = cell == "true"
        else:
            row[key] = cell
    return row


def folder_batches(folder: Path) -> Iterator[Batch]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if manifest["format"] == "jsonl":
        return jsonl_batches(folder)
    return admin_batches(folder)


# sinks ------------------------------------------------------------------------------------
def write_batches(writer: GraphWriter, batches: Iterator[Batch], replace: bool = False) -> dict[str, int]:
    """Upsert every batch; with replace, the writer's graph is emptied first. Returns rows per name."""
    if replace:
        for label in writer.schema.labels:
            ids = [n.id for b in writer.iter_nodes(label) for n in b]
            writer.delete_nodes(ids)
    counts: dict[str, int] = {}
    for kind, name, rows in batches:
        if kind == "node":
            writer.upsert_nodes(name, rows)
        else:
            writer.upsert_edges(name, rows)
        counts[name] = counts.get(name, 0) + len(rows)
    return counts


def write_jsonl(batches: Iterator[Batch], folder: Path) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with open(folder / "nodes.jsonl", "w", encoding="utf-8") as nodes, open(folder / "edges.jsonl", "w", encoding="utf-8") as edges:
        for kind, name, rows in batches:
            for row in rows:
                if kind == "node":
                    item = {"label": name, "id": row["id"], "props": {k: v for k, v in row.items() if k != "id"}}
                    nodes.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
                else:
                    props = {k: v for k, v in row.items() if k not in ("source_id", "target_id")}
                    item = {"type": name, "source_id": row["source_id"], "target_id": row["target_id"], "props": props}
                    edges.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
            counts[name] = counts.get(name, 0) + len(rows)
    return counts


def write_neo4j_admin(batches: Iterator[Batch], folder: Path, schema: Schema, version: str) -> dict[str, int]:
    (folder / "nodes").mkdir(parents=True, exist_ok=True)
    (folder / "relationships").mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    files: dict[str, tuple[Any, csv.writer, list[str]]] = {}
    try:
        for kind, name, rows in batches:
            if name not in files:
                cols = list(schema.node_columns(name)) if kind == "node" else [c for c in schema.edge_columns() if c != "id"]
                types = schema.node_columns(name) if kind == "node" else schema.edge_columns()
                head = ["id:ID", *[_typed(c, types[c].type) for c in cols], ":LABEL"] if kind == "node" else [
                    ":START_ID", ":END_ID", ":TYPE", "id", *[_typed(c, types[c].type) for c in cols]]
                fh = open((folder / ("nodes" if kind == "node" else "relationships") / f"{name}.csv"), "w",  # noqa: SIM115
                          encoding="utf-8", newline="")
                files[name] = (fh, csv.writer(fh), cols)
                files[name][1].writerow(head)
            _fh, w, cols = files[name]
            for row in rows:
                unknown = set(row) - {*cols, "id", "source_id", "target_id"}
                if unknown:
                    raise StoreError(f"{name} {row.get('id')}: properties not in the schema: {', '.join(sorted(unknown))}")
                cells = [_cell(row.get(c)) for c in cols]
                if kind == "node":
                    w.writerow([row["id"], *cells, name])
                else:
                    edge_id = row.get("id") or f"{row['source_id']}|{name}|{row['target_id']}"
                    w.writerow([row["source_id"], row["target_id"], name, edge_id, *cells])
            counts[name] = counts.get(name, 0) + len(rows)
    finally:
        for fh, _w, _c in files.values():
            fh.close()
    with open(folder / "nodes" / "_Meta.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id:ID", "version", "schema", ":LABEL"])
        w.writerow([META_ID, version, schema_fingerprint(schema), "_Meta"])
    args = " ".join(f"--nodes=nodes/{p.name}" for p in sorted((folder / "nodes").glob("*.csv")))
    args += "".join(f" --relationships=relationships/{p.name}" for p in sorted((folder / "relationships").glob("*.csv")))
    (folder / "import.sh").write_text(
        "#!/bin/sh\n# Import into an empty database (stop it first), then run `stakegraph migrate` to create\n"
        "# the constraints and indexes. NEO4J_HOME/bin must be on PATH; DATABASE defaults to neo4j.\n"
        'cd "$(dirname "$0")"\n'
        # The database name first: --nodes/--relationships take several values, so a name after
        # them is read as one more file (Neo4j 5.26: "File 'neo4j' doesn't exist").
        "neo4j-admin database import full \"${DATABASE:-neo4j}\" --id-type=string --array-delimiter=U+001F \\\n"
        f"  --multiline-fields=true --overwrite-destination=true {args}\n",
        encoding="utf-8",
    )
    return counts


def _typed(column: str, typ: str) -> str:
    suffix = ADMIN_TYPES[typ]
    return f"{column}:{suffix}" if suffix else column


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        items = [str(v) for v in value]
        if any(ARRAY_DELIMITER in v for v in items):
            raise StoreError(f"a list value contains the array delimiter U+001F: {items!r}")
        return ARRAY_DELIMITER.join(items)
    return str(value)


# entry points -----------------------------------------------------------------------------
def export_files(settings: Settings, folder: Path, fmt: str) -> dict[str, int]:
    """Write the current graph as `fmt` files into folder (with manifest.json)."""
    if fmt not in FORMATS:
        raise StoreError(f"unknown export format {fmt!r}; choose {', '.join(FORMATS)}")
    folder.mkdir(parents=True, exist_ok=True)
    with open_view(settings) as view:
        batches = view_batches(view)
        if fmt == "jsonl":
            counts = write_jsonl(batches, folder)
        else:
            counts = write_neo4j_admin(batches, folder, view.schema, view.version)
        manifest = {"format": fmt, "version": view.version, "backend": settings.backend, "counts": counts,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "schema": schema_fingerprint(view.schema)}
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return counts


def copy_between(settings: Settings, source: str, target: str, replace: bool = False) -> dict[str, Any]:
    """Copy a graph from a backend (or an export folder) into a backend; returns both counts.

    The copy is one writer, so the target publishes all of it or nothing. Derived files (the
    vector indexes) travel too when the source is a backend.
    """
    if source not in BACKENDS and not (Path(source) / "manifest.json").is_file():
        raise StoreError(f"{source!r} is neither a backend ({', '.join(BACKENDS)}) nor an export folder")
    if source == target:
        raise StoreError(f"source and target are both {source}; name the other backend")
    dst_settings = settings.replace(backend=target)
    schema = load_schema()
    with open_writer(dst_settings, purpose=f"copy from {source}", schema=schema) as writer:
        if source not in BACKENDS:
            copied = write_batches(writer, folder_batches(Path(source)), replace)
            expected = json.loads((Path(source) / "manifest.json").read_text(encoding="utf-8"))["counts"]
        else:
            with open_view(settings.replace(backend=source), schema) as view:
                copied = write_batches(writer, view_batches(view), replace)
                expected = view.counts()
                if Path(view.data_dir).is_dir():
                    shutil.copytree(view.data_dir, writer.data_dir, dirs_exist_ok=True)
        target_counts = writer.counts()
    missing = {k: (v, target_counts.get(k, 0)) for k, v in expected.items() if v and target_counts.get(k, 0) < v}
    if missing:
        raise StoreError(f"the copy is short: {missing} (source, target)")
    return {"copied": copied, "target_counts": target_counts}


def comparable(view: GraphView) -> dict[str, Any]:
    """The graph as plain data with empty lists dropped, for asserting that two graphs are equal."""
    def clean(props: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in props.items() if v not in (None, [], "")}

    nodes = {(label, r["id"]): clean(r) for kind, label, rows in view_batches(view) if kind == "node" for r in rows}
    edges = {
        (t, r["source_id"], r["target_id"]): clean(r) for kind, t, rows in view_batches(view) if kind == "edge" for r in rows
    }
    return {"nodes": nodes, "edges": edges}

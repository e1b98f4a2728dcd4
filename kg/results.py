"""Query results as people and programs read them: table cells, JSON, CSV and a drawable graph.

Both backends return graph values in one shape (ladybug's, which the Neo4j backend copies):
a node is a dict with `_ID` and `_LABEL`, a relationship also has `_SRC` and `_DST`, a path has
`_NODES` and `_RELS`. The CLI, the web console and notebooks all shape results here, so a
node looks the same in a terminal table, a CSV download and the API's JSON.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from kg.cells import spreadsheet_cell, terminal_text
from kg.store import QueryResult

__all__ = ["cell_text", "result_csv", "result_graph", "result_json", "result_table", "to_jsonable"]


def _key(internal: Any) -> str:
    if isinstance(internal, dict) and "table" in internal:
        return f"{internal['table']}:{internal['offset']}"
    return str(internal)


def _props(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if not k.startswith("_") and v is not None}


def kind_of(value: Any) -> str:
    if isinstance(value, dict):
        if "_NODES" in value and "_RELS" in value:
            return "path"
        if "_SRC" in value and "_DST" in value:
            return "relationship"
        if "_LABEL" in value and "_ID" in value:
            return "node"
    return "value"


def to_jsonable(value: Any) -> Any:
    """Plain JSON: nodes become {_kind, key, id, label, props}, relationships and paths alike."""
    kind = kind_of(value)
    if kind == "node":
        props = _props(value)
        return {"_kind": "node", "key": _key(value["_ID"]), "id": props.get("id"), "label": value["_LABEL"],
                "props": props}
    if kind == "relationship":
        return {"_kind": "relationship", "key": _key(value.get("_ID")), "type": value["_LABEL"],
                "source": _key(value["_SRC"]), "target": _key(value["_DST"]), "props": _props(value)}
    if kind == "path":
        return {"_kind": "path", "nodes": [to_jsonable(n) for n in value["_NODES"]],
                "relationships": [to_jsonable(r) for r in value["_RELS"]]}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # dates, decimals, UUIDs: their text is what a reader wants


def cell_text(value: Any) -> str:
    """One table or CSV cell: `(Organization o1 长电科技)`, `[:ACTIVE_IN]`, lists as JSON."""
    kind = kind_of(value)
    if kind == "node":
        props = _props(value)
        name = props.get("name_zh") or props.get("name_en") or ""
        return f"({value['_LABEL']} {props.get('id', _key(value['_ID']))}{' ' + name if name else ''})"
    if kind == "relationship":
        return f"[:{value['_LABEL']}]"
    if kind == "path":
        return " ".join([cell_text(n) for n in value["_NODES"][:1]] + [
            f"-{cell_text(r)}- {cell_text(n)}" for r, n in zip(value["_RELS"], value["_NODES"][1:], strict=False)
        ])
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(to_jsonable(value), ensure_ascii=False)


def result_json(result: QueryResult) -> dict[str, Any]:
    return {
        "columns": result.columns,
        "rows": [[to_jsonable(v) for v in row] for row in result.rows],
        "truncated": result.truncated,
        "elapsed_ms": round(result.elapsed_ms, 1),
        "graph": result_graph(result),
    }


def result_csv(result: QueryResult) -> str:
    """The rows as CSV for a spreadsheet; a cell (or column name) that would run as a formula is
    neutralised (kg.cells.spreadsheet_cell), since query results carry untrusted graph text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([spreadsheet_cell(c) for c in result.columns])
    for row in result.rows:
        writer.writerow([spreadsheet_cell(cell_text(v)) for v in row])
    return out.getvalue()


def result_table(result: QueryResult, max_width: int = 48) -> str:
    """A plain-text table for the terminal; cells are cut at max_width characters.

    Control characters in cells and column names are shown as escapes (kg.cells.terminal_text):
    a name holding ESC sequences must not clear or recolour the researcher's terminal.
    """
    columns = [terminal_text(c) for c in result.columns]
    cells = [[terminal_text(cell_text(v)) for v in row] for row in result.rows]
    cells = [[c if len(c) <= max_width else c[: max_width - 1] + "…" for c in row] for row in cells]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(columns)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(columns, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def result_graph(result: QueryResult) -> dict[str, list[dict[str, Any]]]:
    """The nodes and relationships found anywhere in the rows, for drawing; empty when none.

    A relationship is kept only when both its ends are among the nodes, so a drawing never
    has a line to nowhere.
    """
    nodes: dict[str, dict[str, Any]] = {}
    rels: dict[str, dict[str, Any]] = {}

    def visit(value: Any) -> None:
        kind = kind_of(value)
        if kind == "node":
            j = to_jsonable(value)
            props = j["props"]
            nodes[j["key"]] = {"key": j["key"], "id": j["id"], "label": j["label"],
                               "name": props.get("name_zh") or props.get("name_en") or j["id"] or j["key"]}
        elif kind == "relationship":
            j = to_jsonable(value)
            rels[j["key"] + j["source"] + j["target"]] = {"type": j["type"], "source": j["source"], "target": j["target"]}
        elif kind == "path":
            for v in (*value["_NODES"], *value["_RELS"]):
                visit(v)
        elif isinstance(value, list | tuple):
            for v in value:
                visit(v)
        elif isinstance(value, dict):
            for v in value.values():
                visit(v)

    for row in result.rows:
        for value in row:
            visit(value)
    edges = [r for r in rels.values() if r["source"] in nodes and r["target"] in nodes]
    return {"nodes": list(nodes.values()), "edges": edges}

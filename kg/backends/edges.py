"""Edge rows as every backend writes them: symmetric types in one direction, a stable id, and
grouped by the labels of their ends (typed engines need the labels in the statement)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from kg.schema import Schema
from kg.store import StoreError


def canonical_rows(schema: Schema, rel_type: str, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """PARTNERS_WITH a->b and b->a are one edge: order symmetric ends and give each edge its id."""
    rel = schema.rel(rel_type)
    out = []
    for row in rows:
        s, t = row["source_id"], row["target_id"]
        if rel.symmetric and t < s:
            s, t = t, s
        out.append({**row, "source_id": s, "target_id": t, "id": f"{s}|{rel_type}|{t}"})
    return out


def group_by_end_labels(
    schema: Schema, rel_type: str, rows: Sequence[dict[str, Any]], labels: dict[str, str]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Rows per (source label, target label); a missing end or a pair the type forbids raises."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        a, b = labels.get(row["source_id"]), labels.get(row["target_id"])
        if a is None or b is None:
            missing = row["source_id"] if a is None else row["target_id"]
            raise StoreError(f"{rel_type} edge {row['source_id']}->{row['target_id']}: no node {missing!r}")
        schema.check_edge(rel_type, a, b)
        groups[(a, b)].append(row)
    return groups

"""Why an entity is what it is: the merge evidence published with the graph, for any of its ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingest.resolve.step import EXPLAIN_FILE
from kg.lookup import resolve_id
from kg.store import GraphView


def explain(view: GraphView, any_id: str) -> dict[str, Any]:
    node_id = resolve_id(view, any_id)
    if node_id is None:
        return {"found": False, "id": any_id, "text": f"no entity has the id or record {any_id!r}"}
    node = view.get(node_id)
    path = Path(view.data_dir) / EXPLAIN_FILE
    published = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"entities": {}, "unsure": []}
    merge = published["entities"].get(node_id)
    unsure = [d for d in published["unsure"] if node_id in (d["record_a"], d["record_b"])]
    lines = [f"{node_id}: {node.name} ({node.label})" + (f", asked as {any_id}" if any_id != node_id else ""),
             f"  records: {', '.join(node.props.get('record_ids') or [])}",
             f"  merged ids: {', '.join(node.props.get('merged_ids') or []) or '-'}"]
    if merge:
        lines.append("  evidence:")
        lines += ["    " + line for line in merge.get("text", json.dumps(merge, ensure_ascii=False)).splitlines()]
    else:
        lines.append("  not merged with any other record")
    for d in unsure[:10]:
        lines.append(f"  unsure (left apart): {d['record_a']} ~ {d['record_b']} score {d.get('score')}: {d.get('reason')}")
    return {"found": True, "id": node_id, "asked": any_id, "record_ids": node.props.get("record_ids"),
            "merged_ids": node.props.get("merged_ids"), "merge": merge, "unsure": unsure, "text": "\n".join(lines)}

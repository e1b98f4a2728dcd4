"""Staff edits as a source: every value a staff member typed, folded from the workspace log.

Treating the whole edit history as one more (complete) source means a refresh re-applies it
every time, so a refresh can never undo a staff edit, and an edit made while a refresh runs is
applied by the next write. Values from this feed are marked in `staff_fields` and win over
every other source (ingest.graph_diff.write_nodes).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ingest.records import Batch, EdgeRecord, NodeRecord, Rejection
from kg.schema import Schema, SchemaError, coerce_value
from kg.settings import Settings
from kg.workspace import Workspace

STAFF_FEED = "staff"


@dataclass
class StaffSource:
    settings: Settings
    name: str = STAFF_FEED

    def fingerprint(self) -> str:
        """Every edit's id, target and values (not the run that applied it): an edit since the
        last run means the next refresh is not skipped (ingest.sources.fingerprint)."""
        h = hashlib.sha1()
        for row in Workspace.open(self.settings).execute("SELECT id, label, node_id, props FROM edits ORDER BY id"):
            h.update(json.dumps(list(row), ensure_ascii=False).encode())
        return h.hexdigest()

    def read(self, schema: Schema) -> Batch:
        ws = Workspace.open(self.settings)
        batch = Batch(feeds={STAFF_FEED})
        nodes: dict[str, NodeRecord] = {}
        for row in ws.execute("SELECT id, username, label, node_id, props FROM edits ORDER BY id"):
            where = f"workspace edits:{row['id']}"
            props = json.loads(row["props"])
            if row["label"] == "edge":
                batch.edges.append(EdgeRecord(props["type"], props["source_id"], props["target_id"],
                                              props.get("props", {}), STAFF_FEED, STAFF_FEED, where))
                continue
            try:
                spec = schema.label(row["label"])
                clean = {k: coerce_value(spec.props[k], v) for k, v in props.items() if k in spec.props}
            except SchemaError as exc:
                batch.rejected.append(Rejection(STAFF_FEED, "workspace edits", row["id"], exc.field, exc.reason))
                continue
            rec = nodes.get(row["node_id"])
            if rec is None:
                nodes[row["node_id"]] = NodeRecord(row["label"], row["node_id"], clean, STAFF_FEED, STAFF_FEED, where)
            else:
                rec.props.update(clean)
        batch.nodes = list(nodes.values())
        return batch


def record_edit(settings: Settings, username: str, label: str, node_id: str, props: dict) -> int:
    """Store a staff edit (node label and changed properties); it is applied by the next write."""
    ws = Workspace.open(settings)
    with ws.transaction() as db:
        cur = db.execute("INSERT INTO edits(ts, username, label, node_id, props) VALUES (strftime('%s','now'),?,?,?,?)",
                         (username, label, node_id, json.dumps(props, ensure_ascii=False)))
        db.execute("INSERT INTO audit(ts, username, action, target, detail) VALUES (strftime('%s','now'),?,?,?,?)",
                   (username, f"edit.{label}", node_id, json.dumps(props, ensure_ascii=False)))
    return int(cur.lastrowid)


def record_edge(settings: Settings, username: str, rel_type: str, source_id: str, target_id: str, props: dict | None = None) -> int:
    return record_edit(settings, username, "edge", f"{source_id}|{rel_type}|{target_id}",
                       {"type": rel_type, "source_id": source_id, "target_id": target_id, "props": props or {}})

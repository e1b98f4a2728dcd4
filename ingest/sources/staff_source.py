"""Staff edits as a source: every value a staff member typed, folded from the workspace log.

Treating the whole edit history as one more (complete) source means a refresh re-applies it
every time, so a refresh can never undo a staff edit, and an edit made while a refresh runs is
applied by the next write. Values from this feed are marked in `staff_fields` and win over
every other source (ingest.graph_diff.write_nodes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ingest.records import Batch, EdgeRecord, NodeRecord, Rejection
from kg.schema import Schema, SchemaError, coerce_value
from kg.settings import Settings
from kg.workspace import Workspace

STAFF_FEED = "staff"
EDGE_OPS = ("add", "end", "retract", "restore", "withdraw")


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
        edge_rows = []
        for row in ws.execute("SELECT id, username, label, node_id, props FROM edits ORDER BY id"):
            where = f"workspace edits:{row['id']}"
            props = json.loads(row["props"])
            if row["label"] == "edge":
                edge_rows.append((row["id"], props))
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
        batch.edges = [e for state in fold_edge_edits(edge_rows).values() if (e := state.record()) is not None]
        return batch


@dataclass
class EdgeState:
    """Where the staff edits of one edge leave it: asserted (added) with properties, ended
    (props["until"]), or retracted as wrong."""

    type: str
    source_id: str
    target_id: str
    props: dict[str, Any] = field(default_factory=dict)
    added: bool = False
    retracted: bool = False
    row: int = 0  # the last edit's row, for messages
    source: str = STAFF_FEED  # the citation: staff, or the first source of a fact put back
    before: dict[str, Any] = field(default_factory=dict)  # the edge as it was when retracted

    @property
    def key(self) -> str:
        return f"{self.source_id}|{self.type}|{self.target_id}"

    def record(self) -> EdgeRecord | None:
        """The record this feed gives the diff: a retraction, the staff's own properties of the
        edge (which win, since this feed is read last), or nothing once withdrawn."""
        where = f"workspace edits:{self.row}"
        if self.retracted:
            return EdgeRecord(self.type, self.source_id, self.target_id, {}, STAFF_FEED, STAFF_FEED, where,
                              retracted=True)
        if self.added or self.props:
            return EdgeRecord(self.type, self.source_id, self.target_id, dict(self.props), self.source, STAFF_FEED,
                              where)
        return None


def fold_edge_edits(rows: Iterable[tuple[int, dict[str, Any]]]) -> dict[str, EdgeState]:
    """Staff edge edits (row id, body) in the order made, folded into one state per edge.

    A body is {"type", "source_id", "target_id", "props", "op"}; op is one of EDGE_OPS ("add"
    when absent, as rows written before relation edits existed): add asserts the edge with its
    properties, end sets `until`, retract marks it wrong (keeping the edge as it was in
    "before"), restore takes a retraction back (the edge returns as it was, cited to its first
    source, without waiting for that source's next refresh) and withdraw takes the staff's own
    assertion back (an admin's undo of an add).
    """
    out: dict[str, EdgeState] = {}
    for row_id, body in rows:
        op = body.get("op") or "add"
        key = f"{body['source_id']}|{body['type']}|{body['target_id']}"
        st = out.get(key)
        if st is None:
            st = out[key] = EdgeState(body["type"], body["source_id"], body["target_id"])
        st.row = row_id
        given = {k: v for k, v in (body.get("props") or {}).items() if v not in (None, "")}
        if op == "add":
            st.added, st.retracted = True, False
            st.props.update(given)
        elif op == "end":
            st.props.update(given)
        elif op == "retract":
            st.retracted = True
            st.before = dict(body.get("before") or {})
        elif op == "restore":  # the retraction undone: the fact comes back as it was
            st.retracted = False
            if not st.added and st.before:
                st.added = True
                st.source = str(st.before.get("source") or STAFF_FEED)
                st.props = {**{k: x for k, x in st.before.items() if k != "source"}, **st.props}
        elif op == "withdraw":
            st.added, st.retracted, st.props = False, False, {}
    return out


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

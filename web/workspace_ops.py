"""Web-only reads and writes of the workspace (kg.workspace): shortlists, decisions, stage
history, recommendation snapshots, and the staff edits a page overlays on the graph.

Every write that belongs together happens in one `Workspace.transaction()`, with its audit row,
so nothing is stored half-written. Staff edits use exactly the row format that
ingest.sources.staff_source reads; `record_changes` exists beside `record_edit` only because a
form can produce several rows (a project, its sectors, its stage history) that must land
together.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

from kg.workspace import Workspace

SHORTLIST_STATUSES = ("shortlisted", "dismissed")
JUDGEMENTS = ("same", "not_same")
Edge = tuple[str, str, str, dict[str, Any]]  # (type, source_id, target_id, props)


def _audit(db, username: str, action: str, target: str, detail: Any) -> None:
    db.execute("INSERT INTO audit(ts, username, action, target, detail) VALUES (?,?,?,?,?)",
               (time.time(), username, action, target, json.dumps(detail, ensure_ascii=False, default=str)))


# staff edits ---------------------------------------------------------------------------------
def record_changes(ws: Workspace, username: str, *, nodes: list[tuple[str, str, dict[str, Any]]] = (),
                   edges: list[Edge] = (), stage: tuple[str, str | None, str] | None = None,
                   old: dict[str, dict[str, Any]] | None = None, note: str = "", undo_of: int | None = None) -> int:
    """Record node edits, edge edits and a stage change in one transaction; returns rows written.

    `old` (node id -> the values before) and `note` (why) go into the audit row, from which the
    entity page tells the history in words (web.edit_history)."""
    now = time.time()
    n = 0
    with ws.transaction() as db:
        for label, node_id, props in nodes:
            db.execute("INSERT INTO edits(ts, username, label, node_id, props) VALUES (?,?,?,?,?)",
                       (now, username, label, node_id, json.dumps(props, ensure_ascii=False)))
            before = (old or {}).get(node_id, {})
            _audit(db, username, f"edit.{label}", node_id,
                   {"new": props, "old": {k: before.get(k) for k in props}, "note": note, "undo_of": undo_of})
            n += 1
        for rel_type, s, t, props in edges:
            body = {"type": rel_type, "source_id": s, "target_id": t, "props": props}
            db.execute("INSERT INTO edits(ts, username, label, node_id, props) VALUES (?,?,?,?,?)",
                       (now, username, "edge", f"{s}|{rel_type}|{t}", json.dumps(body, ensure_ascii=False)))
            _audit(db, username, "edit.edge", f"{s}|{rel_type}|{t}", props)
            n += 1
        if stage is not None:
            project_id, old, new = stage
            db.execute("INSERT INTO stage_history(project_id, old_stage, new_stage, username, ts) VALUES (?,?,?,?,?)",
                       (project_id, old, new, username, now))
    return n


def staff_props(ws: Workspace, node_id: str) -> dict[str, Any]:
    """Every value staff typed for a node, latest winning: what the graph will show once applied."""
    out: dict[str, Any] = {}
    for row in ws.execute("SELECT props FROM edits WHERE node_id=? AND label!='edge' ORDER BY id", (node_id,)):
        out.update(json.loads(row["props"]))
    return out


def field_log(ws: Workspace, node_id: str) -> dict[str, dict[str, Any]]:
    """Who last set each field of a node by hand, and when (the entity page cites it as a source)."""
    out: dict[str, dict[str, Any]] = {}
    for row in ws.execute("SELECT ts, username, props FROM edits WHERE node_id=? AND label!='edge' ORDER BY id",
                          (node_id,)):
        for k in json.loads(row["props"]):
            out[k] = {"username": row["username"], "ts": float(row["ts"])}
    return out


def staff_label(ws: Workspace, label: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in ws.execute("SELECT node_id, props FROM edits WHERE label=? ORDER BY id", (label,)):
        out[row["node_id"]].update(json.loads(row["props"]))
    return dict(out)


def staff_label_of(ws: Workspace, node_id: str) -> str | None:
    rows = ws.execute("SELECT label FROM edits WHERE node_id=? AND label!='edge' ORDER BY id LIMIT 1", (node_id,))
    return rows[0]["label"] if rows else None


def pending_fields(graph_props: dict[str, Any], staff: dict[str, Any]) -> dict[str, Any]:
    """Staff values the published graph does not show yet."""
    return {k: val for k, val in staff.items() if not _same(graph_props.get(k), val)}


def _same(a: Any, b: Any) -> bool:
    if a in (None, "", []) and b in (None, "", []):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return a == b


def recent_edits(ws: Workspace, limit: int = 10) -> list[dict[str, Any]]:
    return [dict(r) for r in ws.execute("SELECT id, ts, username, label, node_id FROM edits ORDER BY id DESC LIMIT ?",
                                        (limit,))]


def record_edge_edit(ws: Workspace, username: str, op: str, rel_type: str, source_id: str, target_id: str,
                     props: dict[str, Any], note: str, before: dict[str, Any] | None = None,
                     undo_of: int | None = None) -> int:
    """One relation edit (ingest.sources.staff_source.EDGE_OPS) with who, when and why, in one
    transaction with its audit row; returns the edit's row id."""
    key = f"{source_id}|{rel_type}|{target_id}"
    body = {"type": rel_type, "source_id": source_id, "target_id": target_id, "props": props, "op": op,
            "note": note, "before": before or {}}
    with ws.transaction() as db:
        cur = db.execute("INSERT INTO edits(ts, username, label, node_id, props) VALUES (?,?,?,?,?)",
                         (time.time(), username, "edge", key, json.dumps(body, ensure_ascii=False)))
        _audit(db, username, f"edge.{op}", key, {"props": props, "old": before or {}, "note": note, "undo_of": undo_of})
    return int(cur.lastrowid)


def edge_edit_rows(ws: Workspace, node_id: str | None = None) -> list[tuple[int, dict[str, Any]]]:
    """Staff edge edits (row id, body) in the order made; of one node's edges when given."""
    sql, args = "SELECT id, props FROM edits WHERE label='edge'", ()
    if node_id is not None:
        sql += " AND (json_extract(props, '$.source_id')=? OR json_extract(props, '$.target_id')=?)"
        args = (node_id, node_id)
    return [(r["id"], json.loads(r["props"])) for r in ws.execute(sql + " ORDER BY id", args)]


def node_history(ws: Workspace, node_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """Audit rows of a node's edits and of its relations' edits, newest first."""
    rows = ws.execute("SELECT id, ts, username, action, target, detail FROM audit WHERE "
                      "(action LIKE 'edit.%' OR action LIKE 'edge.%') AND (target=? OR "
                      "substr(target, 1, length(?)) = ? OR substr(target, -length(?)) = ?) ORDER BY id DESC LIMIT ?",
                      (node_id, f"{node_id}|", f"{node_id}|", f"|{node_id}", f"|{node_id}", limit))
    out = []
    for r in rows:
        row = dict(r)
        try:
            row["detail"] = json.loads(row["detail"] or "null")
        except ValueError:
            row["detail"] = None
        out.append(row)
    return out


def audit_row(ws: Workspace, audit_id: int) -> dict[str, Any] | None:
    rows = ws.execute("SELECT id, ts, username, action, target, detail FROM audit WHERE id=?", (audit_id,))
    if not rows:
        return None
    row = dict(rows[0])
    row["detail"] = json.loads(row["detail"] or "null")
    return row


def mark_undone(ws: Workspace, audit_id: int, username: str) -> None:
    ws.audit(username, "undo.done", str(audit_id), None)


def undone_ids(ws: Workspace) -> set[int]:
    return {int(r["target"]) for r in ws.execute("SELECT target FROM audit WHERE action='undo.done'")
            if str(r["target"]).isdigit()}


# shortlists ----------------------------------------------------------------------------------
def shortlist(ws: Workspace, project_id: str, status: str | None = None) -> list[dict[str, Any]]:
    sql, args = "SELECT * FROM shortlist WHERE project_id=?", [project_id]
    if status:
        sql += " AND status=?"
        args.append(status)
    return [dict(r) for r in ws.execute(sql + " ORDER BY ts DESC", tuple(args))]


def set_shortlist(ws: Workspace, project_id: str, org_id: str, status: str, note: str, username: str) -> None:
    if status not in SHORTLIST_STATUSES:
        raise ValueError(f"status must be one of {', '.join(SHORTLIST_STATUSES)}")
    with ws.transaction() as db:
        db.execute("INSERT INTO shortlist(project_id, org_id, status, note, username, ts) VALUES (?,?,?,?,?,?) "
                   "ON CONFLICT(project_id, org_id) DO UPDATE SET status=excluded.status, note=excluded.note, "
                   "username=excluded.username, ts=excluded.ts", (project_id, org_id, status, note, username, time.time()))
        _audit(db, username, f"shortlist.{status}", project_id, {"org_id": org_id, "note": note})


def clear_shortlist(ws: Workspace, project_id: str, org_id: str, username: str) -> bool:
    with ws.transaction() as db:
        cur = db.execute("DELETE FROM shortlist WHERE project_id=? AND org_id=?", (project_id, org_id))
        if cur.rowcount:
            _audit(db, username, "shortlist.restore", project_id, {"org_id": org_id})
    return cur.rowcount > 0


# resolution decisions ------------------------------------------------------------------------
def add_decision(ws: Workspace, record_a: str, record_b: str, judgement: str, username: str, note: str) -> None:
    """A same / not-same judgement; the earlier active one on the same pair is retired, not deleted."""
    if judgement not in JUDGEMENTS:
        raise ValueError(f"judgement must be one of {', '.join(JUDGEMENTS)}")
    a, b = sorted((record_a, record_b))
    with ws.transaction() as db:
        db.execute("UPDATE decisions SET active=0 WHERE record_a=? AND record_b=? AND active=1", (a, b))
        db.execute("INSERT INTO decisions(record_a, record_b, judgement, username, note, ts) VALUES (?,?,?,?,?,?)",
                   (a, b, judgement, username, note, time.time()))
        _audit(db, username, f"decision.{judgement}", f"{a}|{b}", {"note": note})


def decisions_for(ws: Workspace, node_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in ws.execute("SELECT * FROM decisions WHERE (record_a=? OR record_b=?) AND active=1 "
                                        "ORDER BY ts DESC", (node_id, node_id))]


# projects ------------------------------------------------------------------------------------
def stage_history(ws: Workspace, project_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in ws.execute("SELECT * FROM stage_history WHERE project_id=? ORDER BY ts DESC",
                                        (project_id,))]


def save_snapshot(ws: Workspace, project_id: str, run_id: str, ranking: list[tuple[str, float]]) -> None:
    """The first ranking seen under a graph run is kept; later views of the same run change nothing."""
    ws.execute("INSERT OR IGNORE INTO rec_snapshots(project_id, run_id, ts, ranking) VALUES (?,?,?,?)",
               (project_id, run_id, time.time(), json.dumps(ranking)))


def snapshots(ws: Workspace, project_id: str) -> list[dict[str, Any]]:
    rows = ws.execute("SELECT run_id, ts, ranking FROM rec_snapshots WHERE project_id=? ORDER BY ts DESC", (project_id,))
    return [{"run_id": r["run_id"], "ts": r["ts"], "ranking": json.loads(r["ranking"])} for r in rows]


# users ---------------------------------------------------------------------------------------
def set_disabled(ws: Workspace, username: str, disabled: bool, actor: str) -> bool:
    with ws.transaction() as db:
        cur = db.execute("UPDATE users SET disabled=? WHERE username=?", (int(disabled), username))
        if cur.rowcount:
            _audit(db, actor, "user.disable" if disabled else "user.enable", username, None)
    return cur.rowcount > 0

"""An entity's edit history told in words: "staff1 set city from 苏州 to 无锡 on 2026-12-03,
reason: …", "staff1 ended 供应商 中芯国际 → 长电科技 (until 2025-06)".

Read from the audit rows the edits wrote (web.workspace_ops), with ids shown as the names of
the entities they name, in the reader's language. Each entry also says whether an admin may undo
it and what the undo records (web.relations.undo).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kg.store import GraphView
from kg.workspace import Workspace
from web import workspace_ops as ops
from web.i18n import t, tv, when

MAX_VALUE_CHARS = 80
UNDOABLE = ("edge.add", "edge.retract")


@dataclass
class Entry:
    id: int
    who: str
    ts: float
    text: str  # the sentence, plain text (escaped on output)
    note: str
    undoable: bool
    undone: bool


def _value(x: Any) -> str:
    if x in (None, "", []):
        return "—"
    s = " | ".join(map(str, x)) if isinstance(x, list) else str(x)
    return s if len(s) <= MAX_VALUE_CHARS else s[: MAX_VALUE_CHARS - 1] + "…"


def _field_name(field: str) -> str:
    """A field named inside a sentence: "set city", not "set City"."""
    name = t("field." + field)
    return name[:1].lower() + name[1:] if _lang() == "en" else name


def _field_value(field: str, x: Any) -> str:
    if field in ("kind", "tier", "stage") and x:
        return tv(field, x)
    return _value(x)


def history(view: GraphView, ws: Workspace, node_id: str, limit: int = 100) -> list[Entry]:
    rows = ops.node_history(ws, node_id, limit)
    ids = {node_id}
    for r in rows:
        if "|" in (r["target"] or ""):
            s, _, tgt = r["target"].split("|")
            ids.update((s, tgt))
    names = {i: n.display_name(_lang()) for i, n in view.get_many(sorted(ids)).items()}
    undone = ops.undone_ids(ws)
    out = []
    for r in rows:
        detail = r["detail"] if isinstance(r["detail"], dict) else {}
        text = _sentence(r, detail, names)
        if detail.get("undo_of"):
            text += t("history.undo_of", id=detail["undo_of"])
        out.append(Entry(r["id"], r["username"] or "", r["ts"], text, str(detail.get("note") or ""),
                         r["action"] in UNDOABLE or r["action"].startswith("edit."), r["id"] in undone))
    return out


def _lang() -> str:
    from web.i18n import lang

    return lang()


def _sentence(r: dict[str, Any], detail: dict[str, Any], names: dict[str, str]) -> str:
    who, day = r["username"] or "?", when(r["ts"])
    action = r["action"]
    if action.startswith("edge."):
        s, rel_type, tgt = (r["target"].split("|") + ["", ""])[:3]
        rel = tv("reltype", rel_type)
        a, b = names.get(s, s), names.get(tgt, tgt)
        props = detail.get("props") or {}
        items = t("history.item_sep").join(f"{_field_name(k)} {_value(x)}" for k, x in props.items() if x)
        op = action.split(".", 1)[1]
        return t(f"history.edge_{op}", who=who, rel=rel, a=a, b=b, when=day,
                 extra=t("history.extra", items=items) if items else "")
    if action.startswith("edit."):
        new = detail.get("new") if "new" in detail else detail  # rows written before history kept "old"
        old = detail.get("old") or {}
        parts = []
        for k, x in (new or {}).items():
            if k in ("note",):
                continue
            field = _field_name(k)
            if old.get(k) not in (None, "", []):
                parts.append(t("history.from_to", field=field, old=_field_value(k, old.get(k)), new=_field_value(k, x)))
            else:
                parts.append(t("history.to", field=field, new=_field_value(k, x)))
        return t("history.set", who=who, what=t("history.sep").join(parts) or "—", when=day)
    return f"{who} {action} {day}"


def edit_targets(edits: list[dict[str, Any]]) -> dict[str, str]:
    """The home page's recent edits by what they name: an entity's name, or "A 供应 B" for a
    relation, in the reader's language (never a raw id when the graph or the workspace has a
    name for it)."""
    from web.profile import effective_node
    from web.state import view, workspace

    ids: set[str] = set()
    for e in edits:
        ids.update(e["node_id"].split("|")[::2] if e["label"] == "edge" else [e["node_id"]])
    g, ws = view(), workspace()
    nodes = g.get_many(sorted(ids))
    names: dict[str, str] = {}
    for i in ids:
        node = nodes.get(i) or effective_node(g, ws, i)[0]
        names[i] = node.display_name(_lang()) if node is not None else i
    out = {}
    for e in edits:
        if e["label"] == "edge" and e["node_id"].count("|") == 2:
            a, rel, b = e["node_id"].split("|")
            out[e["node_id"]] = f"{names.get(a, a)} {tv('reltype', rel)} {names.get(b, b)}"
        else:
            out[e["node_id"]] = names.get(e["node_id"], e["node_id"])
    return out


def init_app(app: Any) -> None:
    app.jinja_env.globals["edit_targets"] = edit_targets

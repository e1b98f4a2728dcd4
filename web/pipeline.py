"""The pipeline board's data: every project with pending staff edits laid over it, filtered and
grouped by tier (benchmark first) and stage. The page and GET /api/v1/projects share it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kg.schema import load_schema
from kg.store import GraphView, Node
from kg.workspace import Workspace
from web import workspace_ops as ops

TIERS = tuple(load_schema().label("Project").props["tier"].enum)  # benchmark, key, ordinary: as ranked
STAGES = tuple(load_schema().label("Project").props["stage"].enum)
NO_TIER = ""


@dataclass
class Board:
    lanes: dict[str, dict[str, list[Node]]]  # tier -> stage -> projects, largest investment first
    counts: Counter = field(default_factory=Counter)  # (tier, stage) -> n
    total: int = 0
    owners: list[str] = field(default_factory=list)


def all_projects(view: GraphView, ws: Workspace) -> list[Node]:
    """Projects of the graph with staff edits laid over them, and those only created so far
    (marked `_pending`): staff values win at every refresh, so this is what the graph will show."""
    staff = ops.staff_label(ws, "Project")
    out: dict[str, Node] = {}
    for batch in view.iter_nodes("Project"):
        for n in batch:
            out[n.id] = Node(n.id, n.label, {**n.props, **staff.get(n.id, {})})
    for pid, props in staff.items():
        out.setdefault(pid, Node(pid, "Project", {**props, "_pending": True}))
    return list(out.values())


def board(projects: list[Node], *, tier: str = "", stage: str = "", owner: str = "", q: str = "") -> Board:
    q = q.casefold()

    def keep(p: Node) -> bool:
        props: dict[str, Any] = p.props
        text = f"{props.get('name_zh', '')} {props.get('name_en', '')} {p.id}".casefold()
        return ((not tier or props.get("tier") == tier) and (not stage or props.get("stage") == stage)
                and (not owner or props.get("owner") == owner) and (not q or q in text))

    shown = sorted((p for p in projects if keep(p)), key=lambda p: (-(p.props.get("investment_cny") or 0), p.id))
    lanes = {ti: {st: [] for st in STAGES} for ti in (*TIERS, NO_TIER)}
    for p in shown:
        ti = p.props.get("tier") if p.props.get("tier") in TIERS else NO_TIER
        st = p.props.get("stage") if p.props.get("stage") in STAGES else STAGES[0]
        lanes[ti][st].append(p)
    counts = Counter((p.props.get("tier"), p.props.get("stage")) for p in shown)
    owners = sorted({p.props["owner"] for p in projects if p.props.get("owner")})
    return Board(lanes, counts, len(shown), owners)

"""What the refreshes changed: the weekly digest a promotion office reads on Monday, and the
"what changed this week" box of an entity or project page.

Read from the runs' own change logs ($STAKEGRAPH_HOME/runs/<run_id>.json, kg.changelog: facts
added, changed with old and new values, no longer seen, and staff retractions), never from what
a user did in the app, so a dismissal or a shortlist is not news here. Filters by region, chain
link and kind use the search index's facets (Jiangyin counts as Wuxi). Run files never change,
so each is read once per process.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, render_template, request
from markupsafe import Markup

from ingest.runs import last_runs, load_run
from kg.kept import Kept
from kg.schema import load_schema
from kg.settings import Settings
from kg.store import GraphView
from matching.search import UnknownFilter, find, index_for
from web import validation as v
from web.i18n import lang, t
from web.state import settings, view

bp = Blueprint("changes", __name__)
OPS = ("added", "changed", "unseen")
PROVENANCE = frozenset(load_schema().provenance)  # sources, record ids: bookkeeping, not news
PAGE = 100
MAX_RUNS = 400  # runs looked at, newest first (a year of nightly refreshes)
_runs: dict[str, tuple[list[Change], dict[str, list[Change]]]] = {}
_lock = threading.Lock()


@dataclass
class Change:
    run_id: str
    ts: float
    op: str  # added | changed | unseen | retracted
    kind: str  # a label or a relationship type
    key: str  # node id, or "source|TYPE|target"
    ends: tuple[str, ...]  # the node ids it is about
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)

    @property
    def is_edge(self) -> bool:
        return "|" in self.key


def _parsed(s: Settings, row: dict[str, Any]) -> tuple[list[Change], dict[str, list[Change]]]:
    """A run's changes, and the same by the node ids they are about; parsed once per process."""
    run_id = row["run_id"]
    with _lock:
        if run_id in _runs:
            return _runs[run_id]
    run = load_run(s, run_id) or {}
    ts = _finished_ts(row)
    out: list[Change] = []
    for d in run.get("details") or []:
        op = d.get("op")
        if op not in OPS:
            continue
        key = str(d.get("id") or "")
        fields = sorted((f, _shown(x.get("old")), _shown(x.get("new"))) for f, x in (d.get("fields") or {}).items()
                        if (f not in PROVENANCE or f == "status") and f != "id")
        if op == "changed" and [f for f, _, _ in fields] == ["status"] and fields[0][2] == "retracted":
            op = "retracted"
        parts = key.split("|")
        ends = (parts[0], parts[2]) if len(parts) == 3 else (key,)
        out.append(Change(run_id, ts, op, str(d.get("kind") or ""), key, ends, fields, run.get("feeds") or []))
    by_node: dict[str, list[Change]] = {}
    for c in out:
        for n in c.ends:
            by_node.setdefault(n, []).append(c)
    with _lock:
        _runs[run_id] = (out, by_node)
    return out, by_node


def _shown(x: Any) -> Any:
    return " | ".join(map(str, x)) if isinstance(x, list) else x


def _finished_ts(row: dict[str, Any]) -> float:
    text = row.get("finished") or ""
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").timestamp()
    except ValueError:
        return 0.0


def _recent_runs(s: Settings, since_ts: float) -> list[dict[str, Any]]:
    rows = []
    for row in last_runs(s, MAX_RUNS):
        if _finished_ts(row) < since_ts:
            break
        rows.append(row)
    return rows


def changes_since(s: Settings, since_ts: float) -> list[Change]:
    """Every change of the runs that finished since `since_ts`, newest run first."""
    return [c for row in _recent_runs(s, since_ts) for c in _parsed(s, row)[0]]


def about(s: Settings, since_ts: float, node_id: str) -> list[Change]:
    """The changes of those runs that are about one node (as a node or an end of an edge)."""
    return [c for row in _recent_runs(s, since_ts) for c in _parsed(s, row)[1].get(node_id, [])]


def filtered(g: GraphView, changes: list[Change], *, region: str | None, sector: str | None, kind: str | None,
             op: str | None) -> list[Change]:
    """Changes touching an entity in the region / chain link / of the kind (either end of an
    edge), by the search index's filters (sub-regions and sub-sectors included)."""
    keep = members(g, region, sector, kind) if (region or sector or kind) else None
    return [c for c in changes if (not op or c.op == op) and (keep is None or any(n in keep for n in c.ends))]


_members: dict[tuple, frozenset[str]] = {}


def members(g: GraphView, region: str | None, sector: str | None, kind: str | None) -> frozenset[str]:
    """Ids of every entity the filters select, per graph version (the digest is read often)."""
    key = (g.version, region, sector, kind)
    with _lock:
        if key in _members:
            return _members[key]
    args = {"kinds": [kind] if kind else None, "region": region, "sector": sector}
    total = find(g, "", limit=1, **args).total
    ids = frozenset(h.id for h in find(g, "", limit=max(total, 1), **args).hits) if total else frozenset()
    with _lock:
        if len(_members) > 256:
            _members.clear()
        _members[key] = ids
    return ids


def parse_filters(args: Any) -> dict[str, Any]:
    """The Changes page's filters; a region or chain link that does not exist is an error with a
    message, not an empty list that looks like a quiet week."""
    from web.search import kinds

    idx = index_for(view())
    out: dict[str, Any] = {"days": v.integer(args.get("days"), "days", 7, maximum=366),
                           "kind": v.choice(args.get("kind"), "kind", kinds()),
                           "op": v.choice(args.get("op"), "op", (*OPS, "retracted")),
                           "page": v.integer(args.get("page"), "page", 1, maximum=10_000)}
    for name in ("region", "sector"):
        raw = v.text(args.get(name), name, v.MAX_ID_CHARS)
        try:
            out[name] = idx.resolve_filter(name, raw) if raw else None
        except UnknownFilter:
            raise v.FormError(name, f"error.unknown_{name}", value=raw) from None
        out[name + "_text"] = raw
    return out


@bp.get("/changes")
def changes_page() -> Any:
    try:
        f = parse_filters(request.args)
        message = None
    except v.FormError as exc:
        f = {"days": 7, "kind": "", "op": "", "page": 1, "region": None, "sector": None,
             "region_text": request.args.get("region", "")[:200], "sector_text": request.args.get("sector", "")[:200]}
        message = t(exc.key, **exc.params)
    g = view()
    rows = [] if message else filtered(g, changes_since(settings(), time.time() - f["days"] * 86400),
                                       region=f["region"], sector=f["sector"], kind=f["kind"] or None, op=f["op"] or None)
    start = (f["page"] - 1) * PAGE
    page_rows = rows[start:start + PAGE]
    names = g.get_many(sorted({n for c in page_rows for n in c.ends}))
    idx = index_for(g)
    from web.search import kinds

    return render_template("changes.html", rows=page_rows, total=len(rows), f=f, names=names, message=message,
                           page=f["page"], pages=max(1, -(-len(rows) // PAGE)), kinds=kinds(), ops=(*OPS, "retracted"),
                           regions=idx.facet_options("Region"), sectors=idx.facet_options("Sector")), 400 if message else 200


def this_week(node_id: str, days: int = 7, limit: int = 20) -> tuple[list[Change], dict[str, Any]]:
    """The entity page's box: what the refreshes of the last week changed about this node."""
    rows = about(settings(), time.time() - days * 86400, node_id)
    names = view().get_many(sorted({n for c in rows[:limit] for n in c.ends}))
    return rows[:limit], names


BOXES_KEPT = 1024
_boxes: Kept[tuple, Markup] = Kept(BOXES_KEPT)


def this_week_box(node_id: str, days: int = 7) -> Markup:
    """The box's HTML, kept per graph version, node, language and the runs inside the week (the
    only things it shows; no form, no user's state): rendering its change lines was about a
    quarter of an entity page's CPU on every view (measured in process on the sample)."""
    runs = tuple(r["run_id"] for r in _recent_runs(settings(), time.time() - days * 86400))
    return _boxes.get_or_make((view().version, node_id, lang(), runs),
                              lambda: Markup(render_template("_this_week.html", node_id=node_id, days=days)))


def init_app(app: Any) -> None:
    """`this_week_box(node_id)` for the entity and project pages (templates/_this_week.html)."""
    app.jinja_env.globals.update(this_week=this_week, this_week_box=this_week_box)

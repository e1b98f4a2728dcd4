"""A project brief: one printable page (and the same as an XLSX workbook) with the project's
facts, needs, stage history, the shortlist with its notes, the top recommendations with their
reasons in the reader's language, and the sources, for a meeting or a leader's desk.

It reads exactly what the project page reads (web.profile.load_profile, web.recommendations
.for_project, the workspace's shortlist and stage history), so the brief and the page cannot
disagree; only the layout differs. Money goes through web.money.money.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, abort, render_template
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from kg.cells import spreadsheet_cell
from web import recommendations as recs
from web import workspace_ops as ops
from web.downloads import attachment
from web.i18n import in_lang, lang, name_of, reasons, t, tv, when
from web.money import money
from web.profile import load_profile
from web.state import settings, view, workspace

bp = Blueprint("brief", __name__, url_prefix="/projects")
TOP_K = 10
FACT_FIELDS = ("tier", "stage", "owner", "city", "investment_cny")


@dataclass
class Brief:
    p: Any
    facts: list[tuple[str, str]]
    sectors: list[str]
    description: dict[str, Any]
    needs: dict[str, Any]
    history: list[dict[str, Any]]
    shortlist: list[dict[str, Any]]
    recs: list[dict[str, Any]]
    recs_message: str | None
    sources: list[str]
    made: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M"))


def build(project_id: str) -> Brief:
    p = load_profile(view(), workspace(), project_id, settings().neighbour_limit, settings().web_neighbour_cache)
    if p is None or p.node.label != "Project":
        abort(404)
    props = p.props
    facts = []
    for f in FACT_FIELDS:
        x = props.get(f)
        if x in (None, ""):
            continue
        shown = money(x, lang()) if f == "investment_cny" else tv(f, x) if f in ("tier", "stage") else str(x)
        facts.append((t("field." + f), shown))
    sectors = [name_of(link.node) for g in p.groups if g.type == "ACTIVE_IN" and g.direction == "out" for link in g.links]
    ws = workspace()
    items = ops.shortlist(ws, project_id, "shortlisted")
    names = view().get_many([i["org_id"] for i in items])
    shortlist = [{"name": name_of(names[i["org_id"]]) if i["org_id"] in names else i["org_id"], "id": i["org_id"],
                  "note": i.get("note") or "", "by": i.get("username") or "", "when": when(i["ts"])} for i in items]
    history = [{"when": when(h["ts"]), "by": h["username"] or "", "old": tv("stage", h["old_stage"]) or "—",
                "new": tv("stage", h["new_stage"])} for h in ops.stage_history(ws, project_id)]
    top, message = [], None
    if not p.pending_new:
        try:
            for rank, r in enumerate(recs.for_project(view(), settings(), ws, project_id, k=TOP_K), 1):
                top.append({"rank": rank, "id": r.org_id, "name": name_of(r), "score": r.score,
                            "kind": tv("kind", getattr(r, "kind", "") or ""), "reasons": reasons(r)})
        except recs.RecsUnavailable as exc:
            message = t("project.recs_unavailable") if "not available" in str(exc) else str(exc)
    sources = sorted({*(props.get("sources") or []), *([props["source"]] if props.get("source") else [])})
    return Brief(p, facts, sectors, in_lang(props.get("description"), props, "description"),
                 in_lang(props.get("needs") or [], props, "needs"), history, shortlist, top, message, sources)


@bp.get("/<path:project_id>/brief")
def brief(project_id: str) -> Any:
    return render_template("brief.html", b=build(project_id))


@bp.get("/<path:project_id>/brief.xlsx")
def brief_xlsx(project_id: str) -> Response:
    b = build(project_id)
    return Response(to_xlsx(b), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": attachment(f"{b.p.node.id}-brief-{time.strftime('%Y%m%d')}.xlsx")})


def _marked(d: dict[str, Any]) -> str:
    text = d.get("text")
    text = "、".join(map(str, text)) if isinstance(text, list) and lang() == "zh" else \
        ", ".join(map(str, text)) if isinstance(text, list) else (text or "")
    return text + (f" {t('lang.only_' + d['fallback'])}" if d.get("fallback") else "")


def to_xlsx(b: Brief) -> bytes:
    """The brief as a workbook: one sheet per section, headers in the reader's language, every
    cell through kg.cells.spreadsheet_cell (no formulas from data)."""
    wb = Workbook()
    sheet = wb.active
    sheet.title = t("brief.sheet_project")[:31]
    sheet.append([spreadsheet_cell(name_of(b.p.node))])
    sheet["A1"].font = Font(bold=True, size=14)
    for k, x in [*b.facts, (t("field.sectors"), "、".join(b.sectors) if lang() == "zh" else ", ".join(b.sectors)),
                 (t("field.description"), _marked(b.description)), (t("field.needs"), _marked(b.needs))]:
        sheet.append([spreadsheet_cell(k), spreadsheet_cell(x)])
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 90
    for row in sheet.iter_rows(min_row=2):
        row[0].font = Font(bold=True)
        if len(row) > 1:
            row[1].alignment = Alignment(wrap_text=True, vertical="top")
    _table(wb, t("brief.sheet_shortlist"), [t("search.col_name"), t("field.id"), t("field.note"), t("project.by"), t("run.when")],
           [[s["name"], s["id"], s["note"], s["by"], s["when"]] for s in b.shortlist], (36, 28, 50, 12, 17))
    _table(wb, t("brief.sheet_recs"), ["#", t("search.col_name"), t("field.kind"), t("project.score"), t("project.reasons")],
           [[r["rank"], r["name"], r["kind"], round(r["score"], 3), "\n".join(r["reasons"])] for r in b.recs],
           (5, 36, 14, 8, 90))
    _table(wb, t("brief.sheet_history"), [t("run.when"), t("project.by"), t("brief.from"), t("brief.to")],
           [[h["when"], h["by"], h["old"], h["new"]] for h in b.history], (17, 12, 14, 14))
    _table(wb, t("brief.sheet_sources"), [t("field.source")], [[s] for s in b.sources], (100,))
    wb.properties.title = name_of(b.p.node)[:200]
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _table(wb: Workbook, title: str, header: list[str], rows: list[list[Any]], widths: tuple[int, ...]) -> None:
    ws = wb.create_sheet(title[:31])
    ws.append([spreadsheet_cell(h) for h in header])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for row in rows:
        ws.append([spreadsheet_cell(x) for x in row])
    for i, w in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = w
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


__all__ = ["Brief", "bp", "build", "to_xlsx"]

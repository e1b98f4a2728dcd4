"""A project's shortlist and recommendations as CSV and XLSX files staff open in Excel.

CSV is written as UTF-8 with a BOM because Excel on Windows reads BOM-less CSV in the local code
page and turns Chinese into mojibake. Every cell goes through kg.cells.spreadsheet_cell, the one
formula rule of every CSV and XLSX we write: a company name must never run as a formula in
someone's spreadsheet.
"""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from kg.cells import spreadsheet_cell

COLUMNS = ("section", "rank", "org_id", "name_zh", "name_en", "score", "status", "note", "by", "when",
           "reasons_zh", "reasons_en", "signals")


def rows_for(shortlist: list[dict[str, Any]], recs: list[Any], names: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per shortlisted / dismissed organisation, then one per recommendation."""
    by_org = {r.org_id: r for r in recs}
    rows: list[dict[str, Any]] = []
    for item in shortlist:
        rec = by_org.get(item["org_id"])
        node = names.get(item["org_id"])
        rows.append({
            "section": item["status"],
            "org_id": item["org_id"],
            "name_zh": (node.props.get("name_zh") if node else None) or (rec.name_zh if rec else ""),
            "name_en": (node.props.get("name_en") if node else None) or (rec.name_en if rec else ""),
            "score": rec.score if rec else "",
            "status": item["status"],
            "note": item.get("note") or "",
            "by": item.get("username") or "",
            "when": time.strftime("%Y-%m-%d %H:%M", time.localtime(item["ts"])),
            **_reasons(rec),
        })
    status = {i["org_id"]: i for i in shortlist}
    for rank, rec in enumerate(recs, 1):
        item = status.get(rec.org_id, {})
        rows.append({
            "section": "recommendation", "rank": rank, "org_id": rec.org_id,
            "name_zh": rec.name_zh or "", "name_en": rec.name_en or "", "score": rec.score,
            "status": item.get("status", ""), "note": item.get("note") or "", **_reasons(rec),
        })
    return rows


def _reasons(rec: Any) -> dict[str, str]:
    if rec is None:
        return {}
    return {
        "reasons_zh": "；".join(rec.reasons_zh),
        "reasons_en": "; ".join(rec.reasons_en),
        "signals": "; ".join(f"{s.name}={s.contribution:.3f}" for s in rec.signals),
    }


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: spreadsheet_cell(row.get(k, "")) for k in COLUMNS})
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[dict[str, Any]], title: str) -> bytes:
    wb = Workbook()
    sheets = {"shortlist": wb.active}
    sheets["shortlist"].title = "shortlist"
    sheets["recommendations"] = wb.create_sheet("recommendations")
    for ws in sheets.values():
        ws.append(list(COLUMNS))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    for row in rows:
        sheet = sheets["recommendations" if row["section"] == "recommendation" else "shortlist"]
        sheet.append([spreadsheet_cell(row.get(k, "")) for k in COLUMNS])
    for ws in sheets.values():
        for col, width in zip("ABCDEFGHIJKLM", (14, 6, 24, 28, 32, 8, 12, 30, 12, 17, 50, 60, 40), strict=True):
            ws.column_dimensions[col].width = width
    wb.properties.title = title[:200]
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

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


# Column headers and the codes in the section / status columns as a Chinese reader sees them;
# an English file keeps the plain keys, which scripts reading the export rely on.
HEADERS_ZH = {"section": "类别", "rank": "排名", "org_id": "机构编号", "name_zh": "中文名", "name_en": "英文名",
              "score": "得分", "status": "状态", "note": "备注", "by": "操作人", "when": "时间",
              "reasons_zh": "推荐理由（中文）", "reasons_en": "推荐理由（英文）", "signals": "信号"}
CODES_ZH = {"shortlisted": "已入围", "dismissed": "已排除", "recommendation": "推荐"}


def localised(rows: list[dict[str, Any]], language: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The header row and the rows in the reader's language (codes translated in Chinese)."""
    if language != "zh":
        return list(COLUMNS), rows
    out = [{**r, **{k: CODES_ZH.get(r.get(k), r.get(k)) for k in ("section", "status") if r.get(k)}} for r in rows]
    return [HEADERS_ZH[c] for c in COLUMNS], out


def to_csv(rows: list[dict[str, Any]], language: str = "en") -> bytes:
    header, rows = localised(rows, language)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_cell(row.get(k, "")) for k in COLUMNS])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[dict[str, Any]], title: str, language: str = "en") -> bytes:
    header, rows = localised(rows, language)
    wb = Workbook()
    sheets = {"shortlist": wb.active}
    sheets["shortlist"].title = "入围与排除" if language == "zh" else "shortlist"
    sheets["recommendations"] = wb.create_sheet("推荐" if language == "zh" else "recommendations")
    for ws in sheets.values():
        ws.append(header)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    for row in rows:
        sheet = sheets["recommendations" if row["section"] in ("recommendation", CODES_ZH["recommendation"]) else "shortlist"]
        sheet.append([spreadsheet_cell(row.get(k, "")) for k in COLUMNS])
    for ws in sheets.values():
        for col, width in zip("ABCDEFGHIJKLM", (14, 6, 24, 28, 32, 8, 12, 30, 12, 17, 50, 60, 40), strict=True):
            ws.column_dimensions[col].width = width
    wb.properties.title = title[:200]
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

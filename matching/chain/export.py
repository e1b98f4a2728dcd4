"""The chain report as a text table (CLI, README) and as an XLSX workbook (briefings).

Both render the same `ChainReport`; neither computes anything, so the table staff read in the
terminal, the web page and the spreadsheet they forward always agree.
"""

from __future__ import annotations

import io
import unicodedata
from typing import Any

from kg.cells import spreadsheet_cell  # a cell must never run as a formula in Excel
from matching.chain.report import ChainReport, LinkCoverage

__all__ = ["TABLE_COLUMNS", "dependency_lines", "strength_colour", "to_table", "to_xlsx"]

TABLE_COLUMNS = {
    "en": ("Chain link", "Local", "Top local firms", "Strength", "Gap", "Top candidates"),
    "zh": ("产业链环节", "本地企业", "本地主要企业", "强度", "缺口", "招引候选"),
}
COLUMN_WIDTHS = {"en": (40, 5, 44, 8, 4, 48), "zh": (30, 8, 44, 6, 4, 48)}
TOP_NAMES = 3


def _name(obj: Any, lang: str) -> str:
    zh, en = getattr(obj, "name_zh", None), getattr(obj, "name_en", None)
    return ((en or zh) if lang == "en" else (zh or en)) or getattr(obj, "org_id", "")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    """Cut and pad to a display width (a Chinese character takes two columns)."""
    out, used = "", 0
    for ch in text:
        w = _width(ch)
        if used + w > width:
            out = out[:-1] + "…" if out else ""
            used = _width(out)
            break
        out += ch
        used += w
    return out + " " * (width - used)


def strength_colour(strength: float, threshold: float) -> str:
    """Hex colour of a strength: red for a gap, through amber, to green for a strong link."""
    if strength < threshold:
        return "E06666" if strength < threshold / 2 else "F4A582"
    return "FFD966" if strength < (1 + threshold) / 2 else "93C47D"


def _row(link: LinkCoverage, lang: str) -> list[str]:
    firms = list(dict.fromkeys(_name(f, lang) for f in link.firms))
    return [
        "  " * link.depth + link.name(lang),
        str(len(firms)),
        ", ".join(firms[:TOP_NAMES]) + (" …" if len(firms) > TOP_NAMES else ""),
        f"{link.strength:.2f}",
        ("GAP" if lang == "en" else "缺口") if link.gap else "",
        ", ".join(_name(c, lang) for c in link.candidates[:TOP_NAMES]),
    ]


def to_table(report: ChainReport, lang: str = "en", markdown: bool = False) -> str:
    """The chain map as one row per link, indented by depth, for a terminal or a Markdown file."""
    head = list(TABLE_COLUMNS[lang])
    rows = [_row(link, lang) for link in report.links]
    region = report.region_en if lang == "en" else report.region_zh
    title = (
        f"Industry-chain coverage of {region} (gap below {report.threshold:.2f})"
        if lang == "en"
        else f"{region}产业链覆盖（强度低于{report.threshold:.2f}为缺口）"
    )
    deps = dependency_lines(report, lang)
    deps_title = "Dependencies outside the region:" if lang == "en" else "区域外依赖："
    if markdown:
        lines = [f"**{title}**", "", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for r in rows:
            cells = [r[0].replace("  ", "&nbsp;&nbsp;"), *r[1:4], f"**{r[4]}**" if r[4] else "", r[5]]
            lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
        if deps:
            lines += ["", f"**{deps_title.rstrip(':：')}**", "", *(f"- {d}" for d in deps)]
        return "\n".join(lines) + "\n"
    widths = COLUMN_WIDTHS[lang]
    lines = [
        title,
        "  ".join(_fit(h, w) for h, w in zip(head, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(_fit(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if deps:
        lines += ["", deps_title, *("  " + d for d in deps)]
    return "\n".join(lines) + "\n"


def dependency_lines(report: ChainReport, lang: str = "en") -> list[str]:
    """What strong links depend on from outside: named suppliers, then upstream links the region lacks.

    'local Packaging and test firms source IC package substrates from outside Jiangsu': an upstream
    gap is said once, at the highest strong link that needs it, and 'outside the province' only
    when no firm of that link is in the province either.
    """
    out: list[str] = []
    by_id = {link.sector_id: link for link in report.links}
    prov_en, prov_zh = report.province_en or "the province", report.province_zh or "本省"
    for link in report.links:
        if link.gap or not link.firms:
            continue
        for d in link.dependencies:
            if d.direction == "upstream":
                out.append(d.text_en if lang == "en" else d.text_zh)
        parent = by_id.get(link.parent_id or "")
        said = set(parent.upstream_gaps) if parent is not None and not parent.gap and parent.firms else set()
        for gap in (by_id[u] for u in link.upstream_gaps if u not in said and by_id[u].depth > 0):
            nearby = gap.province_members > 0
            if lang == "en":
                where = f"elsewhere in {prov_en} or beyond" if nearby else f"only outside {prov_en}"
                out.append(f"local {link.name('en')} firms rely on upstream {gap.name('en')}, found {where}")
            else:
                where = f"可在{prov_zh}其他城市或省外找到" if nearby else f"只能在{prov_zh}以外找到"
                out.append(f"本地{link.name('zh')}企业依赖的上游环节{gap.name('zh')}，{where}")
    return list(dict.fromkeys(out))


def _sheets(report: ChainReport, lang: str) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(title, header, rows) of the detail sheets; titles and headers in the report's language."""
    en = lang == "en"
    sep = "; " if en else "；"

    def head(*pairs: tuple[str, str]) -> list[str]:
        return [e if en else z for e, z in pairs]

    link_cols = (("sector_id", "环节编号"), ("link", "环节"))
    firms = [
        [link.sector_id, link.name(lang), f.org_id, _name(f, lang), f.presence, f.via_name, f.listed,
         f.leader, f.standing, f.tagged_by, f.tag_confidence, f.weight]
        for link in report.links for f in link.firms if f.sector_id == link.sector_id
    ]  # fmt: skip
    candidates = [
        [link.sector_id, link.name(lang), i, c.org_id, _name(c, lang), c.place_en if en else c.place_zh,
         c.score, sep.join(c.reasons_en if en else c.reasons_zh)]
        for link in report.links for i, c in enumerate(link.candidates, 1)
    ]  # fmt: skip
    deps = [
        [link.sector_id, link.name(lang), d.direction, d.local_name, d.other_name, d.other_place, d.scope,
         d.text_en if en else d.text_zh]
        for link in report.links for d in link.dependencies
    ]  # fmt: skip
    projects = [
        [link.sector_id, link.name(lang), p.project_id, _name(p, lang), p.stage, p.tier, p.local]
        for link in report.links for p in link.projects if p.sector_id == link.sector_id
    ]  # fmt: skip
    return [
        ("Local firms" if en else "本地企业",
         head(*link_cols, ("org_id", "机构编号"), ("name", "名称"), ("presence", "存在方式"), ("via", "经由"),
              ("listed", "上市"), ("leader", "龙头"), ("standing", "地位"), ("tagged_by", "标注来源"),
              ("tag_confidence", "标注置信度"), ("weight", "权重")), firms),
        ("Candidates" if en else "招引候选",
         head(*link_cols, ("rank", "排名"), ("org_id", "机构编号"), ("name", "名称"), ("place", "所在地"),
              ("score", "得分"), ("reasons", "理由")), candidates),
        ("Dependencies" if en else "区域外依赖",
         head(*link_cols, ("direction", "方向"), ("local firm", "本地企业"), ("other", "外地企业"),
              ("where", "所在地"), ("scope", "范围"), ("sentence", "说明")), deps),
        ("Projects" if en else "相关项目",
         head(*link_cols, ("project_id", "项目编号"), ("name", "名称"), ("stage", "阶段"), ("tier", "级别"),
              ("local", "本地")), projects),
    ]  # fmt: skip


def to_xlsx(report: ChainReport, lang: str = "en") -> bytes:
    """A workbook for a briefing: the chain map, local firms, candidates, dependencies, projects."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "Chain" if lang == "en" else "产业链"
    ws.append([spreadsheet_cell(c) for c in TABLE_COLUMNS[lang]] + ["sector_id"])
    for link in report.links:
        row = _row(link, lang)
        ws.append(
            [
                spreadsheet_cell(row[0].strip()),
                row[1],
                spreadsheet_cell(row[2]),
                link.strength,
                row[4],
                spreadsheet_cell(row[5]),
                link.sector_id,
            ]
        )
        cell = ws.cell(ws.max_row, 1)
        cell.alignment = Alignment(indent=link.depth * 2)
        if link.depth == 0:
            cell.font = Font(bold=True)
        fill = strength_colour(link.strength, report.threshold)
        ws.cell(ws.max_row, 4).fill = PatternFill("solid", fgColor=fill)
    for title, header, rows in _sheets(report, lang):
        sheet = wb.create_sheet(title)
        sheet.append(header)
        for values in rows:
            sheet.append([spreadsheet_cell(c) for c in values])
    for sheet in wb.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for col in sheet.columns:
            longest = max((_width(str(c.value or "")) for c in col), default=8)
            sheet.column_dimensions[col[0].column_letter].width = min(60, max(8, longest + 2))
    region = report.region_en if lang == "en" else report.region_zh
    wb.properties.title = f"stakegraph chain map: {region} ({report.version})"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

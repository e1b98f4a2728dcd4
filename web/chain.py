"""The chain map page, its XLSX download and GET /api/v1/chain.

Thin: each route reads the region, calls `matching.chain.chain_report` (cached per graph
version) and renders it. The diagram is an SVG laid out here, because layout is presentation:
one band per chain, the top-level links in columns by their UPSTREAM_OF order, sub-links stacked
inside, every box filled by its local strength and linking to its detail section (shown with
CSS :target, so the page needs no script and no round trip per click).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from kg.store import StoreError
from matching.chain import ChainReport, LinkCoverage, chain_report, to_xlsx
from matching.chain.export import dependency_lines, strength_colour
from web import validation as v
from web.api import api_auth, json_error
from web.auth import PUBLIC_ENDPOINTS
from web.downloads import attachment
from web.i18n import lang, t
from web.messages import MESSAGES
from web.state import settings, view

bp = Blueprint("chain", __name__)
# The API route authenticates itself (bearer token or session, 401 JSON), so the page gate,
# which would redirect to the login form, lets it through.
PUBLIC_ENDPOINTS.add("chain.api_chain")
MESSAGES.setdefault("nav.chain", ("产业链地图", "Chain map"))

BOX_W, HEAD_H, ROW_H, PAD, COL_GAP, BAND_GAP, TITLE_H, LANE = 280, 34, 26, 6, 48, 34, 40, 10
TEXT = {  # (zh, en) of the page's own words, rendered through `m` in the templates
    "title": ("产业链地图", "Industry-chain map"),
    "region": ("区域", "Region"),
    "show": ("查看", "Show"),
    "threshold": ("强度低于 {x} 为缺口", "a link below strength {x} is a gap"),
    "xlsx": ("下载 XLSX 简报", "Download XLSX briefing"),
    "json": ("JSON 接口", "JSON API"),
    "legend": ("颜色＝本地强度：红为缺口，绿为强", "Colour = local strength: red is a gap, green is strong"),
    "click": (
        "点击图中环节查看本地企业、招引候选与相关项目。",
        "Click a link to see its local firms, candidates and projects.",
    ),
    "strength": ("强度", "Strength"),
    "gap": ("缺口", "GAP"),
    "local_firms": ("本地企业", "Local firms"),
    "no_local": ("本地暂无该环节企业。", "No local firm in this link."),
    "presence": ("存在方式", "Presence"),
    "located": ("落户", "located"),
    "subsidiary": ("子公司", "subsidiary"),
    "project": ("项目", "project"),
    "listed": ("上市", "listed"),
    "leader": ("龙头", "leader"),
    "standing": ("地位", "Standing"),
    "tag": ("环节标注", "Tag"),
    "curated": ("人工/来源", "curated"),
    "derived": ("推断", "inferred"),
    "candidates": ("招引候选（区域外）", "Candidates from outside the region"),
    "no_candidates": ("暂无该环节的区域外企业。", "No firm of this link outside the region is known."),
    "reasons": ("理由", "Reasons"),
    "score": ("得分", "Score"),
    "dependencies": ("区域外依赖", "Dependencies outside the region"),
    "projects": ("相关项目", "Related projects"),
    "upstream": ("上游环节", "Upstream"),
    "downstream": ("下游环节", "Downstream"),
    "members": (
        "全国该环节企业 {n} 家，省内（区域外）{p} 家",
        "{n} firms of this link known, {p} elsewhere in the province",
    ),
    "gaps": ("缺口与候选", "Gaps and candidates"),
    "link": ("环节", "Link"),
    "outside_deps": ("区域外依赖（本地龙头的上下游）", "Dependencies of local leaders outside the region"),
}


def messages(language: str) -> dict[str, str]:
    i = 0 if language == "zh" else 1
    return {k: pair[i] for k, pair in TEXT.items()}


@dataclass
class Box:
    link: LinkCoverage
    x: int
    y: int
    w: int
    h: int
    fill: str
    head: bool  # a top-level link (the group header)


def _route(a: Box, b: Box, lane: int) -> str:
    """An orthogonal arrow from a's right edge to b's left edge, turning only in column gaps."""
    ay, by = a.y + HEAD_H // 2, b.y + HEAD_H // 2
    out_x, in_x = a.x + a.w + COL_GAP // 2, b.x - COL_GAP // 2
    if b.x < a.x:  # a backward edge (should not happen in a chain); draw it straight
        return f"{a.x + a.w},{ay} {b.x},{by}"
    if in_x == out_x:
        points = [(a.x + a.w, ay), (out_x, ay), (out_x, by), (b.x - 2, by)]
    else:
        points = [(a.x + a.w, ay), (out_x, ay), (out_x, lane), (in_x, lane), (in_x, by), (b.x - 2, by)]
    return " ".join(f"{x},{y}" for x, y in points)


def layout(report: ChainReport) -> dict[str, Any]:
    """Boxes, arrows and band titles of the diagram, in SVG user units."""
    boxes: list[Box] = []
    arrows: list[str] = []
    bands: list[tuple[LinkCoverage, int]] = []
    children: dict[str, list[LinkCoverage]] = defaultdict(list)
    for link in report.links:
        if link.parent_id:
            children[link.parent_id].append(link)
    y0, width = 0, 0
    for root in (link for link in report.links if link.depth == 0):
        tops = children[root.sector_id]
        bands.append((root, y0))
        heights: dict[int, int] = defaultdict(int)
        where: dict[str, Box] = {}
        for top in tops:
            col = top.stage
            x = col * (BOX_W + COL_GAP)
            y = y0 + TITLE_H + heights[col]
            head = Box(top, x, y, BOX_W, HEAD_H, strength_colour(top.strength, report.threshold), True)
            boxes.append(head)
            where[top.sector_id] = head
            y += HEAD_H
            for child in children[top.sector_id]:
                boxes.append(
                    Box(
                        child,
                        x + PAD,
                        y + 2,
                        BOX_W - 2 * PAD,
                        ROW_H - 4,
                        strength_colour(child.strength, report.threshold),
                        False,
                    )
                )
                y += ROW_H
            heights[col] = y + PAD * 2 - (y0 + TITLE_H)
            width = max(width, x + BOX_W)
        lane = y0 + TITLE_H - LANE  # skip arrows run above the boxes, so they never cross one
        for top in tops:
            for down in top.downstream:
                if down in where and down != top.sector_id:
                    arrows.append(_route(where[top.sector_id], where[down], lane))
        y0 += TITLE_H + max(heights.values(), default=0) + BAND_GAP
    return {
        "boxes": boxes,
        "arrows": sorted(set(arrows)),
        "bands": bands,
        "width": width + 10,
        "height": max(y0 - BAND_GAP, 10),
    }


def _region_arg() -> str | None:
    return v.text(request.args.get("region"), "region", v.MAX_QUERY_CHARS) or None


def _report(region: str | None, k: int = 5) -> ChainReport:
    return chain_report(view(), region, candidates=k, settings=settings())


def _short(text: str, units: float) -> str:
    """Cut a label to about `units` Latin letters (a Chinese character counts as two)."""
    out, used = "", 0.0
    for ch in text:
        used += 2 if ord(ch) > 0x2E80 else 1
        if used > units:
            return out.rstrip() + "…"
        out += ch
    return out


def _failure(exc: Exception) -> tuple[int, str]:
    """404 for a region that does not exist, 400 for a parameter the form rules reject."""
    if isinstance(exc, v.FormError):
        return 400, f"{exc.field}: {t(exc.key, **exc.params)}"
    return 404, str(exc)


@bp.get("/chain")
def chain_page() -> Any:
    language = lang()
    region = request.args.get("region", "")
    try:
        report = _report(_region_arg())
    except (StoreError, v.FormError) as exc:
        code, text = _failure(exc)
        return render_template(
            "chain.html", report=None, error=text, region=region, m=messages(language)
        ), code
    return render_template(
        "chain.html",
        report=report,
        diagram=layout(report),
        m=messages(language),
        region=region,
        by_id={link.sector_id: link for link in report.links},
        deps=dependency_lines(report, language),
        short=_short,
        open_link=request.args.get("link", ""),
        error=None,
    )


@bp.get("/chain.xlsx")
def chain_xlsx() -> Any:
    try:
        report = _report(_region_arg())
    except (StoreError, v.FormError) as exc:
        code, text = _failure(exc)
        return Response(text, status=code, mimetype="text/plain")
    name = f"stakegraph-chain-{report.region_id}.xlsx"
    return Response(
        to_xlsx(report, lang()),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": attachment(name)},
    )


@bp.get("/api/v1/chain")
@api_auth
def api_chain() -> Any:
    k = v.integer(request.args.get("k"), "k", 5, minimum=0, maximum=v.MAX_RESULTS)
    try:
        report = _report(_region_arg(), k)
    except StoreError as exc:
        return json_error(404, str(exc))
    return jsonify(report.as_dict())

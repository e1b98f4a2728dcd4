"""The start page and the search box: name search or semantic (hybrid) search, paged, filtered."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request, url_for
from markupsafe import Markup, escape

from kg.cells import spreadsheet_cell
from kg.kept import Kept
from kg.schema import load_schema
from matching.search import (
    LABELS,
    Results,
    SemanticUnavailable,
    UnknownFilter,
    find,
    hybrid_search,
    index_for,
)
from matching.search.engine import MAX_OFFSET
from web import validation as v
from web import workspace_ops as ops
from web.downloads import attachment
from web.i18n import lang, name_of, t, tv
from web.state import last_runs, view, workspace

bp = Blueprint("search", __name__)
MODES = ("name", "semantic")
PAGE_SIZE = 20
FILTERS = ("label", "kind", "sector", "region", "tier")


def kinds() -> tuple[str, ...]:
    return load_schema().label("Organization").props["kind"].enum


def tiers() -> tuple[str, ...]:
    return load_schema().label("Project").props["tier"].enum


def parse_query(args: Any) -> dict[str, Any]:
    """The search parameters shared by the page and the API (raises FormError)."""
    return {
        "q": v.text(args.get("q", ""), "q", v.MAX_QUERY_CHARS),
        "mode": v.choice(args.get("mode", "") or "name", "mode", MODES),
        "label": v.choice(args.get("label", ""), "label", LABELS),
        "kind": v.choice(args.get("kind", ""), "kind", kinds()),
        "tier": v.choice(args.get("tier", ""), "tier", tiers()),
        "sector": v.text(args.get("sector", ""), "sector", v.MAX_ID_CHARS),
        "region": v.text(args.get("region", ""), "region", v.MAX_ID_CHARS),
        "limit": v.integer(args.get("limit"), "limit", PAGE_SIZE),
        "offset": v.integer(args.get("offset"), "offset", 0, minimum=0, maximum=MAX_OFFSET),
    }


def has_query(p: dict[str, Any]) -> bool:
    return bool(p["q"] or any(p[f] for f in FILTERS))


def run_query(p: dict[str, Any], *, facets: bool = False) -> Results:
    """One library call per mode. Raises UnknownFilter for a region, sector that names nothing
    and SemanticUnavailable when the vectors are missing."""
    args = {"labels": [p["label"]] if p["label"] else None, "kinds": [p["kind"]] if p["kind"] else None,
            "sector": p["sector"] or None, "region": p["region"] or None, "tier": p["tier"] or None,
            "limit": p["limit"], "offset": p["offset"], "facets": facets}
    if p["mode"] == "semantic" and p["q"]:
        return hybrid_search(view(), p["q"], **args)
    return find(view(), p["q"], **args)


def unknown_filter_message(exc: UnknownFilter) -> str:
    text = t("search.unknown_filter", field=t(f"field.{exc.field}"), value=exc.value)
    if exc.suggestions:
        text += " " + t("search.did_you_mean", names=", ".join(exc.suggestions))
    return text


@bp.get("/")
def home() -> Any:
    counts = _counts(view())
    relations = sum(n for key, n in counts.items() if key not in LABELS)
    return render_template("home.html", counts=counts, relations=relations, runs=last_runs(5),
                           edits=ops.recent_edits(workspace(), 8))


_counts_cache: dict[str, dict[str, int]] = {}


def _counts(g) -> dict[str, int]:
    if g.version not in _counts_cache:
        _counts_cache.clear()
        _counts_cache[g.version] = g.counts()
    return _counts_cache[g.version]


@bp.get("/search")
def search_page() -> Any:
    empty = {"q": "", "mode": "name", **dict.fromkeys(FILTERS, ""), "limit": PAGE_SIZE, "offset": 0}
    try:
        p = parse_query(request.args)
    except v.FormError as exc:
        message = t(exc.key, **exc.params) + f" ({exc.field})"
        return render_template("search.html", p=empty, results=None, message=message, **_options(empty)), 400
    if not has_query(p):
        return render_template("search.html", p=p, results=None, message=None, **_options(p))
    try:
        results = run_query(p, facets=True)
    except UnknownFilter as exc:
        return render_template("search.html", p=p, results=None, message=unknown_filter_message(exc),
                               **_options(p)), 400
    except SemanticUnavailable as exc:
        return render_template("search.html", p=p, results=None, message=t("search.semantic_unavailable",
                                                                                 detail=str(exc)), **_options(p))
    if request.args.get("format") == "csv":
        return _csv(results)
    return render_template("search.html", p=p, results=results, message=None, **_options(p), pages=_pages(p, results),
                           facet_links=_facet_links(p, results))


def _facet_links(p: dict[str, Any], r: Results) -> dict[tuple[str, str], str]:
    """Each facet bucket's link: this search narrowed to that kind, region or chain link. One
    url_for and a urlencode per bucket (url_for per bucket was a tenth of a search page)."""
    path = url_for("search.search_page")
    base = {k: p[k] for k in ("q", "mode", *FILTERS) if p[k]}  # mode is never empty
    return {(field, value): path + "?" + urlencode({**base, field: value})
            for field, buckets in (r.facets or {}).items() for value, _n in buckets}


def _pages(p: dict[str, Any], r: Results) -> dict[str, str | None]:
    """Links to the previous and next page, keeping every parameter."""
    def link(offset: int) -> str:
        args = {k: p[k] for k in ("q", "mode", *FILTERS) if p[k]}
        return url_for("search.search_page", **args, offset=offset or None,
                       limit=p["limit"] if p["limit"] != PAGE_SIZE else None)

    return {"previous": link(max(0, r.offset - r.limit)) if r.has_previous else None,
            "next": link(r.offset + r.limit) if r.has_next and r.offset + r.limit <= MAX_OFFSET else None,
            "csv": link(r.offset) + ("&" if "?" in link(r.offset) else "?") + "format=csv"}


def _csv(r: Results) -> Response:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["id", "label", "name_zh", "name_en", "kind", "city", "score", "match", "field", "matched"])
    for h in r.hits:  # names come from sources: a cell a spreadsheet would run is quoted (kg.cells)
        w.writerow([spreadsheet_cell(x) for x in
                    (h.id, h.label, h.name_zh, h.name_en, h.kind, h.city, h.score, h.match, h.field, h.matched)])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": attachment("search.csv")})


def facet_label(field: str, value: str, engine: Any) -> str:
    """A facet bucket's label: a kind's name, or a region's or sector's name."""
    if field == "kind":
        return tv("kind", value)
    zh_en = engine.options("Region" if field == "region" else "Sector").get(value)
    return name_of({"name_zh": zh_en[0], "name_en": zh_en[1], "id": value}) if zh_en else value


_menus: Kept[tuple[str, str, str], str] = Kept(8)  # a few versions x two languages x two menus


def filter_menu(engine: Any, label: str, selected: str) -> Markup:
    """The <option>s of the Sector or Region filter in the reader's language, built once per index
    version and language: the starter graph has ~1,000 sectors and regions, and rendering them
    through the template on every request was most of a search page's CPU (bench/web_load.py)."""
    language = lang()
    zh = language == "zh"
    html = _menus.get_or_make((engine.version, label, language), lambda: "".join(
        f'<option value="{escape(i)}">{escape((z or e) if zh else (e or z))}</option>'
        for i, z, e in engine.facet_options(label)))
    if selected:
        mark = f'<option value="{escape(selected)}">'
        html = html.replace(mark, mark[:-1] + " selected>", 1)
    return Markup(html)  # noqa: S704 - every value above is escaped


def _options(p: dict[str, Any]) -> dict[str, Any]:
    engine = index_for(view())
    return {"kinds": kinds(), "labels": LABELS, "tiers": tiers(), "engine": engine, "facet_label": facet_label,
            "sector_menu": filter_menu(engine, "Sector", p.get("sector") or ""),
            "region_menu": filter_menu(engine, "Region", p.get("region") or "")}

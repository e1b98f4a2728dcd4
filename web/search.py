"""The start page and the search box: name search (matching.search) or semantic search."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from kg.schema import load_schema
from matching.search import LABELS, SemanticUnavailable, index_for, search, semantic_search
from web import validation as v
from web import workspace_ops as ops
from web.i18n import t
from web.state import last_runs, view, workspace

bp = Blueprint("search", __name__)
MODES = ("name", "semantic")


def kinds() -> tuple[str, ...]:
    return load_schema().label("Organization").props["kind"].enum


def parse_query(args: Any) -> dict[str, Any]:
    """The search parameters shared by the page and the API (raises FormError)."""
    return {
        "q": v.text(args.get("q", ""), "q", v.MAX_QUERY_CHARS),
        "mode": v.choice(args.get("mode", "") or "name", "mode", MODES),
        "label": v.choice(args.get("label", ""), "label", LABELS),
        "kind": v.choice(args.get("kind", ""), "kind", kinds()),
        "sector": v.text(args.get("sector", ""), "sector", v.MAX_ID_CHARS),
        "region": v.text(args.get("region", ""), "region", v.MAX_ID_CHARS),
        "limit": v.integer(args.get("limit"), "limit", 50),
    }


def run_query(p: dict[str, Any]) -> list[Any]:
    """One library call per mode; raises SemanticUnavailable when the vectors are missing."""
    g = view()
    if p["mode"] == "semantic":
        if not p["q"]:
            return []
        return semantic_search(g, p["q"], k=p["limit"], labels=(p["label"],) if p["label"] else None)
    return search(g, p["q"], kinds=[p["kind"]] if p["kind"] else None, labels=[p["label"]] if p["label"] else None,
                  sector=p["sector"] or None, region=p["region"] or None, limit=p["limit"])


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
    message = None
    hits: list[Any] = []
    try:
        p = parse_query(request.args)
    except v.FormError as exc:
        p = {"q": "", "mode": "name", "label": "", "kind": "", "sector": "", "region": "", "limit": 50}
        message = t(exc.key, **exc.params) + f" ({exc.field})"
        return render_template("search.html", p=p, hits=[], message=message, **_options()), 400
    if p["q"] or p["sector"] or p["region"] or p["kind"] or p["label"]:
        try:
            hits = run_query(p)
        except SemanticUnavailable as exc:
            message = t("search.semantic_unavailable", detail=str(exc))
    return render_template("search.html", p=p, hits=hits, message=message, **_options())


def _options() -> dict[str, Any]:
    idx = index_for(view())
    return {"kinds": kinds(), "labels": LABELS, "sectors": idx.facet_options("Sector"),
            "regions": idx.facet_options("Region")}

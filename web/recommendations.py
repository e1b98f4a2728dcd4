"""Recommendations as the project page and the API show them: the recommender's ranking minus
what staff dismissed, cached per graph version, and compared with an earlier refresh.

The ranking itself is matching.recommend's (imported lazily: it pulls in the embedding stack);
this module only adds what is the office's own state (dismissals, snapshots), so the page, the
API and the exports cannot disagree about a project's list.
"""

from __future__ import annotations

import inspect
import logging
import time
from typing import Any

from kg.kept import Kept
from kg.settings import Settings
from kg.store import GraphView
from kg.workspace import Workspace
from web import workspace_ops as ops

log = logging.getLogger("stakegraph.web")
DEFAULT_K = 20
CACHE_SIZE = 64
BASELINE_AGE_S = 7 * 24 * 3600  # "what changed since last week's refresh"


class RecsUnavailable(RuntimeError):
    """No recommender (not installed yet) or it failed; the message is shown instead of a list."""


_cache: Kept[tuple, list[Any]] = Kept(CACHE_SIZE)


def _recommend_fn():
    try:
        from matching.recommend import recommend
    except ImportError as exc:
        raise RecsUnavailable("recommendations not available yet") from exc
    return recommend


def ranked(view: GraphView, settings: Settings, project_id: str, *, k: int = DEFAULT_K,
           kinds: tuple[str, ...] = (), region: str | None = None, exclude_kinds: tuple[str, ...] = ()) -> list[Any]:
    """The recommender's list for a project (dismissed ones included), cached per graph version.
    `kinds` admits exactly those kinds (a government body only when asked for), `exclude_kinds`
    leaves kinds out (kg/eligibility.yaml says who is eligible by default)."""
    key = (view.version, project_id, k, tuple(sorted(kinds)), region, tuple(sorted(exclude_kinds)))
    kept = _cache.get(key)
    if kept is not None:
        return kept
    fn = _recommend_fn()
    kwargs: dict[str, Any] = {"k": k, "kinds": list(kinds) or None, "region": region or None, "exclude_involved": True}
    if exclude_kinds:
        kwargs["exclude_kinds"] = list(exclude_kinds)
    if "settings" in inspect.signature(fn).parameters:
        kwargs["settings"] = settings
    try:
        recs = list(fn(view, project_id, **kwargs))
    except Exception as exc:  # a broken recommender must not take the project page down with it
        log.exception("recommend(%s) failed", project_id)
        raise RecsUnavailable(f"recommendations failed: {exc}") from exc
    return _cache.put(key, recs)


def for_project(view: GraphView, settings: Settings, ws: Workspace, project_id: str, *, k: int = DEFAULT_K,
                kinds: tuple[str, ...] = (), region: str | None = None, exclude_kinds: tuple[str, ...] = ()) -> list[Any]:
    """The page's list: best first, dismissed candidates left out, at most k."""
    dismissed = {r["org_id"] for r in ops.shortlist(ws, project_id, "dismissed")}
    recs = ranked(view, settings, project_id, k=k + len(dismissed), kinds=kinds, region=region, exclude_kinds=exclude_kinds)
    return [r for r in recs if r.org_id not in dismissed][:k]


def as_dict(rec: Any) -> dict[str, Any]:
    if hasattr(rec, "as_dict"):
        return rec.as_dict()
    return {
        "org_id": rec.org_id, "name_zh": rec.name_zh, "name_en": rec.name_en, "score": rec.score,
        "reasons_zh": list(rec.reasons_zh), "reasons_en": list(rec.reasons_en),
        "signals": [{"name": s.name, "value": s.value, "weight": s.weight, "contribution": s.contribution,
                     "evidence": s.evidence} for s in rec.signals],
    }


def snapshot_and_compare(view: GraphView, ws: Workspace, project_id: str, run_id: str,
                         recs: list[Any]) -> dict[str, Any] | None:
    """Keep this run's ranking and compare it with the run of about a week ago.

    The baseline is the newest snapshot of another run that is at least a week old, or failing
    that the newest snapshot of another run; None when there is no earlier run to compare with.
    """
    ops.save_snapshot(ws, project_id, run_id, [(r.org_id, r.score) for r in recs])
    others = [s for s in ops.snapshots(ws, project_id) if s["run_id"] != run_id]
    if not others:
        return None
    week_old = [s for s in others if s["ts"] <= time.time() - BASELINE_AGE_S]
    base = (week_old or others)[0]
    # What the refresh changed, not what staff did: an organisation dismissed since is left out
    # of the baseline too, so its leaving and the others moving up one place are not "changes".
    dismissed = {r["org_id"] for r in ops.shortlist(ws, project_id, "dismissed")}
    kept = [org for org, _score in base["ranking"] if org not in dismissed]
    before = {org: rank for rank, org in enumerate(kept, 1)}
    now = {r.org_id: rank for rank, r in enumerate(recs, 1)}
    dropped_ids = [org for org in before if org not in now]
    names = view.get_many(dropped_ids) if dropped_ids else {}
    compared = recs[:len(kept)]  # the places a dismissal freed at the bottom are not news either
    return {
        "baseline_run": base["run_id"],
        "baseline_ts": base["ts"],
        "new": [r for r in compared if r.org_id not in before],
        "moved": [(r, before[r.org_id] - now[r.org_id]) for r in compared
                  if r.org_id in before and before[r.org_id] != now[r.org_id]],
        "dropped": [names.get(org) or org for org in dropped_ids],
    }

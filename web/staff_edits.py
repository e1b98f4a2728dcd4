"""What every staff edit form shares: sector choices, error messages, and the acknowledgement.

An edit is recorded in the workspace (web.workspace_ops.record_changes) and published by the
process's EditApplier; the user is told it is saved and will show in the graph in a moment.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request

from matching.search import index_for
from web import validation as v
from web.i18n import t, tv
from web.messages import MESSAGES
from web.state import state, view


def sector_options() -> list[tuple[str, str, str]]:
    return index_for(view()).facet_options("Sector")


def errors_for_page(errors: list[v.FormError]) -> dict[str, str]:
    return {e.field: t(e.key, **_shown(e.params)) for e in errors}


def _shown(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as the reader's language names them (a schema label: Organization → 机构)."""
    return {k: tv("label", x) if isinstance(x, str) and f"label.{x}" in MESSAGES else x for k, x in params.items()}


def flash_error(exc: v.FormError) -> None:
    flash(t(exc.key, **_shown(exc.params)) + f" ({t('field.' + exc.field)})", "error")


def sectors_from_form(existing: set[str]) -> list[str]:
    """Sector ids ticked on the form that are not linked yet (unknown ids are an error)."""
    known = {s[0] for s in sector_options()}
    chosen = [s for s in request.form.getlist("sectors") if s]
    if len(chosen) > v.MAX_LIST_ITEMS or any(s not in known for s in chosen):
        raise v.FormError("sectors", "error.choice", allowed=t("field.sectors"))
    return [s for s in chosen if s not in existing]


def linked_sectors(node_id: str) -> set[str]:
    return {nb.node.id for nb in view().neighbours(node_id, types=["ACTIVE_IN"], direction="out")}


def saved(target: str) -> Any:
    state().applier.request()
    flash(t("edit.saved"), "ok")
    return redirect(target)

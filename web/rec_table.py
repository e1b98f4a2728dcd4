"""The project page's recommendations table, rendered once and kept.

Twenty rows of signal bars, weights and reasons were about 70% of a project page's CPU (measured
in process on the sample, session 7), and they change only when the graph version, the filters,
the language, the reader's right to edit or the project's shortlist change: all of that is the
key. The one per-session part, the CSRF token in each row's forms, is rendered as a placeholder
and put in on the way out, so a kept table never carries another session's token.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import render_template
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from kg.kept import Kept

CACHE_SIZE = 128  # tables of ~60 kB: ~8 MB at most per worker
_TOKEN_MARK = f"csrf-{secrets.token_hex(16)}"  # per process: no page text can guess it
_FIELD = Markup(f'<input type="hidden" name="csrf_token" value="{_TOKEN_MARK}">')
_cache: Kept[tuple, str] = Kept(CACHE_SIZE)


def recs_table(version: str, project_id: str, filters: dict[str, Any], recs: list[Any], status: dict[str, str],
               lang: str, can_edit: bool) -> Markup:
    """The table's HTML for these recommendations, from the cache when the same table was shown."""
    key = (version, project_id, filters["k"], tuple(filters["kinds"]), tuple(filters["exclude_kinds"]),
           filters["region"], lang, can_edit, tuple(sorted(status.items())), tuple(r.org_id for r in recs))
    html = _cache.get_or_make(key, lambda: render_template("_recs_table.html", recs=recs, status=status,
                                                           project_id=project_id, csrf_field=_FIELD))
    if can_edit:
        html = html.replace(_TOKEN_MARK, generate_csrf())
    return Markup(html)

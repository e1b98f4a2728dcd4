"""The promotion office's web app: `create_app(test_config=None)`, the flaskr way.

Blueprints and the navigation are plain lists so that a new area (the Cypher console, the chain
map) is one import path appended to BLUEPRINTS and one entry appended to NAV. Pages read the
graph only through a read-only view (web.state); staff writes go to the workspace.

test_config keys: any Flask config key, plus STAKEGRAPH_HOME (the home folder),
STAKEGRAPH_SETTINGS (a dict of kg.settings overrides) and STAFF_EDITS_APPLY
(background | sync | off: how recorded edits reach the graph).
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
from typing import Any

from flask import Flask

from kg.settings import load_settings
from kg.workspace import SECRET_KEY_FILE, protect_private_files
from web.extensions import csrf

# "module:attribute" of each blueprint, registered in this order.
BLUEPRINTS: list[str] = [
    "web.auth:bp",
    "web.search:bp",
    "web.entities:bp",
    "web.relations:bp",
    "web.projects:bp",
    "web.brief:bp",
    "web.api:bp",
    "web.admin:bp",
    "web.chain:bp",
    "web.console:bp",
    "web.changes:bp",
    "web.review:bp",
]
# (endpoint, message key, roles that see it or None for everyone) for the top navigation.
NAV: list[tuple[str, str, tuple[str, ...] | None]] = [
    ("search.home", "nav.home", None),
    ("search.search_page", "nav.search", None),
    ("projects.pipeline", "nav.pipeline", None),
    ("chain.chain_page", "nav.chain", None),
    ("changes.changes_page", "nav.changes", None),
    ("console.page", "nav.console", ("researcher", "admin")),
    ("review.page", "nav.review", ("admin", "staff")),
    ("admin.users", "nav.admin", ("admin",)),
]
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")

# An inline icon: browsers ask for one on every page, and a data: URI needs no route or file.
FAVICON = (
    "data:image/svg+xml,%3Csvg%20xmlns%3D%22http%3A//www.w3.org/2000/svg%22%20viewBox%3D%220%200%2032%2032%22%3E%3Crect%20width%3D%2232%22%20height%3D%2232%22%20rx%3D%226%22%20fill%3D%22%2314233a%22/%3E%3Cg%20stroke%3D%22%238fb4ff%22%20stroke-width%3D%222%22%3E%3Cline%20x1%3D%229%22%20y1%3D%2210%22%20x2%3D%2222%22%20y2%3D%229%22/%3E%3Cline%20x1%3D%229%22%20y1%3D%2210%22%20x2%3D%2216%22%20y2%3D%2223%22/%3E%3Cline%20x1%3D%2222%22%20y1%3D%229%22%20x2%3D%2216%22%20y2%3D%2223%22/%3E%3C/g%3E%3Cg%20fill%3D%22%23fff%22%3E%3Ccircle%20cx%3D%229%22%20cy%3D%2210%22%20r%3D%223.5%22/%3E%3Ccircle%20cx%3D%2222%22%20cy%3D%229%22%20r%3D%223%22/%3E%3Ccircle%20cx%3D%2216%22%20cy%3D%2223%22%20r%3D%224%22/%3E%3C/g%3E%3C/svg%3E"
)

log = logging.getLogger("stakegraph.web")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    from web import i18n
    from web.state import AppState

    config = dict(test_config or {})
    home = config.pop("STAKEGRAPH_HOME", None)
    overrides = dict(config.pop("STAKEGRAPH_SETTINGS", None) or {})
    env = dict(os.environ)
    if home:
        env["STAKEGRAPH_HOME"] = str(home)
        overrides["home"] = str(home)
    settings = load_settings(overrides, env=env)
    protect_private_files(settings.home_path)  # start-up: a restored or copied home may be looser

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings.secure_cookies),
        SESSION_COOKIE_NAME="stakegraph_session",
        MAX_CONTENT_LENGTH=settings.max_body_bytes,  # beyond it: 413, as JSON under /api (web.errors)
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session; a long form must not expire
        JSON_SORT_KEYS=False,
        STAFF_EDITS_APPLY="background",
    )
    app.config.update(config)
    app.extensions["stakegraph"] = AppState(settings, app.config["STAFF_EDITS_APPLY"])
    csrf.init_app(app)
    i18n.init_app(app)
    app.jinja_env.globals["favicon"] = FAVICON
    for spec in BLUEPRINTS:
        module, _, attr = spec.partition(":")
        app.register_blueprint(getattr(importlib.import_module(module), attr or "bp"))
    csrf.exempt(app.blueprints["api"])  # bearer tokens, not cookies: nothing to forge
    _register_hooks(app)
    return app


def _secret_key(settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = settings.home_path / SECRET_KEY_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        # Without `stakegraph init` there is no key file; sessions then end with the process.
        log.warning("no %s (run `stakegraph init`); using a temporary secret key", path)
        return secrets.token_hex(32)


def _register_hooks(app: Flask) -> None:
    from web import changes, edit_history, errors
    from web.auth import can_edit, current_user
    from web.state import last_runs

    @app.context_processor
    def inject() -> dict[str, Any]:
        user = current_user()
        nav = [(ep, key) for ep, key, roles in NAV if ep in app.view_functions and (roles is None or (user and user["role"] in roles))]
        return {"current_user": user, "can_edit": can_edit(), "nav": nav, "last_run": _last_run(last_runs)}

    @app.after_request
    def headers(resp):
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        return resp

    errors.init_app(app)  # JSON errors under /api/, pages elsewhere; the JSON depth limit
    changes.init_app(app)
    edit_history.init_app(app)


def _last_run(last_runs) -> dict[str, Any] | None:
    try:
        runs = last_runs(1)
    except OSError:
        return None
    return runs[0] if runs else None

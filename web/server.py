"""The production server: the app under waitress, its thread count and proxy trust settings.

Waitress and not Flask's development server: one process whose worker threads share the graph
view, the search index, the neighbour and recommendation caches and the loaded vector indexes,
with a bounded queue and connection limit, and nothing to build. Picked over gunicorn by
measurement (bench/web_load.py, paired runs on the same 2-core machine, docs/deployment.md):
the server spent the same CPU a request under both (18.3 vs 18.4 ms), waitress served as many
or more requests a second (24.3-24.5 vs 19.6-24.1) with shorter tails, since gunicorn's two
workers each warm and cache on their own. Behind a TLS proxy, `trusted_proxy` lets waitress
take the scheme and client address from X-Forwarded-* so redirects stay on https and the
login lock-out counts the real address.
"""

from __future__ import annotations

import logging
from typing import Any

from kg.settings import Settings

log = logging.getLogger("stakegraph.web")


def server_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    """waitress.serve's keyword arguments from the settings table."""
    opts: dict[str, Any] = {
        "host": host,
        "port": port,
        "threads": settings.web_threads,
        "connection_limit": settings.web_connection_limit,
        "channel_timeout": settings.web_channel_timeout_s,
        "ident": "stakegraph",
        "clear_untrusted_proxy_headers": True,
    }
    if settings.trusted_proxy:
        opts["trusted_proxy"] = settings.trusted_proxy
        opts["trusted_proxy_headers"] = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port"}
    return opts


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the app until interrupted. The search index and vectors start warming before the
    first request, so the first users do not wait for them."""
    from waitress import serve as waitress_serve

    from web import create_app
    from web.state import state, view

    app = create_app()
    with app.app_context():
        view()  # starts the index build and the vector load in the background
    log.info("serving with %d threads", settings.web_threads)
    try:
        waitress_serve(app, **server_options(settings, host, port))
    finally:
        with app.app_context():
            state().applier.wait(60)

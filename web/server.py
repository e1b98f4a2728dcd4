"""The production server: the app under gunicorn (threaded workers), sized by the settings table.

Gunicorn and not Flask's development server or waitress, by measurement (bench/web_load.py on the
sample, docs/deployment.md): request work is Python holding the GIL, so one process uses one
core whatever its thread count. On the project's 2-core machine, quiet, 16 clients searching:
waitress with 8 threads served 134 requests/s at 8.7 ms of server CPU a request; gunicorn with
2 workers x 4 threads 375/s at 5.1 ms (fewer threads fighting over one GIL); the office mix 88
vs 170/s. (An earlier pairing, on a machine at load 32-38, saw no difference: both cores were
taken by other work.) Each worker process opens the graph read-only, maps the same search index
files and loads its own vector indexes and caches, so memory grows with `web_workers`; staff
edits are published by whichever worker takes the home's single writer lock.

Behind a TLS proxy, `trusted_proxy` names the one address whose X-Forwarded-* headers are
believed (scheme, host and client address, so redirects stay on https and the login lock-out
counts the real address); from anyone else those headers are dropped.
"""

from __future__ import annotations

import logging
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

from kg.settings import Settings

log = logging.getLogger("stakegraph.web")
FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT",
             "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")


class TrustedProxy:
    """X-Forwarded-* believed from the trusted proxy only (werkzeug's ProxyFix believes anyone)."""

    def __init__(self, app: Any, proxy: str):
        self.app, self.proxy = app, proxy
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=1)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.proxy and environ.get("REMOTE_ADDR") == self.proxy:
            return self.fixed(environ, start_response)
        for key in FORWARDED:
            environ.pop(key, None)
        return self.app(environ, start_response)


def server_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    """gunicorn's settings from the settings table."""
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": settings.web_workers,
        "worker_class": "gthread",
        "threads": settings.web_threads,
        "worker_connections": settings.web_connection_limit,
        "keepalive": settings.web_channel_timeout_s,
        # a worker busy longer than this is restarted: above the console's and a refresh-sized
        # recommendation's time, so only a hung worker is
        "timeout": max(120, settings.query_timeout_ms // 1000 * 3),
        "graceful_timeout": 60,
        "backlog": 2048,
        # a 10,000-character query must reach the app (and its clear 400), not gunicorn's own
        # "request line too large"; bodies stay capped by max_body_bytes
        "limit_request_line": 0,
        "forwarded_allow_ips": settings.trusted_proxy or "",
        "proc_name": "stakegraph-web",
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
    }


def build_app(settings: Settings) -> Any:
    """The WSGI app one worker serves. The search index and vectors start warming before the
    first request, so the first users do not wait for them."""
    from web import create_app
    from web.state import view

    app = create_app()
    with app.app_context():
        view()  # starts the index build and the vector load in the background
    return TrustedProxy(app, settings.trusted_proxy)


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the app until interrupted (SIGTERM or Ctrl-C stop the workers gracefully)."""
    from gunicorn.app.base import BaseApplication

    wsgi: dict[str, Any] = {}

    def worker_exit(_server: Any, _worker: Any) -> None:
        app = wsgi.get("app")
        if app is not None:  # publish what staff saved before this worker goes
            with app.app.app_context():
                from web.state import state

                state().applier.wait(60)

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in {**server_options(settings, host, port), "worker_exit": worker_exit}.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            wsgi["app"] = build_app(settings)
            return wsgi["app"]

    log.info("serving with %d workers x %d threads", settings.web_workers, settings.web_threads)
    Server().run()

"""What one web process keeps: settings, the live graph view, the workspace, the edit applier.

Views are read-only and follow refreshes (kg.views.LiveView), so a page never writes the graph.
Staff edits are recorded in the workspace at once and published by `EditApplier`, one background
thread per process that runs `jobs.tasks.apply_staff_edits` (it waits for the single writer
lock). Edits made while it runs are coalesced into one more pass, not one pass each.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import current_app, g

from ingest import runs
from kg.settings import Settings
from kg.store import GraphView
from kg.views import LiveView
from kg.workspace import Workspace

log = logging.getLogger("stakegraph.web")
APPLY_MODES = ("background", "sync", "off")  # "off": tests that only check what was recorded


class EditApplier:
    def __init__(self, settings: Settings, mode: str = "background"):
        if mode not in APPLY_MODES:
            raise ValueError(f"STAFF_EDITS_APPLY must be one of {', '.join(APPLY_MODES)}")
        self.settings = settings
        self.mode = mode
        self.last_error: str | None = None
        self._wanted = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        """Ask for the recorded edits to be published; returns at once unless mode is sync."""
        if self.mode == "off":
            return
        if self.mode == "sync":
            self._apply()
            return
        self._wanted.set()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="stakegraph-apply-edits", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while self._wanted.is_set():
            self._wanted.clear()
            self._apply()

    def _apply(self) -> None:
        from jobs.tasks import apply_staff_edits

        try:
            apply_staff_edits(self.settings)
            self.last_error = None
        except Exception as exc:  # the edits stay recorded; the next refresh applies them
            self.last_error = str(exc)
            log.exception("applying staff edits failed")

    def wait(self, timeout: float = 60) -> bool:
        """Block until no pass is running (tests, shutdown). True when idle."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True


class AppState:
    def __init__(self, settings: Settings, apply_mode: str):
        self.settings = settings
        self.live = LiveView(settings)
        self.applier = EditApplier(settings, apply_mode)
        self._ws: Workspace | None = None
        self.warmed: str | None = None  # the graph version whose search index was asked for

    @property
    def workspace(self) -> Workspace:
        if self._ws is None:
            self._ws = Workspace.open(self.settings)
        return self._ws


def state() -> AppState:
    return current_app.extensions["stakegraph"]


def settings() -> Settings:
    return state().settings


def view() -> GraphView:
    """The current graph; a new version starts its search index building and its vector indexes
    loading in the background. Asked once a request: finding the current version reads the
    home's version pointer, and a page asks for the view several times."""
    cached = g.get("_stakegraph_view")
    if cached is not None:
        return cached
    v = state().live.get()
    g._stakegraph_view = v
    if v.version != state().warmed:
        from matching.search import warm
        from matching.vectors import warm_vectors

        state().warmed = v.version
        warm(v)
        warm_vectors(v)
    return v


def workspace() -> Workspace:
    return state().workspace


def graph_run(v: GraphView) -> dict[str, Any]:
    """The run that produced the graph version being read (its id keys recommendation snapshots)."""
    from kg.backends import data_dir

    try:
        return runs.version_run(data_dir(settings(), v.version))
    except (OSError, ValueError, AttributeError):
        last = runs.last_runs(settings(), 1)
        return last[0] if last else {"run_id": v.version}


def last_runs(n: int = 5) -> list[dict[str, Any]]:
    return runs.last_runs(settings(), n)

"""A long-lived reader that follows the published graph.

The web app and notebooks keep one view open; when a refresh publishes a new version, the next
call to `get()` closes the old handle and opens the new one, so nobody needs a restart.
"""

from __future__ import annotations

import threading

from kg.backends import current_version, open_view
from kg.settings import Settings
from kg.store import GraphView


class LiveView:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._view: GraphView | None = None
        self._lock = threading.Lock()
        self._retired: list[GraphView] = []

    def get(self) -> GraphView:
        version = current_version(self.settings)
        with self._lock:
            if self._view is None or (version is not None and self._view.version != version):
                if self._view is not None:
                    # In-flight requests may still read the old handle; close it on the next swap.
                    for old in self._retired:
                        old.close()
                    self._retired = [self._view]
                self._view = open_view(self.settings)
            return self._view

    def close(self) -> None:
        with self._lock:
            for v in [*self._retired, self._view]:
                if v is not None:
                    v.close()
            self._view, self._retired = None, []

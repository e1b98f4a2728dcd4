"""One console worker process, seen from the console's side: start it, ask it, kill it.

The process runs kg.console_worker (`python -m kg.console_worker <fd>`) with a clean
environment (no secrets from ours), "/" as its working directory and one end of a socket pair;
it learns what to open and its limits from the first message. kg.console_pool decides which
worker takes which query.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg import console_wire as wire
from kg.console_stops import ConsoleStopped

__all__ = ["Limits", "Target", "Worker"]

START_TIMEOUT_S = 60
THREADS = max(1, min(4, os.cpu_count() or 1))  # engine threads per worker
# What a Neo4j worker may read (name resolution, TLS roots) and read and execute (libnss, libssl).
NEO4J_READ = ["/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/gai.conf", "/etc/host.conf",
              "/etc/ssl", "/etc/pki", "/usr/share/ca-certificates", "/run/systemd/resolve"]
NEO4J_READ_EXEC = ["/lib", "/lib64", "/usr/lib", "/usr/lib64", sys.prefix, sys.base_prefix]


@dataclass(frozen=True)
class Target:
    """One published graph: what a worker opens. For ladybug, db_file is the version's file."""

    backend: str
    home: str
    version: str
    db_file: str = ""
    server: tuple[str, ...] = ()  # Neo4j: uri, user, database


@dataclass(frozen=True)
class Limits:
    workers: int
    memory_mb: int
    grace_ms: int
    result_mb: int
    landlock: bool


@dataclass(eq=False)
class Worker:
    """One worker process and our end of its socket; used by one query at a time."""

    target: Target
    limits: Limits
    proc: subprocess.Popen = field(init=False)
    sock: socket.socket = field(init=False)
    killed: bool = False

    def start(self, settings_values: dict[str, Any]) -> Worker:
        ours, theirs = socket.socketpair()
        root = Path(__file__).resolve().parent.parent
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "PYTHONPATH": str(root),
               "MALLOC_ARENA_MAX": "2", "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-s", "-m", "kg.console_worker", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                cwd="/", env=env, start_new_session=True,
            )
        except OSError as exc:  # no process could be made (process or memory limits of the host)
            ours.close()
            raise ConsoleStopped("start", detail=str(exc)) from None
        finally:
            theirs.close()
        self.sock = ours
        try:
            wire.send(ours, self._config(settings_values))
            ready = wire.receive(ours, time.monotonic() + START_TIMEOUT_S)
        except wire.WireError as exc:
            self.kill()
            raise ConsoleStopped("start", detail=f"{exc}; {self.ended()}") from None
        if not ready.get("ok"):
            self.kill()
            raise ConsoleStopped("start", detail=ready.get("message"))
        return self

    def _config(self, settings_values: dict[str, Any]) -> dict[str, Any]:
        t, lim = self.target, self.limits
        config = {"backend": t.backend, "home": t.home, "memory_mb": lim.memory_mb, "threads": THREADS,
                  "landlock": lim.landlock}
        if t.backend == "ladybug":
            return {**config, "db_file": t.db_file}
        from urllib.parse import urlsplit

        port = urlsplit(settings_values.get("neo4j_uri") or "").port or 7687
        values = {k: v for k, v in settings_values.items() if k != "secret_key"}
        return {**config, "settings": values, "ports": sorted({port, 7687}), "read": NEO4J_READ,
                "read_exec": NEO4J_READ_EXEC}

    def send(self, request: dict[str, Any]) -> None:
        wire.send(self.sock, request)

    def answer(self, deadline: float) -> dict[str, Any]:
        return wire.receive(self.sock, deadline, self.limits.result_mb << 20)

    def alive(self) -> bool:
        return not self.killed and self.proc.poll() is None

    def kill(self, wait: bool = True) -> None:
        """SIGKILL (nothing the engine does can delay it), then reap the process if `wait`."""
        self.killed = True
        if self.proc.poll() is None:
            self.proc.kill()
        if hasattr(self, "sock"):
            self.sock.close()
        if wait:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)

    def ended(self) -> str:
        """How the process ended, for the user."""
        try:
            code = self.proc.wait(5)
        except subprocess.TimeoutExpired:
            return "still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = "?"
            return f"signal {-code}, {name}"
        return f"exit status {code}"

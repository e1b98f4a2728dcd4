"""The console's worker processes: a small pool, each worker bound to one published graph version.

User-typed Cypher never runs in the web or CLI process. A query is sent to an idle worker of the
current version (kg.console_worker: confined by Landlock, its address space and CPU capped) and
the caller waits at most the time limit plus a grace period; then the worker is killed
(SIGKILL), whatever the engine is doing. A worker that crashes, is killed or hits the memory
limit is dropped and a fresh one started in the background, and the caller gets a sentence
saying what happened instead of a dead server.

Workers are keyed by what they opened (backend, home, version) and by their limits; when the
published version changes, idle workers of the old one are stopped and busy ones stop when they
answer. At most `console_workers` run at once across the process; an idle worker of another home
or version makes room for a new one, and when all are busy the caller is told so at once.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg import console_wire as wire
from kg.store import QueryRefused, StoreError

__all__ = ["ConsoleStopped", "Limits", "STOPPED", "Target", "pool"]

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


def memory_text(mb: int) -> str:
    return f"{mb // 1024} GB" if mb % 1024 == 0 else f"{mb} MB"


# What the user is told when the console stops or loses a query; the web translates by reason.
STOPPED = {
    "time": "the query was stopped at the time limit of {seconds:g} s; add a LIMIT or narrow the MATCH",
    "memory": "the query was stopped: memory limit {limit}; return fewer or smaller values",
    "crash": "the engine crashed on this query ({how}); the next query gets a fresh worker",
    "killed": "the query's worker was killed ({how}), probably by the system for lack of memory",
    "exited": "the query's worker stopped unexpectedly ({how}); the next query gets a fresh worker",
    "too_large": "the result is larger than the console's limit of {limit}; return fewer rows or columns",
    "busy": "the console is busy with {workers} queries; try again when one of them has finished",
    "start": "the console could not start its query worker: {detail}",
}


class ConsoleStopped(StoreError):
    """A query the console stopped, lost or could not start; `reason` is a key of STOPPED and
    `values` fill its message."""

    def __init__(self, reason: str, **values: Any):
        super().__init__(STOPPED[reason].format(**values))
        self.reason, self.values = reason, values


def stopped_at_time_limit(timeout_ms: int) -> ConsoleStopped:
    return ConsoleStopped("time", seconds=timeout_ms / 1000)


@dataclass(eq=False)
class Worker:
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

    def ask(self, request: dict[str, Any], deadline: float) -> dict[str, Any]:
        wire.send(self.sock, request)
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


class ConsolePool:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._starting = 0
        self._latest: dict[str, str] = {}  # home -> the newest version a query asked for

    def run(self, target: Target, limits: Limits, settings_values: dict[str, Any],
            request: dict[str, Any]) -> dict[str, Any]:
        """Run one request on a worker of the target; the reply, or StoreError / QueryRefused."""
        worker = self._checkout(target, limits, settings_values)
        timeout_ms = int(request["timeout_ms"])
        deadline = time.monotonic() + (timeout_ms + limits.grace_ms) / 1000
        try:
            reply = worker.ask({**request, "grace_ms": limits.grace_ms}, deadline)
        except wire.WireError as exc:
            if exc.kind != "closed":
                worker.kill()  # past the time limit, or its answer is too big to read: stop it now
            failure = self._failure(exc, worker, timeout_ms, limits)
            self._checkin(worker, settings_values)
            raise failure from None
        except BaseException:
            worker.kill()
            self._checkin(worker, settings_values)
            raise
        if reply.get("kind") == "memory":
            worker.kill()  # it exits by itself after a memory error; never hand it another query
        self._checkin(worker, settings_values)
        if reply.get("ok"):
            return reply
        kind, message = reply.get("kind"), str(reply.get("message", ""))
        if kind == "refused":
            raise QueryRefused(message)
        if kind == "timeout":
            raise stopped_at_time_limit(timeout_ms)
        if kind == "memory":
            raise ConsoleStopped("memory", limit=memory_text(limits.memory_mb))
        raise StoreError(message)

    @staticmethod
    def _failure(exc: wire.WireError, worker: Worker, timeout_ms: int, limits: Limits) -> ConsoleStopped:
        if exc.kind == "timeout":
            return stopped_at_time_limit(timeout_ms)
        if exc.kind == "too_large":
            return ConsoleStopped("too_large", limit=memory_text(limits.result_mb))
        how = worker.ended()
        if "SIGXCPU" in how:
            return stopped_at_time_limit(timeout_ms)
        if "SIGKILL" in how:
            return ConsoleStopped("killed", how=how)
        if how.startswith("signal"):
            return ConsoleStopped("crash", how=how)
        return ConsoleStopped("exited", how=how)

    def _checkout(self, target: Target, limits: Limits, settings_values: dict[str, Any]) -> Worker:
        with self._cond:
            self._latest[target.home] = target.version
            for w in [w for w in self._idle if w.target.home == target.home and w.target.version != target.version]:
                self._drop(w)  # an older (or newer) version of the same home: retire it
            for w in list(self._idle):
                if not w.alive():
                    self._drop(w)
                elif w.target == target and w.limits == limits:
                    self._idle.remove(w)
                    self._busy.add(w)
                    return w
            if len(self._idle) + len(self._busy) + self._starting >= limits.workers:
                if not self._idle:
                    raise ConsoleStopped("busy", workers=limits.workers)
                self._drop(self._idle[0])  # room for this one: the longest idle worker of another graph
            self._starting += 1
        try:
            worker = Worker(target, limits).start(settings_values)
        finally:
            with self._cond:
                self._starting -= 1
                self._cond.notify_all()
        with self._cond:
            self._busy.add(worker)
        return worker

    def _checkin(self, worker: Worker, settings_values: dict[str, Any]) -> None:
        with self._cond:
            self._busy.discard(worker)
            current = self._latest.get(worker.target.home) == worker.target.version
            if worker.alive() and current:
                self._idle.append(worker)
                replace = False
            else:
                self._drop(worker)
                replace = current and len(self._idle) + len(self._busy) + self._starting < worker.limits.workers
                self._starting += 1 if replace else 0
            self._cond.notify_all()
        if replace:  # a crashed or killed worker: start its successor now, not on the next query
            threading.Thread(target=self._replace, args=(worker, settings_values), daemon=True,
                             name="console-worker-start").start()

    def _replace(self, old: Worker, settings_values: dict[str, Any]) -> None:
        try:
            fresh = Worker(old.target, old.limits).start(settings_values)
        except StoreError:
            fresh = None
        with self._cond:
            self._starting -= 1
            if fresh is not None:
                self._idle.append(fresh)
            self._cond.notify_all()

    def _drop(self, worker: Worker) -> None:
        if worker in self._idle:
            self._idle.remove(worker)
        worker.kill(wait=False)
        threading.Thread(target=worker.kill, daemon=True, name="console-worker-reap").start()

    def wait_idle(self, timeout_s: float) -> bool:
        """True once no query runs and no worker is starting (within timeout_s)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._busy and not self._starting, timeout_s)

    def workers(self) -> list[tuple[int, str, str]]:
        """(process id, home, graph version) of each live worker (for tests and diagnostics)."""
        with self._cond:
            return [(w.proc.pid, w.target.home, w.target.version) for w in [*self._idle, *self._busy] if w.alive()]

    def shutdown(self) -> None:
        with self._cond:
            workers, self._idle = [*self._idle, *self._busy], []
        for w in workers:
            w.kill()


pool = ConsolePool()
atexit.register(pool.shutdown)

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
or version makes room for a new one, and when all are busy a query waits two seconds for one
before it is told the console is busy.
"""

from __future__ import annotations

import atexit
import threading
import time
from typing import Any

from kg import console_wire as wire
from kg.console_process import Limits, Target, Worker
from kg.console_stops import ConsoleStopped, memory_text, stopped_at_time_limit
from kg.store import QueryRefused, StoreError

__all__ = ["ConsolePool", "pool"]

BUSY_WAIT_S = 2.0  # how long a query waits for a worker when all are busy


class ConsolePool:
    """The workers of this process; thread-safe (the web server asks from many threads)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._starting = 0
        self._latest: dict[str, str] = {}  # home -> the newest version a query asked for

    def run(self, target: Target, limits: Limits, settings_values: dict[str, Any],
            request: dict[str, Any]) -> dict[str, Any]:
        """Run one request on a worker of the target; the reply, or StoreError / QueryRefused."""
        timeout_ms = int(request["timeout_ms"])
        for attempt in (1, 2):
            worker = self._checkout(target, limits, settings_values)
            try:
                worker.send({**request, "grace_ms": limits.grace_ms})
                break
            except wire.WireError:  # it died while idle: the query never reached it, so try a fresh one
                worker.kill()
                self._checkin(worker, settings_values)
                if attempt == 2:
                    raise ConsoleStopped("exited", how=worker.ended()) from None
        deadline = time.monotonic() + (timeout_ms + limits.grace_ms) / 1000
        try:
            reply = worker.answer(deadline)
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
        """An idle worker of the target, or a new one; when all are busy, wait BUSY_WAIT_S for one
        to come back (a burst of short queries queues briefly), then say the console is busy."""
        give_up = time.monotonic() + BUSY_WAIT_S
        with self._cond:
            self._latest[target.home] = target.version
            while True:
                for w in list(self._idle):
                    if not w.alive() or (w.target.home == target.home and w.target.version != target.version):
                        self._drop(w)  # dead, or another version of the same home: retire it
                    elif w.target == target and w.limits == limits:
                        self._idle.remove(w)
                        self._busy.add(w)
                        return w
                if len(self._idle) + len(self._busy) + self._starting < limits.workers:
                    break
                if self._idle:
                    self._drop(self._idle[0])  # make room: the longest idle worker of another graph
                    continue
                remaining = give_up - time.monotonic()
                if remaining <= 0:
                    raise ConsoleStopped("busy", workers=limits.workers)
                self._cond.wait(remaining)
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

"""A console worker: the process that runs the Cypher people type, confined by the OS.

Started by kg.console_pool as `python -m kg.console_worker <socket fd>`. It reads its
configuration from the socket, then, in this order:

1. imports everything it will need (after step 2 it can no longer read Python files);
2. confines itself (kg.console_sandbox): it may read its graph version's folder and nothing
   else, write nothing, open no TCP connection (Neo4j: only to the server's port);
3. opens the graph read-only, with an explicit buffer pool and maximum database size so that
   the engine does not reserve terabytes of address space, and starts the engine's threads;
4. caps its address space at what it uses now plus the memory limit's other half;
5. answers queries, one at a time, until the socket closes.

A query that hits the memory limit is answered and the worker exits (the pool starts a fresh
one): an engine that ran out of memory is not trusted with the next query.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from kg import console_sandbox as sandbox
from kg import console_wire as wire
from kg.console_check import check_plan
from kg.store import QueryRefused, StoreError

MEMORY_SIGNS = ("buffer pool is full", "bad_alloc", "Unable to allocate", "out of memory", "Out of Memory")
_PREFIXES = ("EXPLAIN", "PROFILE")


class LadybugEngine:
    """One read-only database handle and connection on one published version."""

    def __init__(self, config: dict[str, Any]):
        import ladybug
        import ladybug._backend  # the native module loads lazily; load it while files are readable

        ladybug._backend.get_pybind_module()
        self.threads = int(config["threads"])
        memory = int(config["memory_mb"]) << 20
        db_file = Path(config["db_file"])
        vm_size = sandbox.VmSize()
        if config["landlock"]:
            sandbox.confine(read=[db_file.parent])
        size = db_file.stat().st_size
        max_db = 1 << max(26, (2 * size - 1).bit_length())  # a power of two, at least 64 MiB
        try:
            self.db = ladybug.Database(str(db_file), read_only=True, buffer_pool_size=memory // 2,
                                       max_db_size=max_db, max_num_threads=self.threads)
            self.conn = ladybug.Connection(self.db)
        except RuntimeError as exc:
            raise StoreError(f"cannot open the graph at {db_file}: {exc}") from exc
        # The buffer pool's half is reserved inside the baseline; malloc gets the other half.
        sandbox.limit_memory(vm_size() + memory // 2)

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        statement, params = request["cypher"], request.get("params") or {}
        timeout_ms, max_rows = int(request["timeout_ms"]), int(request["max_rows"])
        sandbox.limit_cpu((timeout_ms + int(request["grace_ms"])) / 1000 * self.threads + 1)
        self.conn.set_query_timeout(timeout_ms)
        try:
            if request.get("check_plan", True):
                first = statement.lstrip().split(None, 1)
                body = first[1] if len(first) == 2 and first[0].upper() in _PREFIXES else statement
                plan = self.conn.execute("EXPLAIN " + body, params)
                text = plan.get_all()[0][0] if not isinstance(plan, list) else ""
                check_plan(text)
            result = self.conn.execute(statement, params)
        finally:
            self.conn.set_query_timeout(0)
        if isinstance(result, list):  # several statements: only a direct request gets this far
            for r in result:
                r.close()
            raise QueryRefused("one statement per query")
        columns = result.get_column_names()
        rows: list[list[Any]] = []
        truncated = False
        while result.has_next():
            if len(rows) >= max_rows:
                truncated = True
                break
            rows.append(result.get_next())
        result.close()
        return {"columns": columns, "rows": rows, "truncated": truncated}


class Neo4jEngine:
    """A Neo4j view (READ access mode, EXPLAIN check, server-side timeout) in a process that may
    open no file beyond name resolution and TLS, and connect only to the server's port."""

    def __init__(self, config: dict[str, Any]):
        import kg.backends.neo4j  # noqa: F401  (imported while Python's files are readable)
        import kg.console  # noqa: F401  (the Neo4j dialect rewrite imports its scan_pieces lazily)
        from kg.backends import open_view
        from kg.schema import load_schema
        from kg.settings import Settings

        schema = load_schema()
        settings = Settings(dict(config["settings"]))
        if config["landlock"]:
            home = Path(config["home"])
            sandbox.confine(read=_existing(config["read"], home), read_exec=_existing(config["read_exec"], home),
                            connect_ports=config["ports"])
        self.view = open_view(settings, schema)

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        result = self.view.query(request["cypher"], request.get("params") or {},
                                 max_rows=int(request["max_rows"]), timeout_ms=int(request["timeout_ms"]))
        return {"columns": result.columns, "rows": result.rows, "truncated": result.truncated}


def _existing(paths: list[str], home: Path) -> list[Path]:
    """The paths that exist and do not hold the home (its secrets stay out of reach)."""
    out = []
    for p in map(Path, paths):
        if p.exists() and not (home == p or p in home.parents):
            out.append(p)
    return out


def answer(engine: LadybugEngine | Neo4jEngine, request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(reply, exit afterwards) for one request; engine errors become replies, never crashes."""
    started = time.perf_counter()
    try:
        reply = {"ok": True, **engine.run(request)}
    except QueryRefused as exc:
        return {"ok": False, "kind": "refused", "message": str(exc)}, False
    except MemoryError:
        return {"ok": False, "kind": "memory", "message": "MemoryError"}, True
    except Exception as exc:  # RuntimeError from the engine; ValueError/TypeError from its parameter binding
        message = str(exc) if isinstance(exc, RuntimeError | StoreError) else f"{type(exc).__name__}: {exc}"
        if any(sign in message for sign in MEMORY_SIGNS):
            return {"ok": False, "kind": "memory", "message": message}, True
        if "Interrupted" in message or "time limit" in message:
            return {"ok": False, "kind": "timeout", "message": message}, False
        if "read-only database" in message:  # the engine's own refusal of a write
            return {"ok": False, "kind": "refused", "message": f"the console is read-only: {message}"}, False
        return {"ok": False, "kind": "error", "message": message}, False
    reply["elapsed_ms"] = (time.perf_counter() - started) * 1000
    return reply, False


def _send(sock: socket.socket, reply: dict[str, Any]) -> bool:
    try:
        wire.send(sock, reply)
        return False
    except MemoryError:
        wire.send(sock, {"ok": False, "kind": "memory", "message": "MemoryError while sending the result"})
        return True
    except (RecursionError, TypeError, ValueError) as exc:
        wire.send(sock, {"ok": False, "kind": "error", "message": f"the result cannot be sent: {exc}"})
        return False


def main(argv: list[str]) -> int:
    sock = socket.socket(fileno=int(argv[1]))
    config = wire.receive(sock)
    try:
        sandbox.limit_files_and_cores()
        engine = LadybugEngine(config) if config["backend"] == "ladybug" else Neo4jEngine(config)
    except Exception as exc:  # reported to the parent, which shows it to the user
        wire.send(sock, {"ok": False, "kind": "start", "message": f"{type(exc).__name__}: {exc}"})
        return 1
    wire.send(sock, {"ok": True, "pid": os.getpid()})
    while True:
        try:
            request = wire.receive(sock)
        except wire.WireError:
            return 0  # the console closed the socket: its process ended or retired this worker
        reply, done = answer(engine, request)
        if _send(sock, reply) or done:
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

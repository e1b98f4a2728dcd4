"""The Cypher console: one function that every way in (CLI, web page, API, notebooks) calls.

As in datasette's `execute()`, every limit lives here: one statement, read-only, a time limit,
a row cap. Two layers, each enough on its own for what it guards:

1. kg.console_check reads the statement with a real tokenizer and refuses, with a clear reason
   and before anything runs, writes, several statements, anything that reaches outside the
   graph (LOAD, COPY, EXPORT, IMPORT, ATTACH, INSTALL, file-reading table functions) and any
   function or procedure off its allow-lists;
2. the statement then runs in a worker process (kg.console_pool, kg.console_worker), never in
   the caller's: the worker opened its graph version read-only, and the operating system keeps
   it from reading any other file (Landlock), from growing past a memory cap and from running
   past the time limit (rlimits, and a SIGKILL from the pool at the limit plus a grace period).
   An engine crash ends a worker, not the web server; the pool starts another.

On Neo4j the worker runs the query through the Neo4j view, as before: a READ access-mode
transaction after an EXPLAIN says its query type is 'r'.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg import console_wire as wire
from kg.console_check import check_query
from kg.console_lexer import scan_pieces, split_statements
from kg.console_pool import pool
from kg.console_process import Limits, Target
from kg.console_stops import ConsoleStopped
from kg.settings import Settings, load_settings
from kg.store import GraphView, QueryRefused, QueryResult, StoreError

__all__ = [
    "EXAMPLES",
    "ConsoleStopped",
    "QueryRefused",
    "check_query",
    "history",
    "record_history",
    "parse_param",
    "run_console_query",
    "run_in_worker",
    "scan_pieces",
    "split_statements",
    "wait_idle",
]


def parse_param(text: str) -> tuple[str, Any]:
    """`k=v` from the command line or the web form: v as JSON when it parses, else as a string."""
    key, sep, raw = text.partition("=")
    key = key.strip().lstrip("$")
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise ValueError(f"a parameter is name=value, got {text!r}")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


def run_console_query(
    graph: Settings | GraphView | Any,
    cypher: str,
    params: dict[str, Any] | None = None,
    *,
    max_rows: int | None = None,
    timeout_ms: int | None = None,
) -> QueryResult:
    """Run one read-only statement in a console worker, with a time limit and a row cap.

    `graph` says which graph: Settings or a kg.views.LiveView (the version published now), or a
    GraphView (the version that view reads). Raises QueryRefused (before anything runs) for
    writes, file access, several statements, functions and procedures off the lists, and
    StoreError for engine errors and for a query stopped at the time or memory limit or that
    crashed its worker, worded for the person who typed it. `truncated` says when rows were
    cut. Defaults come from the settings `query_max_rows` and `query_timeout_ms`.
    """
    settings, version = _graph(graph)
    max_rows = settings.query_max_rows if max_rows is None else max_rows
    timeout_ms = settings.query_timeout_ms if timeout_ms is None else timeout_ms
    if max_rows < 1 or timeout_ms < 1:
        raise QueryRefused("the row limit and the time limit must be positive")
    statement = check_query(cypher)
    return _run(settings, version, statement, params, max_rows, timeout_ms, check_plan=True)


def run_in_worker(settings: Settings, statement: str, params: dict[str, Any] | None = None, *,
                  max_rows: int, timeout_ms: int, check_plan: bool = True) -> QueryResult:
    """Send a statement to a console worker as it is, without the statement check (and, with
    check_plan=False, without the plan check): what the tests use to show that the worker's
    confinement holds on its own. Everything else calls run_console_query."""
    return _run(settings, None, statement, params, max_rows, timeout_ms, check_plan)


def _run(settings: Settings, version: str | None, statement: str, params: dict[str, Any] | None,
         max_rows: int, timeout_ms: int, check_plan: bool) -> QueryResult:
    if params is not None and not (isinstance(params, dict) and all(isinstance(k, str) for k in params)):
        raise QueryRefused('parameters are an object {"name": value}')
    try:
        wire.encode(params or {})  # what the socket will carry; too deep a value fails here, not in a worker
    except RecursionError:
        raise QueryRefused("the parameters are nested too deeply") from None
    started = time.perf_counter()
    request = {"cypher": statement, "params": params or {}, "max_rows": max_rows, "timeout_ms": timeout_ms,
               "check_plan": check_plan}
    reply = pool.run(_target(settings, version), _limits(settings), settings.as_dict(), request)
    return QueryResult(reply["columns"], reply["rows"], bool(reply["truncated"]),
                       (time.perf_counter() - started) * 1000)


def _graph(graph: Any) -> tuple[Settings, str | None]:
    """(settings, pinned version or None for the current one) of what the caller passed."""
    if isinstance(graph, Settings):
        return graph, None
    if isinstance(getattr(graph, "settings", None), Settings):  # kg.views.LiveView
        return graph.settings, None
    if isinstance(graph, GraphView):
        return _settings_of_view(graph), graph.version
    raise TypeError(f"run_console_query needs Settings, a LiveView or a GraphView, not {type(graph).__name__}")


def _settings_of_view(view: GraphView) -> Settings:
    """The settings of the home a view reads, found from its published data folder: ladybug's
    is <home>/graph/<version>/data beside graph.lbdb, Neo4j's <home>/neo4j/<version>."""
    from kg.backends.ladybug_versions import DB_FILE

    data = Path(view.data_dir)
    if data.parent.name == view.version and (data.parent / DB_FILE).is_file():
        return load_settings({"home": str(data.parents[2]), "backend": "ladybug"})
    return load_settings({"home": str(data.parents[1]), "backend": "neo4j"})


def _target(settings: Settings, version: str | None) -> Target:
    from kg.backends import current_version

    home = settings.home_path
    version = version or current_version(settings)
    if version is None:
        raise StoreError(f"no graph in {home}: run `stakegraph init` first")
    if settings.backend == "ladybug":
        from kg.backends.ladybug_versions import Versions

        db_file = Versions(home).db_path(version)
        if not db_file.is_file():
            raise StoreError(f"graph version {version} is no longer in {home}; run the query again")
        return Target("ladybug", str(home), version, str(db_file))
    return Target(settings.backend, str(home), version,
                  server=(settings.neo4j_uri, settings.neo4j_user, settings.neo4j_database))


def _limits(settings: Settings) -> Limits:
    return Limits(workers=max(1, int(settings.console_workers)), memory_mb=int(settings.console_memory_mb),
                  grace_ms=int(settings.console_grace_ms), result_mb=int(settings.console_result_mb),
                  landlock=bool(settings.console_landlock))


def wait_idle(timeout_s: float = 60) -> bool:
    """Wait until no console query runs and no worker is starting; True when that happened."""
    return pool.wait_idle(timeout_s)


HISTORY_KEEP = 200  # per user; older entries are deleted as new ones arrive


def record_history(ws, username: str, cypher: str, ok: bool, rows: int | None = None, message: str = "") -> None:
    """One row of the user's query history (kg.workspace table query_history)."""
    with ws.transaction() as db:
        db.execute("INSERT INTO query_history(username, ts, cypher, ok, rows, message) VALUES (?,?,?,?,?,?)",
                   (username, time.time(), cypher, int(ok), rows, message[:500]))
        db.execute("DELETE FROM query_history WHERE username = ? AND ts < (SELECT min(ts) FROM "
                   "(SELECT ts FROM query_history WHERE username = ? ORDER BY ts DESC LIMIT ?))",
                   (username, username, HISTORY_KEEP))


def history(ws, username: str, limit: int = 50) -> list[dict[str, Any]]:
    """The user's latest queries, newest first."""
    rows = ws.execute("SELECT ts, cypher, ok, rows, message FROM query_history WHERE username = ? "
                      "ORDER BY ts DESC LIMIT ?", (username, limit))
    return [dict(r) for r in rows]


@dataclass(frozen=True)
class Example:
    title: str
    cypher: str
    params: dict[str, Any]


# Saved examples shown in the console; written in the Cypher both backends understand.
EXAMPLES: tuple[Example, ...] = (
    Example(
        "Partners within two hops of a company located in Wuxi",
        "MATCH (c:Organization)-[:LOCATED_IN]->(:Region)-[:PART_OF*0..2]->(:Region {id: $region})\n"
        "WHERE c.kind IN ['listed_company', 'company']\n"
        "MATCH (c)-[:PARTNERS_WITH|SUPPLIES|INVESTS_IN*1..2]-(p:Organization)\n"
        "WHERE p.id <> c.id\n"
        "RETURN c.name_zh AS company, p.id AS partner_id, p.name_zh AS partner, p.kind AS kind\n"
        "ORDER BY company, partner LIMIT 200",
        {"region": "cn-js-wuxi"},
    ),
    Example(
        "Institutes and universities linked to packaging and test firms",
        "MATCH (f:Organization)-[:ACTIVE_IN]->(s:Sector)-[:PART_OF*0..2]->(:Sector {id: $sector})\n"
        "MATCH (f)-[r]-(i:Organization)\n"
        "WHERE i.kind IN ['institute', 'university']\n"
        "RETURN i.name_zh AS institute, i.kind AS kind, count(DISTINCT f) AS firms,\n"
        "       collect(DISTINCT f.name_zh) AS linked_firms\n"
        "ORDER BY firms DESC, institute LIMIT 100",
        {"sector": "ic.packaging_test"},
    ),
    Example(
        "Chain sectors with no local firm in Wuxi",
        "MATCH (s:Sector)-[:PART_OF*1..3]->(:Sector {id: $chain})\n"
        "OPTIONAL MATCH (o:Organization)-[:ACTIVE_IN]->(s)\n"
        "OPTIONAL MATCH (o)-[:LOCATED_IN]->(:Region)-[:PART_OF*0..2]->(w:Region {id: $region})\n"
        "WITH s, count(DISTINCT o) AS firms, count(DISTINCT w) AS local\n"
        "WHERE local = 0\n"
        "RETURN s.id AS sector, s.name_zh AS name_zh, s.name_en AS name_en, firms AS firms_elsewhere\n"
        "ORDER BY sector",
        {"chain": "ic", "region": "cn-js-wuxi"},
    ),
    Example(
        "Neighbourhood of one organisation (drawn as a graph)",
        "MATCH p = (o:Organization {id: $id})-[*1..2]-(x)\nRETURN p LIMIT 50",
        {"id": "o1"},
    ),
)

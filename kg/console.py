"""The Cypher console: one function that every way in (CLI, web page, API, notebooks) calls.

As in datasette's `execute()`, every limit lives here: one statement, read-only, a time limit,
a row cap. The keyword check below gives a clear reason *before* anything runs, but it is not
the guarantee: the engine is. On ladybug the query runs through `open_view`, a
`Database(path, read_only=True)` handle that refuses writes itself (a read-write handle with
`BEGIN TRANSACTION READ ONLY` is escaped by `…; COMMIT; CREATE …`); on Neo4j the view runs it in
a READ access-mode transaction after an EXPLAIN says its query type is 'r'.

The check exists anyway because some things a read-only engine allows still reach outside the
graph: `LOAD FROM '/etc/passwd'` and `LOAD CSV` read files, `EXPORT DATABASE` writes them,
`INSTALL` downloads code, `CALL apoc.export…` writes files. So procedures are an allow-list.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from kg.store import GraphView, QueryRefused, QueryResult, StoreError

__all__ = [
    "EXAMPLES",
    "QueryRefused",
    "check_query",
    "history",
    "record_history",
    "parse_param",
    "run_console_query",
    "split_statements",
    "wait_idle",
]

# Clauses and commands that change the graph, its schema, the session or files. A keyword is
# only counted where it is a keyword: not inside a string, a comment or backticks, and not as a
# property (`n.set`), label/type (`:Delete`), parameter (`$create`) or map key (`{create: 1}`).
WRITE_KEYWORDS = {
    "CREATE": "CREATE writes to the graph",
    "MERGE": "MERGE writes to the graph",
    "SET": "SET writes to the graph",
    "DELETE": "DELETE writes to the graph",
    "DETACH": "DETACH DELETE writes to the graph",
    "REMOVE": "REMOVE writes to the graph",
    "FOREACH": "FOREACH is only used to write",
    "DROP": "DROP changes the schema",
    "ALTER": "ALTER changes the schema",
    "RENAME": "RENAME changes the schema",
    "COPY": "COPY loads files into the graph",
    "LOAD": "LOAD (CSV, FROM, an extension) reads files or code from outside the graph",
    "INSTALL": "INSTALL downloads an extension",
    "ATTACH": "ATTACH opens another database",
    "USE": "USE switches to another database",
    "EXPORT": "EXPORT writes files",
    "IMPORT": "IMPORT reads files",
    "CHECKPOINT": "CHECKPOINT is an administration command",
    "BEGIN": "transaction commands are not allowed; each query is its own read-only transaction",
    "COMMIT": "transaction commands are not allowed; each query is its own read-only transaction",
    "ROLLBACK": "transaction commands are not allowed; each query is its own read-only transaction",
    "TRANSACTIONS": "CALL … IN TRANSACTIONS is only used to write",
    "GRANT": "security commands are not allowed",
    "DENY": "security commands are not allowed",
    "REVOKE": "security commands are not allowed",
    "SHOW": "SHOW commands are administration commands; query the graph instead",
    "TERMINATE": "administration commands are not allowed",
    "START": "administration commands are not allowed",
    "STOP": "administration commands are not allowed",
    "ENABLE": "administration commands are not allowed",
    "DEALLOCATE": "administration commands are not allowed",
    "REALLOCATE": "administration commands are not allowed",
}

# Procedures that only read the graph or its catalogue (ladybug and Neo4j names). Every other
# CALL is refused: many procedures write (db.create.*, apoc.create.*), read or write files
# (apoc.load.*, apoc.export.*) or change settings (ladybug's `CALL threads = 1`).
READ_PROCEDURES = frozenset({
    # ladybug
    "show_tables", "table_info", "show_connection", "db_version", "show_indexes",
    # neo4j
    "db.labels", "db.relationshiptypes", "db.propertykeys", "db.schema.visualization",
    "db.schema.nodetypeproperties", "db.schema.reltypeproperties", "db.index.vector.querynodes",
    "db.index.fulltext.querynodes", "db.index.fulltext.queryrelationships",
})

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


class ScanError(QueryRefused):
    """The text does not end where it should (an unterminated string or comment)."""


def scan_pieces(cypher: str) -> Iterator[tuple[str, int, int]]:
    """Yield ('code'|'string'|'quoted'|'comment'|'semicolon', start, end) pieces of the text.

    Cypher strings take backslash escapes; backtick names double their backticks; comments are
    `// … end of line` and `/* … */`. Anything unterminated is refused rather than guessed at.
    """
    i, n, start = 0, len(cypher), 0
    while i < n:
        c = cypher[i]
        two = cypher[i : i + 2]
        if c in "'\"`" or two in ("//", "/*") or c == ";":
            if start < i:
                yield "code", start, i
            if c == ";":
                yield "semicolon", i, i + 1
                i += 1
            elif two == "//":
                j = cypher.find("\n", i)
                j = n if j < 0 else j
                yield "comment", i, j
                i = j
            elif two == "/*":
                j = cypher.find("*/", i + 2)
                if j < 0:
                    raise ScanError("the query has an unterminated /* comment")
                yield "comment", i, j + 2
                i = j + 2
            elif c == "`":
                j = i + 1
                while True:
                    j = cypher.find("`", j)
                    if j < 0:
                        raise ScanError("the query has an unterminated `name`")
                    if cypher[j + 1 : j + 2] == "`":
                        j += 2
                        continue
                    break
                yield "quoted", i, j + 1
                i = j + 1
            else:
                j = i + 1
                while j < n and cypher[j] != c:
                    j += 2 if cypher[j] == "\\" else 1
                if j >= n:
                    raise ScanError("the query has an unterminated string")
                yield "string", i, j + 1
                i = j + 1
            start = i
        else:
            i += 1
    if start < n:
        yield "code", start, n


def split_statements(cypher: str) -> list[str]:
    """The statements of a text, split at semicolons that are outside strings and comments.

    Statements that are empty or only comments are dropped, so `MATCH (n) RETURN n;` is one.
    """
    out, current, meaningful = [], [], False
    for kind, a, b in scan_pieces(cypher):
        if kind == "semicolon":
            if meaningful:
                out.append("".join(current).strip())
            current, meaningful = [], False
            continue
        current.append(cypher[a:b])
        meaningful = meaningful or kind in ("string", "quoted") or (kind == "code" and cypher[a:b].strip() != "")
    if meaningful:
        out.append("".join(current).strip())
    return out


def keyword_tokens(cypher: str) -> list[Token]:
    """Words in code position: the candidates for clause keywords and procedure names."""
    tokens = []
    pieces = list(scan_pieces(cypher))
    for idx, (kind, a, b) in enumerate(pieces):
        if kind != "code":
            continue
        for m in _TOKEN.finditer(cypher, a, b):
            before = cypher[a : m.start()].rstrip()
            prev = before[-1:] if before else _last_code_char(cypher, pieces[:idx])
            after = cypher[m.end() : b].lstrip()[:1]
            if prev in (".", ":", "|", "$") or after == ":":
                continue  # a property, label, type, parameter or map key
            if m.start() > 0 and cypher[m.start() - 1].isdigit():
                continue  # part of a number such as 1e5
            tokens.append(Token(m.group(0), m.start(), m.end()))
    return tokens


def _last_code_char(cypher: str, pieces: list[tuple[str, int, int]]) -> str:
    for kind, a, b in reversed(pieces):
        if kind == "comment":
            continue
        text = cypher[a:b].rstrip()
        return text[-1:] if kind == "code" else "'"
    return ""


def check_query(cypher: str) -> str:
    """The one statement to run, or QueryRefused with the reason. Nothing is sent to the engine."""
    statements = split_statements(cypher)
    if not statements:
        raise QueryRefused("the query is empty")
    if len(statements) > 1:
        raise QueryRefused(
            f"one statement per query: this text has {len(statements)} (separated by ';'); run them one at a time"
        )
    statement = statements[0]
    tokens = keyword_tokens(statement)
    for i, tok in enumerate(tokens):
        word = tok.text.upper()
        if word in WRITE_KEYWORDS:
            raise QueryRefused(f"the console is read-only: {WRITE_KEYWORDS[word]} (at character {tok.start + 1})")
        if word == "CALL":
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            following = statement[tok.end :].lstrip()[:1]
            if following in ("{", "("):
                continue  # a subquery `CALL { … }` / `CALL (x) { … }`: its clauses are checked too
            name = nxt.text if nxt is not None else ""
            if name.lower() not in READ_PROCEDURES:
                raise QueryRefused(
                    f"the console only calls read-only procedures; {name or 'this CALL'} is not on its list "
                    "(see docs/console.md)"
                )
    return statement


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


# A small pool runs console queries, so that a caller gets its answer at the time limit even
# when the engine takes longer to stop (ladybug materialises `range(1, 10^8)` before it looks at
# its timeout), and so that a few runaway queries cannot take every thread of the web server.
CONSOLE_WORKERS = 4
GRACE_MS = 1500
_pool = ThreadPoolExecutor(max_workers=CONSOLE_WORKERS, thread_name_prefix="console")
_busy = threading.BoundedSemaphore(CONSOLE_WORKERS)


def run_console_query(
    view: GraphView,
    cypher: str,
    params: dict[str, Any] | None = None,
    *,
    max_rows: int | None = None,
    timeout_ms: int | None = None,
) -> QueryResult:
    """Run one read-only statement with a time limit and a row cap.

    Raises QueryRefused (before anything runs) for writes, file access, several statements or
    procedures off the list, and StoreError for engine errors and the time limit, worded for
    the person who typed the query. `truncated` in the result says when rows were cut.
    Defaults come from the settings `query_max_rows` and `query_timeout_ms`.
    """
    if max_rows is None or timeout_ms is None:
        from kg.settings import load_settings

        s = load_settings()
        max_rows = s.query_max_rows if max_rows is None else max_rows
        timeout_ms = s.query_timeout_ms if timeout_ms is None else timeout_ms
    if max_rows < 1 or timeout_ms < 1:
        raise QueryRefused("the row limit and the time limit must be positive")
    statement = check_query(cypher)
    if not _busy.acquire(blocking=False):
        raise StoreError(
            f"the console is busy with {CONSOLE_WORKERS} long queries; try again when they reach their time limit"
        )
    started = time.perf_counter()
    try:
        future = _pool.submit(view.query, statement, params or {}, max_rows=max_rows, timeout_ms=timeout_ms)
    except BaseException:
        _busy.release()
        raise
    future.add_done_callback(lambda _f: _busy.release())
    stopped = f"the query was stopped at the time limit of {timeout_ms / 1000:g} s; add a LIMIT or narrow the MATCH"
    try:
        result = future.result(timeout=(timeout_ms + GRACE_MS) / 1000)
    except FutureTimeout:
        raise StoreError(stopped) from None
    except StoreError as exc:
        if "time limit" in str(exc):  # the engine's own words for it differ per backend
            raise StoreError(stopped) from exc
        raise
    return QueryResult(result.columns, result.rows, result.truncated, (time.perf_counter() - started) * 1000)


def wait_idle(timeout_s: float = 60) -> bool:
    """Wait until no console query runs any more; call it before closing the views they read."""
    deadline = time.monotonic() + timeout_s
    taken = 0
    try:
        while taken < CONSOLE_WORKERS:
            if not _busy.acquire(timeout=max(0.0, deadline - time.monotonic())):
                return False
            taken += 1
        return True
    finally:
        for _ in range(taken):
            _busy.release()


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

"""The Neo4j view: the store's GraphView over the official driver.

Reads run as managed read transactions (`execute_read`, retried by the driver on transient
errors and leader switches). The console's `query` is read-only by the server's own means: a
READ access mode transaction (the server refuses writes in it), an EXPLAIN whose query type
must be 'r' and whose plan must not read files (LOAD CSV), run an administration command
(SHOW …, TERMINATE TRANSACTIONS, which plan as reads) or call a procedure off the read list, a server-side transaction timeout, and a row cap with the rest discarded on the server.

Unlike ladybug's, a Neo4j view is not a snapshot: it reads what is committed when it asks.
Its `version` is the one published when it was opened; a reopened view has the new one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import neo4j
from neo4j.exceptions import Neo4jError, ServiceUnavailable, SessionExpired

from kg.backends import neo4j_statements as st
from kg.backends.neo4j_common import (
    connection_error,
    data_dir,
    driver,
    edge_props,
    plain,
    store_error,
    to_edge,
    to_node,
)
from kg.batches import batches
from kg.schema import Schema
from kg.settings import Settings
from kg.store import Edge, GraphView, Neighbour, Node, QueryRefused, QueryResult, StoreError

# Plan operators a console query may not contain, whatever its query type: LOAD CSV reads
# files (or URLs) from the server's side and is a *read* query.
REFUSED_OPERATORS = {"LoadCSV": "LOAD CSV reads files from outside the graph"}
# Administration commands plan as read queries (type 'r') and run in a READ transaction:
# SHOW TRANSACTIONS / SETTINGS / … report on the server, and TERMINATE TRANSACTIONS would stop
# other users' queries, or the refresh's writer.
COMMAND_OPERATOR = re.compile(r"(Show|Terminate)[A-Z][A-Za-z]*")
# Procedures a console query may call (Neo4j names, lower case): the read-only schema and
# index lookups of the common dialect. Anything else (dbms.*, db.create.*, tx.*, apoc.*) is
# refused from the plan before it runs.
READ_PROCEDURES = frozenset({
    "db.labels", "db.relationshiptypes", "db.propertykeys", "db.schema.visualization",
    "db.schema.nodetypeproperties", "db.schema.reltypeproperties", "db.index.vector.querynodes",
    "db.index.fulltext.querynodes", "db.index.fulltext.queryrelationships",
})


class Neo4jView(GraphView):
    """Reads through managed read transactions; safe from several threads (the driver pools)."""

    def __init__(self, settings: Settings, schema: Schema, version: str):
        self.schema = schema
        self._settings = settings
        self._driver = driver(settings)
        self._db = settings.neo4j_database
        self._version = version

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def version(self) -> str:
        return self._version

    @property
    def data_dir(self) -> Path:
        return data_dir(self._settings, self._version)

    def _read(self, statement: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        def work(tx: neo4j.ManagedTransaction) -> list[list[Any]]:
            return [[plain(v) for v in rec.values()] for rec in tx.run(statement, params or {})]

        try:
            with self._driver.session(database=self._db, default_access_mode=neo4j.READ_ACCESS) as s:
                return s.execute_read(work)
        except Neo4jError as exc:
            raise store_error(exc) from exc
        except (ServiceUnavailable, SessionExpired) as exc:
            raise connection_error(self._settings, exc) from exc

    def _stream(self, statement: str, batch_size: int) -> Iterator[list[Any]]:
        """One query pulled batch_size records at a time (a whole label never sits in memory)."""
        try:
            with self._driver.session(database=self._db, default_access_mode=neo4j.READ_ACCESS,
                                      fetch_size=batch_size) as s:
                for rec in s.run(statement):
                    yield [plain(v) for v in rec.values()]
        except Neo4jError as exc:
            raise store_error(exc) from exc
        except (ServiceUnavailable, SessionExpired) as exc:
            raise connection_error(self._settings, exc) from exc

    def get_many(self, ids: Sequence[str]) -> dict[str, Node]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, Node] = {}
        for label in self.schema.labels:
            if len(out) == len(ids):
                break
            for (value,) in self._read(st.get_many(label), {"ids": [i for i in ids if i not in out]}):
                node = to_node(value)
                out[node.id] = node
        return out

    def neighbours(self, node_id, types=None, direction="both", limit=200) -> list[Neighbour]:
        node = self.get(node_id)
        if node is None:
            return []
        types = [self.schema.rel(t).name for t in types] if types else None
        out: list[Neighbour] = []
        for way in ("out", "in"):
            if direction not in (way, "both"):
                continue
            for rel_type, e, b in self._read(st.neighbours(node.label, way, types), {"id": node_id, "limit": limit}):
                nb = to_node(b)
                src, dst = (node_id, nb.id) if way == "out" else (nb.id, node_id)
                out.append(Neighbour(Edge(rel_type, src, dst, edge_props(e)), nb, way))
        return out[:limit]

    def query(self, cypher, params=None, *, max_rows=None, timeout_ms=None) -> QueryResult:
        """A read-only statement: READ access mode, EXPLAIN check, transaction timeout, row cap."""
        statement = st.portable(cypher)
        params = params or {}
        started = time.perf_counter()

        fetch = min(max_rows + 1, 10_000) if max_rows else 1000
        timeout = (timeout_ms / 1000) if timeout_ms else None
        # An explicit transaction, not execute_read: a query stopped at its time limit must not
        # be retried, and a console user is better told than kept waiting.
        try:
            with self._driver.session(database=self._db, default_access_mode=neo4j.READ_ACCESS, fetch_size=fetch) as s, \
                    s.begin_transaction(timeout=timeout) as tx:
                summary = tx.run(st.explain(statement), params).consume()
                check_plan(summary.query_type, summary.plan)
                result = tx.run(statement, params)
                rows, truncated = [], False
                for rec in result:
                    if max_rows is not None and len(rows) >= max_rows:
                        truncated = True
                        break
                    rows.append([plain(v) for v in rec.values()])
                columns = list(result.keys())
                result.consume()  # discards the rest on the server instead of streaming it
                tx.rollback()  # it only read; nothing to commit
        except Neo4jError as exc:
            raise store_error(exc, timeout_ms) from exc
        except (ServiceUnavailable, SessionExpired) as exc:
            raise connection_error(self._settings, exc) from exc
        return QueryResult(columns, rows, truncated, (time.perf_counter() - started) * 1000)

    def counts(self) -> dict[str, int]:
        out = {label: self._read(st.count_nodes(label))[0][0] for label in self.schema.labels}
        out.update({rel: self._read(st.count_edges(rel))[0][0] for rel in self.schema.relationships})
        return out

    def iter_nodes(self, label: str, batch_size: int = 5000) -> Iterator[list[Node]]:
        yield from batches((to_node(v) for (v,) in self._stream(st.iter_nodes(label), batch_size)), batch_size)

    def iter_edges(self, rel_type: str, batch_size: int = 5000) -> Iterator[list[Edge]]:
        edges = (to_edge(rel_type, a, b, e) for a, b, e in self._stream(st.iter_edges(rel_type), batch_size))
        yield from batches(edges, batch_size)

    @property
    def searches_vectors(self) -> bool:
        """True when similarity search should use Neo4j's vector index (vector_backend = neo4j)."""
        return self._settings.vector_backend == "neo4j"

    def vector_search(self, label: str, vector: Sequence[float], k: int = 10) -> list[tuple[str, float]]:
        """Nearest nodes by Neo4j's vector index (vector_backend = neo4j), best first."""
        rows = self._read(st.VECTOR_SEARCH, {"index": st.vector_index_name(label), "k": k, "vector": list(vector)})
        return [(i, float(score)) for i, score in rows]

    def close(self) -> None:
        """The driver is shared by the process (close_drivers() ends it)."""


def check_plan(query_type: str | None, plan: dict[str, Any] | None) -> None:
    """Refuse a console statement whose EXPLAIN says it writes, reads files or calls a
    procedure off the read list (QueryRefused, before anything runs)."""
    if query_type != "r":
        raise QueryRefused(f"the console is read-only: this query's type is {query_type!r}, not 'r' (read)")
    stack = [plan] if plan else []
    while stack:
        op = stack.pop()
        name = str(op.get("operatorType", "")).split("@")[0]
        if name in REFUSED_OPERATORS:
            raise QueryRefused(f"the console is read-only: {REFUSED_OPERATORS[name]}")
        if COMMAND_OPERATOR.fullmatch(name):
            raise QueryRefused("the console is read-only: SHOW and TERMINATE are administration commands "
                               f"({name}); query the graph instead")
        if name == "ProcedureCall":
            called = _procedure_name(op.get("args", {}))
            if called not in READ_PROCEDURES:
                raise QueryRefused(f"the console calls only read procedures ({', '.join(sorted(READ_PROCEDURES))}), "
                                   f"not {called or 'this one'}")
        stack.extend(op.get("children", []))


def _procedure_name(args: dict[str, Any]) -> str:
    """The procedure's name from a ProcedureCall operator's details, e.g. 'db.labels() :: (label :: STRING)'."""
    text = str(args.get("Details") or args.get("Signature") or "")
    return text.split("(", 1)[0].strip().lower() if "(" in text else ""


def open_view_at(settings: Settings, schema: Schema, version: str | None) -> Neo4jView:
    if version is None:
        raise StoreError(f"no graph in the Neo4j database {settings.neo4j_database} at {settings.neo4j_uri}: "
                         "run `stakegraph init` first")
    return Neo4jView(settings, schema, version)

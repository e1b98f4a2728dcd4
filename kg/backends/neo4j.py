"""The Neo4j backend: the same GraphView / GraphWriter with the official driver.

Reads run as managed read transactions (`execute_read`, retried by the driver on transient
errors and leader switches). The console's `query` adds a READ access mode, a transaction
timeout and an EXPLAIN check that the plan's query type is 'r' before anything runs.

Writes are in kg/backends/neo4j_writer.py.

The graph version is a property of one `(:_Meta {id: 'graph'})` node, set in the writer's
transaction; the writer also locks that node first, so writers on other hosts wait for it.
Derived files (FAISS and name indexes) live in `$STAKEGRAPH_HOME/neo4j/<version>/`.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import neo4j
from neo4j.exceptions import Neo4jError, ServiceUnavailable, SessionExpired, TransientError
from neo4j.graph import Node as DriverNode
from neo4j.graph import Path as DriverPath
from neo4j.graph import Relationship as DriverRelationship

from kg.backends import neo4j_statements as st
from kg.backends.ladybug_versions import check_version_name
from kg.schema import Schema, load_schema
from kg.settings import Settings
from kg.store import Edge, GraphView, Neighbour, Node, QueryRefused, QueryResult, StoreError

DATA_ROOT = "neo4j"
RETRIES = 3
_drivers: dict[tuple[str, str], neo4j.Driver] = {}
_drivers_lock = threading.Lock()
_RETRYABLE = (TransientError, ServiceUnavailable, SessionExpired)


def driver(settings: Settings) -> neo4j.Driver:
    """One driver (a connection pool) per server and user for the whole process."""
    if not settings.neo4j_uri:
        raise StoreError("backend = neo4j needs NEO4J_URI (and NEO4J_USER / NEO4J_PASSWORD)")
    key = (settings.neo4j_uri, settings.neo4j_user)
    with _drivers_lock:
        if key not in _drivers:
            d = neo4j.GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password))
            try:
                d.verify_connectivity()
            except Exception as exc:
                d.close()
                raise StoreError(f"cannot reach Neo4j at {settings.neo4j_uri}: {exc}") from exc
            _drivers[key] = d
        return _drivers[key]


def close_drivers() -> None:
    with _drivers_lock:
        for d in _drivers.values():
            d.close()
        _drivers.clear()


def plain(value: Any) -> Any:
    """Driver values in ladybug's shape (see kg/results.py): nodes, relationships and paths as dicts."""
    if isinstance(value, DriverNode):
        return {"_ID": value.element_id, "_LABEL": sorted(value.labels)[0] if value.labels else "", **{
            k: plain(v) for k, v in value.items()}}
    if isinstance(value, DriverRelationship):
        return {"_ID": value.element_id, "_LABEL": value.type, "_SRC": value.start_node.element_id,
                "_DST": value.end_node.element_id, **{k: plain(v) for k, v in value.items()}}
    if isinstance(value, DriverPath):
        return {"_NODES": [plain(n) for n in value.nodes], "_RELS": [plain(r) for r in value.relationships]}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "iso_format"):  # neo4j.time types
        return value.iso_format()
    return value


def _node(value: dict[str, Any]) -> Node:
    props = {k: v for k, v in value.items() if not k.startswith("_") and v is not None}
    return Node(id=props.pop("id"), label=value["_LABEL"], props=props)


def _edge_props(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if not k.startswith("_") and v is not None and k != st.VECTOR_PROPERTY}


def _error(exc: Neo4jError, timeout_ms: int | None = None) -> StoreError:
    code = exc.code or ""
    if "TransactionTimedOut" in code or "Terminated" in code:
        return StoreError(f"the query was stopped at the time limit of {timeout_ms} ms")
    if "AccessMode" in code or "ForbiddenOnReadOnly" in code:
        return QueryRefused(f"the console is read-only: {exc.message}")
    return StoreError(exc.message or str(exc))


class Neo4jView(GraphView):
    """Reads through managed read transactions; safe from several threads (the driver pools)."""

    def __init__(self, settings: Settings, schema: Schema, version: str):
        self.schema = schema
        self._settings = settings
        self._driver = driver(settings)
        self._db = settings.neo4j_database
        self._version = version

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
            raise _error(exc) from exc

    def _stream(self, statement: str, batch_size: int) -> Iterator[list[Any]]:
        with self._driver.session(database=self._db, default_access_mode=neo4j.READ_ACCESS,
                                  fetch_size=batch_size) as s:
            for rec in s.run(statement):
                yield [plain(v) for v in rec.values()]

    def get_many(self, ids: Sequence[str]) -> dict[str, Node]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, Node] = {}
        for label in self.schema.labels:
            if len(out) == len(ids):
                break
            for (value,) in self._read(st.get_many(label), {"ids": [i for i in ids if i not in out]}):
                node = _node(value)
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
                nb = _node(b)
                src, dst = (node_id, nb.id) if way == "out" else (nb.id, node_id)
                out.append(Neighbour(Edge(rel_type, src, dst, _edge_props(e)), nb, way))
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
                plan = tx.run(st.explain(statement), params).consume()
                if plan.query_type != "r":
                    raise QueryRefused(f"the console is read-only: this query's type is {plan.query_type!r}, not 'r' (read)")
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
            raise _error(exc, timeout_ms) from exc
        return QueryResult(columns, rows, truncated, (time.perf_counter() - started) * 1000)

    def counts(self) -> dict[str, int]:
        out = {label: self._read(st.count_nodes(label))[0][0] for label in self.schema.labels}
        out.update({rel: self._read(st.count_edges(rel))[0][0] for rel in self.schema.relationships})
        return out

    def iter_nodes(self, label: str, batch_size: int = 5000) -> Iterator[list[Node]]:
        yield from _batches((_node(v) for (v,) in self._stream(st.iter_nodes(label), batch_size)), batch_size)

    def iter_edges(self, rel_type: str, batch_size: int = 5000) -> Iterator[list[Edge]]:
        edges = (Edge(rel_type, a, b, _edge_props(e)) for a, b, e in self._stream(st.iter_edges(rel_type), batch_size))
        yield from _batches(edges, batch_size)

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


def _chunks(rows: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(rows), size):
        yield list(rows[i : i + size])


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _prune(settings: Settings, keep: set[str]) -> None:
    root = settings.home_path / DATA_ROOT
    versions = sorted(p.name for p in root.glob("v-*") if p.is_dir())
    for name in versions[: max(0, len(versions) - settings.keep_versions)]:
        if name not in keep:
            shutil.rmtree(root / name, ignore_errors=True)


_version_cache: dict[tuple[str, str], tuple[float, str | None]] = {}


def current_version(settings: Settings, fresh: bool = False) -> str | None:
    """The committed version id; cached for a second, as LiveView asks on every request."""
    key = (settings.neo4j_uri, settings.neo4j_database)
    hit = _version_cache.get(key)
    if hit and not fresh and time.monotonic() - hit[0] < 1.0:
        return hit[1]
    try:
        with driver(settings).session(database=settings.neo4j_database, default_access_mode=neo4j.READ_ACCESS) as s:
            rec = s.run(st.READ_META, meta_id=st.META_ID).single()
    except Neo4jError as exc:
        raise _error(exc) from exc
    version = rec["version"] if rec else None
    _version_cache[key] = (time.monotonic(), version)
    return version


def stored_schema(settings: Settings) -> str | None:
    """The schema text the graph was last written with (migrate compares it with the file)."""
    with driver(settings).session(database=settings.neo4j_database, default_access_mode=neo4j.READ_ACCESS) as s:
        rec = s.run(st.READ_META, meta_id=st.META_ID).single()
    return rec["schema"] if rec else None


def data_dir(settings: Settings, version: str) -> Path:
    return settings.home_path / DATA_ROOT / check_version_name(version)  # the writer's names only: no path out


def open_view(settings: Settings, schema: Schema | None = None) -> Neo4jView:
    version = current_version(settings, fresh=True)
    if version is None:
        raise StoreError(f"no graph in the Neo4j database {settings.neo4j_database}: run `stakegraph init` first")
    return Neo4jView(settings, schema or load_schema(), version)


def open_writer(settings: Settings, schema: Schema | None, purpose: str, wait_s: float):
    from kg.backends.neo4j_writer import Neo4jWriter

    return Neo4jWriter(settings, schema, purpose, wait_s)

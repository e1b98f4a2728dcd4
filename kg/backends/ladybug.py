"""The embedded backend: LadybugDB (the maintained fork of Kùzu), one file per graph version.

Ladybug wants typed tables, so the schema file becomes one node table per label and one
relationship table per type (with every allowed FROM/TO pair). Edges are written with the
two-MATCH form `MATCH (a {id}) MATCH (b {id}) MERGE (a)-[]->(b)`, measured ~57k edges/s here,
where the comma form `MATCH (a), (b)` was over 100x slower.

Rows the refresh already knows are new (`create_nodes`, `create_edges`) go, in batches of at least
the `copy_min_nodes` / `copy_min_edges` settings, through `COPY <table> FROM <pyarrow table>`
instead: a CREATE with a dozen SET clauses per edge ran at 1-2k edges/s on a million edges, COPY at
tens of thousands. COPY has a fixed cost per statement, so the thresholds sit where the two paths
cross (bench/bulk_copy.py: a few hundred nodes, ~1,300 edges; they were 5,000, which sent a
first load's smaller tables, the documents and several relationship types, down the slow path).
COPY writes inside the writer's private copy like every other write, so a killed writer still
publishes nothing (tests/test_bulk_safety.py kills it at random points of this path).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import ladybug

from kg.backends.edges import canonical_rows, group_by_end_labels
from kg.backends.ladybug_versions import DATA_DIR, Versions
from kg.batches import chunks
from kg.kept import MISSING, Kept
from kg.locking import WriterLock
from kg.schema import Schema, load_schema, schema_fingerprint
from kg.settings import Settings
from kg.store import Edge, GraphView, GraphWriter, Neighbour, Node, QueryResult, StoreError

LB_TYPES = {"string": "STRING", "string[]": "STRING[]", "int": "INT64", "float": "DOUBLE", "bool": "BOOLEAN"}
META_FILE = "schema.json"
DUPLICATE_KEY = "duplicated primary key"  # the engine's COPY error when an id exists already


def _clean(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if not k.startswith("_") and v is not None}


def _props(names: list[str], row: tuple[Any, ...], skip: int = 0) -> dict[str, Any]:
    return {k: v for k, v in zip(names[skip:], row[skip:], strict=True) if v is not None}


def _node(value: dict[str, Any]) -> Node:
    props = _clean(value)
    return Node(id=props.pop("id"), label=value["_LABEL"], props=props)


class LadybugView(GraphView):
    """A read-only handle on one published version; thread-local connections share the database."""

    def __init__(self, db_path: Path, version: str, schema: Schema, read_only: bool = True, node_cache: int = 0):
        self.schema = schema
        # A published version never changes, so a read-only view may keep the nodes it decoded:
        # an entity page asks the engine for ~30 nodes, most of them asked by the page before.
        # Callers share the Node objects (as the web app's neighbour cache already does): they
        # must not change them.
        self._node_cache: Kept[str, Node | None] = Kept(node_cache if read_only else 0)
        self._version = version
        self._db_path = db_path
        try:
            self._db = ladybug.Database(str(db_path), read_only=read_only)
        except RuntimeError as exc:
            raise StoreError(f"cannot open the graph at {db_path}: {exc}") from exc
        self._local = threading.local()
        self._columns: dict[str, list[tuple[str, str]]] = {}  # table -> columns in storage order
        self._conns: list[ladybug.Connection] = []
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        return self._version

    @property
    def data_dir(self) -> Path:
        return self._db_path.parent / DATA_DIR

    def _conn(self) -> ladybug.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = ladybug.Connection(self._db)
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def _run(self, cypher: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        try:
            result = self._conn().execute(cypher, params or {})
        except RuntimeError as exc:
            raise StoreError(str(exc)) from exc
        rows = result.get_all()
        result.close()
        return rows

    def get_many(self, ids: Sequence[str]) -> dict[str, Node]:
        return self._cached(list(dict.fromkeys(ids)), self._get_many)

    def _cached(self, ids: list[str], fetch: Callable[[list[str]], dict[str, Node]]) -> dict[str, Node]:
        """The nodes of `ids` from the view's cache, the rest fetched and kept; an id that names
        nothing is kept too (merged-away ids are asked often)."""
        out: dict[str, Node] = {}
        todo: list[str] = []
        for i in ids:
            node = self._node_cache.get(i, MISSING)
            if node is MISSING:
                todo.append(i)
            elif node is not None:
                out[i] = node  # type: ignore[assignment]
        if todo:
            found = fetch(todo)
            out.update(found)
            for i in todo:
                self._node_cache.put(i, found.get(i))
        return out

    def _get_many(self, ids: list[str], label: str | None = None) -> dict[str, Node]:
        """The nodes of `ids`, from the engine; with `label`, all of them of that label (one query)."""
        out: dict[str, Node] = {}
        for name in [label] if label else self.schema.labels:
            if len(out) == len(ids):
                break
            # UNWIND + a primary-key match is an index lookup per id; `WHERE n.id IN $ids` scans the table
            for (value,) in self._run(f"UNWIND $ids AS x MATCH (n:{name} {{id: x}}) RETURN n", {"ids": [i for i in ids if i not in out]}):
                node = _node(value)
                out[node.id] = node
        return out

    def neighbours(self, node_id, types=None, direction="both", limit=200) -> list[Neighbour]:
        node = self.get(node_id)
        if node is None:
            return []
        rel = ":" + "|".join(self.schema.rel(t).name for t in types) if types else ""
        a = f"(a:{node.label} {{id:$id}})"
        patterns = {"out": f"{a}-[e{rel}]->(b)", "in": f"{a}<-[e{rel}]-(b)"}
        rows: list[tuple[str, str, dict[str, Any], str]] = []
        by_label: dict[str, list[str]] = defaultdict(list)
        for way, pattern in patterns.items():
            if direction not in (way, "both"):
                continue
            # the other end by label and id, its node read by primary key (and kept): returning
            # `b` whole made the engine build a struct of every table's columns, half the time
            for rel_type, e, label, other in self._run(
                    f"MATCH {pattern} RETURN label(e), e, label(b), b.id ORDER BY label(e), b.id LIMIT $limit",
                    {"id": node_id, "limit": limit}):
                rows.append((way, rel_type, e, other))
                by_label[label].append(other)
        nodes: dict[str, Node] = {}
        for label, ids in by_label.items():  # one query a label, for the nodes not kept
            nodes.update(self._cached(list(dict.fromkeys(ids)), partial(self._get_many, label=label)))
        out: list[Neighbour] = []
        for way, rel_type, e, other in rows:
            src, dst = (node_id, other) if way == "out" else (other, node_id)
            out.append(Neighbour(Edge(rel_type, src, dst, _clean(e)), nodes[other], way))
        return out[:limit]

    def query(self, cypher, params=None, *, max_rows=None, timeout_ms=None) -> QueryResult:
        conn = self._conn()
        conn.set_query_timeout(int(timeout_ms or 0))
        started = time.perf_counter()
        try:
            result = conn.execute(cypher, params or {})
        except RuntimeError as exc:
            msg = str(exc)
            if "Interrupted" in msg:
                msg = f"the query was stopped at the time limit of {timeout_ms} ms"
            raise StoreError(msg) from exc
        finally:
            conn.set_query_timeout(0)
        if isinstance(result, list):  # several statements: only a console guard lets these through
            for r in result:
                r.close()
            raise StoreError("one statement per query")
        columns = result.get_column_names()
        rows: list[list[Any]] = []
        truncated = False
        while result.has_next():
            if max_rows is not None and len(rows) >= max_rows:
                truncated = True
                break
            rows.append(result.get_next())
        result.close()
        return QueryResult(columns, rows, truncated, (time.perf_counter() - started) * 1000)

    def counts(self) -> dict[str, int]:
        out = {}
        for label in self.schema.labels:
            out[label] = self._run(f"MATCH (n:{label}) RETURN count(n)")[0][0]
        for rel in self.schema.relationships:
            out[rel] = self._run(f"MATCH ()-[e:{rel}]->() RETURN count(e)")[0][0]
        return out

    def iter_nodes(self, label: str, batch_size: int = 5000) -> Iterator[list[Node]]:
        for names, rows in self._column_batches(f"MATCH (n:{label})", "n", label, (), batch_size):
            yield [Node(props.pop("id"), label, props) for props in (_props(names, row) for row in rows)]

    def iter_edges(self, rel_type: str, batch_size: int = 5000) -> Iterator[list[Edge]]:
        for names, rows in self._column_batches(f"MATCH (a)-[e:{rel_type}]->(b)", "e", rel_type, ("a.id", "b.id"), batch_size):
            yield [Edge(rel_type, row[0], row[1], _props(names, row, 2)) for row in rows]

    def _column_batches(self, match: str, var: str, table: str, ends: tuple[str, ...], batch_size: int):
        """(column names, row tuples) per batch, ordered by the ends (edges) or the id (nodes).

        Each property is returned as a column and the result is fetched as one arrow table: about
        twice as fast as converting a node or edge struct per row with get_next, which made reading
        a million edges a minute of a refresh."""
        cols = [name for name, _ in self._table_columns(table)]
        exprs = [*ends, *(f"{var}.{c}" for c in cols)]
        order = "c0, c1" if ends else f"c{cols.index('id')}"
        result = self._conn().execute(f"{match} RETURN " + ", ".join(f"{x} AS c{i}" for i, x in enumerate(exprs)) + f" ORDER BY {order}")
        try:
            data = result.get_as_arrow(chunk_size=0)
        finally:
            result.close()
        names = [*ends, *cols]
        for start in range(0, data.num_rows, batch_size):
            part = data.slice(start, batch_size)
            yield names, list(zip(*(part.column(i).to_pylist() for i in range(len(names))), strict=True))

    def _table_columns(self, table: str) -> list[tuple[str, str]]:
        """(name, engine type) of a table's property columns in storage order: COPY matches by
        position, and a column added by a migration sits at the end whatever the schema's order."""
        if table not in self._columns:
            info = sorted(self._run(f"CALL table_info('{table}') RETURN *"), key=lambda r: r[0])
            self._columns[table] = [(r[1], r[2]) for r in info]
        return self._columns[table]

    def close(self) -> None:
        with self._lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
        self._db.close()


class LadybugWriter(LadybugView, GraphWriter):
    """Writes a private copy of the graph and publishes it on commit (see ladybug_versions)."""

    def __init__(self, settings: Settings, schema: Schema | None = None, purpose: str = "a writer", wait_s: float = 0):
        home = settings.home_path
        self._settings = settings
        self._lock_file = WriterLock(home / "locks" / "writer.lock", purpose).acquire(wait_s)
        self._versions = Versions(home)
        try:
            self._versions.prune(settings.keep_versions)
            self._work = self._versions.new_version()
            work_dir = self._versions.path(self._work)
            super().__init__(work_dir / "graph.lbdb", self._work, schema or load_schema(), read_only=False)
            self._ensure_tables()
            self._columns.clear()  # the migration may have added columns
        except BaseException:
            self._lock_file.release()
            raise
        self._done = False

    def _ensure_tables(self) -> None:
        """Create missing tables and add missing columns: the schema migration step."""
        existing = {row[1]: row[2] for row in self._run("CALL show_tables() RETURN *")}
        for label in self.schema.labels:
            cols = {"id": "STRING", **{n: LB_TYPES[p.type] for n, p in self.schema.node_columns(label).items()}}
            self._create_or_alter(label, cols, existing, lambda c, label=label: f"CREATE NODE TABLE {label}({c}, PRIMARY KEY(id))")
        for name, rel in self.schema.relationships.items():
            cols = {n: LB_TYPES[p.type] for n, p in self.schema.edge_columns().items()}
            ends = ", ".join(f"FROM {a} TO {b}" for a, b in rel.ends)
            self._create_or_alter(name, cols, existing, lambda c, ends=ends, name=name: f"CREATE REL TABLE {name}({ends}, {c})")
            if name in existing:  # a new (from, to) pair for an existing type
                have = {(r[0], r[1]) for r in self._run(f"CALL show_connection('{name}') RETURN *")}
                for a, b in rel.ends:
                    if (a, b) not in have:
                        self._run(f"ALTER TABLE {name} ADD FROM {a} TO {b}")
        meta = self.data_dir.parent / META_FILE
        meta.write_text(json.dumps({"schema": schema_fingerprint(self.schema)}, ensure_ascii=False), encoding="utf-8")

    def _create_or_alter(self, table, cols, existing, create_stmt) -> None:
        if table not in existing:
            self._run(create_stmt(", ".join(f"{n} {t}" for n, t in cols.items())))
            return
        have = {row[1] for row in self._run(f"CALL table_info('{table}') RETURN *")}
        for name, typ in cols.items():
            if name not in have:
                self._run(f"ALTER TABLE {table} ADD {name} {typ}")

    def labels_of(self, ids: Sequence[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, str] = {}
        batch = self._settings.write_batch_size * 4
        for label in self.schema.labels:
            for i in range(0, len(ids), batch):
                chunk = [x for x in ids[i : i + batch] if x not in out]
                if chunk:
                    for (node_id,) in self._run(f"UNWIND $ids AS x MATCH (n:{label} {{id: x}}) RETURN n.id", {"ids": chunk}):
                        out[node_id] = label
        return out

    def upsert_nodes(self, label: str, rows: Sequence[dict[str, Any]]) -> int:
        """Ids already in the table take the MATCH ... SET path, only new ones MERGE: on a
        160k-node table MERGE ran at ~1k rows/s and MATCH at ~20k, and a refresh re-writes
        last_seen of every node it saw (four of a 20-minute refresh's minutes went to it)."""
        self.schema.label(label)
        existing = self._existing_ids(label, [row["id"] for row in rows])
        known = [row for row in rows if row["id"] in existing]
        if known:
            self._set_nodes(label, known, "MATCH")
        if len(known) < len(rows):
            self._set_nodes(label, [row for row in rows if row["id"] not in existing], "MERGE")
        return len(rows)

    def _existing_ids(self, label: str, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        ids = list(dict.fromkeys(ids))
        batch = self._settings.write_batch_size * 4
        for i in range(0, len(ids), batch):
            # UNWIND + a primary-key match is an index lookup per id
            found.update(r[0] for r in self._run(f"UNWIND $ids AS x MATCH (n:{label} {{id: x}}) RETURN n.id", {"ids": ids[i : i + batch]}))
        return found

    def update_nodes(self, label: str, rows: Sequence[dict[str, Any]]) -> int:
        return self._set_nodes(label, rows, "MATCH")  # ~3x MERGE's rate here: no existence branch

    def _set_nodes(self, label: str, rows: Sequence[dict[str, Any]], clause: str) -> int:
        self.schema.label(label)
        by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_keys[tuple(sorted(k for k in row if k != "id"))].append(row)
        for keys, group in by_keys.items():
            cols = self.schema.node_columns(label)
            sets = ", ".join(f"n.{k} = CAST(r.{k} AS {LB_TYPES[cols[k].type]})" for k in keys)
            stmt = f"UNWIND $rows AS r {clause} (n:{label} {{id: r.id}})" + (f" SET {sets}" if sets else "")
            for chunk in _chunks(group, self._settings.write_batch_size):
                self._run(stmt, {"rows": chunk})
        return len(rows)

    def create_nodes(self, label: str, rows: Sequence[dict[str, Any]]) -> int:
        """New nodes: one COPY for a large batch, the MERGE path below the threshold.

        COPY into a node table that already holds rows works in this engine; an id that exists
        already (or twice in the batch) fails the whole COPY with nothing written, and the batch
        then goes through upsert_nodes, so the result is an upsert either way.
        """
        self.schema.label(label)
        if len(rows) < self._settings.copy_min_nodes:
            return self.upsert_nodes(label, rows)
        table = self._arrow_table(label, rows, ())
        if table is None:
            return self.upsert_nodes(label, rows)
        try:
            self._copy(f"COPY {label} FROM $rows", table)
        except StoreError as exc:
            if DUPLICATE_KEY not in str(exc):
                raise
            return self.upsert_nodes(label, rows)
        return len(rows)

    def _by_end_labels(self, rel_type: str, rows: Sequence[dict[str, Any]], labels: dict[str, str] | None = None):
        if labels is None:
            labels = self.labels_of([r["source_id"] for r in rows] + [r["target_id"] for r in rows])
        return group_by_end_labels(self.schema, rel_type, rows, labels)

    def upsert_edges(self, rel_type: str, rows: Sequence[dict[str, Any]]) -> int:
        return self._write_edges(rel_type, rows, "MERGE (a)-[e:{rel}]->(b) SET {sets}")

    def create_edges(self, rel_type: str, rows: Sequence[dict[str, Any]]) -> int:
        return self._write_edges(rel_type, rows, "CREATE (a)-[e:{rel}]->(b) SET {sets}", bulk=True)

    def _write_edges(self, rel_type: str, rows: Sequence[dict[str, Any]], clause: str, bulk: bool = False) -> int:
        canon = canonical_rows(self.schema, rel_type, rows)
        cols = self.schema.edge_columns()
        for (a, b), group in self._by_end_labels(rel_type, canon).items():
            if bulk and len(group) >= self._settings.copy_min_edges:
                table = self._arrow_table(rel_type, group, ("source_id", "target_id"))
                if table is not None:
                    self._copy(f"COPY {rel_type} FROM $rows (from='{a}', to='{b}')", table)
                    continue
            by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
            for row in group:
                by_keys[tuple(sorted(k for k in row if k not in ("source_id", "target_id")))].append(row)
            for keys, sub in by_keys.items():
                sets = ", ".join(f"e.{k} = CAST(r.{k} AS {LB_TYPES[cols[k].type]})" for k in keys)
                stmt = (f"UNWIND $rows AS r MATCH (a:{a} {{id: r.source_id}}) MATCH (b:{b} {{id: r.target_id}}) "
                        + clause.format(rel=rel_type, sets=sets))
                for chunk in _chunks(sub, self._settings.write_batch_size):
                    self._run(stmt, {"rows": chunk})
        return len(rows)

    def _arrow_table(self, table: str, rows: Sequence[dict[str, Any]], ends: tuple[str, ...]):
        """A typed pyarrow table of the rows for COPY: the end ids first (edges), then every column
        of the table, absent values as nulls. None when a row has a key the table lacks or a value
        arrow will not take as the column's type: the UNWIND path (which CASTs) then writes them."""
        import pyarrow as pa

        columns = self._table_columns(table)
        types = _arrow_types()
        known = {*ends, *(name for name, _ in columns)}
        if any(k not in known for row in rows for k in row):
            return None
        arrays, names = [], []
        try:
            for key in ends:
                arrays.append(pa.array([row[key] for row in rows], pa.string()))
                names.append("from" if key == "source_id" else "to")
            for name, lb_type in columns:
                arrow_type = types.get(lb_type)
                if arrow_type is None:
                    return None
                arrays.append(pa.array([row.get(name) for row in rows], arrow_type))
                names.append(name)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            return None
        return pa.Table.from_arrays(arrays, names=names)

    def _copy(self, statement: str, table: Any) -> None:
        """COPY from a Python-side table on a connection of its own, closed at once: the driver
        caches a prepared statement per scanned object (which would keep the table alive), and
        scanning the same object twice on one connection crashed this engine version."""
        conn = ladybug.Connection(self._db)
        try:
            conn.execute(statement, {"rows": table})
        except RuntimeError as exc:
            raise StoreError(str(exc)) from exc
        finally:
            conn.close()

    def delete_nodes(self, ids: Sequence[str]) -> int:
        n = 0
        for label, group in _group_by_label(self.labels_of(ids)).items():
            self._run(f"UNWIND $ids AS x MATCH (n:{label} {{id: x}}) DETACH DELETE n", {"ids": group})
            n += len(group)
        return n

    def delete_edges(self, rel_type: str, pairs: Sequence[tuple[str, str]]) -> int:
        labels = self.labels_of([x for pair in pairs for x in pair])
        rel = self.schema.rel(rel_type)
        rows = [
            {"source_id": min(s, t), "target_id": max(s, t)} if rel.symmetric else {"source_id": s, "target_id": t}
            for s, t in pairs
            if s in labels and t in labels  # an edge to a missing node cannot exist
        ]
        groups = self._by_end_labels(rel_type, rows, labels)
        n = 0
        for (a, b), group in groups.items():
            self._run(
                f"UNWIND $rows AS r MATCH (a:{a} {{id: r.source_id}})-[e:{rel_type}]->(b:{b} {{id: r.target_id}}) DELETE e",
                {"rows": group},
            )
            n += len(group)
        return n

    def commit(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            self.close()
            self._versions.publish(self._work, self._settings.keep_versions)
        finally:
            self._lock_file.release()

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            self.close()
            self._versions.discard(self._work)
        finally:
            self._lock_file.release()


def _arrow_types() -> dict[str, Any]:
    """Engine column type -> arrow type (pyarrow is imported only by a writer that COPYs)."""
    import pyarrow as pa

    return {"STRING": pa.string(), "STRING[]": pa.list_(pa.string()), "INT64": pa.int64(), "DOUBLE": pa.float64(),
            "BOOL": pa.bool_(), "BOOLEAN": pa.bool_()}


def _chunks(rows: Sequence[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Batches for UNWIND. Ladybug infers one STRUCT type per list, so every row gets the same
    key order (the SET clauses CAST each value, so an all-NULL column still has its type)."""
    for chunk in chunks(rows, size):
        yield [{k: row[k] for k in sorted(row)} for row in chunk]


def _group_by_label(labels: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for node_id, label in labels.items():
        out[label].append(node_id)
    return out


def open_view(settings: Settings, schema: Schema | None = None) -> LadybugView:
    versions = Versions(settings.home_path)
    current = versions.current()
    if current is None:
        raise StoreError(f"no graph in {settings.home_path}: run `stakegraph init` first")
    return LadybugView(versions.db_path(current), current, schema or load_schema(), node_cache=settings.view_node_cache)


def current_version(settings: Settings) -> str | None:
    return Versions(settings.home_path).current()


def data_dir(settings: Settings, version: str) -> Path:
    return Versions(settings.home_path).path(version) / DATA_DIR


def stored_schema(settings: Settings) -> str | None:
    """The schema text the published graph was written with (`stakegraph migrate` diffs it)."""
    versions = Versions(settings.home_path)
    current = versions.current()
    meta = versions.path(current) / META_FILE if current else None
    if meta is None or not meta.is_file():
        return None
    return json.loads(meta.read_text(encoding="utf-8"))["schema"]


def open_writer(settings: Settings, schema: Schema | None, purpose: str, wait_s: float) -> LadybugWriter:
    return LadybugWriter(settings, schema, purpose, wait_s)

"""The Neo4j writer: one explicit transaction with a replay journal.

A writer keeps one explicit transaction open from `open_writer` to `commit`, so that, as on
ladybug, readers see all of a refresh or none of it and the writer reads its own writes. It
also journals every write; a transient error (deadlock, leader switch, lost connection)
starts a new transaction and replays the journal, which is safe because the failed
transaction was rolled back by the server, every write is by id and we are the only writer.
The cost is server memory: one transaction holds the whole change set. So large batches of
new nodes and edges (a first load) go through the bulk path instead (neo4j_bulk.py): batches
committed as they go, tagged with the version id, removed again if the writer never publishes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import neo4j
from neo4j.exceptions import DriverError, Neo4jError

from kg.backends import neo4j_statements as st
from kg.backends.edges import canonical_rows, group_by_end_labels
from kg.backends.neo4j_bulk import BulkPath
from kg.backends.neo4j_common import (
    DATA_ROOT,
    RETRIES,
    RETRYABLE,
    connection_error,
    current_version,
    data_dir,
    forget_version,
    plain,
    prune_versions,
    read_meta,
    store_error,
)
from kg.backends.neo4j_view import Neo4jView
from kg.batches import chunks
from kg.locking import WriterLock
from kg.schema import Schema, load_schema, schema_fingerprint
from kg.settings import Settings
from kg.store import GraphWriter, QueryResult, StoreError


def _memory_limit(settings: Settings, exc: Exception) -> StoreError | None:
    """The transaction outgrew the server's transaction memory: a TransientError to the driver,
    but the same transaction replayed needs the same memory, so it is not retried."""
    if "MemoryPoolOutOfMemoryError" not in (getattr(exc, "code", "") or ""):
        return None
    return StoreError(f"Neo4j at {settings.neo4j_uri}: this write's transaction needs more memory than the server "
                      f"allows ({getattr(exc, 'message', exc)}). Raise dbms.memory.transaction.total.max and "
                      "db.memory.transaction.max with the heap, or make a large first load with "
                      "`stakegraph export --format neo4j-admin` and neo4j-admin import (docs/neo4j.md); "
                      "nothing was published")


def _backoff(attempt: int) -> float:
    """Seconds before try attempt + 1: 0.5, 1, 2, 4, 8 (a leader election takes seconds)."""
    return min(8.0, 0.5 * 2**attempt)


class Neo4jWriter(Neo4jView, GraphWriter):
    """One explicit write transaction with a replay journal (see the module docstring)."""

    def __init__(self, settings: Settings, schema: Schema | None, purpose: str, wait_s: float):
        self._lock_file = WriterLock(settings.home_path / "locks" / "writer.lock", purpose).acquire(wait_s)
        try:
            self._purpose = purpose
            self._work = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
            super().__init__(settings, schema or load_schema(), self._work)
            self._journal: list[tuple[str, dict[str, Any]]] = []
            self._pending_indexes: list[str] = []  # vector indexes: schema, so after the commit
            self._session: neo4j.Session | None = None
            self._tx: neo4j.Transaction | None = None
            self.added_schema = self._ensure_schema()
            self._prepare_data_dir()
            self._run(None, {}, journal=False)  # opens the transaction and locks the graph
            self._bulk = BulkPath(settings, self._driver, self._db, self.schema, self._work)
            self.undone_runs = self._bulk.undo_stale()  # a killed writer's bulk rows, never published
        except BaseException:
            if hasattr(self, "_work"):
                shutil.rmtree(self.data_dir, ignore_errors=True)
            if getattr(self, "_session", None) is not None:
                self._session.close()
            self._lock_file.release()
            raise
        self._done = False

    @property
    def data_dir(self) -> Path:
        return self._settings.home_path / DATA_ROOT / f".work-{self._work}"

    def _ensure_schema(self) -> list[str]:
        """Constraints and indexes from the schema file; schema changes cannot share a data transaction."""
        try:
            with self._driver.session(database=self._db) as s:
                before = {r["name"] for r in s.run(st.LIST_INDEXES)}
                for statement in st.schema_statements(self.schema):
                    s.run(statement).consume()
                after = {r["name"] for r in s.run(st.LIST_INDEXES)}
        except Neo4jError as exc:
            raise store_error(exc) from exc
        except DriverError as exc:
            raise connection_error(self._settings, exc) from exc
        return sorted(after - before)

    def _prepare_data_dir(self) -> None:
        current = current_version(self._settings, fresh=True)
        previous = data_dir(self._settings, current) if current else None
        if previous is not None and previous.is_dir():
            shutil.copytree(previous, self.data_dir)
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)

    def _begin(self, replay: list[tuple[str, dict[str, Any]]]) -> None:
        """A new transaction that first locks the graph's _Meta node (a writer on another host
        waits here), then replays what the lost one had written."""
        if self._session is not None:
            self._session.close()
        self._tx = None
        self._session = self._driver.session(database=self._db, default_access_mode=neo4j.WRITE_ACCESS)
        tx = self._session.begin_transaction()
        tx.run(st.LOCK_META, meta_id=st.META_ID, purpose=self._purpose).consume()
        for statement, params in replay:
            tx.run(statement, params).consume()
        self._tx = tx

    def _run(self, statement: str | None, params: dict[str, Any], journal: bool) -> list[list[Any]]:
        """Run a statement in the writer's transaction; on a transient error, a new
        transaction replays the journal and the statement is tried again (RETRIES times)."""
        if journal:
            self._journal.append((statement, params))
        replay = self._journal[:-1] if journal else self._journal
        for attempt in range(RETRIES + 1):
            try:
                if self._tx is None:
                    self._begin(replay)
                if statement is None:
                    return []
                return [[plain(v) for v in rec.values()] for rec in self._tx.run(statement, params)]
            except RETRYABLE as exc:
                self._tx = None  # the server rolled it back, or the connection is gone
                if too_big := _memory_limit(self._settings, exc):
                    raise too_big from exc
                if attempt == RETRIES:
                    raise StoreError(f"{connection_error(self._settings, exc)} — gave up after {RETRIES + 1} tries; "
                                     "nothing was published") from exc
                time.sleep(_backoff(attempt))
            except Neo4jError as exc:
                self._tx = None  # a failed statement ends the server's transaction
                raise store_error(exc) from exc
            except DriverError as exc:
                self._tx = None
                raise connection_error(self._settings, exc) from exc
        raise AssertionError("unreachable")

    def _read(self, statement: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        return self._run(statement, params or {}, journal=False)  # reads its own writes

    def _stream(self, statement: str, batch_size: int) -> Iterator[list[Any]]:
        yield from self._read(statement)

    def query(self, cypher, params=None, *, max_rows=None, timeout_ms=None) -> QueryResult:
        """Inside the writer's transaction, so it sees the pending writes (no console guard here)."""
        started = time.perf_counter()
        self._run(None, {}, journal=False)  # a transaction, also after a lost one
        try:
            result = self._tx.run(st.portable(cypher), params or {})
            rows = [[plain(v) for v in rec.values()] for rec in result]
            columns = list(result.keys())
        except Neo4jError as exc:
            self._tx = None
            raise store_error(exc, timeout_ms) from exc
        except DriverError as exc:
            self._tx = None
            raise connection_error(self._settings, exc) from exc
        truncated = max_rows is not None and len(rows) > max_rows
        return QueryResult(columns, rows[:max_rows] if truncated else rows, truncated, (time.perf_counter() - started) * 1000)

    def labels_of(self, ids: Sequence[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, str] = {}
        for label in self.schema.labels:
            for chunk in chunks([i for i in ids if i not in out], self._settings.write_batch_size * 4):
                out.update((i, label) for (i,) in self._read(st.labels_of(label), {"ids": chunk}))
        return out

    def upsert_nodes(self, label: str, rows: Sequence[dict[str, Any]]) -> int:
        return self._set_nodes(st.upsert_nodes(label), label, rows)

    def update_nodes(self, label: str, rows: Sequence[dict[str, Any]]) -> int:
        return self._set_nodes(st.update_nodes(label), label, rows)

    def create_nodes(self, label: str, rows: Sequence[dict[str, Any]]) -> int:
        """New nodes: a batch of bulk_copy_min_rows or more goes through the bulk path (CREATE,
        no MERGE lookup, committed batch by batch: neo4j_bulk.py); smaller ones, and a batch
        the bulk path hands back (an id that exists already, or one this transaction wrote),
        are upserted in the writer's transaction, so the result is an upsert either way."""
        self.schema.label(label)
        if len(rows) < self._settings.bulk_copy_min_rows:
            return self.upsert_nodes(label, rows)
        statement = st.create_nodes(label)
        for chunk in chunks(list(rows), self._settings.write_batch_size):
            if all(self._bulk.free(r["id"]) for r in chunk):
                payload = [{"id": r["id"], "props": self._bulk.tag({k: v for k, v in r.items() if k != "id"})}
                           for r in chunk]
                if self._bulk.write(statement, payload):
                    continue
            self.upsert_nodes(label, chunk)
        return len(rows)

    def _set_nodes(self, statement: str, label: str, rows: Sequence[dict[str, Any]]) -> int:
        self.schema.label(label)
        payload = [{"id": r["id"], "props": {k: v for k, v in r.items() if k != "id"}} for r in rows]
        self._bulk.hold(r["id"] for r in rows)
        for chunk in chunks(payload, self._settings.write_batch_size):
            self._run(statement, {"rows": chunk}, journal=True)
        return len(rows)

    def _by_ends(self, rel_type: str, rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
        labels = self.labels_of([r["source_id"] for r in rows] + [r["target_id"] for r in rows])
        return group_by_end_labels(self.schema, rel_type, rows, labels)

    def upsert_edges(self, rel_type: str, rows: Sequence[dict[str, Any]]) -> int:
        return self._write_edges(rel_type, rows, bulk=False)

    def create_edges(self, rel_type: str, rows: Sequence[dict[str, Any]]) -> int:
        """New edges: CREATE for a group of bulk_copy_min_rows or more (no MERGE walk)."""
        return self._write_edges(rel_type, rows, bulk=True)

    def _write_edges(self, rel_type: str, rows: Sequence[dict[str, Any]], bulk: bool) -> int:
        canon = [
            {"source_id": r["source_id"], "target_id": r["target_id"],
             "props": {k: v for k, v in r.items() if k not in ("source_id", "target_id")}}
            for r in canonical_rows(self.schema, rel_type, rows)
        ]
        for (a, b), group in self._by_ends(rel_type, canon).items():
            if bulk and len(group) >= self._settings.bulk_copy_min_rows:
                group = self._bulk_edges(rel_type, a, b, group)
            self._bulk.hold(x for r in group for x in (r["source_id"], r["target_id"]))
            for chunk in chunks(group, self._settings.write_batch_size):
                self._run(st.upsert_edges(rel_type, a, b), {"rows": chunk}, journal=True)
        return len(rows)

    def _bulk_edges(self, rel_type: str, a: str, b: str, group: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """New edges through the bulk path (CREATE: no MERGE walk of the ends' relationships,
        which on a node of high degree is the cost of the write); returns the rows it handed
        back for the writer's transaction: an end this transaction wrote (it holds the lock),
        or a batch with an end the bulk path cannot see (created by this transaction)."""
        free = [r for r in group if self._bulk.free(r["source_id"]) and self._bulk.free(r["target_id"])]
        back = [r for r in group if not (self._bulk.free(r["source_id"]) and self._bulk.free(r["target_id"]))]
        create, retry = st.create_edges(rel_type, a, b), st.upsert_edges(rel_type, a, b)
        for chunk in chunks(free, self._settings.write_batch_size):
            tagged = [{**r, "props": self._bulk.tag(r["props"])} for r in chunk]
            if not self._bulk.write(create, tagged, retry_statement=retry, expect_count=True):
                back.extend(chunk)
        return back

    def delete_nodes(self, ids: Sequence[str]) -> int:
        n = 0
        by_label: dict[str, list[str]] = defaultdict(list)
        for node_id, label in self.labels_of(ids).items():
            by_label[label].append(node_id)
        for label, group in by_label.items():
            self._bulk.hold(group)
            for chunk in chunks(group, self._settings.write_batch_size):
                n += self._run(st.delete_nodes(label), {"ids": chunk}, journal=True)[0][0]
        return n

    def delete_edges(self, rel_type: str, pairs: Sequence[tuple[str, str]]) -> int:
        rel = self.schema.rel(rel_type)
        labels = self.labels_of([x for pair in pairs for x in pair])
        rows = [
            {"source_id": min(s, t), "target_id": max(s, t)} if rel.symmetric else {"source_id": s, "target_id": t}
            for s, t in pairs
            if s in labels and t in labels
        ]
        n = 0
        self._bulk.hold(x for r in rows for x in (r["source_id"], r["target_id"]))
        for (a, b), group in self._by_ends(rel_type, rows).items():
            for chunk in chunks(group, self._settings.write_batch_size):
                n += self._run(st.delete_edges(rel_type, a, b), {"rows": chunk}, journal=True)[0][0]
        return n

    def write_vectors(self, label: str, ids: Sequence[str], vectors: Sequence[Sequence[float]]) -> None:
        """Store embeddings as node properties and make sure the label's vector index exists."""
        if not len(ids):
            return
        rows = [{"id": i, "vector": [float(x) for x in v]} for i, v in zip(ids, vectors, strict=True)]
        self._bulk.hold(ids)
        for chunk in chunks(rows, self._settings.write_batch_size):
            self._run(st.set_vectors(label), {"rows": chunk}, journal=True)
        self._pending_indexes.append(st.vector_index_statement(label, len(rows[0]["vector"])))

    def commit(self) -> None:
        if self._done:
            return
        self._done = True
        final = data_dir(self._settings, self._work)
        try:
            os.replace(self.data_dir, final)  # before the graph commit: a crash leaves a harmless folder
            params = {"meta_id": st.META_ID, "version": self._work, "schema": schema_fingerprint(self.schema)}
            if self._bulk.marked:  # published in the same commit: the bulk rows stop being undoable
                self._run(st.BULK_UNMARK, {"marker": self._bulk.marker}, journal=True)
            self._run(st.PUBLISH_META, params, journal=True)
            self._commit_transaction()
            forget_version(self._settings)
            self._create_pending_indexes()
            prune_versions(self._settings, keep={self._work})
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            self._undo_bulk()
            raise
        finally:
            if self._session is not None:
                self._session.close()
            self._lock_file.release()

    def _undo_bulk(self) -> None:
        """After a failed commit or an abort: remove the bulk path's rows unless this version was
        published after all (a commit whose reply was lost). Unreachable now, they stay marked
        and the next writer removes them."""
        if not self._bulk.marked:
            return
        with contextlib.suppress(StoreError):
            if read_meta(self._settings)[0] != self._work:
                self._bulk.undo()

    def _commit_transaction(self) -> None:
        """Commit; when the connection drops during the commit its outcome is unknown, so the
        published version says whether it happened before anything is replayed (a replayed
        CREATE after a commit that did happen would write its edges twice)."""
        for attempt in range(RETRIES + 1):
            try:
                self._tx.commit()
                return
            except RETRYABLE as exc:
                self._tx = None
                if too_big := _memory_limit(self._settings, exc):
                    raise too_big from exc
                if attempt == RETRIES:
                    raise StoreError(f"{connection_error(self._settings, exc)} — the commit failed "
                                     f"{RETRIES + 1} times; nothing was published") from exc
                time.sleep(_backoff(attempt))
                try:
                    if read_meta(self._settings)[0] == self._work:
                        return  # it did commit
                    self._run(None, {}, journal=False)  # a new transaction with the journal replayed
                except StoreError:
                    continue  # still unreachable: try again after the next pause
            except Neo4jError as exc:
                raise store_error(exc) from exc

    def _create_pending_indexes(self) -> None:
        try:
            with self._driver.session(database=self._db) as s:
                for statement in self._pending_indexes:
                    s.run(statement).consume()
        except Neo4jError as exc:
            raise store_error(exc) from exc

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            if self._tx is not None and not self._tx.closed():
                # the server rolls back a transaction whose connection is gone
                with contextlib.suppress(Neo4jError, DriverError):
                    self._tx.rollback()
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self._undo_bulk()
        finally:
            if self._session is not None:
                self._session.close()
            self._lock_file.release()

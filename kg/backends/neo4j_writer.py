"""The Neo4j writer: one explicit transaction with a replay journal.

A writer keeps one explicit transaction open from `open_writer` to `commit`, so that, as on
ladybug, readers see all of a refresh or none of it and the writer reads its own writes. It
also journals every write; a transient error (deadlock, leader switch, lost connection)
starts a new transaction and replays the journal, which is safe because every write is a
MERGE/SET/DELETE by id and we are the only writer. The cost is server memory: one
transaction holds the whole change set, so a first load of millions of rows should use
`neo4j-admin database import` from `stakegraph export --format neo4j-admin` (docs/neo4j.md).
"""

from __future__ import annotations

import os
import shutil
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import neo4j
from neo4j.exceptions import Neo4jError

from kg.backends import neo4j_statements as st
from kg.backends.edges import canonical_rows, group_by_end_labels
from kg.backends.neo4j import (
    _RETRYABLE,
    DATA_ROOT,
    RETRIES,
    Neo4jView,
    _chunks,
    _error,
    _prune,
    current_version,
    data_dir,
    plain,
)
from kg.locking import WriterLock
from kg.schema import Schema, load_schema, schema_fingerprint
from kg.settings import Settings
from kg.store import GraphWriter, QueryResult


class Neo4jWriter(Neo4jView, GraphWriter):
    """One explicit write transaction with a replay journal (see the module docstring)."""

    def __init__(self, settings: Settings, schema: Schema | None, purpose: str, wait_s: float):
        self._lock_file = WriterLock(settings.home_path / "locks" / "writer.lock", purpose).acquire(wait_s)
        try:
            self._purpose = purpose
            self._work = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
            super().__init__(settings, schema or load_schema(), self._work)
            self.added_schema = self._ensure_schema()
            self._prepare_data_dir()
            self._journal: list[tuple[str, dict[str, Any]]] = []
            self._pending_indexes: list[str] = []  # vector indexes: schema, so after the commit
            self._session = None
            self._tx = None
            self._begin([])
        except BaseException:
            if hasattr(self, "_work"):
                shutil.rmtree(self.data_dir, ignore_errors=True)
            self._lock_file.release()
            raise
        self._done = False

    @property
    def data_dir(self) -> Path:
        return self._settings.home_path / DATA_ROOT / f".work-{self._work}"

    def _ensure_schema(self) -> list[str]:
        """Constraints and indexes from the schema file; schema changes cannot share a data transaction."""
        with self._driver.session(database=self._db) as s:
            before = {r["name"] for r in s.run(st.LIST_INDEXES)}
            for statement in st.schema_statements(self.schema):
                s.run(statement).consume()
            after = {r["name"] for r in s.run(st.LIST_INDEXES)}
        return sorted(after - before)

    def _prepare_data_dir(self) -> None:
        current = current_version(self._settings, fresh=True)
        previous = data_dir(self._settings, current) if current else None
        if previous is not None and previous.is_dir():
            shutil.copytree(previous, self.data_dir)
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)

    def _begin(self, replay: list[tuple[str, dict[str, Any]]]) -> None:
        if self._session is not None:
            self._session.close()
        self._session = self._driver.session(database=self._db, default_access_mode=neo4j.WRITE_ACCESS)
        self._tx = self._session.begin_transaction()
        self._tx.run(st.LOCK_META, meta_id=st.META_ID, purpose=self._purpose).consume()
        for statement, params in replay:
            self._tx.run(statement, params).consume()

    def _run(self, statement: str, params: dict[str, Any], journal: bool) -> list[list[Any]]:
        if journal:
            self._journal.append((statement, params))
        for attempt in range(RETRIES + 1):
            try:
                return [[plain(v) for v in rec.values()] for rec in self._tx.run(statement, params)]
            except _RETRYABLE:
                if attempt == RETRIES:
                    raise
                time.sleep(0.2 * 2**attempt)
                self._begin(self._journal[:-1] if journal else self._journal)
            except Neo4jError as exc:
                raise _error(exc) from exc
        raise AssertionError("unreachable")

    def _read(self, statement: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        return self._run(statement, params or {}, journal=False)  # reads its own writes

    def _stream(self, statement: str, batch_size: int) -> Iterator[list[Any]]:
        yield from self._read(statement)

    def query(self, cypher, params=None, *, max_rows=None, timeout_ms=None) -> QueryResult:
        """Inside the writer's transaction, so it sees the pending writes (no console guard here)."""
        started = time.perf_counter()
        try:
            result = self._tx.run(st.portable(cypher), params or {})
            rows = [[plain(v) for v in rec.values()] for rec in result]
            columns = list(result.keys())
        except Neo4jError as exc:
            raise _error(exc, timeout_ms) from exc
        truncated = max_rows is not None and len(rows) > max_rows
        return QueryResult(columns, rows[:max_rows] if truncated else rows, truncated, (time.perf_counter() - started) * 1000)

    def labels_of(self, ids: Sequence[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, str] = {}
        for label in self.schema.labels:
            for chunk in _chunks([i for i in ids if i not in out], self._settings.write_batch_size * 4):
                out.update((i, label) for (i,) in self._read(st.labels_of(label), {"ids": chunk}))
        return out

    def upsert_nodes(self, label: str, rows: Sequence[dict[str, Any]]) -> int:
        return self._set_nodes(st.upsert_nodes(label), label, rows)

    def update_nodes(self, label: str, rows: Sequence[dict[str, Any]]) -> int:
        return self._set_nodes(st.update_nodes(label), label, rows)

    def _set_nodes(self, statement: str, label: str, rows: Sequence[dict[str, Any]]) -> int:
        self.schema.label(label)
        payload = [{"id": r["id"], "props": {k: v for k, v in r.items() if k != "id"}} for r in rows]
        for chunk in _chunks(payload, self._settings.write_batch_size):
            self._run(statement, {"rows": chunk}, journal=True)
        return len(rows)


    def _by_ends(self, rel_type: str, rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
        labels = self.labels_of([r["source_id"] for r in rows] + [r["target_id"] for r in rows])
        return group_by_end_labels(self.schema, rel_type, rows, labels)

    def upsert_edges(self, rel_type: str, rows: Sequence[dict[str, Any]]) -> int:
        canon = [
            {"source_id": r["source_id"], "target_id": r["target_id"],
             "props": {k: v for k, v in r.items() if k not in ("source_id", "target_id")}}
            for r in canonical_rows(self.schema, rel_type, rows)
        ]
        for (a, b), group in self._by_ends(rel_type, canon).items():
            for chunk in _chunks(group, self._settings.write_batch_size):
                self._run(st.upsert_edges(rel_type, a, b), {"rows": chunk}, journal=True)
        return len(rows)

    def delete_nodes(self, ids: Sequence[str]) -> int:
        n = 0
        by_label: dict[str, list[str]] = defaultdict(list)
        for node_id, label in self.labels_of(ids).items():
            by_label[label].append(node_id)
        for label, group in by_label.items():
            for chunk in _chunks(group, self._settings.write_batch_size):
                n += self._run(st.delete_nodes(label), {"ids": chunk}, journal=True)[0][0]
        return n

    def touch_seen(self, rel_type: str, feeds: Sequence[str], run_id: str) -> None:
        self.schema.rel(rel_type)
        self._run(st.touch_seen(rel_type), {"ran": sorted(feeds), "run": run_id}, journal=True)

    def touch_seen_nodes(self, label: str, feeds: Sequence[str], run_id: str) -> None:
        self.schema.label(label)
        self._run(st.touch_seen_nodes(label), {"ran": sorted(feeds), "run": run_id}, journal=True)

    def delete_edges(self, rel_type: str, pairs: Sequence[tuple[str, str]]) -> int:
        rel = self.schema.rel(rel_type)
        labels = self.labels_of([x for pair in pairs for x in pair])
        rows = [
            {"source_id": min(s, t), "target_id": max(s, t)} if rel.symmetric else {"source_id": s, "target_id": t}
            for s, t in pairs
            if s in labels and t in labels
        ]
        n = 0
        for (a, b), group in self._by_ends(rel_type, rows).items():
            n += self._run(st.delete_edges(rel_type, a, b), {"rows": group}, journal=True)[0][0]
        return n

    def write_vectors(self, label: str, ids: Sequence[str], vectors: Sequence[Sequence[float]]) -> None:
        """Store embeddings as node properties and make sure the label's vector index exists."""
        if not len(ids):
            return
        rows = [{"id": i, "vector": [float(x) for x in v]} for i, v in zip(ids, vectors, strict=True)]
        for chunk in _chunks(rows, self._settings.write_batch_size):
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
            self._run(st.PUBLISH_META, params, journal=True)
            for attempt in range(RETRIES + 1):
                try:
                    self._tx.commit()
                    break
                except _RETRYABLE:  # the outcome is unknown: replaying MERGEs and committing again is safe
                    if attempt == RETRIES:
                        raise
                    self._begin(self._journal)
            with self._driver.session(database=self._db) as s:
                for statement in self._pending_indexes:
                    s.run(statement).consume()
            _prune(self._settings, keep={self._work})
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        finally:
            self._session.close()
            self._lock_file.release()

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            if self._tx is not None and not self._tx.closed():
                self._tx.rollback()
            shutil.rmtree(self.data_dir, ignore_errors=True)
        finally:
            self._session.close()
            self._lock_file.release()

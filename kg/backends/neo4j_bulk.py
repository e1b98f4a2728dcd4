"""The Neo4j writer's bulk path: large batches of new nodes and edges, committed as they go.

Why: the writer's one transaction holds its whole change set in the server's heap (more than
4.4 KB per node or edge with our properties, docs/neo4j.md), so a first load of 22,000
organisations and 100,000 relations did not fit a 1 GB heap, and a first load of millions
would need tens of GB. Rows the refresh knows are new (create_nodes / create_edges, batches of
bulk_copy_min_rows or more) are therefore written here: `UNWIND … CREATE` in batches of
write_batch_size, each batch its own committed transaction, so the server holds one batch at
a time.

What keeps "the published graph as it was, or the new one": every row written here carries
the writer's version id in `_run`, and a marker node `(:_Meta {id: 'bulk-<version>', run})` is
committed before the first batch. The writer's main transaction deletes the marker in the
same commit that publishes the version. A writer that fails or is aborted removes the rows of
its `_run` (batched, `CALL … IN TRANSACTIONS`) and its marker; a writer killed outright leaves
its marker, and the next writer removes that run's rows before it writes anything. The cost:
readers see the new rows as they are committed, before the version is published (the graph's
derived files, its version id and the removal of an unpublished load are all-or-nothing).

Locks: the main transaction keeps exclusive locks on what it wrote until the commit, and
creating a relationship locks both end nodes, so a batch here touching such a node would wait
for a commit that only comes after it: a deadlock the server cannot see. The writer therefore
reports the ids and labels its main transaction wrote (`hold`), rows touching them go through
the main transaction instead, and each batch here has a time limit after which it, too, goes
through the main transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import neo4j
from neo4j.exceptions import DriverError, Neo4jError

from kg.backends import neo4j_statements as st
from kg.backends.neo4j_common import RETRIES, RETRYABLE, connection_error, store_error
from kg.schema import Schema
from kg.settings import Settings

MARKER_PREFIX = "bulk-"
BATCH_TIMEOUT_S = 300.0  # one batch of write_batch_size rows takes seconds; this only ends a lock wait
DUPLICATE_ID = "ConstraintValidationFailed"


class BulkPath:
    """Batches committed outside the writer's transaction, tagged with its version id."""

    def __init__(self, settings: Settings, driver: neo4j.Driver, database: str, schema: Schema, run: str):
        self._settings, self._driver, self._db, self._schema, self.run = settings, driver, database, schema, run
        self.marker = MARKER_PREFIX + run
        self.marked = False  # the marker is committed: undo() has something to remove
        self.held_ids: set[str] = set()  # written by the main transaction: locked until its commit

    # what the main transaction holds ------------------------------------------------------
    def hold(self, ids: Iterable[str] = ()) -> None:
        self.held_ids.update(ids)

    def free(self, node_id: str) -> bool:
        return node_id not in self.held_ids

    # writing ---------------------------------------------------------------------------------
    def tag(self, props: dict[str, Any]) -> dict[str, Any]:
        return {**props, st.RUN_PROPERTY: self.run}

    def write(self, statement: str, rows: list[dict[str, Any]], retry_statement: str | None = None,
              expect_count: bool = False) -> bool:
        """One batch in its own transaction. False: the batch wrote nothing and belongs in the
        main transaction (an id that exists already, an end node the batch cannot see, a lock
        wait over the time limit). A transient error retries the batch; a retry after a commit
        whose outcome is unknown runs retry_statement (a MERGE), so that nothing is written twice."""
        if not self.marked:
            self._auto(st.BULK_MARK, marker=self.marker, run=self.run)
            self.marked = True
        text = statement
        for attempt in range(RETRIES + 1):
            try:
                with self._driver.session(database=self._db, default_access_mode=neo4j.WRITE_ACCESS) as s:
                    tx = s.begin_transaction(timeout=BATCH_TIMEOUT_S)
                    try:
                        records = list(tx.run(text, rows=rows))
                        if expect_count and (not records or records[0][0] != len(rows)):
                            tx.rollback()  # an end it cannot see: written by the main transaction
                            return False
                        tx.commit()
                    finally:
                        if not tx.closed():
                            tx.close()
                return True
            except RETRYABLE as exc:
                if attempt == RETRIES:
                    raise connection_error(self._settings, exc) from exc
                text = retry_statement or statement
                time.sleep(min(8.0, 0.5 * 2**attempt))
            except Neo4jError as exc:
                code = exc.code or ""
                if DUPLICATE_ID in code or "TransactionTimedOut" in code or "Terminated" in code:
                    return False
                raise store_error(exc) from exc
            except DriverError as exc:
                raise connection_error(self._settings, exc) from exc
        raise AssertionError("unreachable")

    # undoing ---------------------------------------------------------------------------------
    def undo(self, run: str | None = None, marker: str | None = None) -> None:
        """Remove every node and edge a run committed here, then its marker (this writer's run
        by default; the next writer passes a killed writer's)."""
        run, marker = run or self.run, marker or self.marker
        batch = self._settings.write_batch_size
        for label in self._schema.labels:
            self._auto(st.bulk_undo_nodes(label), run=run, batch=batch)
        for rel_type in self._schema.relationships:
            self._auto(st.bulk_undo_edges(rel_type), run=run, batch=batch)
        self._auto(st.BULK_UNMARK, marker=marker)
        if marker == self.marker:
            self.marked = False

    def undo_stale(self) -> list[str]:
        """Runs whose writer died before publishing (called holding the graph's lock, so no
        live writer of them remains); returns their version ids."""
        stale = [(m, r) for m, r in self._auto(st.BULK_MARKS) if m.startswith(MARKER_PREFIX) and r != self.run]
        for marker, run in stale:
            self.undo(run, marker)
        return [r for _, r in stale]

    def _auto(self, statement: str, **params: Any) -> list[list[Any]]:
        """An implicit (auto-commit) transaction: the only kind `CALL … IN TRANSACTIONS` runs in."""
        for attempt in range(RETRIES + 1):
            try:
                with self._driver.session(database=self._db, default_access_mode=neo4j.WRITE_ACCESS) as s:
                    return [list(r.values()) for r in s.run(statement, params)]
            except RETRYABLE as exc:
                if attempt == RETRIES:
                    raise connection_error(self._settings, exc) from exc
                time.sleep(min(8.0, 0.5 * 2**attempt))
            except Neo4jError as exc:
                raise store_error(exc) from exc
            except DriverError as exc:
                raise connection_error(self._settings, exc) from exc
        raise AssertionError("unreachable")

"""The Neo4j backend, as kg.backends calls it: open a view or the writer, read the version.

The parts: neo4j_common.py (driver, value conversion, errors, versions), neo4j_view.py (reads
and the console's guarded query), neo4j_writer.py (one transaction with a replay journal),
neo4j_bulk.py (the writer's bulk path: large batches of new rows committed as they go),
neo4j_statements.py (every Cypher statement sent). Imports run one way: this module ->
writer -> view -> common -> statements.
"""

from __future__ import annotations

from pathlib import Path

from kg.backends import neo4j_common as common
from kg.backends.neo4j_common import close_drivers
from kg.backends.neo4j_view import Neo4jView, open_view_at
from kg.backends.neo4j_writer import Neo4jWriter
from kg.schema import Schema, load_schema
from kg.settings import Settings

__all__ = ["close_drivers", "current_version", "data_dir", "open_view", "open_writer", "stored_schema"]


def current_version(settings: Settings) -> str | None:
    return common.current_version(settings)


def data_dir(settings: Settings, version: str) -> Path:
    return common.data_dir(settings, version)


def stored_schema(settings: Settings) -> str | None:
    return common.stored_schema(settings)


def open_view(settings: Settings, schema: Schema | None = None) -> Neo4jView:
    return open_view_at(settings, schema or load_schema(), common.current_version(settings, fresh=True))


def open_writer(settings: Settings, schema: Schema | None, purpose: str, wait_s: float) -> Neo4jWriter:
    return Neo4jWriter(settings, schema, purpose, wait_s)

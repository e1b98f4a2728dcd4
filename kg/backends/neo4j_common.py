"""What the Neo4j view and writer share: the driver, value conversion, errors, versions.

Why a module of its own: the view (neo4j_view.py) and the writer (neo4j_writer.py) both need
these, and the backend's entry module (neo4j.py) needs both of them; with the helpers here
imports run one way, entry -> writer -> view -> common, and no module reaches into another's
private names.

The graph version is a property of one `(:_Meta {id: 'graph'})` node, set in the writer's
transaction. Derived files (FAISS and name indexes) live in `$STAKEGRAPH_HOME/neo4j/<version>/`.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import neo4j
from neo4j.exceptions import (
    AuthError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)
from neo4j.graph import Node as DriverNode
from neo4j.graph import Path as DriverPath
from neo4j.graph import Relationship as DriverRelationship

from kg.backends import neo4j_statements as st
from kg.backends.ladybug_versions import check_version_name
from kg.settings import Settings
from kg.store import Edge, Node, QueryRefused, StoreError

DATA_ROOT = "neo4j"
RETRIES = 3
# Worth a new transaction: the server said "try again" (deadlock, leader switch, out of
# memory for now) or the connection went away.
RETRYABLE = (TransientError, ServiceUnavailable, SessionExpired)

QUIET = neo4j.NotificationDisabledClassification.UNRECOGNIZED
_drivers: dict[tuple[str, str, str], neo4j.Driver] = {}
_drivers_lock = threading.Lock()


def driver(settings: Settings) -> neo4j.Driver:
    """One driver (a connection pool) per server and user for the whole process.

    It is checked on creation, so a server that is down or a wrong password is reported here,
    once, with the URI and the cause, instead of as a driver traceback deep inside a job."""
    if not settings.neo4j_uri:
        raise StoreError("backend = neo4j needs NEO4J_URI (and NEO4J_USER / NEO4J_PASSWORD)")
    key = (settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password)
    with _drivers_lock:
        if key not in _drivers:
            try:
                # 'property/label does not exist' notes are expected (a marker's `run`, a label before its
                # first node) and logged a warning per query; deprecations and the rest stay on
                d = neo4j.GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password),
                                               notifications_disabled_classifications=[QUIET])
            except (ValueError, DriverError) as exc:  # a malformed URI
                raise StoreError(f"NEO4J_URI {settings.neo4j_uri!r} is not a Neo4j URI: {exc}") from exc
            try:
                d.verify_connectivity()
            except Exception as exc:
                d.close()
                raise connection_error(settings, exc) from exc
            _drivers[key] = d
        return _drivers[key]


def close_drivers() -> None:
    with _drivers_lock:
        for d in _drivers.values():
            d.close()
        _drivers.clear()
    _version_cache.clear()


def connection_error(settings: Settings, exc: BaseException) -> StoreError:
    """A StoreError naming the server and what went wrong, worded for whoever runs the job."""
    uri = settings.neo4j_uri
    cause = " ".join(str(exc).split())  # the driver's messages run over several lines
    if isinstance(exc, AuthError):
        return StoreError(f"Neo4j at {uri} refused user {settings.neo4j_user!r}: wrong user or password "
                          f"(NEO4J_USER / NEO4J_PASSWORD)")
    if isinstance(exc, ServiceUnavailable | SessionExpired | OSError):
        return StoreError(f"cannot reach Neo4j at {uri}: {cause} (is the server running, and is the URI right?)")
    if isinstance(exc, Neo4jError):
        return StoreError(f"Neo4j at {uri}: {exc.code}: {exc.message}")
    return StoreError(f"cannot use Neo4j at {uri}: {type(exc).__name__}: {cause}")


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


def to_node(value: dict[str, Any]) -> Node:
    """A node as plain() returns it, without the bookkeeping keys and the stored embedding."""
    props = {k: v for k, v in value.items() if not k.startswith("_") and v is not None and k != st.VECTOR_PROPERTY}
    return Node(id=props.pop("id"), label=value["_LABEL"], props=props)


def edge_props(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if not k.startswith("_") and v is not None and k != st.VECTOR_PROPERTY}


def to_edge(rel_type: str, source_id: str, target_id: str, value: dict[str, Any]) -> Edge:
    return Edge(rel_type, source_id, target_id, edge_props(value))


def store_error(exc: Neo4jError, timeout_ms: int | None = None) -> StoreError:
    """A server error as the store's error: a time limit, a refused write, or the message."""
    code = exc.code or ""
    if "TransactionTimedOut" in code or "Terminated" in code:
        return StoreError(f"the query was stopped at the time limit of {timeout_ms} ms")
    if "AccessMode" in code or "ForbiddenOnReadOnly" in code:
        return QueryRefused(f"the console is read-only: {exc.message}")
    return StoreError(exc.message or str(exc))


def data_dir(settings: Settings, version: str) -> Path:
    """The derived files of a version; the name is checked first, as it comes from the database
    (a `_Meta.version` of '../x' must not point a prune or a restore outside the folder)."""
    return settings.home_path / DATA_ROOT / check_version_name(version)


def prune_versions(settings: Settings, keep: set[str]) -> None:
    """Drop the derived files of all but the newest keep_versions versions."""
    root = settings.home_path / DATA_ROOT
    versions = sorted(p.name for p in root.glob("v-*") if p.is_dir())
    for name in versions[: max(0, len(versions) - settings.keep_versions)]:
        if name not in keep:
            shutil.rmtree(root / name, ignore_errors=True)


_version_cache: dict[tuple[str, str], tuple[float, str | None]] = {}


def read_meta(settings: Settings) -> tuple[str | None, str | None]:
    """(version, schema fingerprint) of the committed graph, or (None, None) for an empty database."""
    try:
        with driver(settings).session(database=settings.neo4j_database, default_access_mode=neo4j.READ_ACCESS) as s:
            rec = s.execute_read(lambda tx: tx.run(st.READ_META, meta_id=st.META_ID).single())
    except Neo4jError as exc:
        raise store_error(exc) from exc
    except (ServiceUnavailable, SessionExpired, OSError) as exc:
        raise connection_error(settings, exc) from exc
    return (rec["version"], rec["schema"]) if rec else (None, None)


def current_version(settings: Settings, fresh: bool = False) -> str | None:
    """The committed version id; cached for a second, as LiveView asks on every request."""
    key = (settings.neo4j_uri, settings.neo4j_database)
    hit = _version_cache.get(key)
    if hit and not fresh and time.monotonic() - hit[0] < 1.0:
        return hit[1]
    version = read_meta(settings)[0]
    _version_cache[key] = (time.monotonic(), version)
    return version


def forget_version(settings: Settings) -> None:
    """Drop the cached version: after a commit of this process, the next ask reads the server."""
    _version_cache.pop((settings.neo4j_uri, settings.neo4j_database), None)


def stored_schema(settings: Settings) -> str | None:
    """The schema text the graph was last written with (migrate compares it with the file), or
    None when the database lacks a label's id constraint: a graph made by
    `neo4j-admin database import` carries the exported schema text but no constraints or
    indexes, and `stakegraph migrate` must then create them all."""
    text = read_meta(settings)[1]
    if text is None:
        return None
    labels = [st.META_LABEL, *json.loads(text).get("labels", {})]
    try:
        with driver(settings).session(database=settings.neo4j_database, default_access_mode=neo4j.READ_ACCESS) as s:
            have = {r["name"] for r in s.run(st.LIST_CONSTRAINTS)}
    except Neo4jError as exc:
        raise store_error(exc) from exc
    return text if all(st.id_constraint_name(label) in have for label in labels) else None

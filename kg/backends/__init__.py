"""Choosing a backend by one setting; nothing outside kg/ imports a backend module directly."""

from __future__ import annotations

from pathlib import Path

from kg.schema import Schema
from kg.settings import Settings
from kg.store import GraphView, GraphWriter, StoreError

BACKENDS = ("ladybug", "neo4j")


def _module(settings: Settings):
    if settings.backend == "ladybug":
        from kg.backends import ladybug

        return ladybug
    if settings.backend == "neo4j":
        from kg.backends import neo4j

        return neo4j
    raise StoreError(f"unknown backend {settings.backend!r}; choose one of {', '.join(BACKENDS)}")


def open_view(settings: Settings, schema: Schema | None = None) -> GraphView:
    """A read-only view of the published graph (the engine itself refuses writes through it)."""
    return _module(settings).open_view(settings, schema)


def open_writer(settings: Settings, purpose: str = "a writer", schema: Schema | None = None, wait_s: float = 0) -> GraphWriter:
    """The single writer; its changes are published all at once when its `with` block ends.

    Raises kg.locking.LockBusy, naming the holder, if another writer is still busy after wait_s.
    """
    return _module(settings).open_writer(settings, schema, purpose, wait_s)


def current_version(settings: Settings) -> str | None:
    return _module(settings).current_version(settings)


def data_dir(settings: Settings, version: str) -> Path:
    """Where derived files (FAISS index, name index) of a published graph version live."""
    return _module(settings).data_dir(settings, version)


def stored_schema(settings: Settings) -> str | None:
    """The schema text the published graph was last written with, or None for an empty home."""
    return _module(settings).stored_schema(settings)

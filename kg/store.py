"""The store interface: what every backend offers, and nothing engine-specific.

Two roles, as in nomenklatura's store: a `GraphView` only reads (the web app, the Cypher
console, notebooks, the recommender), a `GraphWriter` also writes (the refresh job). A writer is
a context manager: its changes become visible to views all at once when it exits cleanly, and
not at all when it fails or is killed. How that is achieved is the backend's business (ladybug
writes a new copy of the graph and swaps a pointer; Neo4j commits a transaction).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from kg.schema import caption


class StoreError(RuntimeError):
    """A backend failure, worded for the user (the console shows it as is)."""


class QueryRefused(StoreError):
    """A query the read-only console will not run (writes, several statements, file access)."""


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    props: dict[str, Any]

    @property
    def name(self) -> str:
        return self.display_name("zh")

    def display_name(self, lang: str = "zh") -> str:
        return caption(self.label, self.props, lang, self.id)


@dataclass(frozen=True)
class Edge:
    type: str
    source_id: str
    target_id: str
    props: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Neighbour:
    edge: Edge
    node: Node
    direction: str  # "out" when the entity is the edge's source, "in" otherwise


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = False
    elapsed_ms: float = 0.0


class GraphView(ABC):
    """Read access. Every method is safe to call from several threads of one process."""

    def get(self, node_id: str) -> Node | None:
        return self.get_many([node_id]).get(node_id)

    @abstractmethod
    def get_many(self, ids: Sequence[str]) -> dict[str, Node]: ...

    @abstractmethod
    def neighbours(
        self,
        node_id: str,
        types: Sequence[str] | None = None,
        direction: str = "both",
        limit: int = 200,
    ) -> list[Neighbour]: ...

    @abstractmethod
    def query(
        self,
        cypher: str,
        params: dict[str, Any] | None = None,
        *,
        max_rows: int | None = None,
        timeout_ms: int | None = None,
    ) -> QueryResult:
        """Run a parameterised read query; fetch at most max_rows (truncated says if more existed)."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Node count per label and edge count per type, keys like 'Organization' and 'ACTIVE_IN'."""

    @abstractmethod
    def iter_nodes(self, label: str, batch_size: int = 5000) -> Iterator[list[Node]]: ...

    @abstractmethod
    def iter_edges(self, rel_type: str, batch_size: int = 5000) -> Iterator[list[Edge]]: ...

    @property
    @abstractmethod
    def version(self) -> str:
        """An id of the graph state this view reads; changes when a writer commits."""

    @property
    @abstractmethod
    def data_dir(self):
        """The folder of derived files (vector and name indexes) published with this graph version."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> GraphView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class GraphWriter(GraphView):
    """Read and write. Writes are MERGEs: writing the same rows twice leaves the same graph."""

    @abstractmethod
    def upsert_nodes(self, label: str, rows: Sequence[dict[str, Any]]) -> int:
        """Create or update nodes by `id`; properties absent from a row are left as they are."""

    @abstractmethod
    def upsert_edges(self, rel_type: str, rows: Sequence[dict[str, Any]]) -> int:
        """Create or update edges; each row has source_id, target_id and property columns.

        The end nodes must exist; their labels are looked up by the writer.
        """

    def create_nodes(self, label: str, rows: Sequence[dict[str, Any]]) -> int:
        """Write nodes the caller knows do not exist yet (the refresh diffed them as new).

        Knowing that, a backend may bulk-load them without a per-row existence check (ladybug
        COPYs a large batch); the result must be the same as upsert_nodes, which is the default.
        """
        return self.upsert_nodes(label, rows)

    def update_nodes(self, label: str, rows: Sequence[dict[str, Any]]) -> int:
        """Set properties of nodes the caller knows exist (derived summaries); ids that do not
        exist are skipped. A backend may skip MERGE's create branch; the default upserts."""
        return self.upsert_nodes(label, rows)

    def create_edges(self, rel_type: str, rows: Sequence[dict[str, Any]]) -> int:
        """Write edges the caller knows do not exist yet (the refresh diffed them).

        A backend may skip the MERGE's existence check, which on a high-degree node walks its
        whole adjacency list; the default is a plain upsert.
        """
        return self.upsert_edges(rel_type, rows)

    @abstractmethod
    def delete_nodes(self, ids: Sequence[str]) -> int: ...

    @abstractmethod
    def delete_edges(self, rel_type: str, pairs: Sequence[tuple[str, str]]) -> int: ...

    @abstractmethod
    def labels_of(self, ids: Sequence[str]) -> dict[str, str]:
        """The label of each existing id (missing ids are absent from the result)."""

    @abstractmethod
    def commit(self) -> None:
        """Publish the changes; called by __exit__ when no exception was raised."""

    @abstractmethod
    def abort(self) -> None:
        """Throw the changes away."""

    def __enter__(self) -> GraphWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()

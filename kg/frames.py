"""The graph as pandas frames and a networkx graph, for notebooks and ad-hoc analysis.

Everything reads through a GraphView (so through the same read-only handle as the web app),
and `query_frame` goes through the console's guarded function, so a notebook has the same
limits as the console. Example::

    from kg.backends import open_view
    from kg.frames import counts_frame, nodes_frame, to_networkx

    with open_view(settings) as view:
        orgs = nodes_frame(view, "Organization")
        g = to_networkx(view, types=["PARTNERS_WITH", "SUPPLIES", "INVESTS_IN"])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
import pandas as pd

from kg.console import run_console_query
from kg.results import cell_text, kind_of
from kg.store import GraphView

__all__ = ["completeness", "counts_frame", "edges_frame", "nodes_frame", "query_frame", "to_networkx"]


def counts_frame(view: GraphView) -> pd.DataFrame:
    """One row per label and relationship type: name, kind (node | edge), count."""
    counts = view.counts()
    rows = [(k, "node" if k in view.schema.labels else "edge", v) for k, v in counts.items()]
    return pd.DataFrame(rows, columns=["name", "kind", "count"]).sort_values(["kind", "count"], ascending=[False, False],
                                                                           ignore_index=True)


def nodes_frame(view: GraphView, label: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Every node of a label, one row each, id first; columns default to the schema's."""
    cols = ["id", *(columns or view.schema.node_columns(label))]
    rows = [{"id": n.id, **n.props} for batch in view.iter_nodes(label) for n in batch]
    return pd.DataFrame(rows, columns=cols)


def edges_frame(view: GraphView, rel_type: str) -> pd.DataFrame:
    """Every edge of a type: source_id, target_id and the edge properties."""
    rows = [{"source_id": e.source_id, "target_id": e.target_id, **e.props} for b in view.iter_edges(rel_type) for e in b]
    return pd.DataFrame(rows, columns=["source_id", "target_id", *view.schema.edge_columns()])


def completeness(view: GraphView, label: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Share of a label's nodes that have each property (empty strings and lists count as missing)."""
    frame = nodes_frame(view, label)
    cols = list(columns or view.schema.labels[label].props)
    total = len(frame)

    def filled(value: Any) -> bool:
        return value is not None and value == value and value not in ("", [])  # NaN != NaN

    rows = [(c, int(frame[c].map(filled).sum()) if total else 0) for c in cols]
    out = pd.DataFrame(rows, columns=["property", "filled"])
    out["share"] = out["filled"] / total if total else 0.0
    return out.sort_values("share", ascending=False, ignore_index=True)


def to_networkx(view: GraphView, labels: Sequence[str] | None = None, types: Sequence[str] | None = None) -> nx.MultiDiGraph:
    """A MultiDiGraph of the chosen labels (default all) and relationship types (default all).

    Nodes carry `label` and their properties; edges carry `type` and theirs. Edges whose ends
    are outside the chosen labels are left out.
    """
    g = nx.MultiDiGraph()
    for label in labels or view.schema.labels:
        for batch in view.iter_nodes(label):
            g.add_nodes_from((n.id, {"label": n.label, **n.props}) for n in batch)
    for rel in types or view.schema.relationships:
        for batch in view.iter_edges(rel):
            g.add_edges_from(
                (e.source_id, e.target_id, {"type": rel, **e.props})
                for e in batch
                if e.source_id in g and e.target_id in g
            )
    return g


def query_frame(view: GraphView, cypher: str, params: dict[str, Any] | None = None, *,
                max_rows: int | None = None, timeout_ms: int | None = None) -> pd.DataFrame:
    """A read-only console query as a frame; nodes and paths become their text, as in a CSV download."""
    result = run_console_query(view, cypher, params, max_rows=max_rows, timeout_ms=timeout_ms)
    rows = [[v if kind_of(v) == "value" else cell_text(v) for v in row] for row in result.rows]
    frame = pd.DataFrame(rows, columns=result.columns)
    frame.attrs["truncated"] = result.truncated
    return frame

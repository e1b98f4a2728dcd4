"""`stakegraph eval links`: hide known relationships, ask the recommender, score the ranks.

The bundle is loaded into a fresh home without the hidden edges (so neither the graph signals
nor the embedded texts can see them), then for each hidden edge the same `recommend` function
the web app uses ranks organisations for the edge's source entity and relationship type.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.context import Context
from ingest.sources import taxonomy_source
from ingest.sources.bundle_source import BundleSource
from jobs.refresh import default_steps, run_refresh
from kg.backends import open_view
from kg.lookup import resolve_id
from kg.settings import load_settings
from matching.recommend import EMBEDDING_SIGNALS, SIGNALS, parse_weights, recommend

MRR_DEPTH = 100


@dataclass(frozen=True)
class Hidden:
    source_id: str
    target_id: str
    type: str


def read_hidden(path: Path) -> list[Hidden]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    missing = {"source_id", "target_id", "type"} - set(
        rows[0] if rows else {"source_id", "target_id", "type"}
    )
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    return [Hidden(r["source_id"].strip(), r["target_id"].strip(), r["type"].strip()) for r in rows]


def ablations(default_weights: str) -> dict[str, dict[str, float]]:
    base = parse_weights(default_weights)
    embedding = {s: v for s, v in base.items() if s in EMBEDDING_SIGNALS}
    graph = {s: v for s, v in base.items() if s not in EMBEDDING_SIGNALS}
    return {"embedding only": embedding, "graph only": graph, "combined": base}


def metrics(ranks: list[int | None], k: int) -> dict[str, Any]:
    n = len(ranks)
    hit = lambda m: sum(1 for r in ranks if r is not None and r <= m) / n if n else 0.0  # noqa: E731
    mrr = sum(1.0 / r for r in ranks if r is not None and r <= MRR_DEPTH) / n if n else 0.0
    return {"hit@1": round(hit(1), 4), f"hit@{k}": round(hit(k), 4), "mrr": round(mrr, 4), "n": n}


def evaluate_links(
    data: Path, hidden_file: Path, k: int = 10, home: Path | None = None
) -> dict[str, dict[str, Any]]:
    hidden = read_hidden(hidden_file)
    tmp = None if home else tempfile.TemporaryDirectory(prefix="stakegraph-eval-")
    settings = load_settings({"home": str(home or tmp.name)})
    found: set[Hidden] = set()

    def drop_hidden(ctx: Context) -> None:
        keep = []
        for e in ctx.batch.edges:
            h = next(
                (
                    h
                    for h in hidden
                    if h.type == e.type and {h.source_id, h.target_id} == {e.source_id, e.target_id}
                ),
                None,
            )
            if h is None:
                keep.append(e)
            else:
                found.add(h)
        ctx.batch.edges = keep

    drop_hidden.__name__ = "drop_hidden"
    run_refresh(
        settings,
        [taxonomy_source(), BundleSource(Path(data).name, Path(data))],
        steps=[drop_hidden, *default_steps()],
    )
    results = {}
    with open_view(settings) as view:
        cases = [h for h in hidden if h in found]
        for name, weights in ablations(settings.signal_weights).items():
            ranks = []
            for h in cases:
                h = Hidden(resolve_id(view, h.source_id) or h.source_id, resolve_id(view, h.target_id) or h.target_id, h.type)
                linked = {n.node.id for n in view.neighbours(h.source_id, types=[h.type])}
                recs = recommend(
                    view,
                    h.source_id,
                    k=MRR_DEPTH,
                    rel_type=h.type,
                    exclude=linked,
                    exclude_involved=False,
                    weights=weights,
                    settings=settings,
                )
                order = [r.org_id for r in recs]
                ranks.append(order.index(h.target_id) + 1 if h.target_id in order else None)
            results[name] = metrics(ranks, k)
    if tmp:
        tmp.cleanup()
    return results


__all__ = ["SIGNALS", "evaluate_links", "metrics", "read_hidden"]

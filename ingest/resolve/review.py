"""The review queue: pairs the resolver was unsure about, side by side, for people to judge.

Why: a pair scored between the unsure and the same threshold is neither merged nor forgotten;
the resolver publishes it with the graph (resolution.json, `unsure`), and staff decide (CLI
`stakegraph resolve --review` and `--same/--not-same`, or the web page /review). Each decision
is a row of the workspace's decisions table with who and when, which every later run reads
as a manual override (ingest.resolve.step.manual_decisions): it wins over the machine for good.
Pairs already decided, and pairs whose records have since become one entity, leave the queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.resolve.decisions import load_overrides
from ingest.resolve.step import EXPLAIN_FILE, OVERRIDE_FILE
from kg.lookup import resolve_id
from kg.settings import Settings
from kg.store import GraphView

__all__ = ["ReviewItem", "decided_pairs", "review_queue"]

SIDE_FIELDS = ("name_zh", "name_en", "aliases", "stock_code", "credit_code", "city", "kind", "source", "record_ids")


@dataclass(frozen=True)
class ReviewItem:
    record_a: str
    record_b: str
    score: float
    reason: str
    features: list[tuple[str, float, str]] = field(default_factory=list)  # (feature, value, detail) of the evidence
    side_a: dict[str, Any] = field(default_factory=dict)  # the node's names, codes, place, kind, source
    side_b: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"record_a": self.record_a, "record_b": self.record_b, "score": self.score, "reason": self.reason,
                "features": [{"feature": f, "value": v, "detail": d} for f, v, d in self.features],
                "a": self.side_a, "b": self.side_b}


def decided_pairs(settings: Settings) -> set[tuple[str, str]]:
    """Pairs with a manual decision: active rows of the workspace, and the override file."""
    from kg.workspace import Workspace

    out = {tuple(sorted((r["record_a"], r["record_b"])))
           for r in Workspace.open(settings).execute("SELECT record_a, record_b FROM decisions WHERE active=1")}
    path = settings.home_path / OVERRIDE_FILE
    if path.exists():
        out |= {d.pair for d in load_overrides(path)}
    return out  # type: ignore[return-value]


def _side(view: GraphView, node_id: str) -> dict[str, Any]:
    node = view.get(node_id)
    props = node.props if node is not None else {}
    return {"id": node_id, **{k: props.get(k) for k in SIDE_FIELDS if props.get(k)}}


def review_queue(view: GraphView, settings: Settings, limit: int = 50) -> list[ReviewItem]:
    """The unsure pairs of the published resolution still awaiting a decision, best first."""
    path = Path(view.data_dir) / EXPLAIN_FILE
    if not path.exists():
        return []
    published = json.loads(path.read_text(encoding="utf-8")).get("unsure", [])
    decided = decided_pairs(settings)
    out: list[ReviewItem] = []
    for d in sorted(published, key=lambda d: (-(d.get("score") or 0.0), d["record_a"], d["record_b"])):
        pair = (d["record_a"], d["record_b"])
        if pair in decided:
            continue
        a, b = resolve_id(view, pair[0]), resolve_id(view, pair[1])
        if a is None or b is None or a == b:
            continue  # a record gone, or the two are one entity by now
        features = [(e["feature"], e["value"], e["detail"]) for e in d.get("evidence", [])]
        out.append(ReviewItem(pair[0], pair[1], float(d.get("score") or 0.0), d.get("reason", ""), features,
                              _side(view, a), _side(view, b)))
        if len(out) >= limit:
            break
    return out

"""Why an entity is what it is: the merge evidence published with the graph, for any of its ids.

For a merged entity: every link that joined it, each with the learned model's probability and
every feature's contribution (or the hand-set evidence, or the shared code, or the person who
decided). For every entity: the best candidate it was kept apart from (unsure, refused or scored
too low), with the same evidence, so a missed merge can be understood as well as a made one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingest.resolve.decisions import Decision, Judgement
from ingest.resolve.incremental import ResolveState
from ingest.resolve.step import EXPLAIN_FILE, STATE_FILE
from kg.lookup import resolve_id
from kg.store import GraphView

LEFT_APART = (Judgement.UNSURE, Judgement.BELOW, Judgement.NOT_SAME)


def best_refused(data_dir: Path, members: set[str]) -> Decision | None:
    """The highest-scored automatic pair between a member and a record outside the entity that
    was not merged, from the published resolution state."""
    state = ResolveState.load(Path(data_dir) / STATE_FILE)
    if state is None:
        return None
    rows = [d for pair, d in state.rows.items() if (pair[0] in members) != (pair[1] in members)
            and d.judgement in LEFT_APART]
    return max(rows, key=lambda d: (d.score or 0.0, d.pair), default=None)


def _render(d: Decision) -> list[str]:
    lines = [f"    {d.record_a} ~ {d.record_b}: {d.judgement.value}, score {d.score if d.score is not None else '-'}: {d.reason}"]
    lines += [f"        {e.feature} {e.value:+.2f}: {e.detail}" for e in d.evidence]
    return lines


def explain(view: GraphView, any_id: str) -> dict[str, Any]:
    node_id = resolve_id(view, any_id)
    if node_id is None:
        return {"found": False, "id": any_id, "text": f"no entity has the id or record {any_id!r}"}
    node = view.get(node_id)
    path = Path(view.data_dir) / EXPLAIN_FILE
    published = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"entities": {}, "unsure": []}
    merge = published["entities"].get(node_id)
    unsure = [d for d in published["unsure"] if node_id in (d["record_a"], d["record_b"])]
    lines = [f"{node_id}: {node.name} ({node.label})" + (f", asked as {any_id}" if any_id != node_id else ""),
             f"  records: {', '.join(node.props.get('record_ids') or [])}",
             f"  merged ids: {', '.join(node.props.get('merged_ids') or []) or '-'}"]
    if merge:
        lines.append("  evidence:")
        lines += ["    " + line for line in merge.get("text", json.dumps(merge, ensure_ascii=False)).splitlines()]
    else:
        lines.append("  not merged with any other record")
    for d in unsure[:10]:
        lines.append(f"  unsure (left apart): {d['record_a']} ~ {d['record_b']} score {d.get('score')}: {d.get('reason')}")
    refused = best_refused(Path(view.data_dir), {node_id, *(node.props.get("merged_ids") or [])})
    if refused is not None:
        lines.append("  best candidate left apart:")
        lines += _render(refused)
    return {"found": True, "id": node_id, "asked": any_id, "record_ids": node.props.get("record_ids"),
            "merged_ids": node.props.get("merged_ids"), "merge": merge, "unsure": unsure,
            "best_refused": refused.as_dict() if refused else None, "text": "\n".join(lines)}

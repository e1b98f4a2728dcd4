"""The resolution step of a refresh: duplicate ids, then which organisation ids are one entity.

The resolver sees every organisation of the run and of the graph (records of feeds that did not
run still take part), plus the manual decisions (staff marks in the workspace and the override
file). Merged ids become redirects to the surviving id: the refresh writes one node, moves the
edges of the merged-away nodes onto it and deletes them, and keeps the old ids in `merged_ids`
so links, shortlists and notes that name them keep working. When a manual 'not same' splits a
former merge, the surviving node is rebuilt from its records alone.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.records import NodeRecord, Rejection
from ingest.resolve.cluster import resolve
from ingest.resolve.decisions import Decision, Judgement, Origin, load_overrides
from ingest.resolve.incremental import ResolveState
from ingest.resolve.resolution import Resolution
from ingest.resolve.settings import ResolveSettings
from ingest.sources.staff_source import STAFF_FEED
from kg.gcpause import gc_paused
from kg.store import Node

if TYPE_CHECKING:
    from ingest.context import Context

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OVERRIDE_FILE = "overrides.csv"  # in $STAKEGRAPH_HOME: record_a,record_b,judgement,who,note
EXPLAIN_FILE = "resolution.json"  # published with the graph: evidence of every merge
STATE_FILE = "resolution_state.arrow"  # published with the graph: what the next run may reuse
LEGACY_STATE_FILE = "resolution_state.pickle"  # what older releases wrote: never loaded (unpickling runs code)
log = logging.getLogger("stakegraph.refresh")


def resolver_record(node_id: str, props: dict[str, Any], source: str) -> dict[str, Any]:
    """The fields the resolver compares, from a node's or a record's properties (also what
    `stakegraph eval resolve` feeds it, so evaluation and the refresh resolve alike)."""
    sectors = props.get("_sectors") or []
    # every code is a key: a B share (200037) listed beside its A share (000037) is the same firm
    codes = ";".join(dict.fromkeys(c for c in [props.get("stock_code"), *(props.get("stock_codes") or [])] if c))
    return {"record_id": node_id, "source": source, "name_zh": props.get("name_zh"), "name_en": props.get("name_en"),
            "aliases": list(props.get("aliases") or []), "stock_code": codes or None,
            "credit_code": props.get("credit_code"), "city": props.get("city"), "sectors": sectors,
            "kind": props.get("kind")}


def reject_duplicates(ctx: Context) -> None:
    """Within one file an id may appear once (a second row is rejected, naming the first); the
    same id from two sources is one entity by definition, unless the label differs."""
    first: dict[tuple[str, str], NodeRecord] = {}
    label_of: dict[str, NodeRecord] = {}
    keep: list[NodeRecord] = []
    for rec in ctx.batch.nodes:
        file, _, row = rec.where.partition(":")
        key = (rec.feed, rec.id)
        prior = first.get(key)
        if prior is not None and prior.where.partition(":")[0] == file:
            ctx.batch.rejected.append(Rejection(rec.feed, file, int(row), "id", f"duplicate id (first at row {prior.where.partition(':')[2]})", rec.id))
            continue
        other = label_of.get(rec.id) or (ctx.existing.get(rec.id) and ctx.existing[rec.id])
        other_label = getattr(other, "label", None)
        if other_label and other_label != rec.label:
            ctx.batch.rejected.append(Rejection(rec.feed, file, int(row), "id", f"id already used by a {other_label}", rec.id))
            continue
        first.setdefault(key, rec)
        label_of.setdefault(rec.id, rec)
        keep.append(rec)
    ctx.batch.nodes = keep


def resolve_entities(ctx: Context) -> None:
    """The refresh step: duplicate ids first, then which organisation ids are one entity."""
    reject_duplicates(ctx)
    resolve_organizations(ctx)
    ctx.log.merges_by_sources = merges_by_sources(ctx)


def merges_by_sources(ctx: Context) -> dict[str, int]:
    """How many entities each pair of sources (manifest feeds) joined, and how: by the same id
    (a strong key the mappings turn into ids, e.g. stock-000001 from three lists) or by
    resolution (an id found to be the same organisation as another id: a B share and its A
    share, a university's English and Chinese entries); a source may pair with itself."""
    feeds_of: dict[str, set[str]] = defaultdict(set)
    for rec in ctx.batch.nodes:
        if rec.feed != STAFF_FEED:
            feeds_of[rec.id].add(rec.feed)
    joined: dict[str, set[str]] = defaultdict(set)
    for node_id, feeds in feeds_of.items():
        for a, b in combinations(sorted(feeds), 2):
            joined[f"{a} + {b} (same id)"].add(ctx.redirects.get(node_id, node_id))
    for member, survivor in ctx.redirects.items():
        for a in feeds_of.get(member, ()):
            for b in feeds_of.get(survivor, ()):
                joined[f"{min(a, b)} + {max(a, b)} (resolved)"].add(survivor)
    return {pair: len(ids) for pair, ids in sorted(joined.items())}


def manual_decisions(ctx: Context, known: set[str], id_of_record: dict[str, str]) -> list[Decision]:
    """Staff decisions (workspace) and the override file, with record ids mapped to node ids."""
    from kg.workspace import Workspace

    out: list[Decision] = []
    rows = []
    for name in ctx.settings.decision_files:  # shipped with the data: pairs the resolver gets wrong
        shipped = PROJECT_ROOT / name
        rows += load_overrides(shipped) if shipped.exists() else []
    path = ctx.settings.home_path / OVERRIDE_FILE
    rows += load_overrides(path) if path.exists() else []
    ws = Workspace.open(ctx.settings)
    for r in ws.execute("SELECT record_a, record_b, judgement, username, note, ts FROM decisions WHERE active=1 ORDER BY id"):
        rows.append(Decision(r["record_a"], r["record_b"], r["judgement"], Origin.MANUAL, r["note"] or "", None, (), r["username"] or ""))
    for d in rows:
        a, b = (x if x in known else id_of_record.get(x, x) for x in (d.record_a, d.record_b))
        if a in known and b in known and a != b:
            out.append(Decision(a, b, d.judgement, Origin.MANUAL, d.reason, None, (), d.who, d.when))
    return out


SCALARS = ("name_zh", "name_en", "stock_code", "credit_code", "city", "kind")


def _names(record: dict[str, Any]) -> list[str]:
    return [x for x in (record.get("name_zh"), record.get("name_en"), *record["aliases"]) if x]


def _with_remembered(mine: dict[str, Any], node: dict[str, Any], members: list[dict[str, Any]]) -> dict[str, Any]:
    """A record that is also a graph node, plus what the node remembers and no record of its
    entity in this run says: names and codes of records since dropped (or whose feed did not run),
    values a source has since cleared. Why not everything the node holds: its names and codes
    from records merged into it are in those records already, and adding them would change this
    record after every merge, so unchanged sources would look changed to the resolution cache."""
    said = {n for m in members for n in _names(m)}
    for key in SCALARS:
        if not mine.get(key) and node.get(key) and all(m.get(key) != node[key] for m in members):
            mine[key] = node[key]
    mine["aliases"] = list(dict.fromkeys([*mine["aliases"], *(n for n in _names(node) if n not in said and n not in _names(mine))]))
    return mine


def resolve_organizations(ctx: Context) -> None:
    started = time.perf_counter()
    records: dict[str, dict[str, Any]] = {}
    id_of_record: dict[str, str] = {}
    graph: dict[str, Node] = {}
    for node in ctx.existing.values():
        if node.label == "Organization":
            records[node.id] = resolver_record(node.id, node.props, node.props.get("source", "graph"))
            graph[node.id] = node
            for rid in [*(node.props.get("record_ids") or []), *(node.props.get("merged_ids") or [])]:
                id_of_record[rid] = node.id
    sectors: dict[str, list[str]] = {}
    for e in ctx.batch.edges:
        if e.type == "ACTIVE_IN":
            sectors.setdefault(e.source_id, []).append(e.target_id)
    batch: dict[str, dict[str, Any]] = {}
    where: dict[str, str] = {}
    for rec in ctx.batch.nodes:
        if rec.label != "Organization":
            continue
        id_of_record[rec.record_id] = rec.id
        mine = resolver_record(rec.id, {**rec.props, "_sectors": sectors.get(rec.id, [])}, rec.source)
        prior = batch.get(rec.id)
        if prior:  # the same id from another feed: one record with every name
            for key in SCALARS:
                mine[key] = mine.get(key) or prior.get(key)
            mine["aliases"] = list(dict.fromkeys([*mine["aliases"], *prior["aliases"],
                                                  *[x for x in (prior.get("name_zh"), prior.get("name_en")) if x]]))
        batch[rec.id] = mine
        where.setdefault(rec.id, rec.where)
    for rid, mine in batch.items():
        node = graph.get(rid)
        if node is not None:
            members = [batch[m] for m in [rid, *(node.props.get("merged_ids") or [])] if m in batch]
            mine = _with_remembered(mine, records[rid], members)
        records[rid] = mine
    if not records:
        return
    overrides = manual_decisions(ctx, set(records), id_of_record)
    out = Path(ctx.writer.data_dir)
    state = _load_state(out)  # the published graph's, copied into this version
    prepared = time.perf_counter()
    resolution = resolve(list(records.values()), overrides, ResolveSettings.from_settings(ctx.settings), state=state)
    log.info("resolution: %d records, %d pairs scored (%s), %.1f s to prepare, %.1f s to resolve",
             len(records), resolution.scored, "reusing the previous run's decisions" if state else "from scratch",
             prepared - started, time.perf_counter() - prepared)
    for rid in batch:  # codes that failed validation are reported, not used as keys
        for value, reason in resolution.keys_of(rid).rejected:
            ctx.log.details.append({"op": "bad_code", "id": rid, "where": where[rid], "value": value, "reason": reason})
        for problem in resolution.problems_of(rid):  # no name left, only an id: never merged on a name
            if not problem.startswith("code "):
                ctx.log.details.append({"op": "bad_record", "id": rid, "where": where[rid], "reason": problem})
    with gc_paused():
        inputs = _note_merges(ctx, resolution)
    # A node that used to absorb ids that now stand alone is rebuilt from its records.
    for node in ctx.existing.values():
        merged = set(node.props.get("merged_ids") or [])
        if merged and any(resolution.canonical(m) != node.id for m in merged if m in records):
            ctx.rebuild.add(node.id)
    if _same_as_before(resolution, state):  # this version's copies of both files are already right
        return
    with gc_paused():
        explain = _explanations(resolution, inputs, state, out / EXPLAIN_FILE)
    out.mkdir(parents=True, exist_ok=True)
    if resolution.state is not None:
        resolution.state.save(out / STATE_FILE)
    (out / EXPLAIN_FILE).write_text(json.dumps(
        {"entities": explain, "unsure": [d.as_dict() for d in resolution.decisions.effective() if d.judgement == Judgement.UNSURE][:5000]},
        ensure_ascii=False, default=str), encoding="utf-8")


def _load_state(out: Path) -> ResolveState | None:
    """The previous run's state; a pickled one of an older release is deleted from this private
    copy unread (the graph folder and backups can hold anyone's file), so that run resolves from
    scratch once."""
    legacy = out / LEGACY_STATE_FILE
    if legacy.is_file() or legacy.is_symlink():
        log.warning("resolution: %s is a pickled state from an older release; it is never loaded and is "
                    "removed from this version (this run resolves from scratch)", legacy)
        legacy.unlink(missing_ok=True)
    return ResolveState.load(out / STATE_FILE)


def _same_as_before(resolution: Resolution, state: ResolveState | None) -> bool:
    """Nothing scored, the same records, decisions and code links, every explanation kept: the
    state and resolution.json would be written byte for byte as the previous run wrote them
    (a quarter of a minute at 220,000 records)."""
    now = resolution.state
    return (state is not None and now is not None and resolution.scored == 0 and state.fingerprint == now.fingerprint
            and state.hashes == now.hashes and state.linked == now.linked and state.rows.keys() == now.rows.keys()
            and state.explained == now.explained)


def _note_merges(ctx: Context, resolution: Resolution) -> dict[str, str]:
    """Redirects for merged-away ids; returns each merged entity's explanation inputs (kept in
    the state, so the next run can tell which explanations it may keep)."""
    now = resolution.state
    inputs: dict[str, str] = {}
    for entity in resolution.entities.values():
        if len(entity.record_ids) < 2:
            continue
        for member in entity.record_ids:
            if member != entity.id:
                ctx.redirects[member] = entity.id
        ctx.log.merges += 1
        inputs[entity.id] = resolution.explanation_inputs(entity.id, now.hashes) if now is not None else ""
    if now is not None:
        now.explained = inputs
    return inputs


def _explanations(resolution: Resolution, inputs: dict[str, str], state: ResolveState | None,
                  previous: Path) -> dict[str, Any]:
    """The evidence of every merge (for resolve --explain); an entity whose explanation inputs
    are those of the previous run keeps the explanation that run wrote."""
    now = resolution.state
    old_inputs = state.explained if state is not None and now is not None and state.fingerprint == now.fingerprint else {}
    earlier = _read_explanations(previous) if any(old_inputs.get(e) == i for e, i in inputs.items() if i) else {}
    explain: dict[str, Any] = {}
    for entity_id, entity_inputs in inputs.items():
        if entity_inputs and old_inputs.get(entity_id) == entity_inputs and entity_id in earlier:
            explain[entity_id] = earlier[entity_id]
            continue
        why = resolution.explain(entity_id)
        explain[entity_id] = {**why.as_dict(), "text": why.text}
    return explain


def _read_explanations(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("entities", {})
    except (OSError, ValueError):
        return {}


def move_merged_nodes(ctx: Context) -> None:
    """Refresh step after write_nodes: re-point the edges of graph nodes that were merged away
    onto the surviving node, carry their names over, then delete them."""
    gone = [m for m in ctx.redirects if m in ctx.existing]
    for m in gone:
        survivor = ctx.redirects[m]
        moved = []
        for nb in ctx.writer.neighbours(m, limit=1_000_000):
            e = nb.edge
            s = survivor if e.source_id == m else e.source_id
            t = survivor if e.target_id == m else e.target_id
            if s != t:
                moved.append((e.type, {**{k: v for k, v in e.props.items() if k != "id"}, "source_id": s, "target_id": t}))
        old = ctx.existing.pop(m)
        target = ctx.existing.get(survivor)
        if target is not None:
            p, q = target.props, old.props
            update = {
                "merged_ids": sorted({*(p.get("merged_ids") or []), m, *(q.get("merged_ids") or [])}),
                "record_ids": sorted({*(p.get("record_ids") or []), *(q.get("record_ids") or [])}),
                "aliases": list(dict.fromkeys([*(p.get("aliases") or []), *[x for x in (q.get("name_zh"), q.get("name_en")) if x],
                                               *(q.get("aliases") or [])])),
                **{k: q[k] for k in ("name_zh", "name_en", "stock_code", "credit_code", "description", "website")
                   if q.get(k) and not p.get(k)},
            }
            ctx.writer.upsert_nodes(target.label, [{"id": survivor, **update}])
            p.update(update)
        ctx.writer.delete_nodes([m])
        for rel_type, row in moved:
            ctx.writer.upsert_edges(rel_type, [row])
        ctx.log.details.append({"op": "merged", "id": m, "into": survivor})

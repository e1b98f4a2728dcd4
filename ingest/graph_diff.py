"""The diff of a run's records against the graph, and its write: the ingest steps of a refresh.

In order (jobs/refresh.py lists them): `snapshot` reads the graph's nodes once, resolution merges
records (ingest.resolve), `link_places` turns city / province cells into LOCATED_IN edges,
`write_nodes` and `write_edges` write what was added or changed (unchanged facts are not written:
the version records which feeds the run read, kg.seen), and `mark_unseen` marks facts whose every feed ran without them. Nothing is deleted but the edges
staff retracted as wrong.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from ingest.context import Context
from ingest.derived_names import name_keys
from ingest.progress import progress
from ingest.records import EdgeRecord, NodeRecord, Rejection
from ingest.sources.staff_source import STAFF_FEED
from kg.gcpause import gc_paused
from kg.places import Gazetteer
from kg.run import BOOKKEEPING, content_hash, node_content_hash
from kg.schema import Schema, SchemaError
from kg.seen import record_feeds_seen
from kg.store import Node

NAME_FIELDS = ("name_zh", "name_en")  # what a key tie of another organisation repeats (matching.tie_summary)

__all__ = ["link_places", "mark_unseen", "snapshot", "write_edges", "write_nodes"]


@gc_paused()
def snapshot(ctx: Context) -> None:
    """Read the current nodes once; the diff and the unseen check both use it."""
    for label in ctx.schema.labels:
        for nodes in ctx.writer.iter_nodes(label, batch_size=20_000):
            ctx.existing.update((n.id, n) for n in nodes)


def link_places(ctx: Context) -> None:
    """Turn city / province / country cells into LOCATED_IN edges to Region nodes."""
    gaz = Gazetteer()
    regions = {n.id: n.props for n in ctx.existing.values() if n.label == "Region"}
    regions.update({r.id: r.props for r in ctx.batch.nodes if r.label == "Region"})
    parents = {e.source_id: e.target_id for e in ctx.batch.edges if e.type == "PART_OF" and e.source_id in regions}
    for rid, props in regions.items():
        names = [props.get("name_zh"), props.get("name_en"), *(props.get("aliases") or [])]
        gaz.add(rid, [n for n in names if n], props.get("level"), parents.get(rid))
    seen: set[tuple[str, str]] = set()
    located: dict[tuple[Any, ...], str | None] = {}  # a city is written the same way by thousands of rows
    for rec in ctx.batch.nodes:
        cells = [rec.props.get(k) for k in ("city", "province", "country", "district")]
        if rec.label == "Region" or not any(cells):
            continue
        where = tuple(cells)
        if where not in located:
            located[where] = gaz.locate(*cells)
        region = located[where]
        node_id = ctx.redirects.get(rec.id, rec.id)
        if region is None:
            ctx.log.details.append({"op": "unlinked_place", "id": rec.id, "where": rec.where,
                                    "place": " / ".join(c for c in cells if c)})
            continue
        if (node_id, region) not in seen:
            seen.add((node_id, region))
            ctx.batch.edges.append(EdgeRecord("LOCATED_IN", node_id, region, {}, rec.source, rec.feed, rec.where + " (city)"))


NAME_PROPS = ("name_zh", "name_en")
CODE_PROPS = {"stock_code": "stock_codes"}  # single code -> the list a second code goes to
STAMPED = ("evidence_tier", "as_of")  # provenance a source's manifest entry stamps on its records


def _merge_props(records: list[NodeRecord], old: dict[str, Any], schema: Schema, label: str, node_id: str = "") -> dict[str, Any]:
    """Later non-empty values win per property; lists are united. Absent cells never erase data.

    A record merged in under another id (entity resolution) does not replace the entity's names:
    its names become aliases, so every name stays searchable and the display name stays stable.
    A later record of the same id (another list naming the same stock code) does replace a name,
    and the name it replaces becomes an alias: the manifest's order says which name is shown.
    """
    spec = schema.label(label).props
    merged = {k: v for k, v in old.items() if k in spec or k in STAMPED}
    extra = json.loads(old.get("extra") or "{}")
    offered: dict[str, list[Any]] = defaultdict(list)  # names of the entity's own records, in order
    for rec in sorted(records, key=lambda r: r.id != node_id):  # the entity's own records first
        for k, v in rec.props.items():
            if v in (None, "", []):
                continue
            if k in NAME_PROPS and rec.id == node_id:
                offered[k].append(v)
                merged[k] = v
                continue
            if k not in spec and k in schema.provenance:  # the source's evidence tier and date
                merged[k] = v
                continue
            if k in CODE_PROPS and rec.id != node_id and merged.get(k) and merged[k] != v:
                plural = CODE_PROPS[k]  # a merged-in record's code joins the entity's other codes
                if plural in spec:
                    merged[plural] = list(dict.fromkeys([*(merged.get(plural) or []), v]))
                continue
            if k in NAME_PROPS and merged.get(k) and merged[k] != v:
                if "aliases" in spec:
                    merged["aliases"] = list(dict.fromkeys([*(merged.get("aliases") or []), v]))
                continue
            if spec[k].type == "string[]":
                merged[k] = list(dict.fromkeys([*(merged.get(k) or []), *v]))
            else:
                merged[k] = v
        extra.update(rec.extra)
    if "aliases" in spec:  # a name not shown stays an alias: another list's, or the one a source had before
        shown = {merged.get(k) for k in NAME_PROPS}
        others = [n for k in NAME_PROPS for n in [*offered[k], old.get(k)] if n and n not in shown]
        if others:
            merged["aliases"] = list(dict.fromkeys([*(merged.get("aliases") or []), *others]))
    merged["extra"] = json.dumps(extra, sort_keys=True, ensure_ascii=False) if extra else None
    return merged


@gc_paused()
def write_nodes(ctx: Context) -> None:
    groups: dict[str, list[NodeRecord]] = defaultdict(list)
    for rec in ctx.batch.nodes:
        groups[ctx.redirects.get(rec.id, rec.id)].append(rec)
    rows_by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    new_by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for node_id, records in progress(sorted(groups.items()), "nodes", unit="node"):
        label = records[0].label
        old = ctx.existing.get(node_id)
        old_props = old.props if old else {}
        from_sources = [r for r in records if r.feed != STAFF_FEED]
        base = {} if node_id in ctx.rebuild else old_props
        merged = _merge_props(from_sources, base, ctx.schema, label, node_id)
        if node_id in ctx.rebuild:  # a split: what only the records that left gave is cleared
            spec = ctx.schema.label(label).props
            merged.update({k: [] if spec[k].type == "string[]" else None for k in old_props
                           if k in spec and k not in merged and spec[k].hashed and not spec[k].doc.startswith("derived")})
        staff_values: dict[str, Any] = {}
        for rec in records:
            if rec.feed == STAFF_FEED:
                staff_values.update(rec.props)
        staff = sorted({*(old_props.get("staff_fields") or []), *staff_values})
        for f in staff:  # a value staff set by hand wins over the sources, and the log says where they differ
            want = staff_values.get(f, old_props.get(f))
            offered = [r.props[f] for r in from_sources if r.props.get(f) not in (None, "", [])]
            if offered and offered[-1] != want:
                ctx.log.disagreements.append({"id": node_id, "field": f, "staff": want, "source": offered[-1]})
            merged[f] = want
        if "pinyin" in ctx.schema.label(label).props:  # Documents have none: their titles were converted every run
            merged.update({k: v for k, v in name_keys(merged, old_props).items() if k in ctx.schema.label(label).props})
        feeds = sorted({*(old_props.get("feeds") or []), *(r.feed for r in records)})
        prov = {
            "source": old_props.get("source") or records[0].source,
            "sources": sorted({*(old_props.get("sources") or []), *(r.source for r in records)}),
            "source_record_id": old_props.get("source_record_id") or records[0].id,
            "record_ids": sorted({*(base.get("record_ids") or []), *(r.record_id for r in records)}),
            "merged_ids": sorted({*(base.get("merged_ids") or []), *(r.id for r in records if r.id != node_id)}),
            "feeds": feeds,
            "last_seen": ctx.run_id,
            "status": "active",
            "first_seen": old_props.get("first_seen") or ctx.run_id,
            "staff_fields": staff,
        }
        new_hash = node_content_hash({**merged, **prov}, ctx.schema.label(label).props)
        row = {"id": node_id, **merged, **prov, "content_hash": new_hash}
        if old is None:
            ctx.log.add(label, node_id)
            ctx.touched.add(node_id)
            ctx.renamed.add(node_id)
        elif old_props.get("content_hash") != new_hash or old_props.get("status") == "unseen":
            before = {k: old_props.get(k) for k in row if k not in BOOKKEEPING and k not in ("last_seen", "extra")}
            after = {k: row.get(k) for k in before}
            ctx.log.change(label, node_id, before, after)
            ctx.touched.add(node_id)
            if any(old_props.get(k) != row.get(k) for k in NAME_FIELDS) or old_props.get("status") == "unseen":
                ctx.renamed.add(node_id)
        else:
            row = {"id": node_id, "last_seen": ctx.run_id, "feeds": feeds}
            if feeds == sorted(old_props.get("feeds") or []) and set(feeds) <= ctx.batch.feeds:
                old_props["last_seen"] = ctx.run_id  # in the snapshot only: seen (kg.seen reads it from feeds_seen)
                continue
        (new_by_label if old is None else rows_by_label)[label].append(row)
        ctx.existing[node_id] = Node(node_id, label, {**old_props, **{k: v for k, v in row.items() if k != "id"}})
    for label, rows in new_by_label.items():
        ctx.writer.create_nodes(label, rows)  # not in the snapshot: known not to exist yet
    for label, rows in rows_by_label.items():
        ctx.writer.upsert_nodes(label, rows)


@gc_paused()
def write_edges(ctx: Context) -> None:
    """Validate ends, then write added and changed edges; unchanged ones only get last_seen."""
    existing = ctx.read_edges()
    retracted = _retracted_keys(ctx)
    merged: dict[str, dict[str, Any]] = {}
    for rec in ctx.batch.edges:
        if rec.retracted:
            continue
        s, t = ctx.redirects.get(rec.source_id, rec.source_id), ctx.redirects.get(rec.target_id, rec.target_id)
        file, _, row = rec.where.partition(":")
        row_no = int(row.split(" ")[0]) if row[:1].isdigit() else 0
        ends = [ctx.existing.get(s), ctx.existing.get(t)]
        if ends[0] is None or ends[1] is None:
            which = "source_id" if ends[0] is None else "target_id"
            ctx.batch.rejected.append(Rejection(rec.feed, file, row_no, which, "edge to an unknown node", s if ends[0] is None else t))
            continue
        try:
            rel = ctx.schema.check_edge(rec.type, ends[0].label, ends[1].label)
        except SchemaError as exc:
            ctx.batch.rejected.append(Rejection(rec.feed, file, row_no, exc.field, exc.reason))
            continue
        if rel.symmetric and t < s:
            s, t = t, s
        key = f"{s}|{rec.type}|{t}"
        if key in retracted:  # staff said the fact is wrong: no source brings it back
            continue
        cur = merged.get(key)
        if cur is None:
            cur = merged[key] = {"type": rec.type, "source_id": s, "target_id": t, "props": {}, "sources": set(), "feeds": set(), "extra": {}}
        cur["props"].update({k: v for k, v in rec.props.items() if v not in (None, "")})
        cur["sources"].add(rec.source)
        cur["feeds"].add(rec.feed)
        cur["extra"].update(rec.extra)
    rows_by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    new_by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    ran = ctx.batch.feeds
    for key, e in progress(sorted(merged.items()), "edges", unit="edge"):
        old = existing.get(key, {})
        if old and _seen_unchanged(e, old, ran):
            old["last_seen"] = ctx.run_id  # in the snapshot only: seen (kg.seen reads it from feeds_seen)
            continue
        props = {k: old.get(k) for k in ctx.schema.edge_props if old.get(k) is not None}
        props.update(e["props"])
        extra = {**json.loads(old.get("extra") or "{}"), **e["extra"]}
        props["extra"] = json.dumps(extra, sort_keys=True, ensure_ascii=False) if extra else None
        sources = sorted({*(old.get("sources") or []), *e["sources"]})
        feeds = sorted({*(old.get("feeds") or []), *e["feeds"]})
        new_hash = content_hash({**props, "sources": sources})
        row = {"source_id": e["source_id"], "target_id": e["target_id"], **props, "sources": sources,
               "source": old.get("source") or sorted(e["sources"])[0], "feeds": feeds, "last_seen": ctx.run_id,
               "status": "active", "first_seen": old.get("first_seen") or ctx.run_id, "content_hash": new_hash}
        if not old:
            ctx.log.add(e["type"], key)
            new_by_type[e["type"]].append(row)
            existing[key] = {**row, "_pair": (e["source_id"], e["target_id"])}
            continue
        elif old.get("content_hash") != new_hash or old.get("status") == "unseen":
            ctx.log.change(e["type"], key, {k: old.get(k) for k in props}, props)
        else:
            row = {"source_id": e["source_id"], "target_id": e["target_id"], "last_seen": ctx.run_id, "feeds": feeds}
        rows_by_type[e["type"]].append(row)
        existing[key] = {**old, **row, "_pair": (e["source_id"], e["target_id"])}
    for rel_type, rows in new_by_type.items():
        ctx.writer.create_edges(rel_type, rows)  # diffed above: known not to exist yet
    for rel_type, rows in rows_by_type.items():
        ctx.writer.upsert_edges(rel_type, rows)
    _delete_retracted(ctx, retracted)


def _retracted_keys(ctx: Context) -> set[str]:
    """Keys of the edges staff retracted, with merged ends redirected and symmetric ends ordered
    as write_edges orders them."""
    out = set()
    for rec in ctx.batch.edges:
        if not rec.retracted or rec.type not in ctx.schema.relationships:
            continue
        s, t = ctx.redirects.get(rec.source_id, rec.source_id), ctx.redirects.get(rec.target_id, rec.target_id)
        if ctx.schema.relationships[rec.type].symmetric and t < s:
            s, t = t, s
        out.add(f"{s}|{rec.type}|{t}")
    return out


def _delete_retracted(ctx: Context, retracted: set[str]) -> None:
    """Retracted edges leave the graph (the workspace keeps who retracted them, when and why);
    their ends count as touched, so derived summaries of them are redone."""
    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in sorted(retracted & set(ctx.existing_edges)):
        old = ctx.existing_edges.pop(key)
        s, rel_type, t = key.split("|")
        pairs[rel_type].append((s, t))
        ctx.touched.update((s, t))
        ctx.renamed.update((s, t))
        ctx.log.change(rel_type, key, {"status": old.get("status") or "active"}, {"status": "retracted"})
    for rel_type, rows in pairs.items():
        ctx.writer.delete_edges(rel_type, rows)


def _seen_unchanged(e: dict[str, Any], old: dict[str, Any], ran: set[str]) -> bool:
    """What a source says of an edge is already in the graph: no write, its last_seen is read
    from the feeds the run read (kg.seen). Checked without building the merged row or its content hash: for a refresh that
    changed 1% of a million edges, building them was most of the edge step. Equivalent to the
    full diff finding the same content hash and feeds, as long as the stored hash is the hash of
    the stored properties (the refresh writes them together). An edge whose feeds did not all run
    is written (with this run's last_seen), since the feeds record speaks only for all of them."""
    if old.get("status") == "unseen" or not e["feeds"] <= set(old.get("feeds") or ()) or not e["sources"] <= set(old.get("sources") or ()):
        return False
    if not set(old.get("feeds") or ()) <= ran or any(old.get(k) != v for k, v in e["props"].items()):
        return False
    if e["extra"]:
        stored = json.loads(old.get("extra") or "{}")
        return all(stored.get(k) == v for k, v in e["extra"].items())
    return True


@gc_paused()
def mark_unseen(ctx: Context) -> None:
    """Facts whose every feed ran without them are marked unseen, never deleted; the feeds this
    run read completely are recorded with the version (kg.seen), not on every fact they gave."""
    ran = ctx.batch.feeds
    node_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for node in ctx.existing.values():
        p = node.props
        if p.get("last_seen") == ctx.run_id or p.get("status") == "unseen":  # the usual case first: seen
            continue
        feeds = set(p.get("feeds") or [])
        if feeds and feeds <= ran:
            ctx.log.mark_unseen(node.label, node.id)
            node_rows[node.label].append({"id": node.id, "status": "unseen"})
            p["status"] = "unseen"  # the derive steps read the snapshot: no vector for an unseen node
    for label, rows in node_rows.items():
        ctx.writer.upsert_nodes(label, rows)
    edge_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key, p in ctx.existing_edges.items():
        if p.get("last_seen") == ctx.run_id or p.get("status") == "unseen":
            continue
        feeds = set(p.get("feeds") or [])
        if feeds and feeds <= ran:
            rel_type = key.split("|")[1]
            ctx.log.mark_unseen(rel_type, key)
            s, t = p["_pair"]
            edge_rows[rel_type].append({"source_id": s, "target_id": t, "status": "unseen"})
            p["status"] = "unseen"
    for rel_type, rows in edge_rows.items():
        ctx.writer.upsert_edges(rel_type, rows)
    # every unchanged fact that was seen: not written; the version records that this run read
    # these feeds completely (kg.seen), which is what its last_seen is read from
    record_feeds_seen(ctx.writer.data_dir, ran, ctx.run_id)

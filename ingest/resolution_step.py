"""The resolution step of a refresh: duplicate ids, then entity resolution of organisations.

Within one file an id may appear once (a second row is rejected, naming the first). The same id
from two sources is one entity by definition. Different ids that are the same organisation are
found by ingest.resolve; the refresh then writes one node under the surviving id and keeps the
other ids as redirects, so old links keep working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.records import NodeRecord, Rejection

if TYPE_CHECKING:
    from ingest.context import Context


def reject_duplicates(ctx: Context) -> None:
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
    from ingest.resolve.step import resolve_organizations

    reject_duplicates(ctx)
    resolve_organizations(ctx)

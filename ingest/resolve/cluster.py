"""From decisions to entities: clusters are a pure function of the decision table.

How: 'same' decisions are edges, taken strongest first (manual, then shared codes, then by
score) into a union-find; an edge is refused when it would put into one cluster two records
judged not the same, or two different codes that only one organisation can hold (credit codes,
two A-share codes). Taking edges strongest first is what "cut the weakest link on the path"
means: of the links joining two records kept apart, the weakest is the one left out. Manual
'same' rows come first, so only another manual row can stop them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ingest.resolve.blocking import block_keys
from ingest.resolve.decisions import Decision, DecisionTable, Judgement, Origin
from ingest.resolve.features import RecordFeatures, features
from ingest.resolve.incremental import ResolveState, fingerprint, plan_pairs, record_hash
from ingest.resolve.keys import CREDIT, exclusive_groups, key_conflicts
from ingest.resolve.resolution import Clustering, Resolution
from ingest.resolve.score import Evidence, compare
from ingest.resolve.settings import ResolveSettings
from kg.gcpause import gc_paused

__all__ = ["Clustering", "cluster_decisions", "resolve"]


def _edge_order(d: Decision) -> tuple:
    """Manual rows first, then shared codes, then by score; ids break ties, so order is total."""
    by_key = bool(d.evidence) and d.evidence[0].feature == "shared_key"
    tier = 0 if d.origin is Origin.MANUAL else 1 if by_key else 2
    return (tier, -(d.score or 0.0), d.record_a, d.record_b)


def cluster_decisions(record_ids: Iterable[str], table: DecisionTable,
                      exclusive: Mapping[str, Mapping[str, frozenset[str]]] | None = None) -> Clustering:
    """Union-find over 'same' rows, refusing joins across 'not_same' rows or exclusive codes."""
    ids = sorted(set(record_ids))
    parent = {r: r for r in ids}
    members = {r: [r] for r in ids}
    forbidden: dict[str, set[str]] = {r: set() for r in ids}
    codes: dict[str, dict[str, frozenset[str]]] = {r: dict((exclusive or {}).get(r, {})) for r in ids}
    same: list[Decision] = []
    for d in table.effective():
        if d.record_a not in parent or d.record_b not in parent:
            continue  # about a record not in this run: kept in the table, no effect here
        if d.judgement is Judgement.NOT_SAME:
            forbidden[d.record_a].add(d.record_b)
            forbidden[d.record_b].add(d.record_a)
        elif d.judgement is Judgement.SAME:
            same.append(d)

    def find(r: str) -> str:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    used: list[Decision] = []
    refused: list[tuple[Decision, str]] = []
    for d in sorted(same, key=_edge_order):
        ra, rb = find(d.record_a), find(d.record_b)
        if ra == rb:
            continue
        if len(members[ra]) < len(members[rb]):
            ra, rb = rb, ra
        blocked = next(((m, o) for m in members[rb] for o in sorted(forbidden[m]) if find(o) == ra), None)
        if blocked:
            refused.append((d, f"would join {blocked[0]} and {blocked[1]}, judged not the same"))
            continue
        clash = [g for g in codes[ra].keys() & codes[rb].keys() if not codes[ra][g] & codes[rb][g]]
        if clash and d.origin is Origin.AUTO:
            detail = "; ".join(f"{g} {sorted(codes[ra][g])} vs {sorted(codes[rb][g])}" for g in sorted(clash))
            refused.append((d, f"would join different codes: {detail}"))
            continue
        parent[rb] = ra
        members[ra].extend(members.pop(rb))
        for g, values in codes.pop(rb).items():
            codes[ra][g] = codes[ra].get(g, frozenset()) | values
        used.append(d)
    clusters = sorted(tuple(sorted(m)) for m in members.values())
    return Clustering(tuple(clusters), tuple(used), tuple(refused))


def _key_decisions(feats: Sequence[RecordFeatures]) -> tuple[list[Decision], set[tuple[str, str]]]:
    """Shared codes link records directly: a star from the smallest id of each key group."""
    groups: dict[str, list[RecordFeatures]] = {}
    for f in feats:
        for key in f.strong_keys:
            groups.setdefault(key, []).append(f)
    rows, linked = [], set()
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda f: f.record_id)
        hub = group[0]
        for other in group[1:]:
            pair = (hub.record_id, other.record_id)
            if pair in linked or any(c.startswith(CREDIT) for c in key_conflicts(hub.keys, other.keys)):
                continue
            linked.add(pair)
            shared = sorted(hub.strong_keys & other.strong_keys)
            rows.append(Decision(*pair, Judgement.SAME, Origin.AUTO, f"shared {', '.join(shared)}", 1.0,
                                 tuple(Evidence("shared_key", 1.0, f"both have {k}") for k in shared)))
    return rows, linked


def resolve(records: Iterable[Mapping[str, Any]], overrides: Iterable[Decision] = (),
            settings: ResolveSettings | None = None, previous: Mapping[str, str] | None = None,
            state: ResolveState | None = None) -> Resolution:
    """Resolve records into entities.

    records: dicts with record_id ("source:id"), source, name_zh, name_en, aliases (list) and
    optionally stock_code, credit_code, city, sectors (list), kind.
    overrides: manual decisions (load_overrides); they win over automatic ones.
    previous: an earlier Resolution.id_map(), so ids of records since removed still resolve.
    state: an earlier Resolution.state: only pairs its changes can affect are scored again
    (ingest.resolve.incremental); the result is the same as without it.

    >>> r = resolve([{"record_id": "a:1", "source": "a", "name_zh": "中芯国际"},
    ...              {"record_id": "b:1", "source": "b", "name_zh": "中芯国际集成电路制造有限公司"}])
    >>> r.canonical("a:1") == r.canonical("b:1")
    True
    """
    s = settings or ResolveSettings()
    records = list(records)
    with gc_paused():
        return _resolve(records, list(overrides), s, previous, state)


def _resolve(records: list[Mapping[str, Any]], overrides: list[Decision], s: ResolveSettings,
             previous: Mapping[str, str] | None, state: ResolveState | None) -> Resolution:
    feats = [features(r, s, with_names=False) for r in records]  # names only where a pair is scored
    ids = [f.record_id for f in feats]
    seen: set[str] = set()
    for rid in ids:
        if rid in seen:
            raise ValueError(f"duplicate record_id {rid!r}")
        seen.add(rid)
    fp = fingerprint(s)
    old = state if state is not None and state.fingerprint == fp else None
    hashes = [record_hash(r) for r in records]
    full: dict[int, RecordFeatures] = {}

    def full_features(i: int) -> RecordFeatures:
        if i not in full:
            full[i] = feats[i] = features(records[i], s)
        return full[i]

    keys: list[frozenset[str]] = []
    for i, rid in enumerate(ids):
        if old is not None and old.hashes.get(rid) == hashes[i]:
            keys.append(old.block_keys(rid))
        else:
            keys.append(frozenset(block_keys(full_features(i))))
    table = DecisionTable()
    key_rows, linked = _key_decisions(feats)
    for row in key_rows:
        table.add(row)
    plan = plan_pairs(ids, hashes, keys, linked, old, s.max_block_size)
    scored: list[Decision] = list(plan.keep)
    for i, j in plan.score:
        if ids[j] < ids[i]:
            i, j = j, i  # score in id order: the same evidence whatever the records' order
        c = compare(full_features(i), full_features(j), s)
        if c.conflicts:
            judgement = Judgement.NOT_SAME
        elif c.score >= s.same_threshold:
            judgement = Judgement.SAME
        elif c.score >= s.unsure_threshold:
            judgement = Judgement.UNSURE
        else:
            continue
        scored.append(Decision(ids[i], ids[j], judgement, Origin.AUTO, c.reason, c.score, c.evidence))
    scored.sort(key=lambda d: d.pair)
    for row in scored:
        table.add(row)
    for row in overrides:
        if row.origin is not Origin.MANUAL:
            row = Decision(row.record_a, row.record_b, row.judgement, Origin.MANUAL, row.reason, row.score,
                           row.evidence, row.who, row.when)
        table.add(row)
    exclusive = {f.record_id: exclusive_groups(f.keys) for f in feats}
    clustering = cluster_decisions(seen, table, exclusive)
    result = Resolution.build(records, feats, table, clustering, s, previous)
    result.state = ResolveState(fp, dict(zip(ids, hashes, strict=True)), {rid: ResolveState.joined(k) for rid, k in zip(ids, keys, strict=True)},
                                {d.pair: d for d in scored}, linked)
    result.scored = len(plan.score)
    return result

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
    by_key = _by_code(d)
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


def one_to_one(table: DecisionTable, sources: Mapping[str, str], ambiguity_margin: float, unique_margin: float,
               unique_threshold: float) -> list[Decision]:
    """Automatic rows to change because a source lists an organisation once.

    sources: each record's source (its `source` field: the refresh passes node ids, which do
    not start with the source, so the id cannot tell).

    For a record r and another source X, r's candidates in X are ranked by score (rows judged
    same, unsure or below, and shared codes at 1.0: a record of X that shares r's code is r's
    organisation in X, so no other record of X is the only good match; manual rows and
    contradictions apart), leaving out candidates judged the same as the best one, or unsure
    (X's own duplicates: a news feed names 中微公司 and 中微半导体 in two items). Then:
    - a 'same' row is sent to review ('unsure') unless it is the best of r in X by at least
      `ambiguity_margin` ("Huaxin Semiconductor" matching both 华新 and 华芯 of one list), seen
      from either end, or the one-to-one pairing of the two sources' 'same' rows settles it
      (its rival clearly matches another record: `_assignment_lead`);
    - an 'unsure' row scoring at least `unique_threshold` is promoted to 'same' when it is the
      best of r in X and r the best of its partner in r's source, each by at least
      `unique_margin` over the runner-up: the only good candidate on both sides (a firm's full
      name and the one short name that abbreviates it), and the best of each over all sources
      as well. Only rows the learned model scored and
      nothing held down (a cap, a refused code) are promoted, and never two records of one
      source (which lists each organisation once).
    Only rows the learned model scored are changed (its thresholds were chosen with this rule in
    force); rows of every kind count as rivals. A pure function of the decision table, so
    incremental runs stay exact.
    """
    def _source(record_id: str) -> str:
        return sources.get(record_id) or record_id.split(":", 1)[0]

    ranked: dict[tuple[str, str], list[Decision]] = {}
    for d in table.effective():
        if d.origin is Origin.AUTO and d.judgement in RANKED:
            for rid in d.pair:
                ranked.setdefault((rid, _source(d.other(rid))), []).append(d)
                ranked.setdefault((rid, ANY_SOURCE), []).append(d)
    lead: dict[tuple[str, str], tuple[set[tuple[str, str]], float]] = {}  # (record, source) -> best rows, lead
    for key, rows in ranked.items():
        rows.sort(key=lambda d: (-(d.score or 0.0), d.pair))
        top, equal, rivals = rows[0], {rows[0].pair}, []
        for d in rows[1:]:
            kin = (table.get(top.other(key[0]), d.other(key[0])) or _NONE).judgement
            (equal.add(d.pair) if kin in (Judgement.SAME, Judgement.UNSURE) else rivals.append(d))
        lead[key] = (equal, (top.score or 0.0) - (rivals[0].score or 0.0 if rivals else 0.0))
    out: dict[tuple[str, str], Decision] = {}
    for d in table.effective():
        if d.origin is not Origin.AUTO or d.judgement not in (Judgement.SAME, Judgement.UNSURE) or not _learned(d):
            continue
        ends = [lead.get((rid, _source(d.other(rid)))) for rid in d.pair]
        best = all(e is not None and d.pair in e[0] for e in ends)
        margin = min(e[1] for e in ends) if best else 0.0  # type: ignore[index]
        if d.judgement is Judgement.SAME and (not best or margin < ambiguity_margin):
            settled = _assignment_lead(d, table, _source, ambiguity_margin)
            if settled >= ambiguity_margin:
                why = (f"the one-to-one pairing of the two sources' clear matches puts these together "
                       f"(lead {settled:.2f} over any pairing without them)")
                out[d.pair] = Decision(d.record_a, d.record_b, Judgement.SAME, Origin.AUTO, why, d.score,
                                       (Evidence("assigned", d.score or 0.0, why), *d.evidence))
                continue
            why = ("ambiguous: another record of the same source matches as well or better "
                   f"(lead {margin:.2f} < {ambiguity_margin:.2f})")
            out[d.pair] = Decision(d.record_a, d.record_b, Judgement.UNSURE, Origin.AUTO, why, d.score,
                                   (Evidence("ambiguous", d.score or 0.0, why), *d.evidence))
        elif (d.judgement is Judgement.UNSURE and best and margin >= unique_margin and _alone(d, lead, unique_margin)
              and _source(d.record_a) != _source(d.record_b)
              and (d.score or 0.0) >= unique_threshold and _promotable(d)):
            why = f"the only good match on both sides (lead {margin:.2f} over the runner-up)"
            out[d.pair] = Decision(d.record_a, d.record_b, Judgement.SAME, Origin.AUTO, why, d.score,
                                   (Evidence("unique", d.score or 0.0, why), *d.evidence))
    return [out[p] for p in sorted(out)]


MAX_ASSIGNMENT = 40  # records of one group of clear matches the pairing solves; a larger group stays ambiguous


def _assignment_lead(d: Decision, table: DecisionTable, source_of, margin: float) -> float:
    """How much better the best one-to-one pairing of two sources' clear matches is with this
    pair than without it; 0 when it is in no best pairing, or when a rival as good (within
    `margin`) is not paired with another record in it.

    Why: a list names a firm once, so 新希望 matching both 新希望六和 and 新希望乳业 is ambiguous
    alone, but not when 新乳业 clearly matches 新希望乳业: the pairing that uses each record once
    settles it. Only rows judged the same make the pairing (an unsure row settles nothing, and
    a rival that only an unsure row would take keeps the pair ambiguous), among the records of
    the two sources the pair joins, in the group such rows connect; a pairing exists only when
    that group is small, else the pair stays for review."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    sides = (source_of(d.record_a), source_of(d.record_b))
    if sides[0] == sides[1]:
        return 0.0
    weights: dict[tuple[str, str], float] = {}
    seen, todo = {d.record_a, d.record_b}, [d.record_a, d.record_b]
    while todo:
        rid = todo.pop()
        for row in table.for_record(rid):
            other = row.other(rid)
            if row.judgement is not Judgement.SAME or {source_of(rid), source_of(other)} != set(sides):
                continue
            x, y = (rid, other) if source_of(rid) == sides[0] else (other, rid)
            weights[(x, y)] = row.score if row.score is not None else 1.0
            if other not in seen:
                seen.add(other)
                todo.append(other)
                if len(seen) > MAX_ASSIGNMENT:
                    return 0.0
    xs = sorted({x for x, _ in weights})
    ys = sorted({y for _, y in weights})
    w = np.zeros((len(xs), len(ys)))
    for (x, y), v in weights.items():
        w[xs.index(x), ys.index(y)] = v
    a, b = (d.record_a, d.record_b) if source_of(d.record_a) == sides[0] else (d.record_b, d.record_a)
    rows, cols = linear_sum_assignment(w, maximize=True)
    best = w[rows, cols].sum()
    paired = {xs[i]: ys[j] for i, j in zip(rows, cols, strict=True) if w[i, j] > 0}
    paired |= {y: x for x, y in list(paired.items())}
    if paired.get(a) != b:
        return 0.0
    for rid in (a, b):
        for row in table.for_record(rid):
            rival = row.other(rid)
            if (row.pair != d.pair and row.judgement in RANKED and source_of(rival) in sides
                    and (row.score or 0.0) >= (d.score or 0.0) - margin and paired.get(rival) in (None, rid)):
                return 0.0
    w[xs.index(a), ys.index(b)] = 0.0  # without this pair: as if they did not match
    rows, cols = linear_sum_assignment(w, maximize=True)
    return float(best - w[rows, cols].sum())


RANKED = (Judgement.SAME, Judgement.UNSURE, Judgement.BELOW)
ANY_SOURCE = "\x00any"  # the ranking of a record's candidates over every source


def _alone(d: Decision, lead: dict[tuple[str, str], tuple[set[tuple[str, str]], float]], margin: float) -> bool:
    """The pair is each record's best candidate over all sources too, by the margin: a news
    item's "Tongzhang Equipment" is not promoted to 通长智能科技 of one list when 通长精密装备
    of another list matches it as well."""
    return all(d.pair in lead[(rid, ANY_SOURCE)][0] and lead[(rid, ANY_SOURCE)][1] >= margin for rid in d.pair)
# Evidence that a pair was held down on purpose (a contradiction, a refused code): such a pair is
# never promoted as the only good match, however alone it stands.
HELD_DOWN = frozenset({"capped", "local_unit", "registered_names", "group_vs_listed", "group_vs_firm", "code_conflict",
                       "bad_input", "ambiguous"})


def _learned(d: Decision) -> bool:
    """Scored by the learned model, whose thresholds were chosen with this rule in force; pairs
    the hand-set evidence settles (equal names, two Latin names, codes) are left as they are."""
    return bool(d.evidence) and d.evidence[0].feature == "model"


def _promotable(d: Decision) -> bool:
    """Scored by the learned model and held down by nothing but its own probability."""
    return _learned(d) and not any(e.feature in HELD_DOWN for e in d.evidence)


def _by_code(d: Decision) -> bool:
    return bool(d.evidence) and d.evidence[0].feature == "shared_key"


_NONE = Decision("~a", "~b", Judgement.BELOW, Origin.AUTO)


def resolve(records: Iterable[Mapping[str, Any]], overrides: Iterable[Decision] = (),
            settings: ResolveSettings | None = None, previous: Mapping[str, str] | None = None,
            state: ResolveState | None = None, scores_out: dict[tuple[str, str], float] | None = None) -> Resolution:
    """Resolve records into entities.

    records: dicts with record_id ("source:id"), source, name_zh, name_en, aliases (list) and
    optionally stock_code, credit_code, city, sectors (list), kind.
    overrides: manual decisions (load_overrides); they win over automatic ones.
    previous: an earlier Resolution.id_map(), so ids of records since removed still resolve.
    state: an earlier Resolution.state: only pairs its changes can affect are scored again
    (ingest.resolve.incremental); the result is the same as without it.
    scores_out: when given, filled with the score of every pair scored in this run, also those
    too low to keep (evaluation ranks candidates with it).

    >>> r = resolve([{"record_id": "a:1", "source": "a", "name_zh": "中芯国际"},
    ...              {"record_id": "b:1", "source": "b", "name_zh": "中芯国际集成电路制造有限公司"}])
    >>> r.canonical("a:1") == r.canonical("b:1")
    True
    """
    s = settings or ResolveSettings()
    records = list(records)
    with gc_paused():
        return _resolve(records, list(overrides), s, previous, state, scores_out)


def _resolve(records: list[Mapping[str, Any]], overrides: list[Decision], s: ResolveSettings,
             previous: Mapping[str, str] | None, state: ResolveState | None,
             scores_out: dict[tuple[str, str], float] | None = None) -> Resolution:
    fp = fingerprint(s)
    old = state if state is not None and state.fingerprint == fp else None
    hashes = [record_hash(r) for r in records]
    # Names (parsing and pinyin, most of the cost) only for records whose earlier decisions
    # cannot be reused: the others get theirs if one of their pairs is scored (full_features).
    reused = [old is not None and old.hashes.get(str(r.get("record_id"))) == h for r, h in zip(records, hashes, strict=True)]
    feats = [features(r, s, with_names=not again) for r, again in zip(records, reused, strict=True)]
    full: dict[int, RecordFeatures] = {i: f for i, f in enumerate(feats) if not reused[i]}
    ids = [f.record_id for f in feats]
    seen: set[str] = set()
    for rid in ids:
        if rid in seen:
            raise ValueError(f"duplicate record_id {rid!r}")
        seen.add(rid)

    def full_features(i: int) -> RecordFeatures:
        if i not in full:
            full[i] = feats[i] = features(records[i], s)
        return full[i]

    keys: list[frozenset[str]] = []
    for i, rid in enumerate(ids):
        if reused[i]:
            keys.append(old.block_keys(rid))  # type: ignore[union-attr]
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
        if scores_out is not None:
            scores_out[(ids[i], ids[j])] = c.score
        if c.conflicts:
            judgement = Judgement.NOT_SAME
        elif c.score >= s.same_threshold:
            judgement = Judgement.SAME
        elif c.score >= s.unsure_threshold:
            judgement = Judgement.UNSURE
        elif c.score >= s.keep_below and c.score > 0:
            judgement = Judgement.BELOW
        else:
            continue
        scored.append(Decision(ids[i], ids[j], judgement, Origin.AUTO, c.reason, c.score, c.evidence))
    scored.sort(key=lambda d: d.pair)
    for row in scored:
        table.add(row)
    sources = {f.record_id: f.source for f in feats}
    for row in one_to_one(table, sources, s.ambiguity_margin, s.unique_margin, s.unique_threshold):
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

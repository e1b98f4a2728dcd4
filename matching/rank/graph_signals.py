"""Graph signals that predict links, each one named signal with its own reason.

They read only what one call already fetched (the candidates' and the anchors' key ties, the
sector summaries the refresh wrote: `related_json`, `member_count`) and the cached trees, never
walking edges in the call, so a recommendation stays bounded at 1,000,000 organisations.

- tree_distance: providers of the same chain link, its parent, children and siblings, 0.5 ** the
  number of steps between the candidate's link and the target's in the sector tree.
- item_cf: item-based collaborative filtering. For a chain link: the candidate's links weighted
  by how much their firms overlap the target link's (cosine of the member sets, summarised at
  refresh). For a relation from an organisation X: organisations Y that share counterparts with
  X (cosine of the counterpart sets), summed over the candidate's ties to such Y.
- co_neighbours: user-based: the candidate shares counterparts with X's known counterparts
  (co-investors of a company's investors, partners of partners, firms of the same links).
- diffusion: personalised PageRank from the target and its anchors over the bounded neighbourhood
  fetched for the call (two steps), so a candidate reached by many short paths ranks higher.
- popularity: the candidate's known ties and memberships (log-scaled); family_popularity: the
  same, only for candidates in the target's sector family (the top-level branch of its tree).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from functools import lru_cache

import numpy as np

from matching.evidence import Evidence
from matching.facts import Facts, Tie, Trees
from matching.signals import SignalContext, SignalValue

PARTNER_RELS = ("PARTNERS_WITH", "SUPPLIES", "INVESTS_IN")  # what 'partners' of a project or firm means
CF_ITEMS = 100  # organisations Y sharing counterparts with the target whose own ties are fetched
DIFFUSION_RESTART = 0.3
DIFFUSION_STEPS = 3


def rels_of(cx: SignalContext) -> tuple[str, ...]:
    if cx.rel == "ACTIVE_IN":
        return ("ACTIVE_IN",)
    return (cx.rel,) if cx.rel else PARTNER_RELS


def counterparts(f: Facts, node: str, rels: tuple[str, ...], cx: SignalContext) -> dict[str, tuple[float, Tie]]:
    """A node's counterparts by the question's relations, either direction, with each tie's weight
    (kept per call: CF, co-neighbours and candidate generation read the same nodes)."""
    key = (node, rels, id(f))
    cached = cx.counterparts_cache.get(key)
    if cached is not None:
        return cached
    out: dict[str, tuple[float, Tie]] = {}
    for tie in f.ties.get(node, ()):
        if tie.type in rels and tie.other != node:
            w = cx.w(tie)
            if w > 0 and w > out.get(tie.other, (0.0, tie))[0]:
                out[tie.other] = (w, tie)
    cx.counterparts_cache[key] = out
    return out


def cf_items(cx: SignalContext) -> Counter[str]:
    """Y -> how many of the target's anchors are tied to it (the cosine's numerator); the
    recommender fetches the best CF_ITEMS of them and takes their counterparts as candidates."""
    rels = rels_of(cx)
    shared: Counter[str] = Counter()
    for a in cx.anchors:
        for y, (w, _) in counterparts(cx.facts, a, rels, cx).items():
            if y != cx.t.id and y not in cx.anchors:
                shared[y] += w
    return shared


def _sector_similar(cx: SignalContext) -> dict[str, tuple[float, str, int]]:
    """Sector Y -> (best cosine with one of the target's sectors, that sector, shared firms)."""
    out: dict[str, tuple[float, str, int]] = {}
    for ts in sorted(cx.t.sectors):
        for y, cos, shared in related_of(cx.sector_props.get(ts, {}).get("related_json")):
            if cos > out.get(y, (0.0, "", 0))[0]:
                out[y] = (cos, ts, shared)
    return out


@lru_cache(maxsize=20_000)
def related_of(text: str | None) -> tuple[tuple[str, float, int], ...]:
    return tuple((y, float(c), int(n)) for y, c, n in json.loads(text)) if text else ()


def item_cf(cx: SignalContext, cands: list[str]) -> dict[str, SignalValue]:
    f, tr, t = cx.facts, cx.tr, cx.t
    out: dict[str, SignalValue] = {}
    if cx.rel == "ACTIVE_IN" or t.label == "Project":
        similar = _sector_similar(cx)
        for c in cands:
            best, value = None, 0.0
            for s in sorted(f.sectors(c)):  # in order: a tie names the same link in every process
                if s in similar and s not in t.sectors:
                    value += similar[s][0]
                    if best is None or similar[s][0] > similar[best][0]:
                        best = s
            ev = []
            if best is not None:
                cos, ts, _ = similar[best]
                ev = [Evidence("sector_cf", other=best, other_zh=tr.name(best, "zh"), other_en=tr.name(best, "en"), value=cos,
                               target_zh=tr.name(ts, "zh"), target_en=tr.name(ts, "en"))]
            out[c] = SignalValue(value, ev)
        return out
    rels = rels_of(cx)
    n_x = max(1, len(cx.anchors))
    shared = cf_items(cx)
    sim = {}
    for y, k in shared.items():
        n_y = len(counterparts(f, y, rels, cx)) if y in f.props else k
        sim[y] = k / math.sqrt(n_x * max(n_y, k, 1))
    for c in cands:
        value, best = 0.0, None
        for y, (w, tie) in counterparts(f, c, rels, cx).items():
            if y in sim:
                value += w * sim[y]
                if best is None or sim[y] > sim[best[0]]:
                    best = (y, tie)
        ev = []
        if best is not None:
            y, tie = best
            ev = [Evidence("item_cf", rel=tie.type, direction=tie.direction, other=y, other_zh=tie.other_name,
                           other_en=tie.other_name_en, count=round(shared[y]), target_zh=t.name, target_en=t.name_en)]
        out[c] = SignalValue(value, ev)
    return out


def co_neighbours(cx: SignalContext, cands: list[str]) -> dict[str, SignalValue]:
    f, t = cx.facts, cx.t
    rels = rels_of(cx)
    their: Counter[str] = Counter()  # what the anchors are tied to, and by how many of them
    for a in cx.anchors:
        for y in counterparts(f, a, rels, cx):
            if y != t.id:
                their[y] += 1
    out: dict[str, SignalValue] = {}
    for c in cands:
        mine = counterparts(f, c, rels, cx)
        common = [(their[y] * w, y, tie) for y, (w, tie) in mine.items() if y in their and y not in t.sectors]
        if not common:
            out[c] = SignalValue(0.0)
            continue
        common.sort(key=lambda x: (-x[0], x[1]))
        value = sum(x[0] for x in common) / math.sqrt(max(1, len(mine)))
        _, y, tie = common[0]
        out[c] = SignalValue(value, [Evidence("co_neighbour", rel=tie.type, direction=tie.direction, other=y,
                                              other_zh=tie.other_name, other_en=tie.other_name_en, count=len(common),
                                              target_zh=t.name, target_en=t.name_en)])
    return out


def diffusion(cx: SignalContext, cands: list[str]) -> dict[str, SignalValue]:
    f, t = cx.facts, cx.t
    rels = set(rels_of(cx)) | {"ACTIVE_IN", "SUBSIDIARY_OF", *PARTNER_RELS}
    index: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    weights: list[float] = []
    for node, ties in f.ties.items():
        i = index.setdefault(node, len(index))
        for tie in ties:
            if tie.type in rels:
                w = cx.w(tie)
                if w > 0:
                    j = index.setdefault(tie.other, len(index))
                    rows += (i, j)
                    cols += (j, i)
                    weights += (w, w)
    seeds = [index[s] for s in [t.id, *cx.anchors] if s in index] or [index[s] for s in t.sectors if s in index]
    if not seeds or not rows:
        return {c: SignalValue(0.0) for c in cands}
    from scipy.sparse import csr_matrix

    n = len(index)
    adj = csr_matrix((np.array(weights), (np.array(rows), np.array(cols))), shape=(n, n))
    adj.sum_duplicates()
    adj.data = np.minimum(adj.data, 1.0)  # a pair tied twice (both ends fetched) counts once
    out_deg = np.asarray(adj.sum(axis=1)).ravel()
    walk = csr_matrix(adj.multiply(1.0 / np.where(out_deg > 0, out_deg, 1.0)[:, None]))
    start = np.zeros(n)
    start[seeds] = 1.0 / len(seeds)
    p = start.copy()
    for _ in range(DIFFUSION_STEPS):
        p = (1 - DIFFUSION_RESTART) * (walk.T @ p) + DIFFUSION_RESTART * start
    out = {}
    seed_set = set(seeds)
    for c in cands:
        i = index.get(c)
        if i is None:
            out[c] = SignalValue(0.0)
            continue
        via = max(((p[index[tie.other]], tie.other, tie) for tie in f.ties.get(c, ()) if tie.type in rels
                   and tie.other in index and index[tie.other] not in seed_set), key=lambda v: v[:2], default=None)
        ev = []
        if via is not None and via[0] > 0:
            node, tie = via[1], via[2]
            tree_node = node in cx.tr.names  # a sector or region: its names come from the trees
            # otherwise the tie's own names: the node in between is seldom fetched itself, and its
            # English name would fall back to the Chinese one ("through 无锡市人民政府" in English)
            ev = [Evidence("diffusion", other=node,
                           other_zh=cx.tr.name(node, "zh") if tree_node else (tie.other_name or f.names.get(node, node)),
                           other_en=cx.tr.name(node, "en") if tree_node else (tie.other_name_en or tie.other_name or node),
                           target_zh=t.name, target_en=t.name_en)]
        out[c] = SignalValue(float(p[i]), ev)
    return out


def degree(f: Facts, c: str) -> int:
    props = f.props.get(c, {})
    ties = props.get("tie_count")
    if ties is None:
        ties = sum(1 for x in f.ties.get(c, ()) if x.type not in ("LOCATED_IN", "ACTIVE_IN"))
    return int(ties) + len(f.sectors(c))


def popularity(cx: SignalContext, cands: list[str]) -> dict[str, SignalValue]:
    return {c: SignalValue(math.log1p(degree(cx.facts, c))) for c in cands}


def family(tr: Trees, sector: str) -> str:
    """The top-level branch of a sector's tree (its ancestor just below the root)."""
    chain = [sector, *tr.ancestors(sector)]
    return chain[-2] if len(chain) >= 2 else chain[-1]


def family_popularity(cx: SignalContext, cands: list[str]) -> dict[str, SignalValue]:
    fams = {family(cx.tr, s) for s in cx.t.sectors}
    out = {}
    for c in cands:
        inside = [s for s in cx.facts.sectors(c) if family(cx.tr, s) in fams]
        out[c] = SignalValue(math.log1p(degree(cx.facts, c)) if inside else 0.0)
    return out


def tree_steps(tr: Trees, a: str, b: str) -> int | None:
    """Steps between two sectors through their lowest common ancestor; None in different trees."""
    if a == b:
        return 0
    up_a = [a, *tr.ancestors(a)]
    depth_b = {n: i for i, n in enumerate([b, *tr.ancestors(b)])}
    for i, n in enumerate(up_a):
        if n in depth_b:
            return i + depth_b[n]
    return None


def tree_distance(cx: SignalContext, cands: list[str]) -> dict[str, SignalValue]:
    tr, t = cx.tr, cx.t
    memo: dict[tuple[str, str], int | None] = {}
    out = {}
    for c in cands:
        best, ev = 0.0, []
        for s in sorted(cx.facts.sectors(c)):
            for ts in sorted(t.sectors):
                if (s, ts) not in memo:
                    memo[(s, ts)] = tree_steps(tr, s, ts)
                d = memo[(s, ts)]
                if d is not None and 0.5 ** d > best:
                    best, pair = 0.5 ** d, (s, ts, d)
        if best > 0:
            s, ts, d = pair
            ev = [Evidence("sector_same" if d == 0 else "sector_near", other=s, other_zh=tr.name(s, "zh"),
                           other_en=tr.name(s, "en"), count=d, target_zh=tr.name(ts, "zh"), target_en=tr.name(ts, "en"))]
        out[c] = SignalValue(best, ev)
    return out


GRAPH_SIGNALS = {
    "tree_distance": tree_distance,
    "item_cf": item_cf,
    "co_neighbours": co_neighbours,
    "diffusion": diffusion,
    "popularity": popularity,
    "family_popularity": family_popularity,
}

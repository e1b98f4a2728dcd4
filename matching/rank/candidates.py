"""The candidates of one recommendation and every signal's value for each: the one place that
decides who is considered, so the recommender, the training at refresh and `eval links` (model,
baselines and ablations alike) rank exactly the same set.

Candidates come from FAISS (the target's text and its anchors' centre), from the graph (leading
firms of the target's links, their parents, children and siblings, and of the links whose firms
overlap the target's; counterparts of the organisations sharing counterparts with the target;
partners of its anchors), all read from refresh-time summaries by primary key. Who may be a
candidate at all is matching.rank.eligibility's (kg/eligibility.yaml).

`hidden` removes ties from everything one call reads (training hides a sample of real relations
and asks for them back).
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

import numpy as np

from kg.lookup import resolve_id
from kg.settings import Settings
from kg.store import GraphView, StoreError
from matching.evidence import Evidence
from matching.facts import Facts, Trees, fetch_facts, trees
from matching.rank.eligibility import Eligibility, eligibility, question_of
from matching.rank.graph_signals import CF_ITEMS, GRAPH_SIGNALS, cf_items, counterparts, related_of, rels_of
from matching.rank.model import FEATURES, normalise
from matching.signals import FIT_SIGNALS, POLICY_SIGNALS, SignalContext, SignalValue, Target
from matching.vectors import node_text, vectors_for

MAX_ANCHORS = 50  # existing partners whose vectors stand for 'more like these'
GRAPH_CANDIDATE_LIMIT = 100  # leaders of the target's links and partners of its anchors, each
MAX_PEERS = 200
PARTNER_SOURCES = 20
RELATED_LINKS = 5  # links whose firms most overlap the target link's: their leaders are candidates
RELATION_TYPES = ("PARTNERS_WITH", "SUPPLIES", "INVESTS_IN", "SUBSIDIARY_OF")

Hidden = set[tuple[str, frozenset[str]]]  # (relation type, {end, end})


@dataclass
class CandidateSet:
    target: Target
    question: str
    eligibility: Eligibility
    ids: list[str]
    values: dict[str, dict[str, SignalValue]]
    facts: Facts
    raw: np.ndarray  # candidates x FEATURES
    x: np.ndarray  # the same, each column divided by its maximum
    policy: dict[str, dict[str, SignalValue]] = field(default_factory=dict)
    matched: dict[str, list[str]] = field(default_factory=dict)


def _drop_hidden(facts: Facts, hidden: Hidden | None) -> Facts:
    if not hidden:
        return facts
    for node, ties in facts.ties.items():
        kept = [t for t in ties if (t.type, frozenset((node, t.other))) not in hidden]
        if len(kept) != len(ties):
            facts.ties[node] = kept
    return facts


def _fetch(view: GraphView, ids: list[str], max_ties: int, hidden: Hidden | None, label: str = "Organization") -> Facts:
    return _drop_hidden(fetch_facts(view, ids, label, max_ties), hidden)


def _leaders(view: GraphView, sectors: set[str], limit: int) -> list[str]:
    """The best-connected firms of these chain links (derived at refresh), most ties first; on a
    graph without that summary, the first firms found in each link."""
    per_sector: list[list[str]] = []
    for sector, leaders in sorted(view.query(
        "UNWIND $s AS x MATCH (s:Sector {id: x}) RETURN s.id, s.leaders", {"s": sorted(sectors)}
    ).rows):
        if leaders is None:  # no summary yet: one bounded walk per link (the UNWIND form would scan)
            leaders = [r[0] for r in view.query(
                "MATCH (o:Organization)-[:ACTIVE_IN]->(:Sector {id: $x}) RETURN o.id LIMIT $n", {"x": sector, "n": limit}
            ).rows]
        per_sector.append(leaders)
    ranked = [firm for rank in zip_longest(*per_sector) for firm in rank if firm]  # the best of every link first
    return list(dict.fromkeys(ranked))[:limit]


def _sector_props(view: GraphView, sectors: set[str]) -> dict[str, dict[str, Any]]:
    if not sectors:
        return {}
    rows = view.query("UNWIND $s AS x MATCH (s:Sector {id: x}) RETURN s.id, s.related_json, s.member_count",
                      {"s": sorted(sectors)}).rows
    return {i: {"related_json": rel, "member_count": n or 0} for i, rel, n in rows}


def _target(view: GraphView, entity_id: str, settings: Settings, tr: Trees, rel_type: str | None,
            hidden: Hidden | None) -> Target:
    node = view.get(entity_id)
    if node is None:
        raise StoreError(f"no entity {entity_id!r}")
    # a sector's own ties are its (maybe 100,000) member firms: its leaders stand for them
    own = _fetch(view, [entity_id], settings.max_ties_per_candidate, hidden, node.label) if node.label != "Sector" else Facts()
    sectors = {entity_id} if node.label == "Sector" else own.sectors(entity_id)
    region = next(iter(sorted(own.regions(entity_id))), None) if node.label == "Project" else None
    city = region or settings.home_region
    if region and region in tr.parent and not tr.children.get(region):  # a district: widen to its city
        city = tr.parent[region]
    involved = {t.other for t in own.ties.get(entity_id, []) if t.type == "INVOLVED_IN"}
    leaders = _leaders(view, sectors, MAX_PEERS) if sectors else []
    if hidden and node.label == "Sector":
        leaders = [x for x in leaders if ("ACTIVE_IN", frozenset((x, entity_id))) not in hidden]
    return Target(entity_id, node.label, node.name, sectors, tr.subtree(city), tr.parent.get(city), involved, rel_type,
                  (set(leaders) - {entity_id}) if node.label == "Organization" else set(), node.props,
                  own.ties.get(entity_id, []), leaders)


def _anchors(t: Target, now: int) -> list[str]:
    """Organisations already linked to the target the way we are asked about: for a project its
    involved organisations, for a sector its leading firms, otherwise its neighbours by rel_type
    (current, non-illustrative ties only)."""
    if t.label == "Sector" or t.rel_type == "ACTIVE_IN":
        ids = list(t.leaders)
    elif t.rel_type:
        ids = sorted({tie.other for tie in t.ties if tie.type == t.rel_type and tie.tier != "illustrative"
                      and not tie.ended(now)})
    else:
        ids = sorted(t.involved)
    return [i for i in ids if i != t.id][:MAX_ANCHORS]


def _graph_candidates(view: GraphView, t: Target, tr: Trees, base: Facts, related: list[str]) -> set[str]:
    """Leading firms of the target's links, their sub-links, siblings and the links most like
    them, and partners of the organisations already linked to it (their tie summaries in `base`)."""
    sectors: set[str] = set()
    for s in t.sectors:
        sectors |= tr.subtree(s)
        if tr.parent.get(s):
            sectors |= {tr.parent[s], *tr.children.get(tr.parent[s], ())}
    out: set[str] = set(_leaders(view, sectors, GRAPH_CANDIDATE_LIMIT)) if sectors else set()
    if related:
        out |= set(_leaders(view, set(related), GRAPH_CANDIDATE_LIMIT * 2))
    types = {t.rel_type} if t.rel_type in RELATION_TYPES else set(RELATION_TYPES[:3])
    partners = [tie.other for a in sorted(base.props) for tie in base.ties.get(a, [])
                if tie.type in types and tie.other_label == "Organization"]
    out |= set(list(dict.fromkeys(partners))[:GRAPH_CANDIDATE_LIMIT])
    return out


def candidate_set(
    view: GraphView,
    entity_id: str,
    settings: Settings,
    *,
    rel_type: str | None = None,
    include_kinds: list[str] | None = None,
    exclude_kinds: list[str] | None = None,
    region: str | None = None,
    exclude_involved: bool = True,
    exclude: set[str] | None = None,
    hidden: Hidden | None = None,
    now: int | None = None,
) -> CandidateSet:
    """Every eligible candidate of one question with every signal's value and evidence."""
    now = now or datetime.date.today().year
    entity_id = resolve_id(view, entity_id) or entity_id  # an id merged into another still works
    tr = trees(view)
    t = _target(view, entity_id, settings, tr, rel_type, hidden)
    question = question_of(t.label, rel_type)
    elig = eligibility(question, include_kinds, exclude_kinds)
    excluded = {entity_id} | (exclude or set()) | (t.involved if exclude_involved and elig.exclude_involved else set())
    cap = settings.max_ties_per_candidate

    sims: dict[str, float] = {}
    vecs = vectors_for(view)
    index = vecs.indexes["Organization"] if vecs is not None and "Organization" in vecs.indexes else None
    q = None
    if index is not None:
        q = vecs.vector(entity_id)
        if q is None:
            q = vecs.encode(node_text(t.props, [tr.name(s, "en") for s in t.sectors]))
        for oid, score in index.search(q, k=settings.candidate_pool, exclude_ids=excluded):
            sims[oid] = score
    anchors = _anchors(t, now)
    base = _fetch(view, sorted((t.involved | set(anchors) | set(t.leaders[:PARTNER_SOURCES])) - {entity_id}), cap, hidden)
    kinds_of = {a: base.props.get(a, {}).get("kind") for a in anchors}
    like = [a for a in anchors if elig.admits(kinds_of.get(a))]  # 'much like' an eligible anchor only
    anchor_vecs, anchor_ids = None, []
    if index is not None and like:
        anchor_ids = [a for a in like if a in index]
        if anchor_ids:
            anchor_vecs = np.stack([index.vector(a) for a in anchor_ids])
            centre = anchor_vecs.mean(axis=0)
            for oid, _ in index.search(centre / (np.linalg.norm(centre) or 1.0), k=settings.candidate_pool, exclude_ids=excluded):
                sims.setdefault(oid, float(index.vector(oid) @ q))
    sector_props = _sector_props(view, t.sectors)
    cx = SignalContext(t, base, tr, anchors, "ACTIVE_IN" if question == "sector" else rel_type, now,
                       settings.tie_weight_extracted, settings.tie_half_life_years, sector_props)
    related: list[str] = []
    if question == "sector" or t.label == "Project":
        scored = sorted({y: c for ts in t.sectors for y, c, _ in related_of(sector_props.get(ts, {}).get("related_json"))}.items(),
                        key=lambda kv: -kv[1])
        related = [y for y, _ in scored[:RELATED_LINKS]]
    items: list[str] = []
    if question != "sector" and t.label != "Project":
        items = [y for y, _ in sorted(cf_items(cx).items(), key=lambda kv: (-kv[1], kv[0]))[:CF_ITEMS]]
    cands = set(sims) | _graph_candidates(view, t, tr, base, related)
    if items:
        item_facts = _fetch(view, items, cap, hidden)
        rels = rels_of(cx)
        for y in items:
            cands |= set(counterparts(item_facts, y, rels, cx))
    cands -= excluded
    cands -= {x for x in cands if not x or x in t.sectors}
    if index is not None and q is not None:
        missing = [c for c in cands if c not in sims and c in index]
        if missing:
            for c, s in zip(missing, np.stack([index.vector(c) for c in missing]) @ q, strict=True):
                sims[c] = float(s)
    peer: dict[str, tuple[float, str]] = {}
    if anchor_vecs is not None:
        present = [c for c in cands if c in index]
        if present:
            scores = np.stack([index.vector(c) for c in present]) @ anchor_vecs.T
            position = {a: j for j, a in enumerate(anchor_ids)}
            for i, c in enumerate(present):
                if c in position:  # a candidate that is itself an anchor is not 'much like' itself
                    scores[i, position[c]] = -1.0
            for c, row, j in zip(present, scores, scores.argmax(axis=1), strict=True):
                if row[j] > -1.0:
                    peer[c] = (float(row[j]), anchor_ids[int(j)])
    extra = sorted((t.involved | set(anchors) | set(items) | ({entity_id} if t.label == "Organization" else set())) - cands)
    facts = _fetch(view, sorted(cands) + extra, cap, hidden)
    cand_list = [c for c in sorted(cands) if c in facts.props and elig.admits(facts.props[c].get("kind"))]
    if region:
        inside = tr.subtree(region)
        cand_list = [c for c in cand_list if facts.regions(c) & inside]
    cx.facts = facts
    if hidden and question == "sector":
        cx.sector_props = _without_hidden_members(sector_props, t.sectors, hidden, facts)
    values: dict[str, dict[str, SignalValue]] = {c: {} for c in cand_list}
    for c in cand_list:
        values[c]["semantic"] = SignalValue(max(0.0, min(1.0, sims.get(c, 0.0))))
        value, anchor = peer.get(c, (0.0, ""))
        value = max(0.0, min(1.0, value))
        ev = []
        if value >= 0.5 and anchor:
            ev = [Evidence("like_anchor", other=anchor, other_zh=facts.names.get(anchor, anchor),
                           other_en=facts.props.get(anchor, {}).get("name_en") or facts.names.get(anchor, anchor), value=value)]
        values[c]["peer_similarity"] = SignalValue(value, ev)
    for name, fn in {**FIT_SIGNALS, **GRAPH_SIGNALS}.items():
        for c, v in fn(cx, cand_list).items():
            values[c][name] = v
    policy: dict[str, dict[str, SignalValue]] = {c: {} for c in cand_list}
    for name, fn in POLICY_SIGNALS.items():
        for c, v in fn(cx, cand_list).items():
            policy[c][name] = v
    if hidden and question == "sector" and vecs is not None and index is not None and q is not None:
        _unleak_text(values, cand_list, hidden, t, tr, vecs, q, anchor_vecs, anchor_ids, facts)
    raw = np.array([[values[c][f].value for f in FEATURES] for c in cand_list], dtype=float).reshape(len(cand_list), len(FEATURES))
    return CandidateSet(t, question, elig, cand_list, values, facts, raw, normalise(raw), policy)


def _without_hidden_members(sector_props: dict[str, dict[str, Any]], sectors: set[str], hidden: Hidden,
                            facts: Facts) -> dict[str, dict[str, Any]]:
    """The link summaries as they would be without the hidden memberships (training only): the
    refresh counted the hidden firm among the link's members, which would flatter item CF."""
    out = dict(sector_props)
    for s in sectors:
        firms = [next(iter(pair - {s})) for rel, pair in hidden if rel == "ACTIVE_IN" and s in pair and len(pair) == 2]
        props = sector_props.get(s)
        if not firms or not props or not props.get("related_json"):
            continue
        n_s = max(1, (props.get("member_count") or 1) - len(firms))
        rows = []
        for y, cos, shared in related_of(props["related_json"]):
            minus = sum(1 for f in firms if y in facts.sectors(f))
            n_y = (shared / cos) ** 2 / max(1, props.get("member_count") or 1) if cos else 0.0  # |Y| from the stored cosine
            if shared - minus > 0 and n_y > 0:
                rows.append([y, round((shared - minus) / (n_s * n_y) ** 0.5, 4), shared - minus])
        out[s] = {**props, "member_count": n_s, "related_json": json.dumps(sorted(rows, key=lambda r: (-r[1], r[0])))}
    return out


def stored_text(facts: Facts, org: str, tr: Trees, without: set[str] | frozenset[str] = frozenset()) -> str:
    """An organisation's text as matching.vectors encodes it, less the links in `without`: its
    sources' links only. The chain tagger's tags (extracted) are not in the stored vectors; a text
    with them made a hidden answer in training the one candidate whose vector differed from its
    stored one (cosine 0.80-0.97 on the Shenwan bundle), which the model learned instead of the link."""
    own = {tie.other for tie in facts.ties.get(org, ()) if tie.type == "ACTIVE_IN" and tie.direction == "out"
           and tie.tier != "extracted"}
    names = sorted((tr.names.get(s, ("", ""))[1] or tr.names.get(s, ("", ""))[0] or s) for s in own - set(without))
    return node_text(facts.props.get(org) or {}, names)


def _unleak_text(values: dict[str, dict[str, SignalValue]], cands: list[str], hidden: Hidden, t: Target, tr: Trees,
                 vecs: Any, q: np.ndarray, anchor_vecs: np.ndarray | None, anchor_ids: list[str], facts: Facts) -> None:
    """Training only: a firm's stored vector encodes the names of its links, the hidden one
    included; the hidden answer's text signals are recomputed from its text without that link,
    as `eval links` (which removes hidden links before loading) sees them."""
    for c in cands:
        if not any(rel == "ACTIVE_IN" and pair == frozenset((c, s)) for rel, pair in hidden for s in t.sectors):
            continue
        v = vecs.encode(stored_text(facts, c, tr, t.sectors))  # as matching.vectors writes it, less the hidden link
        values[c]["semantic"] = SignalValue(max(0.0, min(1.0, float(v @ q))))
        if anchor_vecs is not None:
            sims = anchor_vecs @ v
            mask = [a != c for a in anchor_ids]
            best = max((float(x) for x, keep in zip(sims, mask, strict=True) if keep), default=0.0)
            values[c]["peer_similarity"] = SignalValue(max(0.0, min(1.0, best)))

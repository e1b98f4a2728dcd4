"""Partner recommendation: candidates from FAISS and the graph neighbourhood, scored by a
weighted sum of signals, each result carrying its contributions and the reasons behind them.

The one function `recommend` serves `stakegraph recommend`, the web page, the API and
`stakegraph eval links`; weights are a setting (signal_weights), so an ablation is a call with
other weights, not other code.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from itertools import zip_longest
from typing import Any

import jieba
import numpy as np

from kg.lookup import resolve_id
from kg.settings import Settings, load_settings
from kg.store import GraphView, StoreError
from matching.facts import Facts, Trees, fetch_facts, trees
from matching.signals import GRAPH_SIGNALS, SignalValue, Target
from matching.vectors import node_text, vectors_for

SIGNALS = ("semantic", "peer_similarity", *GRAPH_SIGNALS)
EMBEDDING_SIGNALS = ("semantic", "peer_similarity")
MAX_ANCHORS = 50  # existing partners whose vectors stand for 'more like these'


def _anchors(t: Target) -> list[str]:
    """Organisations already linked to the target the way we are asked about: for a project its
    involved organisations, for a sector its leading firms, otherwise its neighbours by rel_type."""
    if t.label == "Sector":  # its members (ACTIVE_IN) are what any question about a link starts from
        ids = list(t.leaders)
    elif t.rel_type:
        ids = sorted({tie.other for tie in t.ties if tie.type == t.rel_type})
    else:
        ids = sorted(t.involved)
    return [i for i in ids if i != t.id][:MAX_ANCHORS]


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


GRAPH_CANDIDATE_LIMIT = 100  # leaders of the target's links and partners of its anchors, each
MAX_PEERS = 200
PARTNER_SOURCES = 20


@dataclass
class SignalContribution:
    name: str
    value: float
    weight: float
    contribution: float
    evidence: list[str] = field(default_factory=list)
    evidence_zh: list[str] = field(default_factory=list)


@dataclass
class Recommendation:
    org_id: str
    name_zh: str | None
    name_en: str | None
    kind: str | None
    score: float
    signals: list[SignalContribution]
    reasons_en: list[str]
    reasons_zh: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_weights(spec: str | dict[str, float]) -> dict[str, float]:
    weights = (
        dict(spec)
        if isinstance(spec, dict)
        else {k.strip(): float(v) for k, _, v in (p.partition("=") for p in spec.split(",") if p.strip())}
    )
    unknown = set(weights) - set(SIGNALS)
    if unknown:
        raise ValueError(f"unknown signal(s) {', '.join(sorted(unknown))}; known: {', '.join(SIGNALS)}")
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("signal weights must sum to more than 0")
    return {s: weights.get(s, 0.0) / total for s in SIGNALS}


def _target(view: GraphView, entity_id: str, settings: Settings, tr: Trees, rel_type: str | None) -> Target:
    node = view.get(entity_id)
    if node is None:
        raise StoreError(f"no entity {entity_id!r}")
    # a sector's own ties are its (maybe 100,000) member firms: its leaders stand for them
    own = fetch_facts(view, [entity_id], node.label, settings.max_ties_per_candidate) if node.label != "Sector" else Facts()
    sectors = {entity_id} if node.label == "Sector" else own.sectors(entity_id)
    region = next(iter(sorted(own.regions(entity_id))), None) if node.label == "Project" else None
    city = region or settings.home_region
    if region and region in tr.parent and not tr.children.get(region):  # a district: widen to its city
        city = tr.parent[region]
    involved = {t.other for t in own.ties.get(entity_id, []) if t.type == "INVOLVED_IN"}
    leaders = _leaders(view, sectors, MAX_PEERS) if sectors else []
    return Target(
        entity_id,
        node.label,
        node.name,
        sectors,
        tr.subtree(city),
        tr.parent.get(city),
        involved,
        rel_type,
        (set(leaders) - {entity_id}) if node.label == "Organization" else set(),
        node.props,
        own.ties.get(entity_id, []),
        leaders,
    )


def _graph_candidates(view: GraphView, t: Target, tr: Trees, base: Facts) -> set[str]:
    """Leading firms of the target's links and their sub-links, and partners of the organisations
    already linked to it (read from their tie summaries in `base`)."""
    sectors = set().union(*(tr.subtree(s) for s in t.sectors)) if t.sectors else set()
    out: set[str] = set(_leaders(view, sectors, GRAPH_CANDIDATE_LIMIT)) if sectors else set()
    types = (
        {t.rel_type}
        if t.rel_type in ("PARTNERS_WITH", "SUPPLIES", "INVESTS_IN", "SUBSIDIARY_OF")
        else {"PARTNERS_WITH", "SUPPLIES", "INVESTS_IN"}
    )
    partners = [
        tie.other
        for a in sorted(base.props)
        for tie in base.ties.get(a, [])
        if tie.type in types and tie.other_label == "Organization"
    ]
    out |= set(list(dict.fromkeys(partners))[:GRAPH_CANDIDATE_LIMIT])
    return out


GENERIC_WORDS = frozenset(  # noqa: SIM905 - a word list reads better as text
    ["with", "from", "into", "that", "this", "their", "other", "based", "about", "which", "where", "centre", "center", "national", "zone", "high-tech", "hi-tech", "company", "group", "limited", "china", "chinese", "province", "city", "district", "park", "industrial", "industry", "technology", "technologies", "co", "ltd", "inc", "corp", "jiangsu", "wuxi", "jiangyin", "yixing", "xinwu", "shanghai", "beijing", "shenzhen", "line", "project", "projects", "plant", "phase", "无锡", "江阴", "宜兴", "新吴", "江苏", "中国", "项目", "产线", "中心", "基地", "企业", "公司", "有限公司", "建设", "提供", "平台", "相关", "以及", "进行"])


def _terms(props: dict[str, Any]) -> list[str]:
    """Phrases of the target worth naming when a candidate's text contains them: its stated
    needs and keywords first, then distinctive words of its description (no places, no filler)."""
    terms = list(props.get("needs") or []) + list(props.get("keywords") or [])
    text = props.get("description") or ""
    words = re.findall(r"[A-Za-z][A-Za-z0-9+-]{4,}|\d+(?:\.\d+)?D(?:/\d+D)?|[A-Z]{2,}[A-Za-z0-9]*", text)
    words += [w for w in jieba.lcut("".join(re.findall(r"[\u4e00-\u9fff]+", text))) if len(w) >= 2]
    terms += [w for w in words if w.casefold() not in GENERIC_WORDS]
    return list(dict.fromkeys(t for t in terms if t))


def _matched_terms(terms: list[str], cand: dict[str, Any]) -> list[str]:
    text = " ".join(
        str(x)
        for x in [
            cand.get("description"),
            cand.get("name_en"),
            cand.get("name_zh"),
            *(cand.get("aliases") or []),
        ]
        if x
    ).casefold()
    hits = []
    for term in terms:
        words = [w for w in re.split(r"[\s,;:/()（）、，]+", term.casefold()) if len(w) >= 2 and w not in GENERIC_WORDS]
        if term.casefold() in text or (
            words and sum(w in text for w in words) >= max(1, len(words) // 2 + 1)
        ):
            hits.append(term)
    return hits[:3]


def recommend(
    view: GraphView,
    entity_id: str,
    *,
    k: int = 20,
    kinds: list[str] | None = None,
    region: str | None = None,
    exclude_involved: bool = True,
    exclude: set[str] | None = None,
    rel_type: str | None = None,
    weights: str | dict[str, float] | None = None,
    settings: Settings | None = None,
) -> list[Recommendation]:
    """The organisations best matched to a project, sector or organisation, best first."""
    settings = settings or load_settings()
    w = parse_weights(weights or settings.signal_weights)
    entity_id = resolve_id(view, entity_id) or entity_id  # an id merged into another still works
    tr = trees(view)
    t = _target(view, entity_id, settings, tr, rel_type)
    excluded = {entity_id} | (exclude or set()) | (t.involved if exclude_involved else set())

    sims: dict[str, float] = {}
    vecs = vectors_for(view)
    if vecs is not None and "Organization" in vecs.indexes:
        index = vecs.indexes["Organization"]
        q = vecs.vector(entity_id)
        if q is None:
            q = vecs.encode(node_text(t.props, [tr.name(s, "en") for s in t.sectors]))
        for oid, score in index.search(q, k=settings.candidate_pool, exclude_ids=excluded):
            sims[oid] = score
    anchors = _anchors(t)
    anchor_vecs, anchor_ids = None, []
    if vecs is not None and "Organization" in vecs.indexes and anchors:
        index = vecs.indexes["Organization"]
        anchor_ids = [a for a in anchors if a in index]
        if anchor_ids:
            anchor_vecs = np.stack([index.vector(a) for a in anchor_ids])
            centre = anchor_vecs.mean(axis=0)
            for oid, _ in index.search(centre / (np.linalg.norm(centre) or 1.0), k=settings.candidate_pool, exclude_ids=excluded):
                sims.setdefault(oid, float(index.vector(oid) @ q))
    # partners of what is already linked, and of the link's top firms (a few: they are hubs)
    base = fetch_facts(view, sorted((t.involved | set(anchors) | set(t.leaders[:PARTNER_SOURCES])) - {entity_id}),
                       max_ties=settings.max_ties_per_candidate)
    cands = set(sims) | _graph_candidates(view, t, tr, base)
    cands -= excluded
    peer: dict[str, tuple[float, str]] = {}
    if vecs is not None and "Organization" in vecs.indexes:
        index = vecs.indexes["Organization"]
        missing = [c for c in cands if c not in sims and c in index]
        if missing:
            mat = np.stack([index.vector(c) for c in missing])
            for c, s in zip(missing, mat @ q, strict=True):
                sims[c] = float(s)
        if anchor_vecs is not None:
            present = [c for c in cands if c in index]
            if present:
                scores = np.stack([index.vector(c) for c in present]) @ anchor_vecs.T
                best = scores.argmax(axis=1)
                for c, row, j in zip(present, scores, best, strict=True):
                    peer[c] = (float(row[j]), anchor_ids[int(j)])
    cand_list = sorted(cands)
    facts: Facts = fetch_facts(
        view,
        cand_list + sorted(t.involved | set(anchor_ids) | ({entity_id} if t.label == "Organization" else set())),
        max_ties=settings.max_ties_per_candidate,
    )
    if kinds:
        cand_list = [c for c in cand_list if facts.props.get(c, {}).get("kind") in kinds]
    if region:
        inside = tr.subtree(region)
        cand_list = [c for c in cand_list if facts.regions(c) & inside]
    cand_list = [c for c in cand_list if c in facts.props]

    values: dict[str, dict[str, SignalValue]] = {c: {} for c in cand_list}
    for c in cand_list:
        values[c]["semantic"] = SignalValue(max(0.0, min(1.0, sims.get(c, 0.0))))  # evidence below, for the results only
        if c in peer:
            value, anchor = peer[c]
            value = max(0.0, min(1.0, value))
            name_en = facts.props.get(anchor, {}).get("name_en") or facts.names.get(anchor, anchor)
            name_zh = facts.names.get(anchor, anchor)
            values[c]["peer_similarity"] = SignalValue(
                value, [(f"much like {name_en}, already linked (similarity {value:.2f})", f"与已有关联方{name_zh}高度相似（{value:.2f}）")]
                if value >= 0.5 else [])
    for name, fn in GRAPH_SIGNALS.items():
        if w[name] == 0:
            continue
        for c, v in fn(t, cand_list, facts, tr).items():
            values[c][name] = v

    def score(c: str) -> float:  # the sum of the rounded contributions the result shows
        return round(sum(round(w[n] * values[c][n].value, 4) for n in SIGNALS if n in values[c]), 4)

    ranked = sorted((-score(c), c) for c in cand_list)[:k]
    terms = _terms(t.props)
    return [_result(c, -neg, values[c], w, facts.props[c], _matched_terms(terms, facts.props[c]), t.label) for neg, c in ranked]


def _result(c: str, score: float, values: dict[str, SignalValue], w: dict[str, float], props: dict[str, Any],
            matched: list[str], label: str) -> Recommendation:
    """One ranked organisation with each signal's contribution and the reasons behind the best ones."""
    sim = values["semantic"].value
    if matched:
        values["semantic"].evidence = [(f"description matches the {label.lower()}'s needs: {', '.join(matched)}",
                                        f"业务描述契合需求：{'、'.join(matched)}")]
    elif sim >= 0.3:
        values["semantic"].evidence = [(f"similar business description (similarity {sim:.2f})", f"业务描述相似（相似度{sim:.2f}）")]
    contribs = []
    for name in SIGNALS:
        v = values.get(name, SignalValue(0.0))
        contribs.append(SignalContribution(name, round(v.value, 4), round(w[name], 4), round(w[name] * v.value, 4),
                                           [e for e, _ in v.evidence], [z for _, z in v.evidence]))
    top = sorted((x for x in contribs if x.evidence and x.contribution > 0), key=lambda x: -x.contribution)[:3]
    return Recommendation(c, props.get("name_zh"), props.get("name_en"), props.get("kind"), score, contribs,
                          [x.evidence[0] for x in top], [x.evidence_zh[0] for x in top])

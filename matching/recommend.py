"""Partner recommendation: the candidates of a question (matching.rank.candidates), ranked by the
learned model stored with the graph version (or the default weights), plus the office's policy
boosts shown on their own line; each result carries its breakdown and reasons rendered in both
languages from one evidence record per reason.

The one function `recommend` serves `stakegraph recommend`, the web page, the API and the chain
gaps; `stakegraph eval links` ranks the same candidate sets (matching.rank.candidates) with the
model, the baselines and the ablations.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from typing import Any

import jieba

from kg.settings import Settings, load_settings
from kg.store import GraphView
from matching.evidence import Evidence, render
from matching.rank.candidates import CandidateSet, Hidden, candidate_set
from matching.rank.model import (
    FEATURES,
    POLICY,
    LearnedRanker,
    Scored,
    WeightsRanker,
    load_ranker,
    parse_weights,
)
from matching.signals import SignalValue

SIGNALS = FEATURES  # the fit signals, in the order a breakdown lists them
POLICY_SIGNALS = POLICY
EMBEDDING_SIGNALS = ("semantic", "peer_similarity")
MIN_TEXT_MATCH_SIMILARITY = 0.3


@dataclass
class SignalContribution:
    name: str
    value: float  # the signal's value for this candidate, divided by its maximum over the candidates
    weight: float  # the model's weight for it (a learned model: its contribution per unit value)
    contribution: float
    evidence: list[str] = field(default_factory=list)
    evidence_zh: list[str] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)  # the structured evidence both texts come from

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "weight": self.weight, "contribution": self.contribution,
                "evidence": list(self.evidence), "evidence_zh": list(self.evidence_zh),
                "records": [dict(r) for r in self.records]}


@dataclass
class Recommendation:
    org_id: str
    name_zh: str | None
    name_en: str | None
    kind: str | None
    score: float  # fit + policy
    signals: list[SignalContribution]
    reasons_en: list[str]
    reasons_zh: list[str]
    fit: float = 0.0
    policy: float = 0.0
    policy_signals: list[SignalContribution] = field(default_factory=list)
    model: str = "weights"
    note: str | None = None
    tier: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form. Written out, not dataclasses.asdict: its recursive deep copy of every
        evidence record was 85% of an API recommendations call (a cached list, ~20 ms each)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["signals"] = [s.as_dict() for s in self.signals]
        out["policy_signals"] = [s.as_dict() for s in self.policy_signals]
        out["reasons_en"], out["reasons_zh"] = list(self.reasons_en), list(self.reasons_zh)
        return out


def ranker_for(view: GraphView, settings: Settings, weights: str | dict[str, float] | None = None
               ) -> LearnedRanker | WeightsRanker:
    """The learned model of this graph version (setting ranker = learned), else the weights."""
    w = parse_weights(weights or settings.signal_weights)
    if weights is not None or settings.ranker != "learned":
        return WeightsRanker(w, None if weights is not None else "ranker = weights (settings)")
    return load_ranker(view.data_dir, w)


def score_set(cs: CandidateSet, ranker: LearnedRanker | WeightsRanker, policy_weights: dict[str, float],
              contributions: bool = True) -> tuple[Scored, list[float], list[float]]:
    """(the model's scoring, each candidate's fit shown 0..1, its policy boost)."""
    s = ranker.score(cs.question, cs.x, contributions)
    learned = s.model.startswith("learned")
    fit = [1 / (1 + math.exp(-float(v))) if learned else float(v) for v in s.scores]
    boost = [sum(policy_weights.get(p, 0.0) * cs.policy[c][p].value for p in POLICY) for c in cs.ids]
    return s, fit, boost


def recommend(
    view: GraphView,
    entity_id: str,
    *,
    k: int = 20,
    kinds: list[str] | None = None,
    exclude_kinds: list[str] | None = None,
    region: str | None = None,
    exclude_involved: bool = True,
    exclude: set[str] | None = None,
    rel_type: str | None = None,
    weights: str | dict[str, float] | None = None,
    policy: str | dict[str, float] | None = None,
    settings: Settings | None = None,
    hidden: Hidden | None = None,
) -> list[Recommendation]:
    """The organisations best matched to a project, sector or organisation, best first.

    `kinds` admits exactly these kinds (even one the question's default leaves out, such as a
    government body for a project); `exclude_kinds` drops kinds; `weights` ranks by those
    signal weights instead of the learned model; `policy` overrides `policy_weights`."""
    settings = settings or load_settings()
    cs = candidate_set(view, entity_id, settings, rel_type=rel_type, include_kinds=kinds, exclude_kinds=exclude_kinds,
                       region=region, exclude_involved=exclude_involved, exclude=exclude, hidden=hidden)
    ranker = ranker_for(view, settings, weights)
    pw = parse_weights(policy if policy is not None else settings.policy_weights, POLICY, normalise=False)
    s, fit, boost = score_set(cs, ranker, pw)
    order = sorted(range(len(cs.ids)), key=lambda i: (-(fit[i] + boost[i]), cs.ids[i]))[:k]
    terms = _terms(cs.target.props)
    return [_result(cs, i, s, fit[i], boost[i], pw, terms) for i in order]


GENERIC_WORDS = frozenset(  # noqa: SIM905 - a word list reads better as text
    ["with", "from", "into", "that", "this", "their", "other", "based", "about", "which", "where", "centre", "center", "national", "zone", "high-tech", "hi-tech", "company", "group", "limited", "china", "chinese", "province", "city", "district", "park", "industrial", "industry", "technology", "technologies", "co", "ltd", "inc", "corp", "jiangsu", "wuxi", "jiangyin", "yixing", "xinwu", "shanghai", "beijing", "shenzhen", "line", "project", "projects", "plant", "phase", "ai", "it", "ic", "new", "green", "smart", "无锡", "江阴", "宜兴", "新吴", "江苏", "中国", "项目", "产线", "中心", "基地", "企业", "公司", "有限公司", "建设", "提供", "平台", "相关", "以及", "进行", "智能", "人工智能", "技术", "产业", "服务"])


def _terms(props: dict[str, Any]) -> list[str]:
    """Phrases of the target worth naming when a candidate's text contains them: its stated
    needs and keywords first, then distinctive words of its description (no places, no filler,
    nothing as short and broad as 'AI')."""
    terms = list(props.get("needs") or []) + list(props.get("keywords") or [])
    text = props.get("description") or ""
    words = re.findall(r"[A-Za-z][A-Za-z0-9+-]{4,}|\d+(?:\.\d+)?D(?:/\d+D)?|[A-Z]{3,}[A-Za-z0-9]*", text)
    words += [w for w in jieba.lcut("".join(re.findall(r"[\u4e00-\u9fff]+", text))) if len(w) >= 2]
    terms += [w for w in words if w.casefold() not in GENERIC_WORDS]
    return list(dict.fromkeys(t for t in terms if t and t.casefold() not in GENERIC_WORDS))


def _matched_terms(terms: list[str], cand: dict[str, Any]) -> list[str]:
    text = " ".join(
        str(x) for x in [cand.get("description"), cand.get("name_en"), cand.get("name_zh"), *(cand.get("aliases") or [])] if x
    ).casefold()
    hits = []
    for term in terms:
        words = [w for w in re.split(r"[\s,;:/()（）、，]+", term.casefold()) if len(w) >= 3 and w not in GENERIC_WORDS]
        if (len(term) >= 3 and term.casefold() in text) or (
            words and sum(w in text for w in words) >= max(1, len(words) // 2 + 1)
        ):
            hits.append(term)
    return hits[:3]


def _contribution(name: str, value: float, weight: float, contribution: float, v: SignalValue) -> SignalContribution:
    return SignalContribution(name, round(value, 4), round(weight, 4), round(contribution, 4),
                              [render(e, "en") for e in v.evidence], [render(e, "zh") for e in v.evidence],
                              [e.as_dict() for e in v.evidence])


def _result(cs: CandidateSet, i: int, s: Scored, fit: float, boost: float, pw: dict[str, float],
            terms: list[str]) -> Recommendation:
    """One ranked organisation with each signal's contribution and the reasons behind the best ones."""
    c = cs.ids[i]
    props = cs.facts.props[c]
    values = dict(cs.values[c])
    sim = values["semantic"].value
    matched = _matched_terms(terms, props) if sim >= MIN_TEXT_MATCH_SIMILARITY else []
    if matched:
        values["semantic"] = SignalValue(sim, [Evidence("text_match", terms=tuple(matched))])
    elif sim >= MIN_TEXT_MATCH_SIMILARITY:
        values["semantic"] = SignalValue(sim, [Evidence("text_similar", value=sim)])
    contribs = []
    for j, name in enumerate(FEATURES):
        x, con = float(cs.x[i, j]), float(s.contributions[i, j])
        contribs.append(_contribution(name, x, con / x if x else 0.0, con, values.get(name, SignalValue(0.0))))
    policy = [_contribution(p, cs.policy[c][p].value, pw.get(p, 0.0), pw.get(p, 0.0) * cs.policy[c][p].value, cs.policy[c][p])
              for p in POLICY]
    top: list[SignalContribution] = []
    for x in sorted((x for x in contribs + policy if x.evidence and x.contribution > 0), key=lambda x: -x.contribution):
        if len(top) < 3 and x.evidence[0] not in {y.evidence[0] for y in top}:  # two signals, one fact: said once
            top.append(x)
    return Recommendation(c, props.get("name_zh"), props.get("name_en"), props.get("kind"), round(fit + boost, 4), contribs,
                          [x.evidence[0] for x in top], [x.evidence_zh[0] for x in top], round(fit, 4), round(boost, 4),
                          policy, s.model, s.note, props.get("evidence_tier"))

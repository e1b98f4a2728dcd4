"""The ranking model: a learned one per question (stored with the graph version) or the default
weights, and the policy boosts shown apart from fit.

Features are the signal values of the candidates of one call, each divided by its maximum over
those candidates (a sum of CF weights or a PageRank mass means nothing across calls; its rank
among this call's candidates does). A learned model scores them; its per-feature contributions
are the breakdown staff see. The office's priorities (local ties, standing) are a separate
"policy" line added after, from the setting `policy_weights`, so fit and priority stay apart.

A missing, corrupt or stale model file never breaks a recommendation: the default weights
(`signal_weights`) are used and the result says why.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("stakegraph.rank")

FEATURES = ("semantic", "peer_similarity", "sector_fit", "cooperation", "recency", "tree_distance", "item_cf",
            "co_neighbours", "diffusion", "popularity", "family_popularity")
POLICY = ("region_ties", "standing")
GROUPS = {  # ablations drop one group at a time
    "embedding": ("semantic", "peer_similarity"),
    "tree": ("sector_fit", "tree_distance"),
    "cf": ("item_cf", "co_neighbours"),
    "neighbourhood": ("diffusion", "cooperation"),
    "popularity": ("popularity", "family_popularity", "recency"),
}
EMBEDDING = GROUPS["embedding"]
MODEL_DIR = "ranker"
MODEL_FILE = "model.json"


def parse_weights(spec: str | dict[str, float], names: tuple[str, ...] = FEATURES, normalise: bool = True) -> dict[str, float]:
    """'semantic=0.3,item_cf=0.2' -> a weight per name (unknown names refused), summing to 1."""
    weights = (
        dict(spec)
        if isinstance(spec, dict)
        else {k.strip(): float(v) for k, _, v in (p.partition("=") for p in spec.split(",") if p.strip())}
    )
    unknown = set(weights) - set(names)
    if unknown:
        raise ValueError(f"unknown signal(s) {', '.join(sorted(unknown))}; known: {', '.join(names)}")
    total = sum(weights.values())
    if normalise and total <= 0:
        raise ValueError("signal weights must sum to more than 0")
    return {s: weights.get(s, 0.0) / (total if normalise else 1.0) for s in names}


def normalise(matrix: np.ndarray) -> np.ndarray:
    """Each column divided by its maximum over this call's candidates (0 stays 0)."""
    top = matrix.max(axis=0) if len(matrix) else np.zeros(matrix.shape[1])
    return matrix / np.where(top > 0, top, 1.0)


@dataclass
class Scored:
    scores: np.ndarray  # fit score per candidate
    contributions: np.ndarray  # per candidate and feature: what each signal added to the fit score
    model: str  # "learned:logistic", "learned:lightgbm", "weights", "weights (fallback)"
    note: str | None = None  # why the default weights were used, shown with each result


class WeightsRanker:
    """The default weights: a weighted sum of the normalised features."""

    def __init__(self, weights: dict[str, float], note: str | None = None, name: str = "weights"):
        self.weights = np.array([weights.get(f, 0.0) for f in FEATURES])
        self.note = note
        self.name = name

    def score(self, question: str, x: np.ndarray, contributions: bool = True) -> Scored:
        contrib = x * self.weights
        return Scored(contrib.sum(axis=1), contrib, self.name, self.note)


@dataclass
class LearnedRanker:
    """Per question, a fitted model over FEATURES (with some dropped, for an ablation)."""

    models: dict[str, dict[str, Any]]
    fallback: WeightsRanker
    meta: dict[str, Any] = field(default_factory=dict)
    _boosters: dict[str, Any] = field(default_factory=dict)

    def has(self, question: str) -> bool:
        return question in self.models

    def score(self, question: str, x: np.ndarray, contributions: bool = True) -> Scored:
        """`contributions=False`: the scores only (a per-feature breakdown costs LightGBM a
        SHAP pass, ~10x the prediction; training and `eval links` rank without it)."""
        m = self.models.get(question)
        if m is None:
            why = self.meta.get("fallback", {}).get(question) or "no model for this question"
            s = self.fallback.score(question, x)
            return Scored(s.scores, s.contributions, "weights (fallback)", why)
        cols = [FEATURES.index(f) for f in m["features"]]
        xs = x[:, cols]
        contrib = np.zeros_like(x)
        if m["kind"] == "logistic":
            coef = np.array(m["coef"])
            c = xs * coef
            contrib[:, cols] = c
            return Scored(c.sum(axis=1) + m["intercept"], contrib, "learned:logistic")
        booster = self._booster(question, m)
        if not contributions:
            return Scored(np.asarray(booster.predict(xs, raw_score=True)), contrib, "learned:lightgbm")
        raw = booster.predict(xs, pred_contrib=True)  # SHAP values per feature, then the bias
        contrib[:, cols] = raw[:, :-1]
        return Scored(raw.sum(axis=1), contrib, "learned:lightgbm")

    def _booster(self, question: str, m: dict[str, Any]):
        if question not in self._boosters:
            import lightgbm

            self._boosters[question] = lightgbm.Booster(model_str=m["model"])
        return self._boosters[question]

    def without(self, features: tuple[str, ...]) -> LearnedRanker:
        """The same questions refitted would be the honest ablation; the stored per-question
        ablation models (trained alongside) are used when present, else the features are zeroed."""
        models = {}
        for q, m in self.models.items():
            alt = (m.get("ablations") or {}).get(",".join(sorted(features)))
            models[q] = alt or m
        return LearnedRanker(models, self.fallback, self.meta)


_cache: dict[str, Any] = {}
_lock = threading.Lock()


def load_ranker(data_dir: str | Path, weights: dict[str, float]) -> LearnedRanker | WeightsRanker:
    """The model stored with this graph version, or the default weights (with a warning when the
    file is there but cannot be read)."""
    path = Path(data_dir) / MODEL_DIR / MODEL_FILE
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = 0  # no file
    key = f"{path}|{stamp}|{sorted(weights.items())}"
    with _lock:
        if key in _cache:
            return _cache[key]
    fallback = WeightsRanker(weights, "no learned model with this graph version: default weights")
    ranker: LearnedRanker | WeightsRanker = fallback
    if path.is_file():
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
            if tuple(spec["features"]) != FEATURES:
                raise ValueError(f"its features {spec['features']} are not this release's {list(FEATURES)}")
            for q, m in spec["questions"].items():
                if m["kind"] not in ("logistic", "lightgbm") or not set(m["features"]) <= set(FEATURES):
                    raise ValueError(f"question {q}: unknown model kind or features")
            ranker = LearnedRanker(spec["questions"], WeightsRanker(weights, None), spec)
            for q, why in (spec.get("fallback") or {}).items():
                ranker.meta.setdefault("fallback", {})[q] = why
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ranking model %s unusable (%s): using the default weights", path, exc)
            ranker = WeightsRanker(weights, f"the stored ranking model could not be read ({exc}): default weights")
    with _lock:
        _cache.clear()
        _cache[key] = ranker
    return ranker

"""The learned pairwise model: gradient-boosted trees over the comparison features.

Why learned: hand-set weights found 12% of real cross-script pairs; a model fitted on real
labelled pairs (true pairs by stock code from the SZSE list against the exchange short names,
hard negatives from the same blocks; data/tools/train_resolve_model.py) weighs the evidence as
the data says. Why boosted trees rather than one weight per feature: evidence interacts (a
short name that is a prefix is strong, unless it is two characters long), and the trees were
clearly better on the development pairs (out-of-fold log loss 0.049 against 0.056 for a
logistic regression). Each prediction is still a sum of per-feature contributions: along each
tree's path, the change in the node's value is credited to the feature split on (Saabas), so
`stakegraph resolve --explain` shows exactly what moved the score. The model ships as a small
JSON file beside this module (model.json), read at run time; nothing is fetched or trained on
the fly.

The model's probability is mapped onto the resolver's score scale piecewise linearly so that
its own thresholds (chosen on the development half, per kind of pair) land on the settings'
`same_threshold`, `unique_threshold` (the only good match on both sides merges from here,
ingest.resolve.cluster.one_to_one) and `unsure_threshold`: clustering, caps and review keep
working on scores. Pairs the model was not trained on (two Latin names; universities,
governments, zones) keep the hand-set score.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

__all__ = ["BUILTIN", "MODEL_FILE", "PairModel", "load_model"]

MODEL_FILE = Path(__file__).with_name("model.json")
BUILTIN = "builtin"  # the resolve_model setting: builtin (model.json), off, or a path to another file
FORMAT = "stakegraph-pair-model"
KINDS = ("zh", "cross")  # kinds of pair the model scores, by which features are present
LEAF = -1
Node = tuple[int, float, int, int, float]  # feature index (LEAF for a leaf), threshold, left, right, value


def _compile(trees: Sequence[Sequence[Node]], n_features: int) -> tuple[Callable, Callable]:
    """The trees as two Python functions of a feature vector: the log-odds (leaf values summed)
    and the per-feature contributions (path attribution). Why generated code: walking node
    tuples costs ~0.6 ms a pair in the interpreter, nested ifs a tenth of that, and the resolver
    scores hundreds of thousands of pairs. The code is written from the parsed numbers only
    (int() and float() of the file's values), never from the file's text."""
    score = ["def log_odds(v):", " s = 0.0"]
    credit = ["def contributions(v):", f" c = [0.0] * {n_features}"]

    def emit(tree: Sequence[Node], i: int, depth: int) -> None:
        f, threshold, left, right, value = tree[i]
        pad = " " * depth
        if f == LEAF:
            score.append(f"{pad}s += {float(value)!r}")
            return
        score.append(f"{pad}if v[{int(f)}] <= {float(threshold)!r}:")
        emit(tree, left, depth + 1)
        score.append(f"{pad}else:")
        emit(tree, right, depth + 1)

    def emit_credit(tree: Sequence[Node], i: int, depth: int) -> None:
        f, threshold, left, right, value = tree[i]
        if f == LEAF:
            return
        pad = " " * depth
        for branch, child in (("if", left), ("else", right)):
            credit.append(f"{pad}if v[{int(f)}] <= {float(threshold)!r}:" if branch == "if" else f"{pad}else:")
            credit.append(f"{pad} c[{int(f)}] += {float(tree[child][4]) - float(value)!r}")
            emit_credit(tree, child, depth + 1)

    for tree in trees:
        emit(tree, 0, 1)
        emit_credit(tree, 0, 1)
    score.append(" return s")
    credit.append(" return c")
    namespace: dict[str, Callable] = {}
    exec(compile("\n".join(score) + "\n" + "\n".join(credit), "<pair model>", "exec"), namespace)  # noqa: S102
    return namespace["log_odds"], namespace["contributions"]


@dataclass(frozen=True)
class PairModel:
    features: tuple[str, ...]
    baseline: float  # log-odds before any tree
    trees: tuple[tuple[Node, ...], ...]
    thresholds: Mapping[str, tuple[float, float, float]]  # kind -> (same, unique, unsure) probability
    trained_on: str
    digest: str  # of the file: part of the resolution fingerprint
    compiled: tuple[Callable, Callable] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", _compile(self.trees, len(self.features)))

    @property
    def expected(self) -> float:
        """The log-odds before any feature is looked at (the baseline plus each tree's mean):
        the contributions explain the distance from here."""
        return self.baseline + sum(tree[0][4] for tree in self.trees)

    def kind(self, x: Mapping[str, float]) -> str | None:
        """zh when two Chinese names were compared (the stricter case), cross for a Chinese and a
        Latin name, None when neither (the model never saw such pairs)."""
        if x.get("zh_pair"):
            return "zh"
        return "cross" if x.get("cross") else None

    def _vector(self, x: Mapping[str, float]) -> list[float]:
        return [x.get(f, 0.0) for f in self.features]

    def log_odds(self, x: Mapping[str, float]) -> float:
        return self.baseline + self.compiled[0](self._vector(x))  # type: ignore[index]

    def probability(self, x: Mapping[str, float]) -> float:
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, self.log_odds(x)))))

    def contributions(self, x: Mapping[str, float]) -> dict[str, float]:
        """Each feature's share of the log-odds above `expected` (they sum to it): along each
        tree's path, the change of the node value is credited to the feature split on."""
        return dict(zip(self.features, self.compiled[1](self._vector(x)), strict=True))  # type: ignore[index]

    def to_score(self, p: float, kind: str, same_threshold: float, unique_threshold: float,
                 unsure_threshold: float) -> float:
        """The probability on the score scale: the model's same, unique and unsure thresholds
        land on the settings' same_threshold, unique_threshold and unsure_threshold, linear in
        between (monotone, so the order of pairs is the model's)."""
        t_same, t_unique, t_unsure = self.thresholds[kind]
        points = ((0.0, 0.0), (t_unsure, unsure_threshold), (t_unique, unique_threshold), (t_same, same_threshold),
                  (1.0, 1.0))
        for (p0, s0), (p1, s1) in zip(points, points[1:], strict=False):
            if p <= p1:
                return s0 + (s1 - s0) * ((p - p0) / (p1 - p0) if p1 > p0 else 1.0)
        return 1.0


def _tree(raw: Sequence, n_features: int, where: str) -> tuple[Node, ...]:
    nodes = tuple((int(n[0]), float(n[1]), int(n[2]), int(n[3]), float(n[4])) for n in raw)
    for f, _, left, right, _ in nodes:
        if f != LEAF and not (0 <= f < n_features and 0 < left < len(nodes) and 0 < right < len(nodes)):
            raise ValueError(f"{where}: a node points outside its tree or at an unknown feature")
    return nodes


@cache
def load_model(spec: str = BUILTIN) -> PairModel | None:
    """The model named by the resolve_model setting; None when it is off. A file that is not a
    model of this format is an error naming the file, never silently ignored."""
    if spec in ("", "off", "none"):
        return None
    path = MODEL_FILE if spec == BUILTIN else Path(spec)
    raw = path.read_bytes()
    try:
        doc = json.loads(raw)
        if doc.get("format") != FORMAT:
            raise ValueError(f"format is {doc.get('format')!r}, expected {FORMAT!r}")
        features = tuple(str(f) for f in doc["features"])
        trees = tuple(_tree(t, len(features), f"tree {i}") for i, t in enumerate(doc["trees"]))
        thresholds = {k: (float(v["same"]), float(v["unique"]), float(v["unsure"])) for k, v in doc["thresholds"].items()}
        model = PairModel(features, float(doc["baseline"]), trees, thresholds, str(doc.get("trained_on", "")),
                          hashlib.sha1(raw).hexdigest())
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ValueError(f"{path}: not a pairwise model file ({exc})") from exc
    if set(thresholds) != set(KINDS):
        raise ValueError(f"{path}: needs thresholds for {', '.join(KINDS)}")
    for kind, (same, unique, unsure) in thresholds.items():
        if not 0 < unsure <= unique <= same < 1:
            raise ValueError(f"{path}: thresholds of {kind} must satisfy 0 < unsure <= unique <= same < 1")
    return model

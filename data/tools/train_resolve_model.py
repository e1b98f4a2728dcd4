"""Train the pairwise entity-resolution model (ingest/resolve/model.json) on real labelled pairs.

Data (built by data/tools/build_resolve_cases.py, development halves only; the test halves are
never read here): the SZSE English names and full Chinese names against all A-share short
names. Every pair blocking puts together is a training row, labelled by the truth (true pairs
share the stock code; the rest are the hard negatives of the same blocks). Rows are the
features ingest.resolve.score.model_inputs computes, the same call scoring makes, so training
and scoring cannot drift apart.

Model: gradient-boosted trees (sklearn HistGradientBoostingClassifier; a logistic regression is
fitted alongside as the baseline and printed beside it), its size chosen by 5-fold
cross-validation grouped by stock code (a company's pairs never on both sides of a fold), then
exported node by node to JSON (ingest.resolve.model reads it; the export is checked against
sklearn's own predictions before it is written). Thresholds per kind of pair (zh:
Chinese-Chinese, cross: Chinese-Latin) come from the out-of-fold probabilities: `unsure` where
all pairs above it reach the review precision; `same` and `unique` the pair that merges the most
true pairs at the target precision when the one-to-one rule of ingest.resolve.cluster (a list
names a firm once: the best candidate on both sides, by a margin) is simulated on them.

    python data/tools/train_resolve_model.py            # writes ingest/resolve/model.json
    python data/tools/train_resolve_model.py --dry-run  # prints the figures only
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ingest.resolve.blocking import candidate_pairs  # noqa: E402
from ingest.resolve.evaluate import case_records, read_truth  # noqa: E402
from ingest.resolve.features import features  # noqa: E402
from ingest.resolve.keys import key_conflicts  # noqa: E402
from ingest.resolve.model import FORMAT, LEAF, MODEL_FILE, load_model  # noqa: E402
from ingest.resolve.pair_features import FEATURES  # noqa: E402
from ingest.resolve.score import model_inputs  # noqa: E402
from ingest.resolve.settings import ResolveSettings  # noqa: E402

CASES = ROOT / "data" / "eval" / "resolve"
TRAIN = ("en_dev", "zh_dev")
TARGET = {"zh": 0.995, "cross": 0.985}  # pairwise precision at the same threshold (out of fold)
REVIEW = 0.3  # pairwise precision at the unsure threshold: review is worth a person's time above it
GRID = ((60, 8), (100, 8), (150, 8))  # (trees, leaves per tree): small enough to ship and to score fast


def boosted(trees: int, leaves: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=trees, learning_rate=0.1, max_leaf_nodes=leaves,
                                          min_samples_leaf=20, l2_regularization=1.0, random_state=0)


def export_trees(model: HistGradientBoostingClassifier) -> list[list[list[float]]]:
    """Every tree as [feature (LEAF for a leaf), threshold, left, right, value] nodes. An inner
    node's value is the count-weighted mean of its children's (what the path attribution of
    contributions needs; prediction reads leaves only)."""
    def mean(nodes, values: list[float], i: int) -> float:
        n = nodes[i]
        if n["is_leaf"]:
            return values[i]
        left, right = int(n["left"]), int(n["right"])
        vl, vr = mean(nodes, values, left), mean(nodes, values, right)
        values[i] = (vl * nodes[left]["count"] + vr * nodes[right]["count"]) / (nodes[left]["count"] + nodes[right]["count"])
        return values[i]

    out = []
    for (predictor,) in model._predictors:
        nodes = predictor.nodes
        values = [float(n["value"]) for n in nodes]
        mean(nodes, values, 0)
        out.append([[LEAF, 0.0, 0, 0, round(values[i], 6)] if n["is_leaf"] else
                    [int(n["feature_idx"]), float(n["num_threshold"]), int(n["left"]), int(n["right"]), round(values[i], 6)]
                    for i, n in enumerate(nodes)])
    return out


def rows(case: str, s: ResolveSettings) -> tuple[list[list[float]], list[int], list[str], list[str], list[str]]:
    """(feature rows, labels, group = the query record's stock code, kind) of one case. Pairs
    settled without the model (equal normalised names) come as rows of NaN: they are no
    training rows, but they are a query's best candidate (probability 1) when thresholds are
    chosen."""
    records, _ = case_records(CASES / case)
    truth = read_truth(CASES / f"{case}.truth.csv")
    feats = [features(r, s) for r in records]
    X, y, groups, kinds, others = [], [], [], [], []
    for i, j in candidate_pairs(feats, s.max_block_size):
        a, b = feats[i], feats[j]
        if a.strong_keys and b.strong_keys and key_conflicts(a.keys, b.keys):
            continue  # two listed firms: codes keep them apart whatever the model says
        x = model_inputs(a, b, s)
        if x is not None and not (x["zh_pair"] or x["cross"]):
            continue
        query = a if not a.strong_keys else b
        if x is None:
            X.append([float("nan")] * len(FEATURES))
            x = {"zh_pair": float(any(n.parts.chinese for n in query.names)), "cross": 1.0}
        else:
            X.append([x[f] for f in FEATURES])
        y.append(int(frozenset((a.record_id, b.record_id)) in truth))
        groups.append(query.record_id.split(":", 1)[1])
        kinds.append("zh" if x["zh_pair"] else "cross")
        others.append(b.record_id if query is a else a.record_id)
    return X, y, groups, kinds, others


def to_score(p: np.ndarray, t_same: float, t_unique: float, t_unsure: float, s: ResolveSettings) -> np.ndarray:
    """PairModel.to_score, vectorised."""
    return np.interp(p, [0.0, t_unsure, t_unique, t_same, 1.0],
                     [0.0, s.unsure_threshold, s.unique_threshold, s.same_threshold, 1.0])


class Ranking:
    """Who is whose best candidate (the order does not depend on the thresholds), to simulate
    ingest.resolve.cluster.one_to_one on out-of-fold probabilities."""

    def __init__(self, p: np.ndarray, y: np.ndarray, queries: np.ndarray, others: np.ndarray) -> None:
        self.p, self.y = p, y
        self.queries = sorted(set(queries))
        first: dict[str, list[int]] = {}
        second: dict[str, list[int]] = {}
        for i in np.argsort(-p, kind="stable"):
            for key, table in ((queries[i], first), (others[i], second)):
                table.setdefault(key, [])
                if len(table[key]) < 2:
                    table[key].append(int(i))
        self.top = {q: v for q, v in first.items()}
        self.other_top = {o: v for o, v in second.items()}
        self.other_of = others

    def merged(self, score: np.ndarray, s: ResolveSettings) -> tuple[int, int]:
        """(merged queries, right ones) under the one-to-one rule for these scores."""
        merged = right = 0
        for q in self.queries:
            mine = self.top[q]
            best = mine[0]
            theirs = self.other_top[self.other_of[best]]
            if theirs[0] != best:
                continue  # the candidate has a better query: this pair is not its best
            lead = min(score[best] - (score[mine[1]] if len(mine) > 1 else 0.0),
                       score[best] - (score[theirs[1]] if len(theirs) > 1 else 0.0))
            same = score[best] >= s.same_threshold and lead >= s.ambiguity_margin
            unique = score[best] >= s.unique_threshold and lead >= s.unique_margin
            if same or unique:
                merged += 1
                right += int(self.y[best])
        return merged, right


def choose(rank: Ranking, target: float, t_unsure: float, n_true: int, s: ResolveSettings
           ) -> tuple[float, float, float, float]:
    """(t_same, t_unique, precision, recall) with the most right merges at precision >= target."""
    grid = sorted({float(round(q, 4)) for q in np.quantile(rank.p[rank.p >= t_unsure], np.linspace(0, 1, 41))}
                  | {0.999})
    best = (0.999, 0.999, 1.0, 0.0)
    for i, t_same in enumerate(grid):
        for t_unique in grid[: i + 1]:
            if t_unique < t_unsure or not t_unsure < t_same:
                continue
            merged, right = rank.merged(to_score(rank.p, t_same, t_unique, t_unsure, s), s)
            if merged and right / merged >= target and right / n_true > best[3]:
                best = (t_same, t_unique, right / merged, right / n_true)
    return best


def unsure_threshold(p: np.ndarray, y: np.ndarray, precision: float) -> float:
    """The lowest probability t such that all pairs with p >= t have at least this precision."""
    order = np.argsort(-p)
    prec = np.cumsum(y[order]) / np.arange(1, len(order) + 1)
    ok = np.nonzero(prec >= precision)[0]
    return float(min(0.9, max(0.05, p[order][ok[-1]]))) if len(ok) else 0.9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    s = ResolveSettings()
    X, y, groups, kinds, others = [], [], [], [], []
    for case in TRAIN:
        cx, cy, cg, ck, co = rows(case, s)
        X += cx
        y += cy
        groups += [f"{case}:{g}" for g in cg]
        kinds += ck
        others += co
        print(f"{case}: {len(cy):,} pairs, {sum(cy):,} true ({Counter(ck)})")
    Xa, ya, ga, ka, oa = np.array(X), np.array(y), np.array(groups), np.array(kinds), np.array(others)
    settled = np.isnan(Xa).any(axis=1)
    print(f"{int(settled.sum())} pairs settled by equal names ({int(ya[settled].sum())} true)")
    ys, gs, ks, os_ = ya[settled], ga[settled], ka[settled], oa[settled]
    Xa, ya, ga, ka, oa = Xa[~settled], ya[~settled], ga[~settled], ka[~settled], oa[~settled]
    folds = list(GroupKFold(n_splits=5).split(Xa, ya, ga))

    def out_of_fold(make) -> np.ndarray:
        oof = np.zeros(len(ya))
        for train, test in folds:
            oof[test] = make().fit(Xa[train], ya[train]).predict_proba(Xa[test])[:, 1]
        return oof

    baseline = out_of_fold(lambda: LogisticRegression(C=10.0, max_iter=5000))
    print(f"baseline logistic regression: out-of-fold log loss {log_loss(ya, baseline):.4f}, "
          f"AUC {roc_auc_score(ya, baseline):.4f}")
    best = None
    for trees, leaves in GRID:
        oof = out_of_fold(lambda trees=trees, leaves=leaves: boosted(trees, leaves))
        loss = log_loss(ya, oof)
        print(f"boosted trees {trees} x {leaves} leaves: out-of-fold log loss {loss:.4f}, AUC {roc_auc_score(ya, oof):.4f}")
        if best is None or loss < best[0] - 0.0005:
            best = (loss, (trees, leaves), oof)
    _, size, oof = best
    thresholds = {}
    for kind in ("zh", "cross"):
        mask, smask = ka == kind, ks == kind
        n_true = len({g for g, yy in zip(np.concatenate([ga[mask], gs[smask]]), np.concatenate([ya[mask], ys[smask]]),
                                          strict=True) if yy})
        unsure = unsure_threshold(oof[mask], ya[mask], REVIEW)
        rank = Ranking(np.concatenate([oof[mask], np.ones(int(smask.sum()))]), np.concatenate([ya[mask], ys[smask]]),
                       np.concatenate([ga[mask], gs[smask]]), np.concatenate([oa[mask], os_[smask]]))
        same, unique, precision, recall = choose(rank, TARGET[kind], unsure, n_true, s)
        print(f"{kind}: same at p >= {same:.3f}, unique at p >= {unique:.3f}, unsure at p >= {unsure:.3f}: "
              f"out of fold, {recall:.3f} of {n_true} true pairs merged at precision {precision:.3f} "
              f"(target {TARGET[kind]})")
        thresholds[kind] = {"same": round(same, 4), "unique": round(unique, 4), "unsure": round(min(unsure, unique), 4)}
    model = boosted(*size).fit(Xa, ya)
    doc = {"format": FORMAT, "kind": "gradient-boosted trees", "features": list(FEATURES),
           "baseline": round(float(model._baseline_prediction.ravel()[0]), 6), "trees": export_trees(model),
           "thresholds": thresholds,
           "trained_on": f"{', '.join(TRAIN)} (data/eval/resolve): {len(ya):,} blocked pairs, {int(ya.sum()):,} true; "
                         f"{size[0]} trees of {size[1]} leaves by 5-fold CV grouped by stock code",
           "targets": {"same_precision": TARGET, "unsure_precision": REVIEW}}
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"
    check = Path("/tmp") / "stakegraph-model-check.json"
    check.write_text(text, encoding="utf-8")
    exported = load_model(str(check))
    sample = Xa[:: max(1, len(Xa) // 2000)]
    ours = np.array([exported.probability(dict(zip(FEATURES, row, strict=True))) for row in sample])
    assert np.allclose(ours, model.predict_proba(sample)[:, 1], atol=1e-6), "the export does not predict as sklearn does"
    print(f"export checked on {len(sample)} pairs; {len(text) / 1024:.0f} KiB")
    if not args.dry_run:
        MODEL_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {MODEL_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

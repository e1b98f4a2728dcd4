"""Refresh derive step: learn the ranking model from the graph itself.

For each question the recommender answers (a chain link's firms; SUPPLIES, INVESTS_IN,
PARTNERS_WITH, SUBSIDIARY_OF from an organisation), hide a seeded sample of current, real
relations one at a time, generate the candidates exactly as `recommend` does (the same
matching.rank.candidates call, with the relation hidden from everything it reads), compute every
signal, and fit a ranking model on which candidate was the hidden answer.

Two kinds are fitted and the one that ranks a held-out fifth of the questions better (MRR) is
kept (setting ranker_kind = auto): LightGBM's lambdarank, which learns interactions (CF matters
for a link with many members, text for a new one), and an L2-regularised logistic regression,
which is steadier on a few hundred questions and whose weights read directly. Beside each model,
one refitted without each signal group is stored for `eval links`' ablations. A question with
fewer than `ranker_min_positives` answered questions gets no model: the default weights are used
and the run log and every result say so. A refresh that touched few nodes keeps the model.

Known leak: vectors are not re-encoded when a membership is hidden (a firm's text names its
links), so the text signals look a little better in training than they are; `eval links`,
which removes hidden links before loading, is the honest measure.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import defaultdict
from typing import Any

import numpy as np

from kg.run import RunContext
from matching.rank.candidates import candidate_set
from matching.rank.model import FEATURES, GROUPS, MODEL_DIR, MODEL_FILE

log = logging.getLogger("stakegraph.rank")

QUESTION_TYPES = ("ACTIVE_IN", "SUPPLIES", "INVESTS_IN", "PARTNERS_WITH", "SUBSIDIARY_OF")
SEED = 14
LGBM_PARAMS = {"objective": "lambdarank", "n_estimators": 150, "learning_rate": 0.05, "num_leaves": 15,
               "min_child_samples": 10, "reg_lambda": 1.0, "subsample": 0.8, "subsample_freq": 1,
               "colsample_bytree": 0.9, "random_state": SEED, "verbose": -1, "n_jobs": 1}


def question_name(rel_type: str) -> str:
    return "sector" if rel_type == "ACTIVE_IN" else rel_type


def sample_questions(edges: dict[str, dict[str, Any]], labels: dict[str, str], per_type: int, now: int,
                     seed: int = SEED) -> dict[str, list[tuple[str, str, str]]]:
    """Per relation type, up to `per_type` (asker, answer, type) from current, non-illustrative
    relations, seeded; a chain link asks for its firm, otherwise either end asks for the other."""
    by_type: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key, e in edges.items():
        rel = key.split("|")[1]
        if rel not in QUESTION_TYPES or e.get("status") == "unseen" or e.get("evidence_tier") == "illustrative":
            continue
        until = str(e.get("until") or "")[:4]
        if until.isdigit() and int(until) < now:
            continue
        a, b = e["_pair"]
        if labels.get(a) != "Organization" or labels.get(b) != ("Sector" if rel == "ACTIVE_IN" else "Organization"):
            continue
        by_type[rel].append((a, b))
    out = {}
    for rel, pairs in sorted(by_type.items()):
        rng = random.Random(f"{seed}:{rel}")
        pairs.sort()
        picked = rng.sample(pairs, min(per_type, len(pairs)))
        out[rel] = [(b, a, rel) if rel == "ACTIVE_IN" or rng.random() < 0.5 else (a, b, rel) for a, b in picked]
    return out


def collect(view, settings, questions: list[tuple[str, str, str]], neighbours: dict[tuple[str, str], set[str]],
            deadline: float | None = None) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """(one (features, labels) group per call, the hidden relations found among the candidates).

    The hidden relations of one asker are asked together, a fifth of its counterparts at most
    per call (a chain link hides several of its firms at once and each is a right answer): the
    same questions for far fewer calls. Stops at `deadline` (time.perf_counter())."""
    by_asker: dict[tuple[str, str], list[str]] = defaultdict(list)
    for asker, answer, rel in questions:
        by_asker[(asker, rel)].append(answer)
    groups, found = [], 0
    for (asker, rel), answers in by_asker.items():
        size = max(1, min(10, len(neighbours.get((asker, rel), ())) // 5))
        for i in range(0, len(answers), size):
            if deadline is not None and time.perf_counter() > deadline:
                return groups, found
            chunk = set(answers[i:i + size])
            hidden = {(rel, frozenset((asker, a))) for a in chunk}
            linked = neighbours.get((asker, rel), set()) - chunk
            try:
                cs = candidate_set(view, asker, settings, rel_type=rel, exclude=linked, exclude_involved=False, hidden=hidden)
            except Exception as exc:  # one odd node must not stop a refresh
                log.debug("training question %s -> %s skipped: %s", asker, rel, exc)
                continue
            y = np.array([1.0 if c in chunk else 0.0 for c in cs.ids])
            if 0 < y.sum() < len(y):
                groups.append((cs.x, y))
                found += int(y.sum())
    return groups, found


def fit(kind: str, groups: list[tuple[np.ndarray, np.ndarray]], cols: list[int]) -> dict[str, Any]:
    x = np.vstack([g[0][:, cols] for g in groups])
    y = np.concatenate([g[1] for g in groups])
    features = [FEATURES[c] for c in cols]
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=500).fit(x, y)
        return {"kind": "logistic", "features": features, "coef": [round(float(c), 6) for c in model.coef_[0]],
                "intercept": round(float(model.intercept_[0]), 6)}
    import lightgbm

    model = lightgbm.LGBMRanker(**LGBM_PARAMS).fit(x, y, group=[len(g[1]) for g in groups])
    return {"kind": "lightgbm", "features": features, "model": model.booster_.model_to_string()}


def mrr(spec: dict[str, Any], groups: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Mean reciprocal rank of the answer among each question's candidates (ties count against)."""
    from matching.rank.model import LearnedRanker, WeightsRanker

    ranker = LearnedRanker({"q": spec}, WeightsRanker({}))
    total = 0.0
    for x, y in groups:
        s = ranker.score("q", x, contributions=False).scores
        answer = s[y > 0].max()  # the best-ranked of the call's hidden answers
        total += 1.0 / (1 + int((s >= answer).sum()) - 1)
    return total / max(1, len(groups))


def train(view, settings, edges: dict[str, dict[str, Any]], labels: dict[str, str], now: int,
          budget_s: float | None = None) -> dict[str, Any]:
    """The model file's content: per question a model, or why there is none. With `budget_s`,
    asking stops when it is spent (the questions are asked in a seeded order, so a shorter
    budget asks a prefix of the same questions)."""
    t0 = time.perf_counter()
    deadline = t0 + budget_s if budget_s is not None else None
    questions = sample_questions(edges, labels, settings.ranker_train_questions, now)
    neighbours: dict[tuple[str, str], set[str]] = defaultdict(set)
    for key, e in edges.items():
        rel = key.split("|")[1]
        if rel in QUESTION_TYPES and e.get("status") != "unseen":
            a, b = e["_pair"]
            neighbours[(a, rel)].add(b)
            neighbours[(b, rel)].add(a)
    spec: dict[str, Any] = {"features": list(FEATURES), "questions": {}, "fallback": {}, "trained": {}}
    for rel in QUESTION_TYPES:
        q = question_name(rel)
        asked = questions.get(rel, [])
        if len(asked) < settings.ranker_min_positives:  # cannot reach the minimum: do not compute features
            spec["fallback"][q] = (f"only {len(asked)} {rel} relations to learn from (fewer than "
                                   f"{settings.ranker_min_positives}): default weights")
            continue
        groups, found = collect(view, settings, asked, neighbours, deadline)
        if found < settings.ranker_min_positives:
            late = " within the time budget" if deadline is not None and time.perf_counter() > deadline else ""
            spec["fallback"][q] = (f"only {found} hidden {rel} relations found among the candidates{late} (fewer than "
                                   f"{settings.ranker_min_positives}): default weights")
            continue
        rng = random.Random(f"{SEED}:{rel}:split")
        order = list(range(len(groups)))
        rng.shuffle(order)
        cut = len(order) // 5
        held, fit_on = [groups[i] for i in order[:cut]], [groups[i] for i in order[cut:]]
        cols = list(range(len(FEATURES)))
        kinds = ("lightgbm", "logistic") if settings.ranker_kind == "auto" else (settings.ranker_kind,)
        scores = {k: round(mrr(fit(k, fit_on, cols), held), 4) for k in kinds}
        kind = max(kinds, key=lambda k: (scores[k], k == "logistic"))
        model = fit(kind, groups, cols)
        model["ablations"] = {}
        for features in GROUPS.values():
            keep = [c for c in cols if FEATURES[c] not in features]
            model["ablations"][",".join(sorted(features))] = fit(kind, groups, keep)
        model["positives"] = found
        model["held_out_mrr"] = scores
        spec["questions"][q] = model
        spec["trained"][q] = {"questions": len(asked), "calls": len(groups), "positives": found, "kind": kind,
                              "held_out_mrr": scores}
    spec["seconds"] = round(time.perf_counter() - t0, 2)
    return spec


def elapsed_s(ctx: RunContext) -> float:
    """Seconds since the run started. Not the sum of the run's timings: a few steps keep counts
    there too (texts_encoded, search_documents_written), and 16,838 texts read as 16,838 seconds
    gave training a half-hour budget — it took 417 s of a 576 s load (bench/refresh_scale.py)."""
    try:
        return max(0.0, time.time() - time.mktime(time.strptime(ctx.log.started, "%Y-%m-%dT%H:%M:%S")))
    except (TypeError, ValueError):
        return 0.0


def train_ranker(ctx: RunContext) -> None:
    """Derive step: train (or keep) the ranking model stored with the graph version."""
    import datetime

    path = ctx.writer.data_dir / MODEL_DIR / MODEL_FILE
    nodes = max(1, len(ctx.existing))
    if path.is_file() and ctx.touched is not None and len(ctx.touched) < settings_share(ctx) * nodes:
        ctx.log.details.append({"op": "ranker", "reused": True, "touched": len(ctx.touched)})
        return
    labels = {i: n.label for i, n in ctx.existing.items()}
    # at most ranker_train_share of the refresh so far (at least ranker_train_min_seconds)
    budget = max(float(ctx.settings.ranker_train_min_seconds), float(ctx.settings.ranker_train_share) * elapsed_s(ctx))
    try:
        spec = train(ctx.writer, ctx.settings, ctx.read_edges(), labels, datetime.date.today().year, budget)
    except Exception as exc:  # a failed training must not fail the refresh: the default weights rank
        log.exception("ranker training failed; the default weights will rank")
        ctx.log.details.append({"op": "ranker", "failed": str(exc)})
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    detail = {"op": "ranker", "seconds": spec["seconds"], "budget_s": round(budget, 1), "trained": spec["trained"],
              "fallback": spec["fallback"]}
    ctx.log.details.append(detail)
    for q, why in spec["fallback"].items():
        log.info("ranker: %s: %s", q, why)
    log.info("ranker trained in %.1f s: %s", spec["seconds"], spec["trained"])


def retrain(writer, settings) -> dict[str, Any]:
    """Train again on a graph as it stands, outside a refresh (eval links --retrain, repairs):
    the same `train`, its edges and labels read through the writer; the model is written into
    the new version."""
    import datetime

    labels = {n.id: n.label for label in writer.schema.labels for batch in writer.iter_nodes(label, 50_000) for n in batch}
    edges: dict[str, dict[str, Any]] = {}
    for rel in QUESTION_TYPES:
        for batch in writer.iter_edges(rel, batch_size=50_000):
            for e in batch:
                edges[f"{e.source_id}|{rel}|{e.target_id}"] = {**e.props, "_pair": (e.source_id, e.target_id)}
    spec = train(writer, settings, edges, labels, datetime.date.today().year)
    path = writer.data_dir / MODEL_DIR / MODEL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return spec


def settings_share(ctx: RunContext) -> float:
    return float(ctx.settings.ranker_retrain_share)

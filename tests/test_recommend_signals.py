"""The link-predictive graph signals on hand-made facts, where the right answer is known: they
read only what one call fetched, so they are tested without a store."""

from __future__ import annotations

import json

import numpy as np

from matching.facts import Facts, Tie, Trees
from matching.rank.eligibility import eligibility, question_of
from matching.rank.graph_signals import co_neighbours, diffusion, item_cf, tree_distance, tree_steps
from matching.signals import SignalContext, Target

TREES = Trees(parent={"a1": "a", "a2": "a", "a11": "a1", "b1": "b"}, children={"a": {"a1", "a2"}, "a1": {"a11"}, "b": {"b1"}},
              upstream_of={}, names={s: (s, s) for s in ("a", "a1", "a2", "a11", "b", "b1")})


def tie(rel: str, direction: str, other: str, label: str = "Organization", **props) -> Tie:
    return Tie(rel, direction, other, label, other, {"tier": "curated", **props}, other)


def facts(ties: dict[str, list[Tie]]) -> Facts:
    f = Facts()
    for node, ts in ties.items():
        f.ties[node] = list(ts)
        f.props[node] = {"kind": "company"}
        f.names[node] = node
    return f


def context(f: Facts, target: Target, anchors: list[str], rel: str | None, sector_props=None) -> SignalContext:
    return SignalContext(target, f, TREES, anchors, rel, 2026, 0.5, 3.0, sector_props or {})


def test_tree_steps_and_distance():
    assert tree_steps(TREES, "a11", "a2") == 3 and tree_steps(TREES, "a1", "a1") == 0 and tree_steps(TREES, "a1", "b1") is None
    f = facts({"near": [tie("ACTIVE_IN", "out", "a2", "Sector")], "far": [tie("ACTIVE_IN", "out", "a11", "Sector")],
               "other": [tie("ACTIVE_IN", "out", "b1", "Sector")]})
    out = tree_distance(context(f, Target("a1", "Sector", "a1", {"a1"}, set(), None), [], "ACTIVE_IN"), ["near", "far", "other"])
    assert out["near"].value == 0.25 and out["far"].value == 0.5 and out["other"].value == 0


def test_item_cf_for_a_link_reads_the_related_summary():
    f = facts({"x": [tie("ACTIVE_IN", "out", "b1", "Sector")], "y": [tie("ACTIVE_IN", "out", "a2", "Sector")]})
    related = {"a1": {"related_json": json.dumps([["b1", 0.8, 4], ["a2", 0.1, 1]])}}
    out = item_cf(context(f, Target("a1", "Sector", "a1", {"a1"}, set(), None), [], "ACTIVE_IN", related), ["x", "y"])
    assert out["x"].value == 0.8 > out["y"].value == 0.1
    assert out["x"].evidence[0].kind == "sector_cf" and out["x"].evidence[0].other == "b1"


def test_co_investors_and_item_cf_find_who_invests_with_the_targets_investors():
    # company T is backed by i1 and i2; i1 and i2 also back p; c backs p (a co-investor), d backs q (unrelated)
    f = facts({
        "T": [tie("INVESTS_IN", "in", "i1"), tie("INVESTS_IN", "in", "i2")],
        "i1": [tie("INVESTS_IN", "out", "T"), tie("INVESTS_IN", "out", "p")],
        "i2": [tie("INVESTS_IN", "out", "T"), tie("INVESTS_IN", "out", "p")],
        "p": [tie("INVESTS_IN", "in", "i1"), tie("INVESTS_IN", "in", "i2"), tie("INVESTS_IN", "in", "c")],
        "c": [tie("INVESTS_IN", "out", "p")],
        "d": [tie("INVESTS_IN", "out", "q")],
        "e": [tie("INVESTS_IN", "out", "p", until="2019")],  # an ended stake: counts less
    })
    cx = context(f, Target("T", "Organization", "T", set(), set(), None, rel_type="INVESTS_IN"), ["i1", "i2"], "INVESTS_IN")
    co = co_neighbours(cx, ["c", "d", "e"])
    assert co["c"].value > co["e"].value > 0 and co["d"].value == 0
    assert co["c"].evidence[0].other == "p" and co["c"].evidence[0].count == 1
    cf = item_cf(cx, ["c", "d", "e"])
    assert cf["c"].value > cf["e"].value > cf["d"].value == 0
    walk = diffusion(cx, ["c", "d", "e"])
    assert walk["c"].value > walk["d"].value


def test_eligibility_is_data():
    assert question_of("Project", None) == "partners" and question_of("Sector", None) == "sector"
    assert question_of("Organization", "INVESTS_IN") == "INVESTS_IN"
    partners = eligibility("partners")
    assert not partners.admits("government_body") and not partners.admits("park") and partners.admits("listed_company")
    assert partners.exclude_involved
    asked = eligibility("partners", include=["government_body"])
    assert asked.admits("government_body") and not asked.admits("company")
    assert not eligibility("partners", exclude=["fund"]).admits("fund")
    assert eligibility("SUBSIDIARY_OF").admits("government_body")


def test_learned_scores_without_the_breakdown_equal_the_breakdowns_sum():
    """Training and `eval links` rank with scores only (no SHAP pass); they must be the scores
    the page shows, whose contributions add up to them."""
    from matching.rank.model import FEATURES, LearnedRanker, WeightsRanker
    from matching.rank.train import fit

    rng = np.random.default_rng(14)
    groups = []
    for _ in range(40):
        x = rng.random((30, len(FEATURES)))
        y = np.zeros(30)
        y[int(np.argmax(x[:, 0] + 0.5 * x[:, 5]))] = 1.0  # the answer: high semantic and tree distance
        groups.append((x, y))
    for kind in ("lightgbm", "logistic"):
        ranker = LearnedRanker({"sector": fit(kind, groups, list(range(len(FEATURES))))}, WeightsRanker({}))
        x = rng.random((50, len(FEATURES)))
        full, quick = ranker.score("sector", x), ranker.score("sector", x, contributions=False)
        assert np.allclose(full.scores, quick.scores) and quick.model == full.model
        if kind == "lightgbm":
            assert np.allclose(full.contributions.sum(axis=1) + (full.scores - full.contributions.sum(axis=1)).mean(),
                               full.scores)  # contributions plus the one bias

"""How much of the Shenwan link cases is the split itself: the co-neighbour score with and
without its division by the candidate's degree, from the bundle files alone.

    .venv/bin/python data/tools/probe_link_cases.py     # reads data/eval/, prints a table and one JSON line

Every answer of the Shenwan cases is a company whose Shenwan membership is missing from the
loaded graph (hidden by the members case, not yet given by the time split), while nearly every
other company has one. A score that divides by the number of a company's memberships (as
co-neighbours does, 1/sqrt(degree)) lifts exactly the answers. This prints, per case, the
answer's MRR (first 100 ranks, ties as every order equally likely) and hit@10 among all
companies not already in the industry, for: the co-neighbour count (members of the industry
that share the candidate's tushare industry), the same divided by sqrt(the candidate's
memberships), and "lacks a Shenwan membership" alone with the count breaking ties. Not the
candidate sets of `eval links`, so the figures are near its baselines, not equal to them.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from pathlib import Path

EVAL = Path(__file__).resolve().parents[1] / "eval"
CASES = ("members_dev", "members_test", "time_dev", "time_test")


def load(hidden: set[tuple[str, str]]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    members: dict[str, set[str]] = defaultdict(set)
    of: dict[str, set[str]] = defaultdict(set)
    with open(EVAL / "shenwan" / "organizations.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for s in filter(None, row["sectors"].split("|")):
                if (s, row["id"]) not in hidden:
                    members[s].add(row["id"])
                    of[row["id"]].add(s)
            of.setdefault(row["id"], set())
    return members, of


def rank_stats(scores: dict[str, float], answer: str) -> tuple[float, float]:
    """(reciprocal rank within 100, hit@10), ties as every order equally likely."""
    mine = scores[answer]
    above = sum(1 for v in scores.values() if v > mine)
    same = sum(1 for v in scores.values() if v == mine)
    ranks = range(above + 1, above + same + 1)
    return (sum(1.0 / r for r in ranks if r <= 100) / same, sum(1 for r in ranks if r <= 10) / same)


def probe(case: str) -> dict[str, dict[str, float]]:
    with open(EVAL / f"links_shenwan_{case}.csv", encoding="utf-8") as fh:
        rows = [(r["source_id"], r["target_id"]) for r in csv.DictReader(fh)]
    members, of = load(set(rows))
    methods = {"count": [], "count / sqrt(degree)": [], "lacks Shenwan, then count": []}
    for sector, answer in rows:
        inside = members[sector]
        count = {c: float(sum(len(members[y] & inside) for y in secs if not y.startswith("sw-")))
                 for c, secs in of.items() if c not in inside}
        if answer not in count:
            continue
        divided = {c: v / math.sqrt(max(1, len(of[c]))) for c, v in count.items()}
        lacks = {c: (0.0 if any(y.startswith("sw-") for y in of[c]) else 1e6) + v for c, v in count.items()}
        for name, scores in zip(methods, (count, divided, lacks), strict=True):
            methods[name].append(rank_stats(scores, answer))
    return {name: {"mrr": round(sum(r for r, _ in v) / len(v), 3), "hit@10": round(sum(h for _, h in v) / len(v), 3),
                   "n": len(v)} for name, v in methods.items()}


def main() -> None:
    out = {case: probe(case) for case in CASES}
    print(f"{'case':14}{'method':28}{'MRR':>7}{'hit@10':>8}{'n':>6}")
    for case, res in out.items():
        for name, m in res.items():
            print(f"{case:14}{name:28}{m['mrr']:7.3f}{m['hit@10']:8.3f}{m['n']:6d}")
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()

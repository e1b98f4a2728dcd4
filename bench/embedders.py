"""Compare embedders on the bilingual pairs; print markdown tables for the README.

    PYTHONPATH=. .venv/bin/python bench/embedders.py [--specs use,lexical,...]

``--grid`` adds a coarse grid of minilm/use/lexical weights. Per kind (zh-zh, en-en, zh-en, all): ROC-AUC of cosine as a same/different
score, accuracy at the best single threshold, mean cosine of same and of
different pairs, and retrieval (each positive ``a`` ranks every distinct ``b``
in the file; recall@1 and MRR of its true ``b``). Then throughput.
This prints figures only; behaviour is asserted in tests/test_embed.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from matching.cases import KINDS, TextPair, load_pairs  # noqa: E402
from matching.embed import DEFAULT_EMBEDDER_SPEC, CombinedEmbedder, make_embedder  # noqa: E402

SPECS = [
    "minilm-raw",
    "minilm",
    "use",
    "lexical",
    "minilm+lexical",
    "use+lexical",
    "minilm+use",
    "minilm+use+lexical",
    "minilm:0.2+use:0.6+lexical:0.2",
]


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a random same pair outscores a random different one (ties count half)."""
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(accuracy, threshold) of the best cut ``score >= t`` over all observed scores."""
    best = (0.0, 0.0)
    for t in np.unique(scores):
        acc = float(((scores >= t) == labels).mean())
        if acc > best[0]:
            best = (acc, float(t))
    return best


def retrieval(pairs: list[TextPair], vec: dict[str, np.ndarray], gallery: list[str]) -> tuple[float, float]:
    """recall@1 and MRR of each positive pair's ``b`` among all distinct ``b`` texts.

    Other true ``b``s of the same ``a`` (SMIC and its full name) are not counted
    as competitors.
    """
    g = np.stack([vec[b] for b in gallery])
    truths: dict[str, set[str]] = {}
    for p in pairs:
        if p.same:
            truths.setdefault(p.a, set()).add(p.b)
    ranks = []
    for p in pairs:
        if not p.same:
            continue
        scores = g @ vec[p.a]
        target = float(vec[p.a] @ vec[p.b])
        better = sum(1 for s, b in zip(scores, gallery, strict=True) if s > target and b not in truths[p.a])
        ranks.append(better + 1)
    r = np.asarray(ranks, dtype=float)
    return float((r == 1).mean()), float((1.0 / r).mean())


def evaluate(pairs: list[TextPair], vec: dict[str, np.ndarray], gallery: list[str]) -> dict[str, float]:
    scores = np.array([float(vec[p.a] @ vec[p.b]) for p in pairs])
    labels = np.array([p.same for p in pairs])
    acc, thr = best_threshold(scores, labels)
    r1, mrr = retrieval(pairs, vec, gallery)
    return {
        "n": len(pairs),
        "auc": roc_auc(scores, labels),
        "acc": acc,
        "thr": thr,
        "same": float(scores[labels].mean()),
        "diff": float(scores[~labels].mean()),
        "r@1": r1,
        "mrr": mrr,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--specs", default=",".join(SPECS), help="comma-separated embedder specs")
    parser.add_argument("--grid", action="store_true", help="also try a grid of minilm/use/lexical weights")
    parser.add_argument(
        "--pairs", default=None, help="pairs CSV (default: matching/cases/bilingual_pairs.csv)"
    )
    args = parser.parse_args()
    pairs = load_pairs(args.pairs) if args.pairs else load_pairs()
    texts = list(dict.fromkeys([p.a for p in pairs] + [p.b for p in pairs]))
    gallery = list(dict.fromkeys(p.b for p in pairs))
    specs = [s.strip() for s in args.specs.split(",") if s.strip()]

    if args.grid:
        specs += [
            f"minilm:{m / 10:.1f}+use:{(10 - m - lx) / 10:.1f}+lexical:{lx / 10:.1f}"
            for m in (1, 2, 3)
            for lx in (1, 2, 3)
        ]
        specs = list(dict.fromkeys(specs))

    # Encode each single embedder once (timed); a combination reuses its parts'
    # rows through CombinedEmbedder.combine, exactly as the embedding cache does.
    part_rows: dict[str, np.ndarray] = {}
    part_time: dict[str, float] = {}
    results: dict[str, dict[str, dict[str, float]]] = {}
    speed: dict[str, float] = {}
    for spec in specs:
        embedder = make_embedder(spec)
        parts = embedder.parts if isinstance(embedder, CombinedEmbedder) else [(embedder, 1.0)]
        for part, _ in parts:
            if part.name not in part_rows:
                part.encode(["warm up", "预热"])  # load the model outside the timed region
                start = time.perf_counter()
                part_rows[part.name] = part.encode(texts)
                part_time[part.name] = time.perf_counter() - start
        blocks = [part_rows[part.name] for part, _ in parts]
        matrix = embedder.combine(blocks) if isinstance(embedder, CombinedEmbedder) else blocks[0]
        speed[spec] = len(texts) / sum(part_time[part.name] for part, _ in parts)
        vec = dict(zip(texts, matrix, strict=True))
        results[spec] = {kind: evaluate([p for p in pairs if p.kind == kind], vec, gallery) for kind in KINDS}
        results[spec]["all"] = evaluate(pairs, vec, gallery)

    print(
        f"Pairs: {len(pairs)} ({sum(p.same for p in pairs)} same); retrieval gallery: {len(gallery)} distinct b texts.\n"
    )
    for kind in (*KINDS, "all"):
        n = results[specs[0]][kind]["n"]
        print(f"### {kind} ({n} pairs)\n")
        print(
            "| embedder | ROC-AUC | best acc | threshold | mean cos same | mean cos diff | recall@1 | MRR |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for spec in specs:
            r = results[spec][kind]
            mark = " (default)" if spec == DEFAULT_EMBEDDER_SPEC else ""
            print(
                f"| {spec}{mark} | {r['auc']:.3f} | {r['acc']:.3f} | {r['thr']:.2f} | {r['same']:.3f} "
                f"| {r['diff']:.3f} | {r['r@1']:.3f} | {r['mrr']:.3f} |"
            )
        print()
    print("### macro average over kinds (each kind weighs the same; used to pick the default)\n")
    print("| embedder | ROC-AUC | recall@1 | MRR | AUC + MRR |")
    print("|---|---|---|---|---|")
    for spec in specs:
        macro = {m: float(np.mean([results[spec][k][m] for k in KINDS])) for m in ("auc", "r@1", "mrr")}
        mark = " (default)" if spec == DEFAULT_EMBEDDER_SPEC else ""
        print(
            f"| {spec}{mark} | {macro['auc']:.3f} | {macro['r@1']:.3f} | {macro['mrr']:.3f} "
            f"| {macro['auc'] + macro['mrr']:.3f} |"
        )
    print()
    avg = sum(len(t) for t in texts) / len(texts)
    print(
        f"### throughput ({len(texts)} texts, mean {avg:.0f} chars, {os.cpu_count()} cores, models preloaded; a blend costs the sum of its parts)\n"
    )
    print("| embedder | dim | texts/s |")
    print("|---|---|---|")
    for spec in specs:
        print(f"| {spec} | {make_embedder(spec).dim} | {speed[spec]:,.0f} |")


if __name__ == "__main__":
    main()

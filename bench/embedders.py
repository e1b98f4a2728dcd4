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
from matching.embed import DEFAULT_EMBEDDER_SPEC, CombinedEmbedder, entity_text, make_embedder  # noqa: E402
from matching.embed.models import embed_threads  # noqa: E402

SPECS = [
    "minilm-raw",
    "minilm",
    "minilm-int8",
    "use",
    "lexical",
    "minilm+lexical",
    "use+lexical",
    "minilm+use",
    "minilm+use+lexical",
    "minilm:0.2+use:0.6+lexical:0.2",
    "minilm-int8:0.2+use:0.6+lexical:0.2",
    "use:0.75+lexical:0.25",
    "use:0.7+lexical:0.3",
    "use:0.8+lexical:0.2",
]


def entity_texts(pairs: list[TextPair], n: int) -> list[str]:
    """Texts shaped like the refresh's (names | sectors | description, ~60-120 chars), for the
    throughput table: the pairs themselves are single names, shorter than what a load encodes."""
    names = list(dict.fromkeys(t for p in pairs for t in (p.a, p.b)))
    out = []
    for i in range(n):
        a, b = names[i % len(names)], names[(i * 7 + 3) % len(names)]
        out.append(entity_text([a, b], [SECTORS[i % len(SECTORS)]], f"{b} {DESCRIPTIONS[i % len(DESCRIPTIONS)]} {i}"))
    return out


SECTORS = ["半导体", "先进封装", "Semiconductor", "Data Technology", "新材料", "Precision Equipment"]
DESCRIPTIONS = ["maker of ic.fab wafers and packaging services", "提供晶圆级封装和混合键合工艺服务", "commercial bank for manufacturers"]


def throughput(specs: list[str], texts: list[str], rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    """texts/s of each spec on ``texts`` (a blend costs the sum of its parts; each part the
    median of ``rounds`` timed passes, the parts interleaved so a load change hits them alike),
    and of MiniLM (float and int8) with 1 and 2 torch threads."""
    import torch

    parts: dict[str, object] = {}
    for spec in specs:
        embedder = make_embedder(spec)
        for part, _ in (embedder.parts if isinstance(embedder, CombinedEmbedder) else [(embedder, 1.0)]):
            parts.setdefault(part.name, part)
    times: dict[str, list[float]] = {name: [] for name in parts}
    threads: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, part in parts.items():
            part.encode(texts[:32])
            start = time.perf_counter()
            part.encode(texts)
            times[name].append(time.perf_counter() - start)
        for name, part in parts.items():
            if not name.startswith("minilm"):
                continue
            for n in (1, 2):
                torch.set_num_threads(n)
                start = time.perf_counter()
                part.encode(texts)
                threads.setdefault(f"{name} threads={n}", []).append(time.perf_counter() - start)
        torch.set_num_threads(embed_threads())
    median = {name: float(np.median(t)) for name, t in times.items()}
    speed = {}
    for spec in specs:
        embedder = make_embedder(spec)
        names = [part.name for part, _ in (embedder.parts if isinstance(embedder, CombinedEmbedder) else [(embedder, 1.0)])]
        speed[spec] = len(texts) / sum(median[n] for n in names)
    return speed, {k: len(texts) / float(np.median(v)) for k, v in threads.items()}


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
    parser.add_argument("--texts", type=int, default=1000, help="entity-shaped texts for the throughput table")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes per part (median)")
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
        f"### throughput on the pair texts ({len(texts)} texts, mean {avg:.0f} chars, one pass each, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; a blend costs the sum of its parts)\n"
    )
    print("| embedder | dim | texts/s |")
    print("|---|---|---|")
    for spec in specs:
        print(f"| {spec} | {make_embedder(spec).dim} | {speed[spec]:,.0f} |")
    print()
    bulk = entity_texts(pairs, args.texts)
    before = os.getloadavg()[0]
    bulk_speed, thread_speed = throughput(specs, bulk, args.rounds)
    avg = sum(len(t) for t in bulk) / len(bulk)
    print(
        f"### throughput on entity-shaped texts ({len(bulk)} texts, mean {avg:.0f} chars, median of {args.rounds} "
        f"interleaved passes, embed_threads {embed_threads()}, load average {before:.1f} -> {os.getloadavg()[0]:.1f})\n"
    )
    print("| embedder | texts/s | ratio to the first |")
    print("|---|---|---|")
    first = bulk_speed[specs[0]]
    for spec in specs:
        mark = " (default)" if spec == DEFAULT_EMBEDDER_SPEC else ""
        print(f"| {spec}{mark} | {bulk_speed[spec]:,.0f} | {bulk_speed[spec] / first:.2f} |")
    print()
    print("| MiniLM torch threads | texts/s |")
    print("|---|---|")
    for name, value in thread_speed.items():
        print(f"| {name} | {value:,.0f} |")


if __name__ == "__main__":
    main()

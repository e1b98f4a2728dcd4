"""CLI: recommend, similar, eval links."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kg.schema import caption
from stakegraph_cli.registry import ARGUMENTS, command


@command("recommend", "ranked partner recommendations for a project (or sector / organisation)")
def cmd_recommend(args, settings) -> int:
    from kg.backends import open_view
    from kg.cells import terminal_text
    from matching.recommend import recommend

    with open_view(settings) as view:
        recs = recommend(view, args.entity, k=args.k, kinds=args.kind or None, exclude_kinds=args.exclude_kind or None,
                         region=args.region, rel_type=args.rel, settings=settings)
    if args.json:
        print(json.dumps([r.as_dict() for r in recs], ensure_ascii=False, indent=1))
        return 0
    lang = args.lang
    if recs and recs[0].note:
        print(f"note: {recs[0].note}")
    print(f"{'#':>3}  {'score':>5}  {'fit':>5}  {'policy':>6}  {'organisation':<36} reasons")
    for i, r in enumerate(recs, 1):
        name = caption("Organization", {"name_zh": r.name_zh, "name_en": r.name_en}, lang, r.org_id)
        reasons = "; ".join(r.reasons_zh if lang == "zh" else r.reasons_en)
        print(terminal_text(f"{i:>3}  {r.score:5.3f}  {r.fit:5.3f}  {r.policy:+6.3f}  {name[:36]:<36} {reasons}"))
        if args.explain:
            for s in [*r.signals, *r.policy_signals]:
                if s.contribution:
                    print(f"{'':>26}{s.name:<18} {s.value:5.2f} x {s.weight:+6.2f} = {s.contribution:+6.3f}")
    if recs:
        print(f"model: {recs[0].model}")
    return 0


@command("similar", "organisations similar to a text or to an entity id")
def cmd_similar(args, settings) -> int:
    from kg.backends import open_view
    from kg.cells import terminal_text
    from matching.similar import similar_by_text, similar_entities

    with open_view(settings) as view:
        hits = similar_entities(view, args.entity, args.k) if args.entity else similar_by_text(view, args.text, args.k)
        names = view.get_many([h for h, _ in hits])
        for node_id, score in hits:
            print(terminal_text(f"{score:6.3f}  {node_id:<24} {names[node_id].name if node_id in names else ''}"))
    return 0


@command("eval", "evaluate: eval links --data DIR (or --manifest FILE) --hidden FILE --k 10 | eval resolve --data DIR --truth FILE")
def cmd_eval(args, settings) -> int:
    if args.what == "links":
        from jobs.evaluate_links import HiddenLinksError, evaluate_links

        if not args.hidden:
            print("eval links: --hidden FILE is required (CSV source_id,target_id,type)", file=sys.stderr)
            return 2
        try:
            result = evaluate_links(Path(args.data) if args.data else None, Path(args.hidden), k=args.k,
                                    keep=Path(args.keep) if args.keep else None, retrain=args.retrain,
                                    manifest=Path(args.manifest) if args.manifest else None)
        except HiddenLinksError as exc:
            print(f"eval links: {exc}", file=sys.stderr)
            return 2
        print_links(result, args.k)
        return 0
    from ingest.resolve.evaluate import evaluate_resolution

    if not args.data or not args.truth:
        print("eval resolve: --data DIR and --truth FILE are required", file=sys.stderr)
        return 2
    result = evaluate_resolution(Path(args.data), Path(args.truth), Path(args.overrides) if args.overrides else None)
    at1 = f", accuracy@1 {result['accuracy_at_1']:.3f} ({result['queries']:,} queries)" if "accuracy_at_1" in result else ""
    print(f"pairwise precision {result['precision']:.3f}, recall {result['recall']:.3f}, F1 {result['f1']:.3f}{at1}; "
          f"{result['records']:,} records, {result['pairs']:,} true pairs, {result['predicted_pairs']:,} predicted, "
          f"{result['unsure_pairs']:,} left for review")
    print(json.dumps(result, sort_keys=True))
    return 0


def print_links(result: dict, k: int) -> None:
    """The table: every method on the same rows and candidates, per relation type, then the
    target check and one JSON line for the default model with its baselines."""
    from jobs.evaluate_links import targets

    print(f"hidden links: {result['present'] + result['absent']} ({result['present']} present in the data and removed "
          f"before loading, {result['absent']} absent: future links); candidates per row: {result['candidates_mean']}")
    print("models: " + ", ".join(f"{q}: {m}" for q, m in sorted(result["models"].items())))
    types = sorted({t for m in result["methods"].values() for t in m["by_type"]})
    head = f"{'method':<26} {'type':<14} {'hit@1':>6} {'hit@' + str(k):>7} {'mrr':>6} {'n':>5}"
    print(head)
    print("-" * len(head))
    for name, m in result["methods"].items():
        tag = " (baseline)" if name in result["baselines"] else ""
        for t, row in [("all", m["all"]), *((t, m["by_type"][t]) for t in types if t in m["by_type"] and len(types) > 1)]:
            print(f"{(name + tag) if t == 'all' else '':<26} {t:<14} {row['hit@1']:>6.3f} {row[f'hit@{k}']:>7.3f} "
                  f"{row['mrr']:>6.3f} {row['n']:>5}")
    tg = targets(result, k)
    print(f"target (MRR >= 1.25 x best baseline {tg['best_baseline_mrr'][0]} {tg['best_baseline_mrr'][1]:.3f}, "
          f"hit@{k} >= best baseline {tg['best_baseline_hit'][0]} {tg['best_baseline_hit'][1]:.3f} + 0.10): "
          f"MRR ratio {tg['mrr_ratio']}, hit@{k} gain {tg['hit_gain']:+.3f}: {'met' if tg['met'] else 'NOT met'}")
    line = dict(result["methods"]["model"]["all"])
    line["baselines"] = {b: {x: v for x, v in result["methods"][b]["all"].items() if x != "n"} for b in result["baselines"]}
    line["present"], line["absent"] = result["present"], result["absent"]
    print(json.dumps(line, sort_keys=True))


ARGUMENTS["recommend"] = lambda p: (
    p.add_argument("entity", help="project id (or a sector / organisation id)"),
    p.add_argument("--k", type=int, default=20),
    p.add_argument("--kind", action="append", help="only organisations of this kind, even one the question leaves out by default (repeatable)"),
    p.add_argument("--exclude-kind", action="append", help="leave out organisations of this kind (repeatable)"),
    p.add_argument("--rel", help="a relation type asked from an organisation: SUPPLIES, INVESTS_IN, PARTNERS_WITH, SUBSIDIARY_OF, ACTIVE_IN"),
    p.add_argument("--explain", action="store_true", help="print each result's breakdown: every signal's value, weight and contribution, and the policy line"),
    p.add_argument("--region", help="only organisations located in this region id"),
    p.add_argument("--lang", choices=["zh", "en"], default="en"),
    p.add_argument("--json", action="store_true"),
)
ARGUMENTS["similar"] = lambda p: (
    p.add_argument("text", nargs="?", default=""),
    p.add_argument("--entity", help="an entity id instead of a text"),
    p.add_argument("--k", type=int, default=10),
)
ARGUMENTS["eval"] = lambda p: (
    p.add_argument("what", choices=["links", "resolve"]),
    p.add_argument("--data", help="bundle folder"),
    p.add_argument("--manifest", help="links: a manifest instead of --data (data/sources.yaml: the starter graph)"),
    p.add_argument("--hidden", help="links: CSV source_id,target_id,type of relationships to hide"),
    p.add_argument("--truth", help="resolve: CSV record_a,record_b,same"),
    p.add_argument("--keep", help="links: load into this folder and reuse it on the next run with the same data and hidden file"),
    p.add_argument("--retrain", action="store_true", help="links, with --keep: train the ranking model again before ranking"),
    p.add_argument("--overrides", help="resolve: CSV of manual decisions (record_a,record_b,judgement,who,note)"),
    p.add_argument("--k", type=int, default=10),
)

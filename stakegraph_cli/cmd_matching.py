"""CLI: recommend, similar, eval links."""

from __future__ import annotations

import json
from pathlib import Path

from kg.schema import caption
from stakegraph_cli.registry import ARGUMENTS, command


@command("recommend", "ranked partner recommendations for a project (or sector / organisation)")
def cmd_recommend(args, settings) -> int:
    from kg.backends import open_view
    from kg.cells import terminal_text
    from matching.recommend import recommend

    with open_view(settings) as view:
        recs = recommend(view, args.entity, k=args.k, kinds=args.kind or None, region=args.region, settings=settings)
    if args.json:
        print(json.dumps([r.as_dict() for r in recs], ensure_ascii=False, indent=1))
        return 0
    lang = args.lang
    print(f"{'#':>3}  {'score':>5}  {'organisation':<36} reasons")
    for i, r in enumerate(recs, 1):
        name = caption("Organization", {"name_zh": r.name_zh, "name_en": r.name_en}, lang, r.org_id)
        reasons = "; ".join(r.reasons_zh if lang == "zh" else r.reasons_en)
        print(terminal_text(f"{i:>3}  {r.score:5.3f}  {name[:36]:<36} {reasons}"))
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


@command("eval", "evaluate: eval links --data DIR --hidden FILE --k 10 | eval resolve --data DIR --truth FILE")
def cmd_eval(args, settings) -> int:
    if args.what == "links":
        from jobs.evaluate_links import evaluate_links

        results = evaluate_links(Path(args.data), Path(args.hidden), k=args.k)
        print(f"{'signals':<16} {'hit@1':>6} {'hit@' + str(args.k):>7} {'mrr':>6} {'n':>4}")
        for name, m in results.items():
            print(f"{name:<16} {m['hit@1']:>6.3f} {m[f'hit@{args.k}']:>7.3f} {m['mrr']:>6.3f} {m['n']:>4}")
        print(json.dumps(results["combined"], sort_keys=True))
        return 0
    from ingest.resolve.evaluate import evaluate_resolution

    result = evaluate_resolution(Path(args.data), Path(args.truth))
    print(json.dumps(result, sort_keys=True))
    return 0


ARGUMENTS["recommend"] = lambda p: (
    p.add_argument("entity", help="project id (or a sector / organisation id)"),
    p.add_argument("--k", type=int, default=20),
    p.add_argument("--kind", action="append", help="only organisations of this kind (repeatable)"),
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
    p.add_argument("--data", required=True, help="bundle folder"),
    p.add_argument("--hidden", help="links: CSV source_id,target_id,type of relationships to hide"),
    p.add_argument("--truth", help="resolve: CSV record_a,record_b,same"),
    p.add_argument("--k", type=int, default=10),
)

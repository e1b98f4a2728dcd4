"""CLI: `stakegraph search QUERY` — the web's search box from a shell, paged, filtered, as a
table or as JSON Lines for scripts."""

from __future__ import annotations

import json
import sys

from stakegraph_cli.registry import ARGUMENTS, command


@command("search", "search names, codes and descriptions (or by meaning with --semantic); filters take ids or names")
def cmd_search(args, settings) -> int:
    from kg.backends import open_view
    from matching.search import SemanticUnavailable, UnknownFilter, find, hybrid_search

    filters = {"kinds": [args.kind] if args.kind else None, "labels": [args.label] if args.label else None,
               "region": args.region, "sector": args.sector}
    with open_view(settings) as view:
        try:
            if args.semantic and args.query.strip():
                results = hybrid_search(view, args.query, limit=args.limit, offset=args.offset, **filters)
            else:
                results = find(view, args.query, limit=args.limit, offset=args.offset, **filters)
        except (UnknownFilter, SemanticUnavailable) as exc:
            print(f"stakegraph search: {exc}", file=sys.stderr)
            return 2
    if args.json:  # JSON Lines: one compact object per hit, nothing else on stdout
        for h in results.hits:
            print(json.dumps({"id": h.id, "label": h.label, "name_zh": h.name_zh, "name_en": h.name_en, "kind": h.kind,
                              "region": h.city, "score": h.score, "match": h.match, "field": h.field,
                              "matched": h.matched}, ensure_ascii=False, separators=(",", ":")))
        return 0
    for n, h in enumerate(results.hits, results.first):
        print(f"{n:>5}  {h.id:<28} {h.label:<12} {h.name_zh or h.name_en:<30} {h.match:<8} {h.field}: {h.matched}")
    shown = f"{results.first:,}–{results.last:,} of {results.total:,}" if results.hits else f"0 of {results.total:,}"
    print(shown, file=sys.stderr)
    return 0


ARGUMENTS["search"] = lambda p: (
    p.add_argument("query", help="name, alias, pinyin, initials, code, id or words; '' lists by the filters"),
    p.add_argument("--semantic", action="store_true", help="fuse with the vectors' nearest neighbours"),
    p.add_argument("--kind", help="organisation kind, e.g. listed_company"),
    p.add_argument("--label", help="Organization, Project, Person, Sector, Region or Document"),
    p.add_argument("--region", help="region id or name in either language (Wuxi = 无锡), sub-regions included"),
    p.add_argument("--sector", help="chain link id or name, sub-links included"),
    p.add_argument("--limit", type=int, default=20, help="hits per page (default 20)"),
    p.add_argument("--offset", type=int, default=0, help="hits to skip"),
    p.add_argument("--json", action="store_true", help="JSON Lines, one hit per line"),
)

"""CLI: resolve --explain ID, resolve --review, resolve --same/--not-same A B [--who NAME]."""

from __future__ import annotations

import getpass
import json
import time

from stakegraph_cli.registry import ARGUMENTS, command


def _render_side(side: dict) -> str:
    names = " / ".join(x for x in (side.get("name_zh"), side.get("name_en")) if x) or "(no name)"
    facts = ", ".join(f"{k} {side[k]}" for k in ("stock_code", "credit_code", "city", "kind", "source") if side.get(k))
    return f"{side['id']}: {names}" + (f" ({facts})" if facts else "")


def _review(args, settings) -> int:
    from ingest.resolve.review import review_queue
    from kg.backends import open_view

    with open_view(settings) as view:
        items = review_queue(view, settings, limit=args.limit)
    if args.json:
        print(json.dumps([i.as_dict() for i in items], ensure_ascii=False, indent=1, default=str))
        return 0
    if not items:
        print("nothing to review: no unsure pair awaits a decision")
        return 0
    for n, item in enumerate(items, 1):
        print(f"{n:>3}. score {item.score:.2f}  {item.reason}")
        print(f"     A  {_render_side(item.side_a)}")
        print(f"     B  {_render_side(item.side_b)}")
        for feature, value, _ in [f for f in item.features if f[0].startswith("model:")][:4]:
            print(f"        {feature[6:]:<16} {value:+.2f}")
        print(f"     decide: stakegraph resolve --same {item.record_a} {item.record_b}   "
              f"(or --not-same; --who NAME --note TEXT)")
    return 0


@command("resolve", "entity resolution: --explain ID shows the evidence; --review lists unsure pairs; "
                    "--same/--not-same A B record a decision")
def cmd_resolve(args, settings) -> int:
    from ingest.resolve.explain import explain
    from kg.backends import open_view
    from kg.cells import terminal_text
    from kg.workspace import Workspace

    if args.same or args.not_same:
        a, b = sorted(args.same or args.not_same)
        if a == b:
            print("a decision needs two different ids")
            return 2
        judgement = "same" if args.same else "not_same"
        who = args.who or getpass.getuser() or "cli"
        ws = Workspace.open(settings)
        with ws.transaction() as db:  # the earlier active decision on the pair is retired, not deleted
            db.execute("UPDATE decisions SET active=0 WHERE record_a=? AND record_b=? AND active=1", (a, b))
            db.execute("INSERT INTO decisions(record_a, record_b, judgement, username, note, ts) VALUES (?,?,?,?,?,?)",
                       (a, b, judgement, who, args.note or "", time.time()))
        ws.audit(who, f"resolve.{judgement}", f"{a} {b}", {"note": args.note, "via": "cli"})
        print(f"recorded: {a} {judgement} {b} by {who}; it applies from the next refresh")
        return 0
    if args.review:
        return _review(args, settings)
    if not args.explain:
        print("give --explain ID, --review, or --same/--not-same A B")
        return 2
    with open_view(settings) as view:
        result = explain(view, args.explain)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    else:
        print(terminal_text(result["text"], keep_newlines=True))
    return 0 if result["found"] else 1


ARGUMENTS["resolve"] = lambda p: (
    p.add_argument("--explain", metavar="ID", help="an entity id, a merged-away id or a source:id record id"),
    p.add_argument("--review", action="store_true", help="list the unsure pairs awaiting a decision, best first"),
    p.add_argument("--limit", type=int, default=50, help="--review: at most this many pairs"),
    p.add_argument("--same", nargs=2, metavar=("A", "B")),
    p.add_argument("--not-same", nargs=2, metavar=("A", "B")),
    p.add_argument("--who", default="", help="who decides (default: the login name)"),
    p.add_argument("--note", default=""),
    p.add_argument("--json", action="store_true"),
)

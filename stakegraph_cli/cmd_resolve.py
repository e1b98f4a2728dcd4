"""CLI: resolve --explain ID, resolve --same A B, resolve --not-same A B."""

from __future__ import annotations

import json
import time

from stakegraph_cli.registry import ARGUMENTS, command


@command("resolve", "entity resolution: --explain ID shows the evidence; --same/--not-same A B record a decision")
def cmd_resolve(args, settings) -> int:
    from ingest.resolve.explain import explain
    from kg.backends import open_view
    from kg.cells import terminal_text
    from kg.workspace import Workspace

    if args.same or args.not_same:
        a, b = args.same or args.not_same
        judgement = "same" if args.same else "not_same"
        ws = Workspace.open(settings)
        ws.execute("INSERT INTO decisions(record_a, record_b, judgement, username, note, ts) VALUES (?,?,?,?,?,?)",
                   (a, b, judgement, "cli", args.note or "", time.time()))
        ws.audit("cli", f"resolve.{judgement}", f"{a} {b}", {"note": args.note})
        print(f"recorded: {a} {judgement} {b}; it applies from the next refresh")
        return 0
    with open_view(settings) as view:
        result = explain(view, args.explain)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    else:
        print(terminal_text(result["text"], keep_newlines=True))
    return 0 if result["found"] else 1


ARGUMENTS["resolve"] = lambda p: (
    p.add_argument("--explain", metavar="ID", help="an entity id, a merged-away id or a source:id record id"),
    p.add_argument("--same", nargs=2, metavar=("A", "B")),
    p.add_argument("--not-same", nargs=2, metavar=("A", "B")),
    p.add_argument("--note", default=""),
    p.add_argument("--json", action="store_true"),
)

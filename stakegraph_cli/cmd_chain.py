"""CLI: chain — the industry-chain map of a region, its gaps and whom to bring in."""

from __future__ import annotations

import json
from pathlib import Path

from stakegraph_cli.registry import ARGUMENTS, command


@command("chain", "industry-chain coverage of a region: local firms, strength, gaps and candidates")
def cmd_chain(args, settings) -> int:
    from kg.backends import open_view
    from kg.cells import terminal_text
    from matching.chain import chain_report, to_table, to_xlsx

    if args.threshold is not None:
        settings = settings.replace(gap_threshold=args.threshold)
    with open_view(settings) as view:
        report = chain_report(view, args.region, candidates=args.k, settings=settings)
    if args.xlsx:
        Path(args.xlsx).write_bytes(to_xlsx(report, args.lang))
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
    else:
        print(terminal_text(to_table(report, args.lang, markdown=args.markdown), keep_newlines=True), end="")
        if args.xlsx:
            print(f"\nwritten: {args.xlsx}")
    return 0


ARGUMENTS["chain"] = lambda p: (
    p.add_argument("--region", help="Region id or name (default: the home_region setting), e.g. Wuxi, 无锡"),
    p.add_argument("--k", type=int, default=5, help="candidates per gap"),
    p.add_argument("--threshold", type=float, help="gap threshold (default: the gap_threshold setting)"),
    p.add_argument("--lang", choices=["en", "zh"], default="en"),
    p.add_argument("--json", action="store_true", help="the whole report as JSON"),
    p.add_argument("--markdown", action="store_true", help="the table as Markdown (for docs)"),
    p.add_argument("--xlsx", metavar="FILE", help="also write the report as an XLSX workbook"),
)

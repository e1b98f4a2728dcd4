"""CLI for researchers and operators: cypher, export, backup, restore, migrate."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from stakegraph_cli.registry import ARGUMENTS, command


@command("cypher", "run one read-only Cypher query (time limit and row cap from the settings)")
def cmd_cypher(args, settings) -> int:
    """The query runs in a confined console worker, never in this process: a query stopped at a
    limit or one that crashes the engine ends with its message and exit status 1, never a signal."""
    from kg.console import parse_param, run_console_query
    from kg.results import result_csv, result_json, result_table
    from kg.store import QueryRefused, StoreError

    try:
        params = dict(parse_param(p) for p in args.param or [])
    except ValueError as exc:
        print(f"stakegraph cypher: {exc}", file=sys.stderr)
        return 2
    try:
        result = run_console_query(
            settings, args.query, params,
            max_rows=args.max_rows or settings.query_max_rows,
            timeout_ms=args.timeout_ms or settings.query_timeout_ms,
        )
    except StoreError as exc:
        print(f"stakegraph cypher: {exc}", file=sys.stderr)
        if args.json:  # a script reading the last line still gets one JSON object
            print(json.dumps({"error": str(exc), "refused": isinstance(exc, QueryRefused)}, ensure_ascii=False))
        return 1
    if args.json:
        print(json.dumps(result_json(result), ensure_ascii=False))
    elif args.csv:
        sys.stdout.write(result_csv(result))
    else:
        print(result_table(result))
    note = f"{len(result.rows)} row(s) in {result.elapsed_ms:.0f} ms"
    if result.truncated:
        note += f"; cut at the row limit of {args.max_rows or settings.query_max_rows}"
    print(note, file=sys.stderr)
    return 0


@command("export", "copy the graph: to files (--format jsonl | neo4j-admin --out DIR) or between backends")
def cmd_export(args, settings) -> int:
    from kg import export

    if args.format:
        if not args.out:
            print("stakegraph export: --format needs --out DIR", file=sys.stderr)
            return 2
        counts = export.export_files(settings, Path(args.out), args.format)
        print(f"wrote {sum(counts.values()):,} nodes and edges to {args.out} ({args.format})")
        if args.format == "neo4j-admin":
            print(f"import with: sh {Path(args.out) / 'import.sh'}  (see docs/neo4j.md)")
        return 0
    if args.to:
        counts = export.copy_between(settings, source=settings.backend, target=args.to, replace=args.replace)
    elif args.source:
        counts = export.copy_between(settings, source=args.source, target=settings.backend, replace=args.replace)
    else:
        print("stakegraph export: give --format with --out, --to BACKEND or --from BACKEND_OR_DIR", file=sys.stderr)
        return 2
    print(json.dumps(counts, sort_keys=True))
    return 0


@command("backup", "write a consistent tar.gz of STAKEGRAPH_HOME (graph version, workspace, settings); safe while the app runs")
def cmd_backup(args, settings) -> int:
    from kg.backup import backup

    path, manifest = backup(settings, Path(args.out) if args.out else None, with_cache=args.with_cache)
    print(f"backup of graph version {manifest['version']} written to {path}")
    return 0


@command("restore", "restore a backup archive into STAKEGRAPH_HOME (stop the web app first; --force to replace a graph)")
def cmd_restore(args, settings) -> int:
    from kg.backup import restore

    manifest = restore(settings, Path(args.archive), force=args.force)
    print(f"restored graph version {manifest['version']} from {args.archive}")
    return 0


@command("migrate", "apply the schema file to the existing graph (new labels, properties, types) without a reload")
def cmd_migrate(args, settings) -> int:
    from kg.migrate import migrate
    from kg.schema import load_schema

    schema = load_schema(args.schema) if args.schema else None
    report = migrate(settings, schema, dry_run=args.dry_run)
    for line in report.lines():
        print(line)
    return 0


ARGUMENTS["cypher"] = lambda p: (
    p.add_argument("query", help="one Cypher statement; reads only"),
    p.add_argument("--param", action="append", metavar="K=V", help="a parameter $K; V is read as JSON when it parses"),
    p.add_argument("--json", action="store_true", help="one JSON object: columns, rows, truncated, graph"),
    p.add_argument("--csv", action="store_true", help="CSV with a header row"),
    p.add_argument("--max-rows", type=int, help="row cap (default: the query_max_rows setting)"),
    p.add_argument("--timeout-ms", type=int, help="time limit (default: the query_timeout_ms setting)"),
)
ARGUMENTS["export"] = lambda p: (
    p.add_argument("--format", choices=["jsonl", "neo4j-admin"], help="write files of the current graph"),
    p.add_argument("--out", help="folder for --format"),
    p.add_argument("--to", choices=["ladybug", "neo4j"], help="copy the current graph into this backend"),
    p.add_argument("--from", dest="source", metavar="BACKEND_OR_DIR",
                   help="copy from ladybug, neo4j or an export folder into the current backend"),
    p.add_argument("--replace", action="store_true", help="delete the target graph's nodes first"),
)
ARGUMENTS["backup"] = lambda p: (
    p.add_argument("--out", help="archive path (default $STAKEGRAPH_HOME/backups/stakegraph-<time>.tar.gz)"),
    p.add_argument("--with-cache", action="store_true", help="also the embedding cache (large; rebuilt when absent)"),
)
ARGUMENTS["restore"] = lambda p: (
    p.add_argument("archive", help="a .tar.gz written by `stakegraph backup`"),
    p.add_argument("--force", action="store_true", help="replace the graph and workspace already in the home"),
)
ARGUMENTS["migrate"] = lambda p: (
    p.add_argument("--schema", help="schema file (default kg/schema.yaml)"),
    p.add_argument("--dry-run", action="store_true", help="only report what would change"),
)

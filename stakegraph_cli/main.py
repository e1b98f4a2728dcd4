"""The `stakegraph` command line: thin wrappers that parse arguments, call one library
function and print its result. Nothing imports this module.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from kg.settings import load_settings
from stakegraph_cli.registry import ARGUMENTS, COMMANDS, command


def _print_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str))


@command("init", "create $STAKEGRAPH_HOME: empty graph with the taxonomy, first admin user (no prompts)")
def cmd_init(args, settings) -> int:
    from jobs.tasks import init_home

    out = init_home(settings)
    print(f"stakegraph home: {out['home']}")
    print(f"first admin user: admin; password in {out['admin_password_file']}")
    return 0


def _finish_run(args, changelog) -> int:
    from kg.cells import terminal_text  # rejection reasons quote bundle text

    print(terminal_text(changelog.summary(), keep_newlines=True), file=sys.stderr if args.json else sys.stdout)
    if args.json:
        _print_json(changelog.totals())
    return 1 if changelog.rejected else 0


@command("load", "load one bundle folder (a one-bundle refresh); see docs/bundle.md")
def cmd_load(args, settings) -> int:
    from jobs.tasks import init_home, load_bundle

    init_home(settings)
    return _finish_run(args, load_bundle(settings, args.dir, strict=args.strict))


@command("refresh", "re-read every source of the manifest, change only what changed, log it")
def cmd_refresh(args, settings) -> int:
    from jobs.tasks import init_home, refresh_manifest

    init_home(settings)
    return _finish_run(args, refresh_manifest(settings, args.manifest, strict=args.strict))


@command("stats", "node counts per label and edge counts per type")
def cmd_stats(args, settings) -> int:
    from kg.backends import open_view

    with open_view(settings) as view:
        counts = view.counts()
    if args.json:
        _print_json(counts)
    else:
        width = max(map(len, counts))
        for key in sorted(counts):
            print(f"{key:<{width}}  {counts[key]:>9,}")
    return 0


@command("runs", "the last refresh runs and their totals")
def cmd_runs(args, settings) -> int:
    from ingest.runs import last_runs

    for run in last_runs(settings, args.n):
        print(f"{run['run_id']}  {run['status']:<24} +{run['added']} ~{run['changed']} -{run['unseen']} rejected {run['rejected']}")
    return 0


@command("serve", "run the web app (http://HOST:PORT)")
def cmd_serve(args, settings) -> int:
    from web.server import serve

    if args.threads:
        settings = settings.replace(web_threads=args.threads)
    if args.workers:
        settings = settings.replace(web_workers=args.workers)
    host, port = args.host or settings.host, args.port or settings.port
    print(f"stakegraph web app on http://{host}:{port}/  ({settings.web_workers} workers x {settings.web_threads} threads; "
          f"admin password: {settings.home_path / 'admin_password.txt'})", flush=True)
    serve(settings, host, port)
    return 0


@command("user", "add or update a user: user add NAME --role staff (password from --password or stdin)")
def cmd_user(args, settings) -> int:
    from kg.workspace import Workspace

    ws = Workspace.open(settings)
    if args.action == "list":
        for u in ws.users():
            print(f"{u['username']:<20} {u['role']}")
        return 0
    password = args.password or sys.stdin.readline().strip()
    ws.add_user(args.name, password, args.role)
    ws.audit("cli", "user.add", args.name, {"role": args.role})
    print(f"user {args.name} ({args.role}) saved")
    return 0


@command("token", "API bearer tokens: token create USER [--name N] | token revoke TOKEN_OR_ID | token list")
def cmd_token(args, settings) -> int:
    from kg.workspace import Workspace

    ws = Workspace.open(settings)
    if args.action == "create":
        print(ws.create_token(args.arg, args.name))
        ws.audit("cli", "token.create", args.arg, {"name": args.name})
    elif args.action == "revoke":
        if not ws.revoke_token(args.arg):
            print(f"no active token {args.arg!r}", file=sys.stderr)
            return 1
        ws.audit("cli", "token.revoke", args.arg)
        print("revoked")
    else:
        for t in ws.tokens():
            print(f"{t['id']:>4} {t['username']:<16} {t['name']:<20} {'revoked' if t['revoked'] else 'active'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stakegraph",
        description="Stakeholder knowledge graph and partner matchmaking. "
        "Settings come from $STAKEGRAPH_HOME/stakegraph.toml and STAKEGRAPH_* variables (docs/settings.md).",
    )
    parser.add_argument("--home", help="graph home folder (default $STAKEGRAPH_HOME or ./var)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress lines")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_fn, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        ARGUMENTS.get(name, lambda p: None)(p)
    return parser


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the totals as one JSON object on the last line")
    p.add_argument("--strict", action="store_true", help="abort before writing if any row is rejected")


ARGUMENTS.update({
    "load": lambda p: (p.add_argument("dir", help="bundle folder"), _run_args(p)),
    "refresh": lambda p: (p.add_argument("--manifest", help="sources manifest (default data/sources.yaml)"), _run_args(p)),
    "stats": lambda p: p.add_argument("--json", action="store_true", help="one JSON object, sorted keys"),
    "runs": lambda p: p.add_argument("-n", type=int, default=10, help="how many runs"),
    "serve": lambda p: (p.add_argument("--host"), p.add_argument("--port", type=int),
                        p.add_argument("--workers", type=int, help="worker processes (setting web_workers)"),
                        p.add_argument("--threads", type=int, help="threads per worker (setting web_threads)")),
    "user": lambda p: (
        p.add_argument("action", choices=["add", "list"]),
        p.add_argument("name", nargs="?"),
        p.add_argument("--role", default="staff", choices=["admin", "staff", "researcher"]),
        p.add_argument("--password", help="read from stdin when absent"),
    ),
    "token": lambda p: (
        p.add_argument("action", choices=["create", "revoke", "list"]),
        p.add_argument("arg", nargs="?", help="user (create) or token / token id (revoke)"),
        p.add_argument("--name", default="api", help="a label for the token"),
    ),
})


def main(argv: list[str] | None = None) -> int:
    _register_extensions()
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    import jieba  # it sets its own logger to DEBUG on import: its dictionary loading is no news to a user

    jieba.setLogLevel(logging.INFO if args.verbose else logging.WARNING)
    settings = load_settings({"home": args.home} if args.home else None)
    if args.home:
        import os

        os.environ["STAKEGRAPH_HOME"] = str(Path(args.home).resolve())
    fn, _ = COMMANDS[args.command]
    try:
        return fn(args, settings) or 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear one-line reason, not a traceback, for expected failures
        if args.verbose:
            raise
        print(f"stakegraph {args.command}: {exc}", file=sys.stderr)
        return 2


def _register_extensions() -> None:
    """Commands defined in sibling modules (cmd_*.py) register themselves on import."""
    import importlib
    import pkgutil

    import stakegraph_cli

    for mod in pkgutil.iter_modules(stakegraph_cli.__path__):
        if mod.name.startswith("cmd_"):
            importlib.import_module(f"stakegraph_cli.{mod.name}")


if __name__ == "__main__":
    sys.exit(main())

"""Load bench of the web app over real HTTP on 127.0.0.1: logged-in clients mixing searches,
entity pages, project pages (with their recommendations) and API calls.

It starts the server itself (`stakegraph serve`, waitress; or gunicorn / Flask's development
server for comparison) on a free port of 127.0.0.1 over a home that holds a loaded graph, adds
a bench user and an API token to that home's workspace, and then, for each concurrency level,
runs a bounded number of requests from that many client threads, each with its own logged-in
session (the login form: username, password, csrf_token). Prints requests/s and p50/p95/p99 per
route, failures (any status but 200, or a connection error) and the load average; the last
stdout line is one JSON object.

    python bench/web_load.py --home /tmp/home --clients 16,64 --requests 2000
    python bench/web_load.py --home /tmp/home --server gunicorn --workers 2

Traffic goes only to the server it started on 127.0.0.1, and stops after --requests per level.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
USER, PASSWORD = "bench-load", "bench-load-password-1"
# Share of each kind of request; search dominates what an office does all day.
MIX = (("search", 0.55), ("entity", 0.2), ("project", 0.1), ("api_search", 0.05), ("api_recs", 0.05),
       ("api_entity", 0.05))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_home(home: Path) -> str:
    """A staff user for the pages and a token for the API, in the home's own workspace."""
    sys.path.insert(0, str(ROOT))
    from kg.settings import load_settings
    from kg.workspace import Workspace

    ws = Workspace.open(load_settings({"home": str(home)}, env={"STAKEGRAPH_HOME": str(home)}))
    ws.add_user(USER, PASSWORD, "staff")
    ws.execute("DELETE FROM login_failures WHERE username=?", (USER,))
    return ws.create_token(USER, "web_load bench")


def start_server(args: argparse.Namespace, port: int) -> subprocess.Popen:
    env = {**os.environ, "STAKEGRAPH_HOME": str(args.home), "PYTHONPATH": str(ROOT)}
    py = sys.executable
    if args.server == "waitress":
        cmd = [py, "-m", "stakegraph_cli.main", "--home", str(args.home), "serve", "--host", "127.0.0.1",
               "--port", str(port), "--threads", str(args.threads)]
    elif args.server == "gunicorn":
        cmd = [py, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", str(args.workers), "-k", "gthread",
               "--threads", str(args.threads), "--backlog", "2048", "web:create_app()"]
    else:  # Flask's development server, the baseline the issue measured
        cmd = [py, "-c", f"from web import create_app; create_app().run(host='127.0.0.1', port={port}, threaded=True)"]
    # The server's log goes to a file: a pipe nobody reads fills up, and the server's event loop
    # then blocks writing waitress's "task queue depth" warning (it did, at 64 clients).
    args.server_log = args.home / f"web_load-{args.server}.log"
    return subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL,
                            stderr=open(args.server_log, "w"))  # noqa: SIM115 - closed with the process


def wait_ready(base: str, proc: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if requests.get(base + "/login", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit("server did not answer in time")


def login(base: str) -> requests.Session:
    s = requests.Session()
    page = s.get(base + "/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = {"username": USER, "password": PASSWORD, "csrf_token": token.group(1) if token else ""}
    r = s.post(base + "/login", data=data, timeout=30, allow_redirects=False)
    if r.status_code not in (302, 303):
        raise SystemExit(f"login failed: {r.status_code}")
    return s


def workload() -> dict[str, list[str]]:
    """Paths per route from the sample's own ids and names (what staff would type)."""
    with open(SAMPLE / "organizations.csv", encoding="utf-8") as fh:
        orgs = list(csv.DictReader(fh))
    with open(SAMPLE / "projects.csv", encoding="utf-8") as fh:
        projects = [r["id"] for r in csv.DictReader(fh)]
    queries = [o["name_zh"][:4] for o in orgs if o["name_zh"]][:60]
    queries += [o["name_en"].split()[0] for o in orgs if o["name_en"]][:40]
    queries += ["zxgj", "wuxi", "封装", "semiconductor", "晶圆", "hbm", "无锡", "equipment"]
    ids = [o["id"] for o in orgs]
    q = requests.utils.quote
    return {
        "search": [f"/search?q={q(x)}" for x in queries],
        "entity": [f"/entities/{i}" for i in ids],
        "project": [f"/projects/{p}" for p in projects],
        "api_search": [f"/api/v1/search?q={q(x)}" for x in queries],
        "api_recs": [f"/api/v1/projects/{p}/recommendations" for p in projects],
        "api_entity": [f"/api/v1/entities/{i}" for i in ids],
    }


def run_level(base: str, token: str, sessions: list[requests.Session], total: int, paths: dict[str, list[str]],
              seed: int) -> dict:
    """`total` requests from one thread per logged-in session (logins are not timed)."""
    clients = len(sessions)
    rng = random.Random(seed)
    routes, weights = zip(*MIX, strict=True)
    plan = [(r, rng.choice(paths[r])) for r in rng.choices(routes, weights, k=total)]
    local = threading.local()
    counter = iter(range(clients))
    lock = threading.Lock()
    times: dict[str, list[float]] = defaultdict(list)
    failures: dict[str, list[str]] = defaultdict(list)

    def one(item: tuple[str, str]) -> None:
        if not hasattr(local, "s"):
            with lock:
                local.s = sessions[next(counter)]
        route, path = item
        headers = {"Authorization": f"Bearer {token}"} if route.startswith("api_") else {}
        t0 = time.perf_counter()
        try:
            r = local.s.get(base + path, headers=headers, timeout=120, allow_redirects=False)
            r.content  # noqa: B018 - read the whole body
            ok, why = r.status_code == 200, str(r.status_code)
        except requests.RequestException as exc:
            ok, why = False, type(exc).__name__
        dt = time.perf_counter() - t0
        with lock:
            times[route].append(dt)
            if not ok:
                failures[route].append(f"{why} {path}")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, plan))
    wall = time.perf_counter() - t0
    out = {"clients": clients, "requests": total, "wall_s": round(wall, 2), "rps": round(total / wall, 1),
           "failed": sum(len(f) for f in failures.values()), "routes": {}}
    for route, ts in sorted(times.items()):
        ts.sort()
        out["routes"][route] = {
            "n": len(ts), "rps": round(len(ts) / wall, 1), "p50_ms": round(1000 * pct(ts, 50), 1),
            "p95_ms": round(1000 * pct(ts, 95), 1), "p99_ms": round(1000 * pct(ts, 99), 1),
            "mean_ms": round(1000 * statistics.fmean(ts), 1), "failed": len(failures.get(route, [])),
            "failure_examples": failures.get(route, [])[:3]}
    return out


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants (gunicorn's workers):
    what the server spent, whatever else the shared machine was doing."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += stats.get(p, (0, 0.0))[1]
        todo += [c for c, (ppid, _) in stats.items() if ppid == p]
    return total


def pct(sorted_values: list[float], p: float) -> float:
    k = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, required=True, help="a STAKEGRAPH_HOME with a loaded graph (stakegraph load data/sample)")
    ap.add_argument("--server", choices=["waitress", "gunicorn", "flask"], default="waitress")
    ap.add_argument("--threads", type=int, default=8, help="server worker threads (per process for gunicorn)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    ap.add_argument("--clients", default="16,64", help="concurrency levels, comma-separated")
    ap.add_argument("--requests", type=int, default=2000, help="requests per level (bounded)")
    ap.add_argument("--warmup", type=int, default=200, help="requests before measuring (index warm-up)")
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args(argv)
    args.home = args.home.resolve()
    token = prepare_home(args.home)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(args, port)
    results = []
    try:
        wait_ready(base, proc, args.server_log)
        paths = workload()
        run_level(base, token, [login(base) for _ in range(8)], args.warmup, paths, args.seed - 1)  # warm
        for clients in [int(c) for c in args.clients.split(",")]:
            sessions = [login(base) for _ in range(clients)]
            load0 = os.getloadavg()[0]
            cpu0 = tree_cpu_s(proc.pid)
            res = run_level(base, token, sessions, args.requests, paths, args.seed + clients)
            res["server_cpu_ms_per_request"] = round(1000 * (tree_cpu_s(proc.pid) - cpu0) / args.requests, 2)
            res["loadavg_before"] = round(load0, 2)
            res["loadavg_after"] = round(os.getloadavg()[0], 2)
            results.append(res)
            print(f"\n{args.server} ({args.threads} threads{f', {args.workers} workers' if args.server == 'gunicorn' else ''}),"
                  f" {clients} clients, {res['requests']} requests in {res['wall_s']} s: {res['rps']} req/s, "
                  f"{res['failed']} failed, load average {res['loadavg_before']} -> {res['loadavg_after']}, "
                  f"server CPU {res['server_cpu_ms_per_request']} ms a request")
            print(f"  {'route':<11} {'n':>5} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  failed")
            for route, r in res["routes"].items():
                print(f"  {route:<11} {r['n']:>5} {r['rps']:>7} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8}  {r['failed']}"
                      + (f"  e.g. {r['failure_examples'][0]}" if r["failure_examples"] else ""))
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(json.dumps({"server": args.server, "threads": args.threads, "workers": args.workers if args.server == "gunicorn" else 1,
                      "cpus": os.cpu_count(), "levels": results}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

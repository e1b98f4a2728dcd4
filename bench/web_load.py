"""Load bench of the web app over real HTTP on 127.0.0.1: logged-in clients mixing searches,
entity pages, project pages (with their recommendations) and API calls.

It starts the server itself (`stakegraph serve`: gunicorn workers; or Flask's development server
for comparison) on a free port of 127.0.0.1 over a home that holds a loaded graph, adds
a bench user and an API token to that home's workspace, and then, for each concurrency level,
runs a bounded number of requests from that many client threads, each with its own logged-in
session (the login form: username, password, csrf_token). Prints requests/s and p50/p95/p99 per
route, failures (any status but 200, or a connection error) and the load average; the last
stdout line is one JSON object.

    python bench/web_load.py --home /tmp/home --clients 16,64 --requests 2000
    python bench/web_load.py --home /tmp/home --mix search --rate 200 --requests 4000
    python bench/web_load.py --home /tmp/home --workers 1 --threads 8

Traffic goes only to the server it started on 127.0.0.1, and stops after --requests per level.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import itertools
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
import urllib.parse
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
MIXES = {"office": MIX, "search": (("search", 1.0),)}


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
    if args.server == "serve":
        cmd = [py, "-m", "stakegraph_cli.main", "--home", str(args.home), "serve", "--host", "127.0.0.1",
               "--port", str(port), "--threads", str(args.threads), "--workers", str(args.workers)]
    else:  # Flask's development server, the baseline the issue measured
        cmd = [py, "-c", f"from web import create_app; create_app().run(host='127.0.0.1', port={port}, threaded=True)"]
    # The server's log goes to a file: a pipe nobody reads fills up, and the server's event loop
    # then blocks writing its warnings (waitress's "task queue depth" did, at 64 clients).
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


class Client:
    """One logged-in client on one keep-alive connection (http.client: the requests library cost
    the 2-core machine ~10 ms of CPU a request, as much as the server it was measuring)."""

    def __init__(self, base: str, session: requests.Session, token: str):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
        self.token = token
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str, api: bool) -> tuple[bool, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if api else {"Cookie": self.cookie}
        for attempt in (0, 1):  # a keep-alive connection the server closed is reopened once
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                self.conn.request("GET", path, headers=headers)
                r = self.conn.getresponse()
                r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status == 200, str(r.status)
            except (OSError, http.client.HTTPException) as exc:
                self.conn.close()
                self.conn = None
                if attempt:
                    return False, type(exc).__name__
        return False, "unreachable"


def run_level(base: str, token: str, sessions: list[requests.Session], total: int, paths: dict[str, list[str]],
              seed: int, mix: tuple[tuple[str, float], ...] = MIX, rate: float | None = None) -> dict:
    """`total` requests from one thread per logged-in session (logins are not timed).

    Closed loop (rate None): each client sends its next request as soon as the last one is
    answered, so the level measures the server's saturation throughput. Open loop (`rate`
    requests/s in all, Poisson arrivals): each request has its planned start time, and its
    latency counts from then, so a request that waited for a free client counts that wait (no
    coordinated omission); the level shows whether the server keeps up with that arrival rate
    and with what tail."""
    clients = len(sessions)
    rng = random.Random(seed)
    routes, weights = zip(*mix, strict=True)
    plan = [(r, rng.choice(paths[r])) for r in rng.choices(routes, weights, k=total)]
    starts = list(itertools.accumulate(rng.expovariate(rate) for _ in plan)) if rate else [0.0] * total
    pool_clients = [Client(base, s, token) for s in sessions]
    local = threading.local()
    counter = iter(range(clients))
    lock = threading.Lock()
    times: dict[str, list[float]] = defaultdict(list)
    failures: dict[str, list[str]] = defaultdict(list)
    t_start = time.perf_counter() + 0.2

    def one(i: int) -> None:
        if not hasattr(local, "c"):
            with lock:
                local.c = pool_clients[next(counter)]
        route, path = plan[i]
        planned = t_start + starts[i]
        wait = planned - time.perf_counter()
        if rate and wait > 0:
            time.sleep(wait)
        t0 = planned if rate else time.perf_counter()
        ok, why = local.c.get(path, route.startswith("api_"))
        dt = time.perf_counter() - t0
        with lock:
            times[route].append(dt)
            if not ok:
                failures[route].append(f"{why} {path}")

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(total)))
    wall = time.perf_counter() - t_start
    out = {"clients": clients, "requests": total, "offered_rps": rate, "wall_s": round(wall, 2),
           "rps": round(total / wall, 1), "failed": sum(len(f) for f in failures.values()), "routes": {}}
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


# The serving issue's targets, each a level of its own: the office mix as fast as the clients can
# send (the project pages' tail under saturation), and searches arriving at 200 a second (the
# rate staff are to be served at, its tail measured from each planned start).
TARGET_LEVELS = (("office", None, 16, 2000), ("office", None, 64, 2000), ("search", 200.0, 16, 4000),
                 ("search", 200.0, 64, 4000))


def verdict(results: list[dict]) -> dict[str, bool]:
    """Targets: >= 200 search requests/s with p99 <= 200 ms (the serving issue) and p95 < 100 ms
    (the search issue), project pages p95 <= 500 ms, zero failed requests, at 16 and at 64 clients."""
    out: dict[str, bool] = {}
    for res in results:
        tag = f"{res['mix']}_{res['clients']}"
        if res["mix"] == "search" and res["offered_rps"]:
            r = res["routes"]["search"]
            out[f"{tag}_search_rps_ge_200"] = r["rps"] >= 0.98 * 200  # Poisson arrivals: +-2% of the rate
            out[f"{tag}_search_p99_le_200ms"] = r["p99_ms"] <= 200
            out[f"{tag}_search_p95_lt_100ms"] = r["p95_ms"] < 100
        if "project" in res["routes"]:
            out[f"{tag}_project_p95_le_500ms"] = res["routes"]["project"]["p95_ms"] <= 500
        out[f"{tag}_no_failures"] = res["failed"] == 0
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, required=True, help="a STAKEGRAPH_HOME with a loaded graph (stakegraph load data/sample)")
    ap.add_argument("--server", choices=["serve", "flask"], default="serve")
    ap.add_argument("--threads", type=int, default=4, help="threads per worker process (stakegraph serve --threads)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (stakegraph serve --workers)")
    ap.add_argument("--clients", default="16,64", help="concurrency levels, comma-separated")
    ap.add_argument("--requests", type=int, default=2000, help="requests per level (bounded)")
    ap.add_argument("--warmup", type=int, default=200, help="requests before measuring (index warm-up)")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--mix", choices=sorted(MIXES), default="office",
                    help="office: searches, entity and project pages and API calls; search: GET /search?q= only")
    ap.add_argument("--rate", type=float, default=None,
                    help="open loop: this many requests/s in all (Poisson arrivals), latency from each planned "
                         "start; without it each client sends its next request when the last is answered")
    ap.add_argument("--targets", action="store_true",
                    help="run the serving issue's levels (office mix closed loop, search at 200 req/s; 16 and 64 "
                         "clients) and print whether each target is met")
    args = ap.parse_args(argv)
    levels = TARGET_LEVELS if args.targets else tuple(
        (args.mix, args.rate, int(c), args.requests) for c in args.clients.split(","))
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
        for mix_name, rate, clients, total in levels:
            sessions = [login(base) for _ in range(clients)]
            load0 = os.getloadavg()[0]
            cpu0 = tree_cpu_s(proc.pid)
            res = run_level(base, token, sessions, total, paths, args.seed + clients, MIXES[mix_name], rate)
            res["mix"] = mix_name
            res["server_cpu_ms_per_request"] = round(1000 * (tree_cpu_s(proc.pid) - cpu0) / total, 2)
            res["loadavg_before"] = round(load0, 2)
            res["loadavg_after"] = round(os.getloadavg()[0], 2)
            results.append(res)
            print(f"\n{args.server} ({f'{args.workers} workers x {args.threads} threads' if args.server == 'serve' else 'threaded'}),"
                  f" {mix_name} mix, {clients} clients"
                  + (f", offered {rate:g} req/s (open loop)" if rate else ", closed loop")
                  + f", {res['requests']} requests in {res['wall_s']} s: {res['rps']} req/s, "
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
    targets = verdict(results)
    if args.targets:
        print("\ntargets: " + ", ".join(f"{k} {'met' if ok else 'NOT met'}" for k, ok in targets.items()))
    print(json.dumps({"server": args.server, "threads": args.threads, "workers": args.workers if args.server == "serve" else 1,
                      "cpus": os.cpu_count(), "levels": results, "targets": targets}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

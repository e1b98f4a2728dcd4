"""The console's sandbox: the security probe's statements on every way in, and the worker
process's confinement proven on its own, with the statement check bypassed.

Real homes (the session's loaded sample from conftest, or the tiny bundle), real worker
processes, a real CLI in a subprocess and the real Flask app; no mocks. Each probe form is sent
to the library function, the CLI, the web console and the API; none may return a secret's
content, crash the calling process, answer 500 or exit with a signal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kg.console import run_console_query, run_in_worker, wait_idle
from kg.console_pool import pool
from kg.store import QueryRefused, StoreError
from kg.workspace import Workspace

FILE = "(file_format='csv', header=false) RETURN *"
LOAD_KEY = "LOAD FROM '{home}/secret_key' " + FILE
# The probe's forms. "refused": the statement check says no before anything runs; "ok": it must
# run (keywords in strings, names and aliases are not statements); "fails": refused or an engine
# error, never a result.
FORMS: list[tuple[str, str]] = [
    # a digit right before a keyword: the engine reads `1LOAD` as `1 LOAD`
    ("refused", "UNWIND [1] AS x WITH x WHERE x=1" + LOAD_KEY),
    ("refused", "UNWIND [1] AS x WITH x WHERE x=1CALL read_csv_serial('{home}/secret_key') RETURN *"),
    ("refused", "UNWIND [1] AS x WITH x WHERE x=1COPY Organization FROM '{home}/secret_key'"),
    ("refused", "UNWIND [1] AS x WITH x WHERE x=1EXPORT DATABASE '{home}/exported'"),
    ("refused", "UNWIND [1] AS x WITH x WHERE x=1ATTACH '{home}/workspace.db' AS w (dbtype sqlite)"),
    ("refused", "UNWIND [1] AS x WITH x WHERE x=1INSTALL httpfs"),
    ("refused", "UNWIND [1] AS x WITH x WHERE x=1IMPORT DATABASE '{home}'"),
    ("refused", "UNWIND [1] AS x WITH x WHERE x=1.5LOAD FROM '{home}/admin_password.txt' " + FILE),
    ("refused", "UNWIND [1] AS x WITH x WHERE x=1e0" + LOAD_KEY),
    ("refused", "UNWIND [1] AS x WITH x WHERE x=0x1" + LOAD_KEY),
    ("refused", "RETURN 1" + LOAD_KEY),
    ("refused", "WITH 1 AS x WHERE x=1load from '{home}/secret_key' (file_format='csv', header=false) return *"),
    # comments
    ("fails", "LO/**/AD FROM '{home}/secret_key' " + FILE),
    ("refused", "/* x */" + LOAD_KEY),
    ("refused", "RETURN 1 AS x //\n" + LOAD_KEY),
    ("refused", "RETURN 1 AS x // hidden\r" + LOAD_KEY),
    ("refused", "RETURN 1 AS x // hidden\u2028" + LOAD_KEY),
    ("refused", "UNWIND [1] AS x WITH x WHERE x=1/**/" + LOAD_KEY),
    ("refused", "CALL/**/read_csv_serial('{home}/secret_key') RETURN *"),
    # letter case
    ("refused", "load from '{home}/secret_key' (file_format='csv', header=false) return *"),
    ("refused", "LoAd FrOm '{home}/secret_key' " + FILE),
    ("refused", "call READ_CSV_SERIAL('{home}/secret_key') return *"),
    ("refused", "CaLl Read_Csv_Parallel('{home}/secret_key') RETURN *"),
    # look-alike characters and other spaces
    ("refused", "ＬＯＡＤ FROM '{home}/secret_key' " + FILE),
    ("fails", "L\u041eAD FROM '{home}/secret_key' " + FILE),
    ("refused", "ｃａｌｌ ｒｅａｄ_ｃｓｖ_ｓｅｒｉａｌ('{home}/secret_key') RETURN *"),
    ("refused", "LOAD\u00a0FROM '{home}/secret_key' " + FILE),
    ("refused", "UNWIND [1] AS x WITH x WHERE x=1\u3000" + LOAD_KEY),
    ("refused", "ＣＯＰＹ Organization FROM '{home}/secret_key'"),
    # keywords inside strings, names, aliases and map keys are not statements
    ("ok", "RETURN 'LOAD FROM {home}/secret_key' AS s"),
    ("ok", "RETURN \"CALL read_csv_serial('x')\" AS s"),
    ("ok", "RETURN 'x=1LOAD; COPY; EXPORT; ATTACH; INSTALL' AS s"),
    ("ok", "MATCH (o:Organization) WHERE o.name_en <> 'DELETE; SET' RETURN count(o) AS n"),
    ("ok", "RETURN 1 AS `LOAD`, 2 AS `COPY`"),
    ("ok", "MATCH (o:Organization) RETURN o.id AS set LIMIT 1"),
    ("ok", "MATCH (o:Organization) RETURN o.id AS delete, o.kind AS merge LIMIT 1"),
    ("ok", "MATCH (o:Organization) RETURN {load: o.id, copy: 1} AS m LIMIT 1"),
    ("ok", "RETURN 1 AS one"),
    # several statements
    ("refused", "RETURN 1; " + LOAD_KEY),
    ("refused", "RETURN 1;" + LOAD_KEY),
    ("refused", "RETURN ';' AS s; CALL read_csv_serial('{home}/secret_key') RETURN *"),
    ("refused", "RETURN 1 /* ; */ ; COPY Organization FROM '{home}/secret_key'"),
    # procedures and table functions
    ("refused", "CALL read_csv_serial('{home}/secret_key') RETURN *"),
    ("refused", "CALL read_csv_parallel('{home}/admin_password.txt') RETURN *"),
    ("refused", "CALL read_parquet('{home}/workspace.db') RETURN *"),
    ("refused", "CALL `read_csv_serial`('{home}/secret_key') RETURN *"),
    ("refused", "CALL threads = 1"),
    ("refused", "CALL current_setting('home_directory') RETURN *"),
    ("refused", "CALL file_info('{home}/secret_key') RETURN *"),
    ("refused", "UNWIND [1] AS x CALL { " + LOAD_KEY + " } RETURN *"),
    ("refused", "RETURN read_csv('{home}/secret_key') AS r"),
    # files and extensions
    ("refused", LOAD_KEY),
    ("refused", "LOAD WITH HEADERS (a STRING) FROM '{home}/admin_password.txt' (file_format='csv') RETURN *"),
    ("refused", "LOAD FROM '{home}/workspace.db' " + FILE),
    ("refused", "LOAD FROM '/etc/passwd' " + FILE),
    ("refused", "LOAD CSV FROM 'file://{home}/secret_key' AS row RETURN row"),
    ("refused", "MATCH (n) WITH n LIMIT 1 " + LOAD_KEY),
    ("refused", "COPY (MATCH (n) RETURN n.id) TO '{home}/out.csv'"),
    ("refused", "EXPORT DATABASE '{home}/exported'"),
    ("refused", "IMPORT DATABASE '{home}'"),
    ("refused", "ATTACH '{home}/workspace.db' AS w (dbtype sqlite)"),
    ("refused", "INSTALL httpfs"),
    ("refused", "LOAD EXTENSION httpfs"),
]


def fill(template: str, home: Path) -> str:
    return template.replace("{home}", str(home))


def secrets_of(home: Path) -> list[str]:
    return [(home / name).read_text(encoding="utf-8").strip() for name in ("secret_key", "admin_password.txt")]


def check_outcome(entry: str, form: str, expect: str, status: str, text: str, home: Path, failures: list[str]) -> None:
    leaked = [s for s in secrets_of(home) if s and s in text]
    if leaked:
        failures.append(f"{entry}: {form!r} returned a secret")
    allowed = {"ok": {"ok"}, "refused": {"refused"}, "fails": {"refused", "error"}}[expect]
    if status not in allowed:
        failures.append(f"{entry}: {form!r} gave {status} (expected {expect}): {text[:200]}")


def assert_nothing_written(home: Path) -> None:
    assert not (home / "out.csv").exists() and not (home / "exported").exists()


def test_the_probe_has_its_forms():
    assert len(FORMS) >= 47
    assert {e for e, _ in FORMS} == {"ok", "refused", "fails"}


def test_probe_forms_through_the_function(settings, home):
    failures: list[str] = []
    for expect, template in FORMS:
        form = fill(template, home)
        try:
            result = run_console_query(settings, form, max_rows=10, timeout_ms=10_000)
            status, text = "ok", json.dumps(result.rows, default=str, ensure_ascii=False)
        except QueryRefused as exc:
            status, text = "refused", str(exc)
        except StoreError as exc:
            status, text = "error", str(exc)
        check_outcome("function", form, expect, status, text, home, failures)
    assert not failures, "\n".join(failures)
    assert run_console_query(settings, "RETURN 1 AS one").rows == [[1]]
    assert_nothing_written(home)


def cli(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "STAKEGRAPH_CONFIG"}
    env["STAKEGRAPH_HOME"] = str(home)
    entry = "import sys; from stakegraph_cli.main import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", entry, *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_probe_forms_through_the_cli(home):
    def one(item: tuple[str, str]) -> tuple[str, str, subprocess.CompletedProcess]:
        expect, template = item
        form = fill(template, home)
        return expect, form, cli(home, "cypher", form, "--json", "--max-rows", "10")

    failures: list[str] = []
    with ThreadPoolExecutor(2) as ex:
        for expect, form, p in ex.map(one, FORMS):
            if p.returncode not in (0, 1):
                failures.append(f"cli: {form!r} exited {p.returncode}: {p.stderr[-300:]}")
                continue
            last = json.loads(p.stdout.strip().splitlines()[-1])
            if p.returncode == 0:
                status = "ok"
            else:
                status = "refused" if last.get("refused") else "error"
                assert p.stderr.strip(), form
            check_outcome("cli", form, expect, status, p.stdout + p.stderr, home, failures)
    assert not failures, "\n".join(failures)
    assert_nothing_written(home)


def _web_outcome(response) -> tuple[str, str]:
    assert response.status_code in (200, 400, 422), response.status_code
    body = response.get_json()
    if response.status_code == 200:
        return "ok", json.dumps(body, ensure_ascii=False)
    return ("refused" if body.get("refused") else "error"), json.dumps(body, ensure_ascii=False)


def test_probe_forms_through_the_web_console(client, auth, home):
    auth.login("researcher")
    failures: list[str] = []
    for expect, template in FORMS:
        form = fill(template, home)
        status, text = _web_outcome(client.post("/console/run", json={"cypher": form}))
        check_outcome("web", form, expect, status, text, home, failures)
    assert not failures, "\n".join(failures)
    assert client.post("/console/run", json={"cypher": "RETURN 1 AS one"}).json["rows"] == [[1]]
    assert_nothing_written(home)


def test_probe_forms_through_the_api(client, settings, home):
    token = Workspace.open(settings).create_token("researcher1", "probe")
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    for expect, template in FORMS:
        form = fill(template, home)
        status, text = _web_outcome(client.post("/api/v1/cypher", json={"cypher": form}, headers=headers))
        check_outcome("api", form, expect, status, text, home, failures)
    assert not failures, "\n".join(failures)
    assert_nothing_written(home)


# the worker's confinement, with the checks bypassed ------------------------------------------
def _version_dir(settings) -> Path:
    from kg.backends import current_version
    from kg.backends.ladybug_versions import Versions

    return Versions(settings.home_path).path(current_version(settings))


def test_the_os_keeps_a_worker_from_reading_files_outside_its_version(settings, home):
    """The statement and plan checks are skipped: only Landlock stands between the engine and
    the files. The same LOAD reads a file of the worker's own version, so the form works."""
    own = run_in_worker(settings, f"LOAD FROM '{_version_dir(settings)}/schema.json' {FILE}",
                        max_rows=5, timeout_ms=10_000, check_plan=False)
    assert own.rows and "schema" in str(own.rows[0])
    outside = [home / "secret_key", home / "admin_password.txt", home / "workspace.db", home / "graph" / "CURRENT",
               Path("/etc/passwd")]
    for path in outside:
        with pytest.raises(StoreError, match="Permission denied") as err:
            run_in_worker(settings, f"LOAD FROM '{path}' {FILE}", max_rows=5, timeout_ms=10_000, check_plan=False)
        assert not any(s in str(err.value) for s in secrets_of(home))
    with pytest.raises(StoreError, match="Permission denied"):  # no extension download: it cannot even make its folder
        run_in_worker(settings, "INSTALL httpfs", max_rows=5, timeout_ms=10_000, check_plan=False)


def test_without_landlock_the_same_read_succeeds(settings, home):
    """The control for the test above: the barrier is the confinement, not the statement."""
    loose = settings.replace(console_landlock=False)
    result = run_in_worker(loose, f"LOAD FROM '{home}/secret_key' {FILE}", max_rows=5, timeout_ms=10_000,
                           check_plan=False)
    assert secrets_of(home)[0] in json.dumps(result.rows)


def test_the_plan_check_refuses_a_file_scan_the_tokenizer_did_not_see(settings):
    """The EXPLAIN check on its own (no statement check): a table-function scan of a file."""
    with pytest.raises(QueryRefused, match="table function READ_CSV"):
        run_in_worker(settings, f"LOAD FROM '{_version_dir(settings)}/schema.json' {FILE}",
                      max_rows=5, timeout_ms=10_000, check_plan=True)


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("cypher", ["RETURN repeat('a', -1) AS x", "UNWIND range(1, 200000000) AS x RETURN count(*)"])
def test_a_memory_runaway_is_stopped_at_the_cap_and_the_caller_does_not_grow(settings, cypher):
    run_console_query(settings, "RETURN 1 AS warm")
    before = _rss_mb()
    with pytest.raises(StoreError, match="the query was stopped: memory limit 1 GB"):
        run_console_query(settings, cypher, timeout_ms=20_000)
    assert _rss_mb() - before < 30, "the calling process grew"
    small = settings.replace(console_memory_mb=256)
    with pytest.raises(StoreError, match="memory limit 256 MB"):
        run_console_query(small, cypher, timeout_ms=20_000)
    assert run_console_query(settings, "RETURN 1 AS one").rows == [[1]]


def test_a_query_the_engine_cannot_stop_is_killed_at_the_time_limit(settings):
    """One long expression: the engine looks at its clock only between batches, so the pool's
    SIGKILL at the time limit plus the grace period is what stops it."""
    run_console_query(settings, "RETURN 1 AS warm")
    before = {pid for pid, _home, _version in pool.workers()}
    started = time.monotonic()
    with pytest.raises(StoreError, match="stopped at the time limit of 1 s"):
        run_console_query(settings, "RETURN levenshtein(repeat('a', 100000), repeat('b', 100000)) AS d",
                          timeout_ms=1000)
    assert time.monotonic() - started < 1 + settings.console_grace_ms / 1000 + 3
    assert wait_idle(60)
    gone = before - {pid for pid, _home, _version in pool.workers()}
    assert gone, "the worker that ran the query was not stopped"
    for pid in gone:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert run_console_query(settings, "RETURN 1 AS one").rows == [[1]]


def test_an_engine_crash_is_reported_and_the_next_query_works(settings):
    """read_csv_serial segfaults ladybug 0.22 (the statement check refuses it; sent straight to a
    worker here): the worker dies, the caller gets a sentence, a fresh worker takes over."""
    with pytest.raises(StoreError, match=r"the engine crashed on this query \(signal 11, SIGSEGV\)"):
        run_in_worker(settings, f"CALL read_csv_serial('{_version_dir(settings)}/schema.json') RETURN *",
                      max_rows=5, timeout_ms=10_000, check_plan=False)
    assert run_console_query(settings, "RETURN 1 AS one").rows == [[1]]
    assert wait_idle(60) and pool.workers(), "no worker was started in the crashed one's place"


def test_the_cli_reports_a_stopped_query_and_exits_1(home):
    p = cli(home, "cypher", "RETURN levenshtein(repeat('a', 100000), repeat('b', 100000)) AS d",
            "--timeout-ms", "1000", "--json")
    assert p.returncode == 1 and "stopped at the time limit of 1 s" in p.stderr
    assert "time limit" in json.loads(p.stdout.strip().splitlines()[-1])["error"]
    p = cli(home, "cypher", "RETURN repeat('a', -1) AS x")
    assert p.returncode == 1 and "memory limit 1 GB" in p.stderr
    p = cli(home, "cypher", "MATCH (o:Organization) RETURN o.id AS set ORDER BY set LIMIT 2", "--json")
    assert p.returncode == 0
    last = json.loads(p.stdout.strip().splitlines()[-1])
    assert last["columns"] == ["set"] and len(last["rows"]) == 2 and last["truncated"] is False


def test_the_web_process_does_not_grow_on_a_runaway(client, auth):
    auth.login("researcher")
    client.get("/lang/en")
    client.post("/console/run", json={"cypher": "RETURN 1 AS warm"})
    before = _rss_mb()
    r = client.post("/console/run", json={"cypher": "RETURN repeat('a', -1) AS x"})
    assert r.status_code == 422 and "the query was stopped: memory limit 1 GB" in r.json["error"]
    assert _rss_mb() - before < 30
    assert client.post("/console/run", json={"cypher": "RETURN 1 AS one"}).json["rows"] == [[1]]
    client.get("/lang/zh")
    r = client.post("/console/run", json={"cypher": "RETURN repeat('a', -1) AS x"})
    assert r.status_code == 422 and "内存上限（1 GB）" in r.json["error"]


def test_every_stop_reason_has_its_chinese():
    from kg.console_stops import STOPPED
    from web.console import STOPPED_ZH

    assert set(STOPPED_ZH) == set(STOPPED)


def test_workers_follow_the_published_version(lexical_home):
    from jobs.tasks import load_bundle
    from kg.backends import current_version

    tiny = Path(__file__).parent / "fixtures" / "tiny"
    load_bundle(lexical_home, tiny)
    first = current_version(lexical_home)
    assert run_console_query(lexical_home, "MATCH (o:Organization) RETURN count(o) AS n").rows[0][0] > 0
    home = str(lexical_home.home_path)

    def versions() -> set[str]:
        assert wait_idle(60)
        return {version for _pid, h, version in pool.workers() if h == home}

    assert versions() == {first}
    time.sleep(1.1)  # version names carry the second
    load_bundle(lexical_home, tiny)
    second = current_version(lexical_home)
    assert second != first
    assert run_console_query(lexical_home, "RETURN 1 AS one").rows == [[1]]
    assert versions() == {second}, "the old version's worker was not retired"


@pytest.mark.neo4j
def test_the_console_on_neo4j_runs_in_a_confined_worker(neo4j_server, tmp_path):
    """The worker opens the Neo4j view (READ access mode, EXPLAIN check) under a Landlock ruleset
    that lets it connect to the server's port and read nothing of the home."""
    from jobs.tasks import init_home, load_bundle
    from kg.settings import load_settings

    neo4j_server.clear()
    settings = load_settings({"home": str(tmp_path / "home"), "embedder": "lexical", **neo4j_server.overrides()})
    init_home(settings)
    load_bundle(settings, Path(__file__).parent / "fixtures" / "tiny")
    result = run_console_query(settings, "MATCH (o:Organization) RETURN count(o) AS n, label(o) AS l",
                               max_rows=10, timeout_ms=10_000)
    assert result.rows[0][0] > 0 and result.rows[0][1] == "Organization"
    assert any(home == str(settings.home_path) for _pid, home, _v in pool.workers())
    with pytest.raises(QueryRefused, match="read-only"):  # the server's READ mode, the checks bypassed
        run_in_worker(settings, "CREATE (:Organization {id: 'zz'})", max_rows=10, timeout_ms=10_000,
                      check_plan=False)
    with pytest.raises(QueryRefused, match="read-only"):
        run_console_query(settings, "LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row")


def test_a_burst_queues_briefly_and_a_long_wait_is_busy(settings):
    """One worker: short queries from several threads wait their turn; a query that would wait
    longer than the pool's short wait is told the console is busy."""
    one = settings.replace(console_workers=1)
    run_console_query(one, "RETURN 1 AS warm")
    with ThreadPoolExecutor(3) as ex:
        results = list(ex.map(lambda i: run_console_query(one, f"RETURN {i} AS i").rows, range(3)))
    assert results == [[[0]], [[1]], [[2]]]
    with ThreadPoolExecutor(1) as ex:
        slow = ex.submit(run_console_query, one,
                         "RETURN levenshtein(repeat('a', 100000), repeat('b', 100000)) AS d", timeout_ms=4000)
        time.sleep(0.5)
        with pytest.raises(StoreError, match=r"the console is busy \(it runs 1 at a time\)"):
            run_console_query(one, "RETURN 1 AS one")
        with pytest.raises(StoreError, match="time limit"):
            slow.result()
    assert run_console_query(one, "RETURN 1 AS one").rows == [[1]]


def test_a_result_past_the_size_limit_is_refused(settings):
    small = settings.replace(console_result_mb=1)
    with pytest.raises(StoreError, match="larger than the console's limit of 1 MB"):
        run_console_query(small, "UNWIND range(1, 5000) AS x RETURN repeat('a', 1000) AS s")
    assert run_console_query(small, "RETURN 1 AS one").rows == [[1]]


def test_an_idle_worker_killed_from_outside_is_replaced(settings):
    import signal

    assert run_console_query(settings, "RETURN 1 AS one").rows == [[1]]
    assert wait_idle(60)
    home = str(settings.home_path)
    for pid, h, _version in pool.workers():
        if h == home:
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    assert run_console_query(settings, "RETURN 2 AS two").rows == [[2]]

"""The Cypher console: read-only by the engine, one statement, a time limit and a row cap.

A real home with the tiny bundle (the lexical embedder keeps the load quick); no mocks. Every
refusal is followed by a check that the graph's counts and content did not change. Queries run
in console worker processes; tests/test_console_sandbox.py covers their confinement.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.tasks import init_home, load_bundle
from kg.backends import open_view
from kg.console import (
    EXAMPLES,
    check_query,
    history,
    parse_param,
    record_history,
    run_console_query,
    run_in_worker,
    split_statements,
    wait_idle,
)
from kg.console_lexer import tokenize
from kg.export import comparable
from kg.results import result_csv, result_graph, result_json
from kg.settings import load_settings
from kg.store import QueryRefused, StoreError
from kg.workspace import Workspace

TINY = Path(__file__).parent / "fixtures" / "tiny"


@pytest.fixture(scope="module")
def tiny_settings(tmp_path_factory):
    s = load_settings({"home": str(tmp_path_factory.mktemp("console") / "home"), "embedder": "lexical"})
    init_home(s)
    load_bundle(s, TINY)
    return s


@pytest.fixture(scope="module")
def before(tiny_settings):
    with open_view(tiny_settings) as v:
        return v.counts(), comparable(v)


@pytest.fixture
def tiny_view(tiny_settings):
    v = open_view(tiny_settings)
    yield v
    assert wait_idle(120), "a console query was still running"
    v.close()


def assert_unchanged(tiny_settings, before):
    with open_view(tiny_settings) as v:
        assert v.counts() == before[0]
        assert comparable(v) == before[1]


WRITES = [
    "CREATE (:Organization {id: 'zz', kind: 'company', name_en: 'zz'})",
    "MERGE (o:Organization {id: 'o1'}) RETURN o",
    "MATCH (o:Organization {id: 'o1'}) SET o.name_en = 'hacked'",
    "MATCH (o:Organization {id: 'o1'}) DELETE o",
    "MATCH (n) DETACH DELETE n",
    "match (n) detach delete n",
    "MATCH (o:Organization {id: 'o1'}) REMOVE o.name_en",
    "MATCH (o:Organization) FOREACH (x IN [1] | SET o.name_en = 'x')",
    "LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row",
    "LOAD FROM '/etc/passwd' (file_format='csv', header=false) RETURN *",
    "COPY Organization FROM '/tmp/evil.csv'",
    "INSTALL httpfs",
    "LOAD EXTENSION httpfs",
    "DROP TABLE Organization",
    "ALTER TABLE Organization ADD evil STRING",
    "EXPORT DATABASE '/tmp/stakegraph-export'",
    "IMPORT DATABASE '/tmp/stakegraph-export'",
    "ATTACH '/tmp/other.lbdb' AS other (dbtype lbug)",
    "BEGIN TRANSACTION",
    "CALL apoc.create.node(['Organization'], {id: 'zz'})",
    "CALL db.create.setNodeVectorProperty(null, 'x', [1.0])",
    "CALL apoc.export.csv.all('/tmp/all.csv', {})",
    "CALL threads = 1",
    "MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS",
    "CALL /* hidden */ apoc.periodic.iterate('MATCH (n) RETURN n', 'DETACH DELETE n', {})",
]

MULTI = [
    "MATCH (n) RETURN n; CREATE (:Organization {id: 'zz2', kind: 'company', name_en: 'zz2'})",
    "MATCH (n) RETURN 1; COMMIT; CREATE (:Organization {id: 'zz3', kind: 'company', name_en: 'zz3'})",
    "MATCH (n) RETURN count(n) AS n;\n// a comment\nMATCH (n) DETACH DELETE n",
    "RETURN 1 AS x /* ; */ ; RETURN 2 AS y",
    "RETURN 'a' AS x;;RETURN 'b' AS y",
]


@pytest.mark.parametrize("cypher", WRITES)
def test_writes_are_refused_before_they_run(tiny_view, tiny_settings, before, cypher):
    with pytest.raises(QueryRefused, match="read-only"):
        run_console_query(tiny_view, cypher, max_rows=10, timeout_ms=5000)
    assert_unchanged(tiny_settings, before)


@pytest.mark.parametrize("cypher", MULTI)
def test_several_statements_are_refused(tiny_view, tiny_settings, before, cypher):
    with pytest.raises(QueryRefused, match="one statement per query"):
        run_console_query(tiny_view, cypher, max_rows=10, timeout_ms=5000)
    assert_unchanged(tiny_settings, before)


def test_the_engine_refuses_writes_even_without_the_check(tiny_view, tiny_settings, before):
    """The real guarantee: the read-only handle, with the keyword check bypassed, in this process's
    view and in a console worker (with its plan check bypassed too)."""
    writes = ["CREATE (:Organization {id: 'zz', kind: 'company', name_en: 'zz'})",
              "MATCH (n) DETACH DELETE n",
              "MATCH (n) RETURN count(n); CREATE (:Organization {id: 'zz2', kind: 'company', name_en: 'zz2'})",
              "MATCH (n) RETURN count(n); COMMIT; MATCH (n) DETACH DELETE n"]
    for cypher in writes:
        with pytest.raises(StoreError):
            tiny_view.query(cypher, max_rows=10, timeout_ms=5000)
        with pytest.raises(StoreError):
            run_in_worker(tiny_settings, cypher, max_rows=10, timeout_ms=5000, check_plan=False)
    assert_unchanged(tiny_settings, before)


def test_a_write_behind_an_alias_of_its_name_is_still_refused(tiny_settings, before):
    """`AS set` makes `set` a name the statement check lets through; the plan check catches the
    SET clause that uses the same word."""
    with pytest.raises(QueryRefused, match="read-only"):
        run_console_query(tiny_settings, "MATCH (o:Organization) WITH o, 1 AS set SET o.name_en = 'x' RETURN o.id",
                          max_rows=10, timeout_ms=5000)
    assert_unchanged(tiny_settings, before)


@pytest.mark.parametrize("text, kinds", [
    ("x=1LOAD", [("word", "x"), ("punct", "="), ("number", "1"), ("word", "LOAD")]),
    ("1e5 1.5e-3 .5 0x1F 0o17 1E5x", [("number", "1e5"), ("number", "1.5e-3"), ("number", ".5"), ("number", "0x1F"),
                                     ("number", "0o17"), ("number", "1E5"), ("word", "x")]),
    ("[*1..2]", [("punct", "["), ("punct", "*"), ("number", "1"), ("punct", ".."), ("number", "2"), ("punct", "]")]),
    ("LO/**/AD", [("word", "LO"), ("word", "AD")]),
    ("a // c\rLOAD", [("word", "a"), ("word", "LOAD")]),
    ("'it\\'s' `a``b` $p", [("string", "'it\\'s'"), ("name", "`a``b`"), ("param", "$p")]),
    ("ＬＯＡＤ\u00a0x", [("word", "ＬＯＡＤ"), ("word", "x")]),
])
def test_the_tokenizer_cuts_where_the_engine_does(text, kinds):
    assert [(t.kind, t.text) for t in tokenize(text)] == kinds


@pytest.mark.parametrize("cypher", [
    "MATCH (o:Organization) RETURN o.id AS set",
    "MATCH (o:Organization) RETURN o.id AS set ORDER BY set",
    "MATCH (o:Organization) RETURN o.kind AS delete, count(*) AS merge",
    "MATCH (o:Organization) RETURN {copy: o.id, load: 1} AS m",
    "RETURN 1e5 AS a, 1.5e-3 AS b, list_transform([1, 2], x -> x + 1) AS c",
    "MATCH (o:Organization) WHERE NOT EXISTS { MATCH (o)-[:ACTIVE_IN]->(:Sector) } RETURN count(o) AS n",
])
def test_names_and_aliases_are_not_keywords(tiny_settings, cypher):
    check_query(cypher)
    run_console_query(tiny_settings, cypher, max_rows=10, timeout_ms=5000)


@pytest.mark.parametrize("cypher, reason", [
    ("RETURN foo(1) AS x", "does not run the function foo"),
    ("RETURN apoc.text.join(['a'], ',') AS x", "does not run the function apoc.text.join"),
    ("UNWIND [1] AS x WITH x WHERE x=1CALL read_csv_serial('/etc/hostname') RETURN *", "reads files"),
    ("RETURN 1 AS load", "LOAD"),
    ("RETURN read_parquet('/etc/hostname') AS x", "reads files"),
])
def test_functions_and_outside_words_are_allow_listed(cypher, reason):
    with pytest.raises(QueryRefused, match=reason):
        check_query(cypher)


def test_values_of_every_type_come_back_from_the_worker(tiny_settings):
    import datetime as dt
    import uuid
    from decimal import Decimal

    r = run_console_query(tiny_settings, "RETURN date('2020-01-02') AS d, timestamp('2020-01-02 03:04:05') AS t, "
                          "interval('1 day') AS i, CAST(1.5 AS DECIMAL(10, 2)) AS m, gen_random_uuid() AS u, "
                          "$p AS p, map(['a'], [1]) AS k", {"p": dt.date(2021, 5, 6)}, max_rows=10, timeout_ms=5000)
    d, t, i, m, u, p, k = r.rows[0]
    assert d == dt.date(2020, 1, 2) and t == dt.datetime(2020, 1, 2, 3, 4, 5) and i == dt.timedelta(days=1)
    assert m == Decimal("1.50") and isinstance(u, uuid.UUID) and p == dt.date(2021, 5, 6) and k == {"a": 1}
    with pytest.raises(StoreError, match="ValueError"):  # a parameter the engine cannot type: an answer, not a crash
        run_console_query(tiny_settings, "RETURN $p AS p", {"p": [1, "x"]}, max_rows=10, timeout_ms=5000)


def test_the_wire_carries_values_json_has_no_type_for():
    import datetime as dt
    from decimal import Decimal

    from kg import console_wire as wire

    value = {"\u0000": [1, "x"], "d": dt.datetime(2020, 1, 2, 3, 4, tzinfo=dt.UTC), "b": b"\x00\xff",
             "m": {1: "one", (1, 2): "pair"}, "n": Decimal("1.10"), "t": dt.timedelta(seconds=1.5), "f": [1.5, None]}
    assert wire.decode(json.dumps(wire.encode(value)).encode()) == value


def test_known_engine_bug_lists_of_maps_with_different_keys(tiny_settings):
    """Ladybug 0.22 types a list of maps by its last map and renames the others' keys by position
    (docs/console.md, known limitations). When this test fails the engine was fixed: update the docs."""
    r = run_console_query(tiny_settings, "RETURN [{a: 1}, {b: 2}] AS l", max_rows=10, timeout_ms=5000)
    assert r.rows == [[[{"b": 1}, {"b": 2}]]]


@pytest.mark.parametrize("cypher, rows", [
    ("MATCH (o:Organization) WHERE o.name_en CONTAINS ';' RETURN o.id AS id", 0),
    ("MATCH (o:Organization {id: 'o1'}) RETURN 'x; CREATE (:Organization)' AS s", 1),
    ("MATCH (o:Organization {id: 'o1'}) // ; MATCH (n) DETACH DELETE n\nRETURN o.id AS id", 1),
    ("MATCH (o:Organization {id: 'o1'}) /* CREATE; DELETE */ RETURN o.id AS id;", 1),
    ('MATCH (o:Organization {id: "o1"}) RETURN "it\\"s; SET" AS s', 1),
    ("MATCH (o:Organization {id: 'o1'}) RETURN o.id AS `create; delete`", 1),
    ("MATCH (o:Organization {id: 'o1'}) WHERE o.status <> 'set' RETURN {delete: o.id} AS m", 1),
])
def test_strings_comments_and_names_are_not_statements(tiny_view, cypher, rows):
    result = run_console_query(tiny_view, cypher, max_rows=10, timeout_ms=5000)
    assert len(result.rows) == rows


def test_split_statements_respects_strings_and_comments():
    assert split_statements("RETURN ';' AS a; RETURN 2") == ["RETURN ';' AS a", "RETURN 2"]
    assert split_statements("RETURN 1 // ; x\n;") == ["RETURN 1 // ; x"]
    assert split_statements("RETURN `a;b` /* ; */") == ["RETURN `a;b` /* ; */"]
    assert split_statements("RETURN 1; /* only a comment */") == ["RETURN 1"]
    for broken in ["RETURN 'open", "RETURN 1 /* open", "RETURN `open"]:
        with pytest.raises(QueryRefused, match="unterminated"):
            check_query(broken)


def test_read_procedures_are_allowed(tiny_view):
    result = run_console_query(tiny_view, "CALL show_tables() RETURN name ORDER BY name", max_rows=100, timeout_ms=5000)
    assert ["Organization"] in result.rows


def test_parameters_are_passed_as_parameters(tiny_view, tiny_settings, before):
    evil = "o1'}) DETACH DELETE o //"
    result = run_console_query(tiny_view, "MATCH (o:Organization) WHERE o.id = $id RETURN o.id", {"id": evil},
                               max_rows=10, timeout_ms=5000)
    assert result.rows == []
    result = run_console_query(tiny_view, "RETURN $x AS x, $n AS n", dict([parse_param(f"x={evil}"), parse_param("n=[1,2]")]),
                               max_rows=10, timeout_ms=5000)
    assert result.rows == [[evil, [1, 2]]]
    assert_unchanged(tiny_settings, before)


def test_parse_param():
    assert parse_param("k=3") == ("k", 3)
    assert parse_param("k={\"a\": [1]}") == ("k", {"a": [1]})
    assert parse_param("$name=无锡") == ("name", "无锡")
    assert parse_param("s=a=b") == ("s", "a=b")
    with pytest.raises(ValueError):
        parse_param("no equals sign")


def test_row_cap_holds_and_says_so(tiny_view):
    r = run_console_query(tiny_view, "UNWIND range(1, 50000) AS x RETURN x", max_rows=10_000, timeout_ms=10_000)
    assert len(r.rows) == 10_000 and r.truncated
    r = run_console_query(tiny_view, "UNWIND range(1, 5) AS x RETURN x", max_rows=5, timeout_ms=10_000)
    assert len(r.rows) == 5 and not r.truncated


def test_defaults_come_from_the_settings(tiny_view, monkeypatch):
    monkeypatch.setenv("STAKEGRAPH_QUERY_MAX_ROWS", "7")
    r = run_console_query(tiny_view, "UNWIND range(1, 100) AS x RETURN x")
    assert len(r.rows) == 7 and r.truncated


def test_a_slow_query_is_stopped_at_the_time_limit(tiny_view, tiny_settings, before):
    run_console_query(tiny_view, "RETURN 1 AS warm", max_rows=10, timeout_ms=5000)
    started = time.monotonic()
    with pytest.raises(StoreError, match="time limit of 1 s"):
        run_console_query(tiny_view, "MATCH (a), (b), (c) WHERE a.id + b.id + c.id = 'x' RETURN count(*)",
                          max_rows=10, timeout_ms=1000)
    waited = time.monotonic() - started
    assert waited < 6, f"the caller waited {waited:.1f} s for a 1 s limit"
    # another user's query still runs while the engine winds the slow one down
    assert run_console_query(tiny_view, "RETURN 1 AS one", max_rows=10, timeout_ms=5000).rows == [[1]]
    assert_unchanged(tiny_settings, before)


def test_syntax_errors_are_reported(tiny_view):
    with pytest.raises(StoreError) as err:
        run_console_query(tiny_view, "MATCH (n RETURN n", max_rows=10, timeout_ms=5000)
    assert "Parser exception" in str(err.value) or "syntax" in str(err.value).lower()


def test_examples_run(tiny_view):
    for ex in EXAMPLES:
        run_console_query(tiny_view, ex.cypher, ex.params, max_rows=100, timeout_ms=10_000)


def test_results_as_json_csv_and_graph(tiny_view):
    r = run_console_query(tiny_view, "MATCH p = (o:Organization {id: 'o1'})-[:ACTIVE_IN]->(s) RETURN p, o, s.id AS sid",
                          max_rows=10, timeout_ms=5000)
    graph = result_graph(r)
    assert {n["id"] for n in graph["nodes"]} >= {"o1"}
    assert graph["edges"] and all(e["type"] == "ACTIVE_IN" for e in graph["edges"])
    payload = json.loads(json.dumps(result_json(r)))
    assert payload["columns"] == ["p", "o", "sid"] and payload["rows"][0][1]["id"] == "o1"
    assert result_csv(r).splitlines()[0] == "p,o,sid"


def test_history_is_per_user(tiny_settings):
    ws = Workspace.open(tiny_settings)
    record_history(ws, "alice", "MATCH (n) RETURN count(n)", True, 1)
    record_history(ws, "bob", "CREATE (n)", False, None, "read-only")
    assert [h["cypher"] for h in history(ws, "alice")] == ["MATCH (n) RETURN count(n)"]
    assert history(ws, "bob")[0]["ok"] == 0


def _cli(tiny_settings, *args):
    env = {**os.environ, "STAKEGRAPH_HOME": str(tiny_settings.home_path)}
    entry = "import sys; from stakegraph_cli.main import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", entry, *args], capture_output=True, text=True, env=env, timeout=300)


def test_cli_contract(tiny_settings, before):
    stats = _cli(tiny_settings, "stats", "--json").stdout
    ok = _cli(tiny_settings, "cypher", "MATCH (n) RETURN count(n) AS n")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split()[0] == "n"
    for bad in ["CREATE (:Organization {id:'zz'})", "MATCH (n) DETACH DELETE n",
                "MATCH (n) RETURN 1; CREATE (:Organization {id:'zz2'})"]:
        p = _cli(tiny_settings, "cypher", bad)
        assert p.returncode != 0 and p.stderr.strip(), bad
    p = _cli(tiny_settings, "cypher", "MATCH (o:Organization) WHERE o.id = $id RETURN o.id AS id", "--param", "id=o1", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["rows"] == [["o1"]]
    p = _cli(tiny_settings, "cypher", "UNWIND range(1, 20) AS x RETURN x", "--csv", "--max-rows", "3")
    assert p.stdout.splitlines() == ["x", "1", "2", "3"] and "cut" in p.stderr
    assert _cli(tiny_settings, "stats", "--json").stdout == stats
    assert_unchanged(tiny_settings, before)


# the web console (fixtures from tests/conftest.py: a loaded home, the app, a login helper) ----
def test_web_console_for_researchers_and_admins_only(client, auth):
    auth.login("staff")
    assert client.get("/console").status_code == 403
    assert client.post("/console/run", json={"cypher": "RETURN 1"}).status_code == 403
    auth.logout()
    auth.login("researcher")
    page = client.get("/console")  # the examples in the reader's language (Chinese by default)
    assert page.status_code == 200 and "无锡企业两跳以内的合作方" in page.get_data(as_text=True)
    client.get("/lang/en")
    page = client.get("/console")
    assert page.status_code == 200 and "Partners within two hops of a company located in Wuxi" in page.get_data(as_text=True)


def test_web_console_runs_refuses_and_keeps_history(client, auth, view):
    before = view.counts()
    auth.login("researcher")
    r = client.post("/console/run", json={"cypher": "MATCH p = (o:Organization)-[:LOCATED_IN]->(r) RETURN p LIMIT 5"})
    assert r.status_code == 200 and r.json["columns"] == ["p"] and r.json["graph"]["nodes"]
    drawn = client.get(r.json["graph_url"]).json
    assert drawn["nodes"] and drawn["links"] and {"source", "target", "type"} <= set(drawn["links"][0])
    r = client.post("/console/run", json={"cypher": "MATCH (n) RETURN n; CREATE (:Organization {id: 'zz'})"})
    assert r.status_code == 400 and "one statement" in r.json["error"]
    r = client.post("/console/run", json={"cypher": "RETURN $x AS x", "params": "x=[1, 2]"})
    assert r.json["rows"] == [[[1, 2]]]
    csv_text = client.post("/console/run", data={"cypher": "UNWIND range(1, 3) AS x RETURN x", "format": "csv"})
    assert csv_text.mimetype == "text/csv" and csv_text.get_data(as_text=True).split() == ["x", "1", "2", "3"]
    hist = client.get("/console/history").json
    assert [h["ok"] for h in hist[:4]] == [1, 1, 0, 1]
    assert view.counts() == before


def test_api_cypher_needs_a_researcher_or_admin_token(client, settings):
    ws = Workspace.open(settings)
    research = ws.create_token("researcher1", "t")
    staff = ws.create_token("staff1", "t")
    ok = client.post("/api/v1/cypher", json={"cypher": "MATCH (n:Organization) RETURN count(n) AS n"},
                     headers={"Authorization": f"Bearer {research}"})
    assert ok.status_code == 200 and ok.json["rows"][0][0] > 0
    bad = client.post("/api/v1/cypher", json={"cypher": "MATCH (n) DETACH DELETE n"},
                      headers={"Authorization": f"Bearer {research}"})
    assert bad.status_code == 400 and "read-only" in bad.json["error"]
    assert client.post("/api/v1/cypher", json={"cypher": "RETURN 1"},
                       headers={"Authorization": f"Bearer {staff}"}).status_code == 403
    assert client.post("/api/v1/cypher", json={"cypher": "RETURN 1"}).status_code == 401


@pytest.mark.slow
@pytest.mark.browser
def test_console_page_in_the_browser(live_server):
    """Run an example, see the table and the drawing, get a refusal, download the CSV."""
    from conftest import USERS
    from playwright.sync_api import sync_playwright

    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
    username, password = USERS["researcher"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000}, locale="en-GB")
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{live_server}/lang/en?next=/console")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_selector("#console-form")
            page.click("text=Neighbourhood of one organisation")
            page.fill("#params", 'id="stock-600584"')
            page.click("#run")
            page.wait_for_selector("#result tbody tr", timeout=60_000)
            page.wait_for_selector("#graph svg g.node", timeout=30_000)
            assert page.locator("#graph svg g.node").count() >= 2
            assert page.locator("#history li").count() >= 1
            page.fill("#cypher", "MATCH (n) RETURN n; CREATE (:Organization {id: 'zz'})")
            page.click("#run")
            page.wait_for_selector("#result-error:not([hidden])")
            assert "one statement" in page.inner_text("#result-error")
            page.fill("#cypher", "MATCH (o:Organization) RETURN o.id AS id ORDER BY id LIMIT 3")
            with page.expect_download() as download:
                page.click("#csv")
            text = Path(download.value.path()).read_text(encoding="utf-8")
            assert text.splitlines()[0] == "id" and len(text.splitlines()) == 4
            assert not errors
        finally:
            browser.close()

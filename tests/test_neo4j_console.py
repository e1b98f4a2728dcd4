"""The Cypher console on a real Neo4j 5: read-only by the server's own means.

Each attempt of the embedded console's tests (tests/test_console.py WRITES and MULTI), plus
Neo4j's own ways to write or escape (procedures that write or administer, admin commands,
subqueries, PROFILE, LOAD CSV, comments and case hiding keywords), is sent twice: through
`run_console_query` (the console's statement check, then a worker process) and straight to the
Neo4j view's `query` (no statement check: READ access mode, the EXPLAIN plan check and the
server's time limit alone). Both must refuse, and the graph, the users, the databases and the
schema must be as they were. A last test switches the plan check off and shows that the
server's READ access mode still refuses writes on its own.
"""

from __future__ import annotations

import time

import neo4j
import pytest
from test_console import MULTI, WRITES

from kg.backends import neo4j_view, open_view, open_writer
from kg.console import run_console_query, wait_idle
from kg.export import comparable
from kg.settings import load_settings
from kg.store import QueryRefused, StoreError

pytestmark = pytest.mark.neo4j

NEO4J_ESCAPES = [
    "CALL db.createLabel('Evil')",
    "CALL db.createProperty('evil')",
    "CALL db.createRelationshipType('EVIL')",
    "CALL db.create.setNodeVectorProperty(null, 'embedding', [1.0])",
    "CALL dbms.listConfig() YIELD name RETURN name",
    "CALL dbms.setConfigValue('db.logs.query.enabled', 'OFF')",
    "CALL db.clearQueryCaches()",
    "CALL tx.setMetaData({evil: 1})",
    "CREATE USER evil SET PASSWORD 'evil-password-1' CHANGE NOT REQUIRED",
    "CREATE DATABASE evil",
    "CREATE INDEX evil FOR (n:Organization) ON (n.kind)",
    "DROP CONSTRAINT organization_id",
    "USE system SHOW USERS",
    "SHOW USERS",
    "TERMINATE TRANSACTIONS 'neo4j-transaction-1'",
    "SHOW TRANSACTIONS",
    "SHOW SETTINGS YIELD name, value RETURN name, value",
    "CALL db.stats.retrieve('GRAPH COUNTS')",
    "UNWIND [1] AS x CALL { CREATE (:Sector {id: 'sub'}) }",
    "MATCH (n) /* a comment */ CREATE (:Sector {id: 'c1'})",
    "// CREATE is only a comment here\nMATCH (n:Organization {id: 'o1'}) SET n.name_en = 'x'",
    "cReAtE (:Sector {id: 'm1'})",
    "mErGe (s:Sector {id: 'm2'}) RETURN s",
    "MATCH (n:`Organization`) SET n.`name_en` = 'x'",
    "MATCH (o:Organization) WITH o, 1 AS set SET o.name_en = 'x' RETURN o.id",
    "PROFILE CREATE (:Sector {id: 'p1'})",
    "EXPLAIN CREATE (:Sector {id: 'e1'})",
    "LOAD CSV WITH HEADERS FROM 'file:///etc/hostname' AS row RETURN row",
    "WITH 'file:///etc/passwd' AS u LOAD CSV FROM u AS row RETURN count(row)",
    "MATCH (n) SET n += {evil: 1}",
    "MATCH (n:Organization) WITH n LIMIT 1 CALL (n) { SET n.evil = 1 } IN TRANSACTIONS",
]
ATTEMPTS = [*WRITES, *MULTI, *NEO4J_ESCAPES]


@pytest.fixture(scope="module")
def graph(neo4j_server, tmp_path_factory):
    """A small graph on the session's server."""
    neo4j_server.clear()
    settings = load_settings({"home": str(tmp_path_factory.mktemp("n4console") / "home"), **neo4j_server.overrides()})
    with open_writer(settings) as w:
        w.upsert_nodes("Organization", [
            {"id": "o1", "name_zh": "江苏长电科技股份有限公司", "name_en": "JCET", "kind": "listed_company"},
            {"id": "o2", "name_zh": "通富微电", "kind": "listed_company"},
        ])
        w.upsert_nodes("Sector", [{"id": "s1", "name_en": "Advanced packaging"}])
        w.upsert_edges("ACTIVE_IN", [{"source_id": "o1", "target_id": "s1"}])
    return settings


def server_state(server) -> dict:
    """What a write or an escape could change beyond the graph: users, databases, schema."""
    with neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password)) as d:
        users = sorted(r["user"] for r in d.execute_query("SHOW USERS YIELD user", database_="system").records)
        dbs = sorted(r["name"] for r in d.execute_query("SHOW DATABASES YIELD name", database_="system").records)
        schema = sorted(r["name"] for r in d.execute_query("SHOW INDEXES YIELD name").records)
        schema += sorted(r["name"] for r in d.execute_query("SHOW CONSTRAINTS YIELD name").records)
    return {"users": users, "databases": dbs, "schema": schema}


@pytest.fixture(scope="module")
def before(graph, neo4j_server):
    with open_view(graph) as v:
        return v.counts(), comparable(v), server_state(neo4j_server)


def assert_unchanged(graph, server, before) -> None:
    with open_view(graph) as v:
        assert v.counts() == before[0]
        assert comparable(v) == before[1]
    assert server_state(server) == before[2]


@pytest.mark.parametrize("cypher", ATTEMPTS)
def test_console_refuses_writes_and_escapes(graph, neo4j_server, before, cypher):
    with pytest.raises(StoreError):
        run_console_query(graph, cypher, max_rows=10, timeout_ms=5000)
    assert wait_idle(60)
    assert_unchanged(graph, neo4j_server, before)


@pytest.mark.parametrize("cypher", ATTEMPTS)
def test_the_view_refuses_them_without_the_statement_check(graph, neo4j_server, before, cypher):
    with open_view(graph) as v, pytest.raises(StoreError):
        v.query(cypher, max_rows=10, timeout_ms=5000)
    assert_unchanged(graph, neo4j_server, before)


def test_the_plan_check_names_what_it_refuses(graph):
    with open_view(graph) as v:
        with pytest.raises(QueryRefused, match="type is 'w'"):
            v.query("CREATE (:Sector {id: 'x'})")
        with pytest.raises(QueryRefused, match="LOAD CSV"):
            v.query("LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row")
        with pytest.raises(QueryRefused, match="type is 's'"):
            v.query("CALL dbms.listConfig() YIELD name RETURN name")
        with pytest.raises(QueryRefused, match="not db.stats.retrieve"):  # a read, but off the list
            v.query("MATCH (n) CALL db.stats.retrieve('GRAPH COUNTS') YIELD data RETURN n, data")
        with pytest.raises(QueryRefused, match="TerminateTransactions"):
            v.query("TERMINATE TRANSACTIONS 'neo4j-transaction-1'")
        assert v.query("CALL db.labels() YIELD label RETURN label ORDER BY label").rows


def test_read_access_mode_refuses_writes_on_its_own(graph, neo4j_server, before, monkeypatch):
    """With the EXPLAIN check switched off, the server itself refuses every write in the READ
    access mode transaction (Neo.ClientError.Statement.AccessMode)."""
    monkeypatch.setattr(neo4j_view, "check_plan", lambda query_type, plan: None)
    writes = ["CREATE (:Sector {id: 'x'})", "MERGE (:Sector {id: 'y'})", "MATCH (n) SET n.evil = 1",
              "MATCH (n) DETACH DELETE n", "MATCH (n:Organization) REMOVE n.name_en", "CALL db.createLabel('Evil')",
              "CREATE INDEX evil FOR (n:Organization) ON (n.kind)"]
    with open_view(graph) as v:
        for cypher in writes:
            with pytest.raises(StoreError, match="read-only|AccessMode|not allowed|read"):
                v.query(cypher, max_rows=10, timeout_ms=5000)
    assert_unchanged(graph, neo4j_server, before)


def test_a_slow_query_is_stopped_by_the_server_at_the_time_limit(graph, neo4j_server, before):
    slow = "UNWIND range(1, 2000000000) AS x WITH x WHERE x % 7 = 3 RETURN count(*)"
    with open_view(graph) as v:
        started = time.monotonic()
        with pytest.raises(StoreError, match="time limit"):
            v.query(slow, max_rows=10, timeout_ms=1000)
        assert time.monotonic() - started < 15
    started = time.monotonic()
    with pytest.raises(StoreError, match="time limit"):
        run_console_query(graph, slow, max_rows=10, timeout_ms=1000)
    assert time.monotonic() - started < 15
    assert run_console_query(graph, "RETURN 1 AS one", max_rows=10, timeout_ms=5000).rows == [[1]]
    assert_unchanged(graph, neo4j_server, before)


def test_the_row_cap_holds_and_the_rest_is_discarded_on_the_server(graph):
    query = "UNWIND range(1, 5000000) AS x RETURN x"
    with open_view(graph) as v:
        r = v.query(query, max_rows=100, timeout_ms=30_000)
    assert len(r.rows) == 100 and r.truncated and r.rows[-1] == [100]
    r = run_console_query(graph, query, max_rows=1000, timeout_ms=30_000)
    assert len(r.rows) == 1000 and r.truncated
    r = run_console_query(graph, "MATCH (o:Organization) RETURN o.id ORDER BY o.id", max_rows=10, timeout_ms=5000)
    assert r.rows == [["o1"], ["o2"]] and not r.truncated

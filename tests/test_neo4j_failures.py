"""Bad conditions on a real Neo4j 5: a server that is down, a wrong password, a deadlock, a
connection cut in the middle of a write, a server gone for good during one.

Each gets a message naming the URI and the cause; what can succeed on a second try (a
deadlock victim, a dropped connection) is retried by replaying the writer's journal in a new
transaction; what cannot leaves the published graph as it was. The connection failures are
real: the writer talks to the server through a TCP relay on 127.0.0.1 that the test cuts or
closes, so the driver sees exactly what a lost network gives it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import neo4j
import pytest

from kg.backends import neo4j_writer, open_view, open_writer
from kg.export import comparable
from kg.settings import load_settings
from kg.store import StoreError

pytestmark = pytest.mark.neo4j

STAKEGRAPH = Path(sys.executable).with_name("stakegraph")


class Relay:
    """A TCP relay 127.0.0.1:port -> the server's Bolt port, which the test can cut (close every
    relayed connection; new ones are accepted) or stop (refuse new ones too)."""

    def __init__(self, target_uri: str):
        host_port = target_uri.split("://", 1)[1]
        self.target = (host_port.rsplit(":", 1)[0], int(host_port.rsplit(":", 1)[1]))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.uri = f"bolt://127.0.0.1:{self.port}"
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.accepting = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.accepting:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.accepting:
                client.close()
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self.sockets.clear()

    def stop(self) -> None:
        self.accepting = False
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        self.listener.close()
        self.cut()


@pytest.fixture
def graph(neo4j_server, tmp_path):
    neo4j_server.clear()
    settings = load_settings({"home": str(tmp_path / "home"), **neo4j_server.overrides()})
    with open_writer(settings) as w:
        w.upsert_nodes("Sector", [{"id": f"s{i}", "name_en": f"Sector {i}"} for i in range(1, 200)])
    return settings


def snapshot(settings):
    with open_view(settings) as v:
        return v.version, v.counts(), comparable(v)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("STAKEGRAPH_", "NEO4J_"))}
    return subprocess.run([str(STAKEGRAPH), *args], capture_output=True, text=True, timeout=300,
                          env={**keep, "STAKEGRAPH_HOME": str(home), "STAKEGRAPH_BACKEND": "neo4j",
                               "STAKEGRAPH_EMBEDDER": "lexical", **env})


def test_a_server_that_is_down_is_named_with_the_cause(tmp_path):
    uri = f"bolt://127.0.0.1:{closed_port()}"
    settings = load_settings({"home": str(tmp_path / "home"), "backend": "neo4j", "neo4j_uri": uri,
                              "neo4j_password": "whatever-1"})
    for attempt in (lambda: open_view(settings), lambda: open_writer(settings)):
        with pytest.raises(StoreError, match=f"cannot reach Neo4j at {uri}.*is the server running"):
            attempt()
    assert not list((tmp_path / "home").glob("neo4j/*")), "a refused writer leaves no files"
    proc = cli(tmp_path / "home", {"NEO4J_URI": uri, "NEO4J_PASSWORD": "whatever-1"}, "stats")
    assert proc.returncode == 2 and f"cannot reach Neo4j at {uri}" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli(tmp_path / "home", {}, "stats")
    assert proc.returncode == 2 and "NEO4J_URI" in proc.stderr


def test_a_wrong_password_is_named_and_changes_nothing(graph, neo4j_server, tmp_path):
    """Two attempts only: Neo4j locks a user out for a few seconds after three."""
    before = snapshot(graph)
    wrong = graph.replace(neo4j_password="not-the-password")
    with pytest.raises(StoreError, match=f"Neo4j at {neo4j_server.uri} refused user 'neo4j': wrong user or password"):
        open_writer(wrong)
    env = {**neo4j_server.env(), "NEO4J_PASSWORD": "not-the-password"}
    proc = cli(tmp_path / "cli-home", env, "refresh")
    assert proc.returncode == 2, proc.stderr
    assert f"Neo4j at {neo4j_server.uri} refused user 'neo4j': wrong user or password" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(graph) == before


def test_a_deadlock_victim_is_retried_with_its_journal(graph, neo4j_server, monkeypatch):
    """Another transaction holds many nodes and waits for the graph's _Meta node, which the
    writer holds; the writer then asks for one of those nodes. Neo4j aborts the writer (the
    transaction with fewer locks) with DeadlockDetected; the writer starts a new transaction,
    replays what it had written and finishes, and both writes are in the graph."""
    begins: list[int] = []
    real_begin = neo4j_writer.Neo4jWriter._begin
    monkeypatch.setattr(neo4j_writer.Neo4jWriter, "_begin",
                        lambda self, replay: (begins.append(len(replay)), real_begin(self, replay))[1])
    w = open_writer(graph, purpose="deadlock test")
    w.upsert_nodes("Sector", [{"id": "new1", "name_en": "Written before the deadlock"}])
    holding, outcome = threading.Event(), {}

    def other() -> None:
        with neo4j.GraphDatabase.driver(neo4j_server.uri, auth=(neo4j_server.user, neo4j_server.password)) as d, \
                d.session() as s, s.begin_transaction() as tx:
            tx.run("MATCH (n:Sector) SET n.name_en = 'other'").consume()
            holding.set()
            tx.run("MATCH (m:_Meta {id: 'graph'}) SET m.touched_by = 'other'").consume()
            tx.commit()
            outcome["other"] = "committed"

    thread = threading.Thread(target=other)
    thread.start()
    holding.wait(30)
    time.sleep(1.0)  # the other transaction is now waiting for _Meta
    w.upsert_nodes("Sector", [{"id": "s1", "name_en": "the writer's"}])
    w.commit()
    thread.join(30)
    assert outcome == {"other": "committed"}
    assert begins == [0, 1], "one new transaction, replaying the one write before the deadlock"
    with open_view(graph) as v:
        assert v.get("new1").props["name_en"] == "Written before the deadlock"
        assert v.get("s1").props["name_en"] == "the writer's" and v.get("s2").props["name_en"] == "other"


def test_a_connection_cut_mid_write_is_retried(graph, neo4j_server, tmp_path):
    relay = Relay(neo4j_server.uri)
    try:
        settings = graph.replace(neo4j_uri=relay.uri)
        with open_writer(settings, purpose="cut test") as w:
            w.upsert_nodes("Sector", [{"id": "cut1", "name_en": "before the cut"}])
            relay.cut()
            w.upsert_nodes("Sector", [{"id": "cut2", "name_en": "after the cut"}])
            assert w.get("cut1") is not None  # the replayed write is in the new transaction
        with open_view(graph) as v:
            assert v.get("cut1") is not None and v.get("cut2") is not None
            assert v.version == w.version
    finally:
        relay.stop()


def test_a_server_gone_mid_write_publishes_nothing(graph, neo4j_server, monkeypatch):
    before = snapshot(graph)
    monkeypatch.setattr(neo4j_writer, "RETRIES", 2)  # 0.5 s + 1 s of waiting instead of 15 s
    relay = Relay(neo4j_server.uri)
    settings = graph.replace(neo4j_uri=relay.uri)
    try:
        with pytest.raises(StoreError) as err, open_writer(settings, purpose="gone test") as w:
            w.upsert_nodes("Sector", [{"id": "gone1", "name_en": "never published"}])
            w.delete_nodes(["s1"])
            relay.stop()
            w.upsert_nodes("Sector", [{"id": "gone2", "name_en": "never published"}])
    finally:
        relay.stop()
    message = str(err.value)
    assert f"cannot reach Neo4j at {relay.uri}" in message and "gave up after 3 tries" in message
    assert "nothing was published" in message
    assert snapshot(graph) == before
    assert not [p for p in (graph.home_path / "neo4j").iterdir() if p.name.startswith(".work-")]


# the bulk path (kg/backends/neo4j_bulk.py) -------------------------------------------------------
def _raw(server, cypher: str, **params):
    with neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password)) as d, d.session() as s:
        return [r.values() for r in s.run(cypher, params)]


def _bulk_rows(n: int):
    orgs = [{"id": f"b{i}", "name_en": f"Bulk {i}", "status": "active", "aliases": [f"B{i}"]} for i in range(n)]
    edges = [{"source_id": f"b{i}", "target_id": f"b{(i * 7 + 1) % n}", "source": "t"} for i in range(n)]
    return orgs, [e for e in edges if e["source_id"] != e["target_id"]]


def test_bulk_rows_are_committed_batch_by_batch_and_an_abort_removes_them(graph, neo4j_server):
    """A large batch of new nodes and edges is committed as it goes (the server never holds a
    first load in one transaction), tagged with the writer's version; rows touching what the
    writer's own transaction holds go through that transaction (no lock wait on ourselves);
    an abort removes the committed batches, so the published graph is as it was."""
    before = snapshot(graph)
    s = graph.replace(bulk_copy_min_rows=10, write_batch_size=10)
    orgs, edges = _bulk_rows(40)
    w = open_writer(s, purpose="bulk test")
    try:
        w.upsert_nodes("Sector", [{"id": "s1", "name_en": "held by the writer's transaction"}])
        w.create_nodes("Organization", orgs)
        w.create_edges("SUPPLIES", edges)
        w.create_edges("ACTIVE_IN", [{"source_id": f"b{i}", "target_id": f"s{1 + i % 4}"} for i in range(40)])
        committed = _raw(neo4j_server, "MATCH (n:Organization) WHERE n._run = $run RETURN count(n)", run=w.version)
        supplies = _raw(neo4j_server, "MATCH ()-[e:SUPPLIES]->() WHERE e._run = $run RETURN count(e)", run=w.version)
        active = _raw(neo4j_server, "MATCH ()-[e:ACTIVE_IN]->() RETURN count(e)")
        assert committed == [[40]] and supplies == [[len(edges)]]  # visible outside the writer's transaction
        assert active == [[30]]  # the 10 into s1 wait in the writer's transaction
        assert len(w.neighbours("s1", direction="in")) == 10 and w.get("b39") is not None  # it reads them all
    finally:
        w.abort()
    assert snapshot(graph) == before
    assert _raw(neo4j_server, "MATCH (n) WHERE n._run IS NOT NULL OR n.run IS NOT NULL RETURN count(n)") == [[0]]


def test_bulk_rows_are_published_with_the_version(graph, neo4j_server):
    s = graph.replace(bulk_copy_min_rows=10, write_batch_size=10)
    orgs, edges = _bulk_rows(40)
    with open_writer(s, purpose="bulk test") as w:
        w.create_nodes("Organization", orgs)
        w.create_edges("SUPPLIES", edges)
    with open_view(graph) as v:
        assert v.version == w.version and v.counts()["Organization"] == 40 and v.counts()["SUPPLIES"] == len(edges)
        assert v.get("b3").props["aliases"] == ["B3"] and "_run" not in v.get("b3").props
    assert _raw(neo4j_server, "MATCH (m:_Meta) WHERE m.run IS NOT NULL RETURN count(m)") == [[0]]  # no marker left


def test_a_killed_bulk_load_is_removed_by_the_next_writer(graph, neo4j_server, tmp_path):
    """SIGKILL in the middle of a bulk load: its committed batches stay, marked; the next
    writer removes them before it writes, so what gets published never contains them."""
    before = snapshot(graph)
    orgs, edges = _bulk_rows(40)
    overrides = {"home": str(graph.home_path), **neo4j_server.overrides(), "bulk_copy_min_rows": 10, "write_batch_size": 10}
    script = (
        "import os, signal\n"
        "from kg.backends import open_writer\n"
        "from kg.settings import load_settings\n"
        f"w = open_writer(load_settings({overrides!r}), purpose='killed')\n"
        f"w.create_nodes('Organization', {orgs!r})\n"
        f"w.create_edges('SUPPLIES', {edges!r})\n"
        "print(w.version, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr
    killed = proc.stdout.strip()
    assert _raw(neo4j_server, "MATCH (n:Organization) WHERE n._run = $run RETURN count(n)", run=killed) == [[40]]
    assert snapshot(graph)[0] == before[0]  # never published
    with open_writer(graph, purpose="after the kill") as w:
        assert w.undone_runs == [killed]
        w.upsert_nodes("Sector", [{"id": "s500", "name_en": "after"}])
    with open_view(graph) as v:
        assert v.get("b1") is None and v.counts().get("Organization", 0) == 0 and v.get("s500") is not None
    assert _raw(neo4j_server, "MATCH (n) WHERE n._run = $run RETURN count(n)", run=killed) == [[0]]


def test_reading_a_property_no_node_has_logs_no_server_warning(graph, caplog):
    """The writer asks for bulk markers (`_Meta.run`) that usually do not exist; the server's
    'property key does not exist' note used to log a warning per query (hundreds per refresh)."""
    import logging

    with caplog.at_level(logging.INFO, logger="neo4j"), open_view(graph) as v:
        assert v.query("MATCH (s:Sector) WHERE s.no_such_property IS NOT NULL RETURN count(s)").rows == [[0]]
    assert not [r for r in caplog.records if r.name.startswith("neo4j") and "does not exist" in r.getMessage()]

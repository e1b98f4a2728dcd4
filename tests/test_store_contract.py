"""One contract, every backend: the store's behaviour written once (as nomenklatura's
test_stores does). Both backends always run: Neo4j on the server in NEO4J_URI (CI starts
one), or on one that tests/conftest.py starts for the session through .ci/neo4j/neo4j.sh.
Community Edition has one database, so each Neo4j test starts by emptying it."""

from __future__ import annotations

import threading
import time

import pytest

from kg.backends import open_view, open_writer
from kg.locking import LockBusy
from kg.schema import SchemaError
from kg.settings import load_settings
from kg.store import StoreError

BACKENDS = [
    pytest.param("ladybug", id="ladybug"),
    pytest.param("neo4j", id="neo4j", marks=[pytest.mark.neo4j]),
]


def backend_settings(request, home, backend):
    """Settings of a home on the backend; on Neo4j, the session's server, emptied first."""
    if backend == "neo4j":
        server = request.getfixturevalue("neo4j_server")
        server.clear()
        return load_settings({"home": str(home), **server.overrides()})
    return load_settings({"home": str(home), "backend": backend})


@pytest.fixture(params=BACKENDS)
def settings(request, tmp_path):
    s = backend_settings(request, tmp_path / "home", request.param)
    with open_writer(s) as w:
        w.upsert_nodes("Organization", [
            {"id": "o1", "name_zh": "江苏长电科技股份有限公司", "name_en": "JCET", "kind": "listed_company", "aliases": ["长电科技"]},
            {"id": "o2", "name_zh": "通富微电", "kind": "listed_company"},
        ])
        w.upsert_nodes("Sector", [{"id": "s1", "name_en": "Advanced packaging"}])
        w.upsert_edges("ACTIVE_IN", [{"source_id": "o1", "target_id": "s1", "source": "t"}])
        w.upsert_edges("PARTNERS_WITH", [{"source_id": "o2", "target_id": "o1", "evidence": "JV"}])
    return s


def test_get_and_get_many(settings):
    with open_view(settings) as v:
        node = v.get("o1")
        assert node.label == "Organization" and node.props["aliases"] == ["长电科技"]
        assert set(v.get_many(["o1", "s1", "missing"])) == {"o1", "s1"}
        assert v.get("missing") is None


def test_a_node_read_again_is_the_same_and_a_writer_reads_its_own_changes(settings):
    with open_view(settings) as v:
        first = v.get_many(["o1", "missing", "s1"])
        assert v.get_many(["s1", "o1", "missing"]) == first and v.get("missing") is None
    with open_writer(settings) as w:
        assert w.get("o1").props["name_en"] == "JCET"
        w.upsert_nodes("Organization", [{"id": "o1", "name_en": "JCET Group", "kind": "listed_company"}])
        assert w.get("o1").props["name_en"] == "JCET Group"
        w.upsert_nodes("Organization", [{"id": "o9", "name_en": "New", "kind": "listed_company"}])
        assert w.get("o9") is not None
    with open_view(settings) as v:
        assert v.get("o1").props["name_en"] == "JCET Group"


def test_a_read_only_view_answers_a_node_read_again_without_the_engine(tmp_path):
    """The embedded engine's views keep decoded nodes (a version never changes): an entity page
    read the same ~30 nodes from the engine on every request."""
    for size, queries_again in ((100, 0), (0, 1)):
        s = load_settings({"home": str(tmp_path / f"h{size}"), "backend": "ladybug", "view_node_cache": size})
        with open_writer(s) as w:
            w.upsert_nodes("Organization", [{"id": "o1", "name_en": "JCET", "kind": "listed_company"}])
        with open_view(s) as v:
            assert v.get("o1").props["name_en"] == "JCET" and v.get("gone") is None
            runs: list = []
            v._run = lambda *a, _runs=runs, _run=v._run, **k: _runs.append(a) or _run(*a, **k)
            assert v.get("o1").props["name_en"] == "JCET"
            assert len(runs) == queries_again


def test_upsert_is_idempotent(settings):
    with open_view(settings) as v:
        before = v.counts()
    with open_writer(settings) as w:
        w.upsert_nodes("Organization", [{"id": "o1", "name_en": "JCET", "kind": "listed_company"}])
        w.upsert_edges("ACTIVE_IN", [{"source_id": "o1", "target_id": "s1", "source": "t"}])
        w.upsert_edges("PARTNERS_WITH", [{"source_id": "o1", "target_id": "o2"}])  # symmetric: same edge
    with open_view(settings) as v:
        assert v.counts() == before
        assert v.get("o1").props["name_zh"] == "江苏长电科技股份有限公司"  # absent keys left as they were


def test_update_nodes_sets_existing_and_skips_missing(settings):
    with open_view(settings) as v:
        before = v.counts()
    with open_writer(settings) as w:
        w.update_nodes("Organization", [{"id": "o1", "tie_count": 2, "key_ties_json": "[1, 2]"}, {"id": "ghost", "tie_count": 1}])
    with open_view(settings) as v:
        assert v.counts() == before, "update_nodes never creates"
        o1 = v.get("o1").props
        assert o1["tie_count"] == 2 and o1["key_ties_json"] == "[1, 2]" and o1["name_zh"] == "江苏长电科技股份有限公司"


def test_feeds_seen_travel_with_the_graph_version(settings):
    """A run records which feeds it read completely in the version it writes (kg.seen); the next
    writer starts from it, a reader of the published version sees it, an aborted run leaves it."""
    from kg.seen import feeds_seen, last_seen, record_feeds_seen

    with open_writer(settings) as w:
        w.upsert_nodes("Organization", [{"id": "o9", "status": "active", "feeds": ["a", "b"], "last_seen": "r1"}])
        record_feeds_seen(w.data_dir, ["a", "b"], "r1")
    with open_writer(settings) as w:
        assert feeds_seen(w.data_dir) == {"a": "r1", "b": "r1"}
        record_feeds_seen(w.data_dir, ["a"], "r2")
    with pytest.raises(RuntimeError), open_writer(settings) as w:
        record_feeds_seen(w.data_dir, ["a", "b"], "r3")
        raise RuntimeError("the run fails: nothing of it is published")
    with open_view(settings) as v:
        seen = feeds_seen(v.data_dir)
        props = v.get("o9").props
    assert seen == {"a": "r2", "b": "r1"}
    assert last_seen(props, seen) == "r1"  # feed b was not read again
    assert last_seen(props, {"a": "r2", "b": "r3"}) == "r2"


def test_neighbours_both_directions(settings):
    with open_view(settings) as v:
        got = {(n.edge.type, n.node.id, n.direction) for n in v.neighbours("o1")}
        assert ("ACTIVE_IN", "s1", "out") in got
        assert any(t == "PARTNERS_WITH" and i == "o2" for t, i, _ in got)
        assert [n.node.id for n in v.neighbours("o1", types=["ACTIVE_IN"])] == ["s1"]
        assert [n.node.id for n in v.neighbours("s1", direction="in")] == ["o1"]


def test_schema_rejects_edge_with_wrong_ends(settings):
    with pytest.raises(SchemaError, match="cannot join"), open_writer(settings) as w:
        w.upsert_edges("ACTIVE_IN", [{"source_id": "s1", "target_id": "o1"}])
    with open_view(settings) as v:
        assert v.counts()["ACTIVE_IN"] == 1  # the failed writer published nothing


def test_query_parameters_row_cap_and_counts(settings):
    with open_view(settings) as v:
        r = v.query("MATCH (n:Organization) WHERE n.id = $id RETURN n.name_en AS name", {"id": "o1"})
        assert r.columns == ["name"] and r.rows == [["JCET"]]
        r = v.query("MATCH (n) RETURN n.id", max_rows=1)
        assert len(r.rows) == 1 and r.truncated
        c = v.counts()
        assert c["Organization"] == 2 and c["Sector"] == 1 and c["PARTNERS_WITH"] == 1


def test_view_refuses_writes(settings):
    with open_view(settings) as v, pytest.raises(StoreError):
        v.query("CREATE (:Sector {id: 'x', name_en: 'x'})")
    with open_view(settings) as v:
        assert v.get("x") is None


def test_delete_edges_and_nodes(settings):
    with open_writer(settings) as w:
        assert w.delete_edges("PARTNERS_WITH", [("o1", "o2")]) == 1  # either direction
        w.delete_nodes(["o2"])
    with open_view(settings) as v:
        assert v.get("o2") is None and v.counts()["PARTNERS_WITH"] == 0


def test_iter_nodes_and_edges(settings):
    with open_view(settings) as v:
        ids = [n.id for batch in v.iter_nodes("Organization", batch_size=1) for n in batch]
        assert ids == ["o1", "o2"]
        edges = [e for batch in v.iter_edges("ACTIVE_IN") for e in batch]
        assert [(e.source_id, e.target_id) for e in edges] == [("o1", "s1")]


def test_second_writer_is_refused_with_a_clear_message(settings):
    """One host: the lock file under $STAKEGRAPH_HOME/locks refuses a second writer at once."""
    with open_writer(settings, purpose="first"), pytest.raises(LockBusy, match="first"):
        open_writer(settings, purpose="second")


def test_writer_on_another_host_waits_for_the_first(neo4j_server, tmp_path):
    """Neo4j: a writer with another home (another host) has no lock file in common with the
    first; the server's lock on the _Meta node makes it wait until the first commits, and it
    then reads the first writer's data."""
    neo4j_server.clear()
    here = load_settings({"home": str(tmp_path / "a"), **neo4j_server.overrides()})
    there = load_settings({"home": str(tmp_path / "b"), **neo4j_server.overrides()})
    with open_writer(here) as w:
        w.upsert_nodes("Sector", [{"id": "s1", "name_en": "Packaging"}])
    first = open_writer(here, purpose="first")
    first.upsert_nodes("Sector", [{"id": "s1", "name_en": "Advanced packaging"}])
    seen: dict[str, object] = {}

    def second():
        started = time.monotonic()
        with open_writer(there, purpose="second") as w:
            seen["waited"] = time.monotonic() - started
            seen["name"] = w.get("s1").props["name_en"]
            w.upsert_nodes("Sector", [{"id": "s2", "name_en": "Test"}])

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(1.5)
    assert thread.is_alive(), "the second writer did not wait for the first"
    first.commit()
    thread.join(60)
    assert not thread.is_alive()
    assert seen["waited"] >= 1.4 and seen["name"] == "Advanced packaging"
    with open_view(there) as v:
        assert v.get("s2") is not None and v.get("s1").props["name_en"] == "Advanced packaging"


def test_view_sees_new_version_only_after_commit(settings):
    view = open_view(settings)
    w = open_writer(settings)
    w.upsert_nodes("Sector", [{"id": "s2", "name_en": "Test"}])
    with open_view(settings) as during:
        assert during.get("s2") is None and during.version == view.version
    assert w.get("s2") is not None  # the writer reads its own writes
    w.commit()
    if settings.backend == "ladybug":
        assert view.get("s2") is None  # an open view keeps its snapshot …
    else:  # a Neo4j view reads what is committed; its version and derived files stay its own
        assert view.get("s2") is not None and view.data_dir.is_dir()
    view.close()
    with open_view(settings) as after:  # … and a reopened one sees the new graph
        assert after.get("s2") is not None and after.version != view.version
        assert after.data_dir.is_dir() and after.data_dir != view.data_dir


def test_aborted_writer_publishes_nothing_and_leaves_no_files(settings):
    with open_view(settings) as v:
        before, version = v.counts(), v.version
    w = open_writer(settings)
    w.upsert_nodes("Sector", [{"id": "s3", "name_en": "Gone"}])
    w.delete_nodes(["o1"])
    w.abort()
    with open_view(settings) as v:
        assert v.counts() == before and v.version == version and v.get("o1") is not None and v.get("s3") is None


def test_views_in_threads(settings):
    errors = []
    with open_view(settings) as v:
        def work():
            try:
                for _ in range(20):
                    assert v.get("o1") is not None
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors


def _bulk(settings, threshold):
    return settings.replace(bulk_copy_min_rows=threshold, copy_min_nodes=threshold, copy_min_edges=threshold)


def _org_rows(prefix, n):
    return [{"id": f"{prefix}{i}", "name_zh": f"公司{i}", "name_en": f"Co {i}" if i % 2 else None, "kind": "company",
             "aliases": [f"别名{i}"] if i % 3 else [], "stock_codes": None, "record_ids": [f"src:{prefix}{i}"],
             "status": "active"} for i in range(n)]


def _edge_rows(ids, n):
    """n distinct edges between the ids, no loops, with a mix of set, null and empty values."""
    pairs = list(dict.fromkeys((ids[i % len(ids)], ids[(i * 7 + 1 + i // len(ids)) % len(ids)]) for i in range(n)))
    return [{"source_id": a, "target_id": b, "source": "t", "weight": 0.5 if i % 2 else None,
             "extracted": bool(i % 3) if i % 5 else None, "confidence": float(i) / 10, "evidence": None if i % 4 else f"doc {i}",
             "sources": ["t", "u"], "feeds": [], "first_seen": "r1", "status": "active"} for i, (a, b) in enumerate(pairs) if a != b]


@pytest.mark.parametrize("threshold", [1, 10_000], ids=["bulk", "unwind"])
def test_create_nodes_and_edges(settings, threshold):
    """create_* write new rows; on ladybug a batch at or above copy_min_nodes / copy_min_edges goes
    through COPY (on Neo4j, bulk_copy_min_rows: CREATE)."""
    s = _bulk(settings, threshold)
    with open_writer(s) as w:
        assert w.create_nodes("Organization", _org_rows("n", 30)) == 30
        w.create_nodes("Sector", [{"id": "s9", "name_en": "Test"}])
        ids = [f"n{i}" for i in range(30)]
        assert w.create_edges("SUPPLIES", _edge_rows(ids, 40)) > 0
        w.create_edges("ACTIVE_IN", [{"source_id": "n1", "target_id": "s9", "source": "t"}, {"source_id": "o2", "target_id": "s9"}])
        w.create_edges("PARTNERS_WITH", [{"source_id": "n5", "target_id": "n2", "evidence": "MoU"}])  # symmetric: stored n2->n5
    with open_view(settings) as v:
        c = v.counts()
        assert c["Organization"] == 32 and c["Sector"] == 2 and c["ACTIVE_IN"] == 3 and c["PARTNERS_WITH"] == 2
        n1 = v.get("n1")
        assert n1.props["aliases"] == ["别名1"] and n1.props["name_en"] == "Co 1" and "stock_codes" not in n1.props
        assert v.get("n0").props["aliases"] == [] and "name_en" not in v.get("n0").props
        pw = [n for n in v.neighbours("n5", types=["PARTNERS_WITH"])]
        assert [(n.edge.source_id, n.edge.target_id, n.edge.props["evidence"]) for n in pw] == [("n2", "n5", "MoU")]
        assert pw[0].edge.props["id"] == "n2|PARTNERS_WITH|n5"


def _graph_state(settings):
    with open_view(settings) as v:
        nodes = {n.id: n.props for label in v.schema.labels for b in v.iter_nodes(label) for n in b}
        edges = {(t, e.source_id, e.target_id): e.props for t in v.schema.relationships for b in v.iter_edges(t) for e in b}
    return nodes, edges


def _spy_bulk(backend, monkeypatch) -> list[str]:
    """Records each statement of the backend's bulk path, which then runs as it would."""
    calls: list[str] = []
    if backend == "ladybug":
        from kg.backends.ladybug import LadybugWriter

        real_copy = LadybugWriter._copy
        monkeypatch.setattr(LadybugWriter, "_copy", lambda self, stmt, table: (calls.append(stmt), real_copy(self, stmt, table)))
    else:
        from kg.backends.neo4j_bulk import BulkPath

        real_write = BulkPath.write

        def write(self, statement, rows, *args, **kwargs):
            if " CREATE (" in statement:
                calls.append(statement)
            return real_write(self, statement, rows, *args, **kwargs)

        monkeypatch.setattr(BulkPath, "write", write)
    return calls


def test_bulk_copy_reads_back_like_unwind(settings, tmp_path, monkeypatch, request):
    """Properties written by the bulk path (ladybug COPY, Neo4j CREATE; threshold 1) read back
    identical to the UNWIND MERGE path's."""
    copies = _spy_bulk(settings.backend, monkeypatch)
    states = []
    for name, threshold in (("unwind", 1_000_000), ("copy", 1)):
        s = backend_settings(request, tmp_path / name, settings.backend)
        s = _bulk(s, threshold)
        with open_writer(s) as w:
            w.create_nodes("Organization", _org_rows("n", 50))
            w.create_nodes("Project", [{"id": "p1", "name_en": "Fab", "investment_cny": 1.5e9, "needs": ["ic.fab"], "tier": "key"},
                                       {"id": "p2", "name_zh": "项目", "investment_cny": None, "needs": []}])
            w.create_edges("SUPPLIES", _edge_rows([f"n{i}" for i in range(50)], 120))
            w.create_edges("INVOLVED_IN", [{"source_id": "n1", "target_id": "p1", "role": "investor", "weight": 2.0},
                                           {"source_id": "n2", "target_id": "p2", "extracted": False}])
        states.append(_graph_state(s))
        assert len(copies) == (0 if name == "unwind" else 4)
    assert states[0] == states[1]
    assert states[1][0]["p1"]["investment_cny"] == 1.5e9 and states[1][1][("SUPPLIES", "n1", "n8")]["sources"] == ["t", "u"]


def test_bulk_create_nodes_over_existing_ids_upserts(settings):
    """A COPY that meets an existing id writes nothing and the batch is upserted instead."""
    rows = [*_org_rows("n", 20), {"id": "o1", "name_en": "JCET Group"}]
    with open_writer(_bulk(settings, 1)) as w:
        w.create_nodes("Organization", rows)
        assert w.get("n19").props["name_zh"] == "公司19"
    with open_view(settings) as v:
        assert v.counts()["Organization"] == 22
        o1 = v.get("o1").props
        assert o1["name_en"] == "JCET Group" and o1["name_zh"] == "江苏长电科技股份有限公司"


def test_killed_bulk_writer_publishes_nothing(settings):
    with open_view(settings) as v:
        before = v.counts()
    with pytest.raises(RuntimeError, match="boom"), open_writer(_bulk(settings, 1)) as w:
        w.create_nodes("Organization", _org_rows("n", 20))
        w.create_edges("SUPPLIES", [{"source_id": "n1", "target_id": "n2"}, {"source_id": "n2", "target_id": "n3"}])
        raise RuntimeError("boom")
    with open_view(settings) as v:
        assert v.counts() == before and v.get("n1") is None

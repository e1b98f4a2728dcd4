"""The refresh's search step: the index is published with each graph version and updated in
place, rewriting only the documents of entities that changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.tasks import load_bundle
from kg.backends import open_view
from matching.search import SearchEngine, find
from matching.search.build import META, SEARCH_DIR

HEADER = "id,name_zh,name_en,kind,city,description,source\n"
ROWS = [f"org-{i},企业{i}号科技有限公司,Firm {i} Technology,company,无锡,maker of part {i},src\n" for i in range(30)]


def bundle(folder: Path, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "organizations.csv").write_text(HEADER + "".join(rows), encoding="utf-8")
    return folder


@pytest.fixture
def settings(lexical_home):
    return lexical_home


def published(settings) -> tuple[dict, SearchEngine, str]:
    with open_view(settings) as v:
        folder = Path(v.data_dir) / SEARCH_DIR
        return json.loads((folder / META).read_text(encoding="utf-8")), SearchEngine.open(folder, v.version), v.version


def test_the_index_is_published_with_the_graph_and_updated_for_changed_entities_only(settings, tmp_path):
    log = load_bundle(settings, bundle(tmp_path / "src", ROWS))
    meta, engine, _ = published(settings)
    assert meta["documents"] == len(engine) > 30  # the taxonomy's sectors and regions too (init built it)
    assert engine.query("企业3号科技").hits[0].id == "org-3"

    rows = list(ROWS)
    rows[3] = rows[3].replace("企业3号科技有限公司,Firm 3 Technology", "光子晶圆有限公司,Photon Wafer Works")
    log = load_bundle(settings, bundle(tmp_path / "src", rows))
    meta, engine, version = published(settings)
    assert meta["mode"] == "updated" and meta["changed"] == 1 == log.timings["search_documents_written"]
    assert engine.query("photon wafer").hits[0].id == "org-3"
    assert engine.query("Photn Wafer").hits[0].id == "org-3", "a typo still finds the new name"
    former = engine.query("企业3号科技").hits[0]  # the replaced name stays an alias (issue 18)
    assert (former.id, former.name_zh, former.field) == ("org-3", "光子晶圆有限公司", "alias")
    assert engine.query("", region="无锡", labels=["Organization"]).total == 30

    log = load_bundle(settings, bundle(tmp_path / "src", rows))
    meta, _, _ = published(settings)
    assert meta["changed"] == 0, "nothing changed, nothing rewritten"


def test_readers_use_the_published_index_of_their_version(settings, tmp_path):
    load_bundle(settings, bundle(tmp_path / "src", ROWS))
    with open_view(settings) as v:
        page = find(v, "firm", labels=["Organization"], limit=5)
        assert page.total == 30 and len(page.hits) == 5
        from matching.search import index_for

        assert index_for(v).folder == Path(v.data_dir) / SEARCH_DIR


def test_cli_search_prints_json_lines_and_names_a_bad_filter(settings, tmp_path, capsys):
    from stakegraph_cli.main import main

    load_bundle(settings, bundle(tmp_path / "src", ROWS))
    home = str(settings.home_path)
    assert main(["--home", home, "search", "firm", "--region", "Wuxi", "--limit", "3", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    rows = [json.loads(line) for line in lines]
    assert {"id", "label", "name_zh", "name_en", "kind", "region", "score", "match"} <= set(rows[0])
    assert main(["--home", home, "search", "", "--region", "Atlantis"]) == 2
    assert "Atlantis" in capsys.readouterr().err


def test_documents_made_in_worker_processes_make_the_same_index(view, tmp_path, monkeypatch) -> None:
    """From PARALLEL_MIN entities on, worker processes each index a share of the entities and
    their segments are joined into one index: it must hold the same documents, with the same
    hashes, and answer the same. (The engine's two indexing
    threads decide which segment a document lands in, serial build or not, and with it the order
    among equal scores and BM25's last digits: so whole answers are compared by id, tier and
    score to 1%.)"""
    import os

    import matching.search.build as build
    from matching.search.build import HASHES, build_from_view

    serial = build_from_view(view, tmp_path / "serial")
    monkeypatch.setattr(build, "PARALLEL_MIN", 10)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)  # shares of unequal size
    parallel = build_from_view(view, tmp_path / "parallel")
    assert (serial / HASHES).read_text() == (parallel / HASHES).read_text()
    a, b = SearchEngine.open(serial, view.version), SearchEngine.open(parallel, view.version)
    assert len(a) == len(b) > 400
    matched = 0
    # not a short prefix that starts hundreds of keys ("wuxi"): tantivy's prefix query takes each
    # segment's first 50 terms of it, so which of those entities match depends on the segments
    for q in ["长电科技", "先进封装", "advanced packaging", "江阴", "cdkj", "600584", "液冷", "semiconducter"]:
        ra, rb = a.query(q, limit=1000, facets=True), b.query(q, limit=1000, facets=True)
        assert ra.total < 1000, q
        matched += bool(ra.hits)
        sa, sb = ({h.id: (h.match, h.score) for h in r.hits} for r in (ra, rb))
        assert {i: m for i, (m, _) in sa.items()} == {i: m for i, (m, _) in sb.items()}, q
        assert all(abs(sa[i][1] - sb[i][1]) <= 0.01 * sa[i][1] for i in sa), q
        assert (ra.total, ra.facets) == (rb.total, rb.facets), q
    assert matched >= 7
    every = [{h.id: h for h in e.query("", labels=["Organization"], limit=1000).hits} for e in (a, b)]
    assert every[0] == every[1], "the same documents"
    assert not list(parallel.glob(".part-*")), "the parts' folders are gone"

    # the joined index is an index like any other: a writer deletes and adds, and its merges
    # delete the joined segments' files they replaced (they are on the engine's managed list)
    import tantivy

    from matching.search.fields import register_analyzers

    index = tantivy.Index.open(str(parallel))
    register_analyzers(index)
    writer = index.writer(50_000_000, 1)
    gone = next(iter(every[1]))
    writer.delete_documents_by_term("id", gone)
    writer.commit()
    writer.garbage_collect_files()
    writer.wait_merging_threads()
    after = SearchEngine.open(parallel, view.version + "-after")
    assert len(after) == len(b) - 1
    assert gone not in {h.id for h in after.query("", labels=["Organization"], limit=1000).hits}
    segments = json.loads((parallel / "meta.json").read_text())["segments"]
    assert all(list(parallel.glob(s["segment_id"].replace("-", "") + ".*")) for s in segments)

"""Operations on a real home: backup/restore, export round trips and the schema migration."""

from __future__ import annotations

import csv
import hashlib
import logging
import tarfile
from pathlib import Path

import pytest
import yaml
from conftest import bundle_dir, home_settings

from jobs.tasks import init_home, load_bundle
from kg.backends import current_version, open_view, open_writer
from kg.backends.ladybug_versions import Versions
from kg.backup import backup, restore
from kg.console import record_history
from kg.export import ARRAY_DELIMITER, comparable, copy_between, export_files
from kg.migrate import migrate
from kg.schema import SCHEMA_PATH, load_schema
from kg.settings import load_settings
from kg.store import StoreError
from kg.workspace import Workspace

TINY = Path(__file__).parent / "fixtures" / "tiny"


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    s = load_settings({"home": str(tmp_path_factory.mktemp("ops") / "home"), "embedder": "lexical"})
    init_home(s)
    load_bundle(s, TINY)
    with open_writer(s, purpose="test extras") as w:  # every property type, including an empty list
        w.upsert_nodes("Project", [{"id": "p1", "name_zh": "测试项目", "investment_cny": 1.5e9, "needs": ["封装", "测试;分号"],
                                    "aliases": [], "tier": "key", "stage": "lead"}])
        w.upsert_edges("INVOLVED_IN", [{"source_id": "o1", "target_id": "p1", "weight": 0.5, "extracted": False,
                                        "evidence": 'a "quoted",\nmultiline note'}])
    return s


def fresh(tmp_path: Path, name: str):
    return load_settings({"home": str(tmp_path / name), "embedder": "lexical"})


def snapshot(settings):
    with open_view(settings) as v:
        return v.counts(), comparable(v)


def test_backup_and_restore_round_trip(source, tmp_path):
    ws = Workspace.open(source)
    record_history(ws, "alice", "MATCH (n) RETURN n", True, 3)
    archive, manifest = backup(source, tmp_path / "b.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "workspace.db" in names and "graph/CURRENT" in names and f"graph/{manifest['version']}/graph.lbdb" in names
    assert archive.stat().st_mode & 0o077 == 0  # password hashes inside: owner only

    target = fresh(tmp_path, "restored")
    restored = restore(target, archive)
    assert restored["version"] == manifest["version"]
    assert snapshot(target) == snapshot(source)
    assert Workspace.open(target).user("admin") is not None
    assert [h["cypher"] for h in Workspace.open(target).execute("SELECT cypher FROM query_history")] == ["MATCH (n) RETURN n"]
    with pytest.raises(StoreError, match="--force"):
        restore(target, archive)
    restore(target, archive, force=True)
    assert snapshot(target) == snapshot(source)


def files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_restore_of_the_sample_is_identical_and_refreshes_to_zero_changes(settings, tmp_path, caplog):
    """The restored version holds the same files, byte for byte (restore's checks open it but do
    not write to it), and its resolution state is reused: refreshing the same sample twice
    changes nothing."""
    archive, manifest = backup(settings, tmp_path / "sample.tar.gz")
    target = home_settings(tmp_path / "restored")
    restore(target, archive)
    version = manifest["version"]
    assert current_version(target) == version
    assert files(Versions(target.home_path).path(version)) == files(Versions(settings.home_path).path(version))
    assert "data/resolution_state.arrow" in files(Versions(target.home_path).path(version))
    assert snapshot(target) == snapshot(settings)
    with caplog.at_level(logging.INFO, logger="stakegraph.refresh"):
        first = load_bundle(target, bundle_dir())
    assert "reusing the previous run's decisions" in caplog.text
    second = load_bundle(target, bundle_dir())
    for log in (first, second):
        assert log.totals()["added"] == log.totals()["changed"] == log.totals()["unseen"] == 0, log.totals()
    assert snapshot(target)[0] == snapshot(settings)[0]  # the same counts (last_seen moved on, as it should)


def test_backup_is_consistent_while_a_writer_publishes(source, tmp_path):
    """A version published during the backup does not mix into it."""
    before = snapshot(source)
    w = open_writer(source, purpose="concurrent writer")
    w.upsert_nodes("Sector", [{"id": "s-new", "name_en": "New"}])
    archive, manifest = backup(source, tmp_path / "during.tar.gz")
    w.commit()
    target = fresh(tmp_path, "during")
    restore(target, archive)
    assert snapshot(target) == before
    with open_writer(source, purpose="cleanup") as w:
        w.delete_nodes(["s-new"])


@pytest.mark.parametrize("fmt", ["jsonl", "neo4j-admin"])
def test_export_round_trip_through_files(source, tmp_path, fmt):
    out = tmp_path / fmt
    counts = export_files(source, out, fmt)
    with open_view(source) as v:
        assert counts == {k: n for k, n in v.counts().items() if n} and counts["INVOLVED_IN"] == 1
    target = fresh(tmp_path, f"from-{fmt}")
    copy_between(target, str(out), "ladybug")
    assert snapshot(target) == snapshot(source)


def test_neo4j_admin_files_have_the_headers_the_import_tool_expects(source, tmp_path):
    out = tmp_path / "admin"
    export_files(source, out, "neo4j-admin")
    with open(out / "nodes" / "Project.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    head = rows[0]
    assert head[0] == "id:ID" and head[-1] == ":LABEL"
    assert "investment_cny:double" in head and "needs:string[]" in head and "name_zh" in head
    row = dict(zip(head, rows[1], strict=True))
    assert row["needs:string[]"].split(ARRAY_DELIMITER) == ["封装", "测试;分号"] and row[":LABEL"] == "Project"
    with open(out / "relationships" / "INVOLVED_IN.csv", encoding="utf-8", newline="") as fh:
        rels = list(csv.reader(fh))
    assert rels[0][:4] == [":START_ID", ":END_ID", ":TYPE", "id"] and "extracted:boolean" in rels[0]
    assert dict(zip(rels[0], rels[1], strict=True))["evidence"] == 'a "quoted",\nmultiline note'
    script = (out / "import.sh").read_text(encoding="utf-8")
    assert "neo4j-admin database import full" in script and "--array-delimiter=U+001F" in script
    assert "--multiline-fields=true" in script and "--relationships=relationships/INVOLVED_IN.csv" in script


def test_copy_refuses_the_same_backend_and_unknown_sources(source, tmp_path):
    with pytest.raises(StoreError, match="both"):
        copy_between(source, "ladybug", "ladybug")
    with pytest.raises(StoreError, match="neither"):
        copy_between(source, str(tmp_path / "nothing"), "ladybug")


def test_migrate_adds_a_property_and_a_relationship_type_without_reload(source, tmp_path):
    raw = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
    raw["labels"]["Organization"]["properties"]["wechat"] = {"type": "string"}
    raw["relationships"]["COMPETES_WITH"] = {"symmetric": True, "ends": [["Organization", "Organization"]]}
    raw["relationships"]["SUPPLIES"]["ends"].append(["Organization", "Project"])
    path = tmp_path / "schema.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    schema = load_schema(str(path))

    report = migrate(source, schema, dry_run=True)
    assert "property Organization.wechat" in report.added and not report.applied
    report = migrate(source, schema)
    assert report.applied and {"property Organization.wechat", "relationship type COMPETES_WITH",
                                "end SUPPLIES: Organization->Project"} <= set(report.added)
    with open_writer(source, purpose="use the new schema", schema=schema) as w:
        w.upsert_nodes("Organization", [{"id": "o1", "wechat": "jcet_official"}])
        w.upsert_edges("COMPETES_WITH", [{"source_id": "o2", "target_id": "o1"}])
        w.upsert_edges("SUPPLIES", [{"source_id": "o2", "target_id": "p1"}])
    with open_view(source, schema) as v:
        assert v.get("o1").props["wechat"] == "jcet_official"
        assert v.counts()["COMPETES_WITH"] == 1 and v.counts()["SUPPLIES"] == 1
    assert migrate(source, schema).lines() == ["the graph already matches the schema file; nothing to do"]
    # back to the project's schema: nothing is dropped, and the report says what is kept
    report = migrate(source)
    assert "property Organization.wechat" in report.kept
    with open_view(source, schema) as v:
        assert v.get("o1").props["wechat"] == "jcet_official"

"""Loading bundles: idempotence, provenance, place linking and the bad-input report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.tasks import init_home, load_bundle
from kg.backends import open_view
from kg.settings import load_settings

TINY = Path(__file__).parent / "fixtures" / "tiny"
BOOKKEEPING = {"last_seen", "feeds"}


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("STAKEGRAPH_EMBEDDER", "lexical")  # loading is under test here, not the models
    s = load_settings({"home": str(tmp_path / "home"), "embedder": "lexical"})
    init_home(s)
    return s


def graph_dump(settings) -> dict:
    with open_view(settings) as v:
        out = {}
        for label in v.schema.labels:
            for batch in v.iter_nodes(label):
                for n in batch:
                    out[n.id] = {k: val for k, val in n.props.items() if k not in BOOKKEEPING}
        for rel in v.schema.relationships:
            for batch in v.iter_edges(rel):
                for e in batch:
                    out[e.props["id"]] = {k: val for k, val in e.props.items() if k not in BOOKKEEPING}
        return out


def test_loading_twice_leaves_the_same_graph(settings):
    first = load_bundle(settings, TINY)
    assert first.totals()["added"] > 0 and not first.rejected
    before = graph_dump(settings)
    second = load_bundle(settings, TINY)
    assert second.totals() | {"run_id": ""} == {**second.totals(), "run_id": "", "added": 0, "changed": 0, "unseen": 0}
    assert graph_dump(settings) == before


def test_provenance_on_nodes_and_edges(settings):
    log = load_bundle(settings, TINY)
    with open_view(settings) as v:
        node = v.get("o1").props
        assert node["source"] == "tiny" and "tiny:o1" in node["record_ids"]
        assert node["first_seen"] == node["last_seen"] == log.run_id
        edge = next(n.edge for n in v.neighbours("o1", types=["ACTIVE_IN"]))
        assert edge.props["source"] == "tiny" and edge.props["first_seen"] == log.run_id


def test_changed_value_is_logged_with_old_and_new(settings, tmp_path):
    load_bundle(settings, TINY)
    changed = tmp_path / "tiny"
    changed.mkdir()
    for f in TINY.glob("*.csv"):
        text = f.read_text(encoding="utf-8")
        (changed / f.name).write_text(text.replace("retail bank", "retail and private bank"), encoding="utf-8")
    log = load_bundle(settings, changed, name="tiny")
    assert log.totals()["changed"] == 1 and log.totals()["added"] == 0
    detail = next(d for d in log.details if d["op"] == "changed")
    assert detail["id"] == "o4"
    assert detail["fields"]["description"] == {"old": "retail bank", "new": "retail and private bank"}


def test_rows_no_longer_listed_are_marked_not_deleted(settings, tmp_path):
    load_bundle(settings, TINY)
    smaller = tmp_path / "tiny"
    smaller.mkdir()
    for f in TINY.glob("*.csv"):
        lines = f.read_text(encoding="utf-8").splitlines()
        keep = [line for line in lines if not line.startswith("o5") and ",o5," not in line]
        (smaller / f.name).write_text("\n".join(keep) + "\n", encoding="utf-8")
    log = load_bundle(settings, smaller, name="tiny")
    assert log.unseen["Organization"] == 1
    with open_view(settings) as v:
        assert v.get("o5").props["status"] == "unseen"
    assert load_bundle(settings, smaller, name="tiny").totals()["unseen"] == 0  # reported once


def write_bundle(folder: Path, files: dict[str, bytes | str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return folder


def test_bad_input_is_reported_and_good_rows_load(settings, tmp_path):
    bad = write_bundle(tmp_path / "bad", {
        "organizations.csv": "\ufeffid,name_zh,name_en,kind\n"
                             "a1,甲公司,A Ltd,company\n"
                             "a2,,Spaceship Ltd,spaceship\n"
                             "a1,重复,Dup Ltd,company\n",
        "people.csv": b"id,name_zh\np1,\xd5\xc5\xc8\xfd\np2,\xe5\xbc\xa0\xe4\xb8\x89\n",  # GBK row, then UTF-8
        "sectors.csv": "id,description\ns1,no name column\n",
        "relations.csv": "source_id,target_id,type\na1,nobody,SUPPLIES\na1,a1,LIKES\np2,a1,ACTIVE_IN\n",
    })
    log = load_bundle(settings, bad)
    found = {(r["file"], r["row"], r["field"]) for r in log.rejected}
    assert ("organizations.csv", 3, "kind") in found
    assert ("organizations.csv", 4, "id") in found
    assert ("people.csv", 2, "name_zh") in found  # bad encoding, row named
    assert ("sectors.csv", 1, "name_zh|name_en") in found  # missing required column
    assert ("relations.csv", 2, "target_id") in found  # edge to an unknown node
    assert ("relations.csv", 3, "type") in found  # unknown type
    assert ("relations.csv", 4, "type") in found  # ends do not match the type
    assert all(r["reason"] for r in log.rejected)
    with open_view(settings) as v:
        assert v.get("a1").props["name_en"] == "A Ltd" and v.get("p2").props["name_zh"] == "张三"


def test_city_cells_link_to_regions(settings, tmp_path):
    bundle = write_bundle(tmp_path / "places", {
        "regions.csv": "id,name_zh,name_en,parent_id,level\ncn-js,江苏省,Jiangsu,,province\n"
                       "cn-js-wuxi,无锡市,Wuxi,cn-js,city\ncn-js-wuxi-jiangyin,江阴市,Jiangyin,cn-js-wuxi,district\n",
        "organizations.csv": "id,name_en,kind,city\nw1,One,company,无锡\nw2,Two,company,Wuxi City\n"
                             "w3,Three,company,江阴\nw4,Four,company,wuxishi\n",
    })
    load_bundle(settings, bundle)
    with open_view(settings) as v:
        where = {i: [n.node.id for n in v.neighbours(i, types=["LOCATED_IN"])] for i in ("w1", "w2", "w3", "w4")}
        assert where == {"w1": ["cn-js-wuxi"], "w2": ["cn-js-wuxi"], "w3": ["cn-js-wuxi-jiangyin"], "w4": ["cn-js-wuxi"]}
        assert [n.node.id for n in v.neighbours("cn-js-wuxi-jiangyin", types=["PART_OF"], direction="out")] == ["cn-js-wuxi"]


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("stakegraph")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env={"STAKEGRAPH_HOME": str(home), "PATH": "/usr/bin:/bin", "STAKEGRAPH_EMBEDDER": "lexical"})


def test_cli_load_exit_codes_and_stats_json(tmp_path):
    home = tmp_path / "h"
    assert run_cli("init", home=home).returncode == 0
    assert run_cli("load", str(TINY), home=home).returncode == 0
    stats = json.loads(run_cli("stats", "--json", home=home).stdout.splitlines()[-1])
    assert stats["Organization"] >= 5 and list(stats) == sorted(stats)
    bad = write_bundle(tmp_path / "bad", {"organizations.csv": "id,name_en,kind\nz1,Bad Kind Ltd,spaceship\n"})
    out = run_cli("load", str(bad), home=home)
    assert out.returncode != 0
    assert "organizations.csv:2: field kind" in out.stdout + out.stderr

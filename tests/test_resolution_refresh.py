"""Entity resolution through the refresh: merges across sources and languages, stable ids,
overrides that later runs respect, explanations."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.resolve.explain import explain, resolve_id
from jobs.tasks import init_home, load_bundle
from kg.backends import open_view
from kg.settings import load_settings


def bundle(folder: Path, orgs: str, relations: str = "") -> Path:
    folder.mkdir(parents=True)
    (folder / "organizations.csv").write_text("id,name_zh,name_en,aliases,kind,stock_code,city,source\n" + orgs, encoding="utf-8")
    if relations:
        (folder / "relations.csv").write_text("source_id,target_id,type,source\n" + relations, encoding="utf-8")
    return folder


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("STAKEGRAPH_EMBEDDER", "lexical")  # resolution is under test, not the model
    s = load_settings({"home": str(tmp_path / "home"), "embedder": "lexical"})
    init_home(s)
    return s


def test_smic_from_three_sources_is_one_node(settings, tmp_path):
    load_bundle(settings, bundle(tmp_path / "exchange", "stock-688981,中芯国际集成电路制造有限公司,,中芯国际,listed_company,688981.SH,上海,exchange\n"))
    load_bundle(settings, bundle(tmp_path / "hkex", "hk-0981,,Semiconductor Manufacturing International Corp.,SMIC,listed_company,0981.HK|688981.SH,Shanghai,hkex\n"
                                                   "hk-0700,,Tencent Holdings Ltd.,,listed_company,0700.HK,Shenzhen,hkex\n"))
    log = load_bundle(settings, bundle(tmp_path / "news", "n-1,中芯国际,SMIC,,company,,,news\n",
                                       "n-1,hk-0700,PARTNERS_WITH,news\n"))
    with open_view(settings) as v:
        node = v.get("stock-688981")
        assert node is not None and v.get("hk-0981") is None and v.get("n-1") is None
        names = {node.props.get("name_zh"), node.props.get("name_en"), *node.props["aliases"]}
        assert {"中芯国际集成电路制造有限公司", "中芯国际", "SMIC", "Semiconductor Manufacturing International Corp."} <= names
        assert set(node.props["record_ids"]) >= {"exchange:stock-688981", "hkex:hk-0981", "news:n-1"}
        assert {"hk-0981", "n-1"} <= set(node.props["merged_ids"])
        # the edge written against the news id lands on the surviving node
        assert [n.node.id for n in v.neighbours("stock-688981", types=["PARTNERS_WITH"])] == ["hk-0700"]
        assert resolve_id(v, "hk-0981") == resolve_id(v, "news:n-1") == "stock-688981"
        why = explain(v, "hk-0981")
        assert why["found"] and "688981" in why["text"]
    assert log.merges >= 1


def test_override_splits_and_later_runs_respect_it(settings, tmp_path):
    b = bundle(tmp_path / "src", "stock-600584,江苏长电科技股份有限公司,JCET Group Co. Ltd.,长电科技|JCET,listed_company,600584.SH,江阴,src\n"
                                 "x-jcet,长电科技,JCET,,company,600584,,src\n")
    load_bundle(settings, b)
    with open_view(settings) as v:
        assert v.get("x-jcet") is None
    (settings.home_path / "overrides.csv").write_text(
        "record_a,record_b,judgement,who,note\nstock-600584,x-jcet,not_same,analyst,test split\n", encoding="utf-8")
    load_bundle(settings, b)
    with open_view(settings) as v:
        assert v.get("x-jcet") is not None and v.get("stock-600584") is not None
        assert "x-jcet" not in (v.get("stock-600584").props.get("merged_ids") or [])
    second = load_bundle(settings, b)  # the override keeps holding, and nothing changes
    assert second.totals()["added"] == second.totals()["changed"] == 0


def test_a_bad_code_is_reported_with_its_row_and_not_used_as_a_key(settings, tmp_path):
    log = load_bundle(settings, bundle(tmp_path / "src", "a-1,甲乙科技有限公司,,,company,614991,无锡,src\n"
                                                        "b-1,丙丁微电子有限公司,,,company,614991.SH,无锡,src\n"))
    bad = [d for d in log.details if d["op"] == "bad_code"]
    assert [(d["id"], d["where"].split(":")[-1]) for d in bad] == [("a-1", "2"), ("b-1", "3")]
    assert all("prefix 61" in d["reason"] for d in bad)
    with open_view(settings) as v:
        assert v.get("a-1") is not None and v.get("b-1") is not None  # the shared bad code joined nothing


def test_a_second_run_reuses_the_resolution_and_its_explanations(settings, tmp_path):
    import json

    b = bundle(tmp_path / "src", "stock-600584,江苏长电科技股份有限公司,JCET Group Co. Ltd.,长电科技|JCET,listed_company,600584.SH,江阴,src\n"
                                 "x-jcet,长电科技,JCET,,company,600584,,src\n"
                                 "stock-002156,通富微电子股份有限公司,Tongfu Microelectronics,,listed_company,002156.SZ,南通,src\n"
                                 "n-tf,,Tongfu Microelectronics Co.,,company,,,src\n")

    def published() -> dict:
        with open_view(settings) as v:
            return json.loads((Path(v.data_dir) / "resolution.json").read_text(encoding="utf-8"))

    load_bundle(settings, b)
    first = published()
    assert set(first["entities"]) == {"stock-600584", "stock-002156"}
    again = load_bundle(settings, b)
    assert published() == first and again.merges == 2 and again.totals()["changed"] == 0


def test_only_the_explanation_of_a_touched_entity_is_redone(settings, tmp_path):
    import json

    rows = ("stock-600584,江苏长电科技股份有限公司,JCET Group Co. Ltd.,长电科技|JCET,listed_company,600584.SH,江阴,src\n"
            "x-jcet,长电科技,JCET,,company,600584,,src\n"
            "stock-002156,通富微电子股份有限公司,Tongfu Microelectronics,,listed_company,002156.SZ,南通,src\n"
            "n-tf,,Tongfu Microelectronics Co.,,company,,,src\n")

    def published() -> dict:
        with open_view(settings) as v:
            return json.loads((Path(v.data_dir) / "resolution.json").read_text(encoding="utf-8"))["entities"]

    folder = bundle(tmp_path / "src", rows)
    load_bundle(settings, folder)
    first = published()
    (folder / "organizations.csv").write_text(
        "id,name_zh,name_en,aliases,kind,stock_code,city,source\n"
        + rows.replace("Tongfu Microelectronics Co.", "Tongfu Microelectronic"), encoding="utf-8")
    load_bundle(settings, folder)
    second = published()
    assert second["stock-600584"] == first["stock-600584"]
    assert second["stock-002156"] != first["stock-002156"]

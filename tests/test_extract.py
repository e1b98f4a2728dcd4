"""Text extraction in a real refresh: mentions of known organisations and places in Chinese
and English news, candidate partnerships kept apart from curated ones, and idempotence."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.extract.cooperation import load_cues
from ingest.extract.extractor import Extractor
from ingest.extract.names import build_index, index_inputs
from ingest.sources import taxonomy_source
from ingest.sources.bundle_source import BundleSource
from ingest.sources.text_source import TextSource
from jobs.refresh import run_refresh
from jobs.tasks import init_home
from kg.backends import open_view
from kg.settings import load_settings
from kg.store import Node

ORGS = """id,name_zh,name_en,aliases,kind,city
stock-600584,江苏长电科技股份有限公司,"JCET Group Co., Ltd.",长电科技|JCET|长电,listed_company,江阴
uni-jiangnan,江南大学,Jiangnan University,JNU,university,无锡
uni-wuxi,无锡学院,Wuxi University,,university,无锡
org-hua-hong-wuxi,华虹半导体（无锡）有限公司,Hua Hong Semiconductor (Wuxi) Limited,华虹无锡,company,无锡
org-sk-hynix,SK海力士,SK hynix Inc.,SK hynix|海力士,listed_company,
stock-688981,中芯国际集成电路制造有限公司,Semiconductor Manufacturing International Corporation,SMIC|中芯国际,listed_company,上海
stock-600050,中国联合网络通信股份有限公司,China United Network Communications Co. Ltd.,中国联通,listed_company,北京
"""
REGIONS = """id,name_zh,name_en,level,aliases
cn-js-wuxi,无锡市,Wuxi,city,无锡
cn-sh,上海市,Shanghai,province,上海
"""
CURATED = """source_id,target_id,type,evidence,source
uni-wuxi,org-hua-hong-wuxi,PARTNERS_WITH,school-enterprise agreement (curated),curated list
"""
ZH_NEWS = "# 长电科技与江南大学签署战略合作协议\n\n长电科技与江南大学日前签署战略合作协议，双方将在无锡共建联合实验室。\n"
EN_NEWS = ("JCET and Jiangnan University team up on chiplets\n\n"
           "JCET Group and Jiangnan University signed a strategic cooperation agreement on Tuesday, "
           "the company said.\nSK hynix expands its Wuxi fab.\n")
HUAHONG_NEWS = "华虹无锡与无锡学院签署校企合作协议，共建集成电路实训基地。\n"
DENIAL_NEWS = "中芯国际否认与SK海力士合作的传闻，称双方并无合作计划。\n"


@pytest.fixture(scope="module")
def blank_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised home, made once and copied per test (the lexical embedder is a real
    setting that keeps the derived-vectors step quick)."""
    home = tmp_path_factory.mktemp("extract-home")
    init_home(load_settings({"home": str(home), "embedder": "lexical"}))
    return home


@pytest.fixture
def world(blank_home: Path, tmp_path: Path):
    """A store, a bundle of real organisations and places, and a news folder to write into."""
    home = tmp_path / "home"
    shutil.copytree(blank_home, home, ignore=shutil.ignore_patterns("*.lock"))
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "organizations.csv").write_text(ORGS, encoding="utf-8")
    (bundle / "regions.csv").write_text(REGIONS, encoding="utf-8")
    (tmp_path / "news").mkdir()
    return load_settings({"home": str(home), "embedder": "lexical"}), bundle, tmp_path / "news"


def run(world):
    settings, bundle, news = world
    return run_refresh(settings, [taxonomy_source(), BundleSource("orgs", bundle), TextSource("news", news)])


def graph(settings, rel_type: str) -> dict[tuple[str, str], dict]:
    with open_view(settings) as v:
        return {(e.source_id, e.target_id): e.props for batch in v.iter_edges(rel_type) for e in batch}


def mentions_of(settings, name_part: str) -> dict[str, str]:
    """Node id -> evidence, for the MENTIONS of the document whose id contains name_part."""
    return {t: p["evidence"] for (s, t), p in graph(settings, "MENTIONS").items() if name_part in s}


def extracted(settings) -> dict[tuple[str, str], dict]:
    return {k: p for k, p in graph(settings, "PARTNERS_WITH").items() if p.get("extracted")}


def test_chinese_news_item_yields_mentions_and_one_extracted_partnership(world):
    settings, _, news = world
    (news / "2024-03-12-jcet-jiangnan.md").write_text(ZH_NEWS, encoding="utf-8")
    log = run(world)
    assert not log.rejected
    found = mentions_of(settings, "jcet-jiangnan")
    assert set(found) == {"stock-600584", "uni-jiangnan", "cn-js-wuxi"}
    assert found["cn-js-wuxi"] == "长电科技与江南大学日前签署战略合作协议，双方将在无锡共建联合实验室。"
    assert "stock-600050" not in found  # 联合 in 联合实验室 is a word, not China Unicom
    [(pair, props)] = extracted(settings).items()
    assert pair == ("stock-600584", "uni-jiangnan")
    assert props["evidence"] == "长电科技与江南大学日前签署战略合作协议，双方将在无锡共建联合实验室。"
    assert 0.5 < props["confidence"] < 1 and props["feeds"] == ["news"]


def test_english_news_item_yields_mentions_and_one_extracted_partnership(world):
    settings, _, news = world
    (news / "2024-05-20-jcet-jiangnan-en.txt").write_text(EN_NEWS, encoding="utf-8")
    run(world)
    found = mentions_of(settings, "jcet-jiangnan-en")
    assert set(found) == {"stock-600584", "uni-jiangnan", "org-sk-hynix", "cn-js-wuxi"}
    assert found["org-sk-hynix"] == found["cn-js-wuxi"] == "SK hynix expands its Wuxi fab."
    [(pair, props)] = extracted(settings).items()
    assert pair == ("stock-600584", "uni-jiangnan")
    assert props["evidence"] == ("JCET Group and Jiangnan University signed a strategic cooperation agreement "
                                 "on Tuesday, the company said.")
    assert 0.5 < props["confidence"] < 1


def test_denial_gives_mentions_but_no_partnership(world):
    settings, _, news = world
    (news / "denial.txt").write_text(DENIAL_NEWS, encoding="utf-8")
    run(world)
    assert set(mentions_of(settings, "denial")) == {"stock-688981", "org-sk-hynix"}
    assert extracted(settings) == {}


def test_second_refresh_changes_nothing_and_parses_nothing(world):
    settings, _, news = world
    (news / "zh.md").write_text(ZH_NEWS, encoding="utf-8")
    (news / "en.txt").write_text(EN_NEWS, encoding="utf-8")
    run(world)
    before = {**graph(settings, "MENTIONS"), **graph(settings, "PARTNERS_WITH")}
    second = run(world)
    totals = second.totals()
    assert (totals["added"], totals["changed"], totals["unseen"]) == (0, 0, 0)
    step = next(d for d in second.details if d.get("op") == "extraction")
    assert step["documents"] == 2 and step["parsed"] == 0
    after = {**graph(settings, "MENTIONS"), **graph(settings, "PARTNERS_WITH")}
    strip = {"last_seen"}
    assert {k: {f: v for f, v in p.items() if f not in strip} for k, p in after.items()} == \
           {k: {f: v for f, v in p.items() if f not in strip} for k, p in before.items()}


def test_edited_document_moves_its_mentions(world):
    settings, _, news = world
    item = news / "item.txt"
    item.write_text(DENIAL_NEWS, encoding="utf-8")
    run(world)
    item.write_text(HUAHONG_NEWS, encoding="utf-8")
    log = run(world)
    edges = graph(settings, "MENTIONS")
    live = {t for (_, t), p in edges.items() if p["status"] == "active"}
    assert live == {"org-hua-hong-wuxi", "uni-wuxi"}
    assert {t for (_, t), p in edges.items() if p["status"] == "unseen"} == {"stock-688981", "org-sk-hynix"}
    assert log.unseen["MENTIONS"] == 2


def test_curated_partnership_is_never_overwritten(world):
    settings, bundle, news = world
    (bundle / "relations.csv").write_text(CURATED, encoding="utf-8")
    (news / "huahong.md").write_text(HUAHONG_NEWS, encoding="utf-8")
    log = run(world)
    props = graph(settings, "PARTNERS_WITH")[("org-hua-hong-wuxi", "uni-wuxi")]
    assert props["evidence"] == "school-enterprise agreement (curated)"
    assert not props.get("extracted") and props.get("confidence") is None and props["feeds"] == ["orgs"]
    assert next(d for d in log.details if d.get("op") == "extraction")["skipped_curated"] == 1
    assert set(mentions_of(settings, "huahong")) == {"org-hua-hong-wuxi", "uni-wuxi"}


def test_curated_record_for_an_extracted_pair_clears_the_flag(world):
    settings, bundle, news = world
    (news / "huahong.md").write_text(HUAHONG_NEWS, encoding="utf-8")
    run(world)
    assert extracted(settings)[("org-hua-hong-wuxi", "uni-wuxi")]["extracted"] is True
    (bundle / "relations.csv").write_text(CURATED, encoding="utf-8")
    run(world)
    props = graph(settings, "PARTNERS_WITH")[("org-hua-hong-wuxi", "uni-wuxi")]
    assert props["extracted"] is False and props["evidence"] == "school-enterprise agreement (curated)"


def test_ambiguous_and_common_short_names_are_not_linked():
    """A short form two firms share is dropped; a derived core that is a common word is too."""
    nodes = [Node("a", "Organization", {"name_zh": "华虹半导体（无锡）有限公司", "kind": "company"}),
             Node("b", "Organization", {"name_zh": "华虹半导体有限公司", "kind": "listed_company"}),
             Node("c", "Organization", {"name_zh": "中国联合网络通信股份有限公司", "kind": "listed_company"}),
             Node("d", "Organization", {"name_zh": "无锡威孚高科技集团股份有限公司", "aliases": ["威孚高科"],
                                        "kind": "listed_company"})]
    index = build_index(index_inputs(nodes, {}))
    extractor = Extractor(index, load_cues())
    doc = extractor.annotate("华虹表示，威孚高科与华虹无锡将设立联合实验室。", "zh")
    assert [(e.text, e.kb_id_) for e in doc.ents] == [("威孚高科", "d"), ("华虹无锡", "a")]
    assert index.ambiguous >= 1 and "联合" not in index.han


def test_confidence_falls_with_distance_and_stays_below_one():
    cues = load_cues()
    near, far = cues.confidence(0.9, 2, 2, "zh"), cues.confidence(0.9, 200, 2, "zh")
    assert 0 < far < near < 1
    assert cues.confidence(1.0, 0, 2, "en") == cues.max_confidence < 1

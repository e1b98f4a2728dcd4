"""Entity resolution (ingest.resolve): the case file, overrides, stable ids, explanations, scale."""

from __future__ import annotations

import csv
import itertools
import random
from dataclasses import fields, replace
from pathlib import Path

import pytest

from ingest.normalize import credit_code_check_char, normalize_stock_code
from ingest.resolve import (
    MAX_BLOCK_SIZE,
    Decision,
    DecisionTable,
    Judgement,
    Origin,
    ResolveSettings,
    cluster_decisions,
    compare_records,
    load_overrides,
    resolve,
)
from ingest.resolve.blocking import candidate_pairs
from ingest.resolve.features import features
from ingest.resolve.keys import exclusive_groups

CASES = Path(__file__).parent / "cases"


def rec(record_id: str, name_zh: str | None = None, name_en: str | None = None, **extra) -> dict:
    return {"record_id": record_id, "source": record_id.split(":")[0], "name_zh": name_zh,
            "name_en": name_en, "aliases": extra.pop("aliases", []), **extra}


def load_cases() -> tuple[list[dict], dict[str, str]]:
    with (CASES / "resolution_cases.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    records = [{"record_id": r["record_id"], "source": r["source"], "name_zh": r["name_zh"] or None,
                "name_en": r["name_en"] or None, "aliases": [a for a in r["aliases"].split("|") if a],
                "stock_code": r["stock_code"] or None, "city": r["city"] or None, "kind": r["kind"] or None,
                "sectors": [s for s in r["sectors"].split("|") if s]} for r in rows]
    return records, {r["record_id"]: r["case"] for r in rows}


def true_pairs(truth: dict[str, str]) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for p in itertools.combinations(truth, 2) if truth[p[0]] == truth[p[1]]}


# --- the case file ----------------------------------------------------------------------------

def test_case_file_is_well_formed():
    records, truth = load_cases()
    cases = set(truth.values())
    assert len(records) == len(truth), "record ids must be unique"
    assert len(cases) >= 25
    with (CASES / "resolution_cases.csv").open(encoding="utf-8") as fh:
        assert all(row["evidence"].strip() for row in csv.DictReader(fh)), "say what links each record"
    bilingual = {truth[r["record_id"]] for r in records if r["name_zh"] and r["name_en"]}
    assert len(bilingual) >= 25


def test_case_file_precision_and_recall():
    records, truth = load_cases()
    result = resolve(records, load_overrides(CASES / "resolution_overrides.csv"))
    predicted, expected = result.same_pairs(), true_pairs(truth)
    false_pos = sorted((a, b, truth[a], truth[b]) for a, b in predicted - expected)
    false_neg = sorted((a, b, truth[a]) for a, b in expected - predicted)
    assert not false_pos, f"merged although different: {false_pos}"
    assert not false_neg, f"left apart although the same: {false_neg}"
    assert len(result.entities) == len(set(truth.values()))


def test_every_name_is_kept_on_the_entity():
    records, _ = load_cases()
    result = resolve(records, load_overrides(CASES / "resolution_overrides.csv"))
    for r in records:
        entity = result.entity(r["record_id"])
        for name in [r["name_zh"], r["name_en"], *r["aliases"]]:
            if name:  # a code among the aliases is kept as a code
                assert name in entity.names or normalize_stock_code(name) in entity.stock_codes, name
        assert r["source"] in entity.sources


def test_the_overrides_are_what_links_or_splits_their_records():
    records, truth = load_cases()
    plain = resolve(records)
    # the 1958 name of Jiangnan University appears in no source: only the override links it
    assert plain.canonical("archive:wxqg-inst") != plain.canonical("moe:10295")
    # SK hynix's Wuxi subsidiary: (中国) is boilerplate, so its names alone merge it with the parent...
    without_wuxi_names = resolve([r for r in records if r["record_id"] != "sample:org-sk-hynix-wuxi"])
    assert without_wuxi_names.canonical("gov-wuxi:skhynix-cn") == without_wuxi_names.canonical("stock-kr:000660")
    # ...unless a record of it says Wuxi (SK hynix Wuxi): a local unit, never joined to the parent
    assert plain.canonical("gov-wuxi:skhynix-cn") == plain.canonical("sample:org-sk-hynix-wuxi")
    assert plain.canonical("gov-wuxi:skhynix-cn") != plain.canonical("stock-kr:000660")
    with_overrides = resolve(records, load_overrides(CASES / "resolution_overrides.csv"))
    assert with_overrides.canonical("archive:wxqg-inst") == with_overrides.canonical("moe:10295")
    assert with_overrides.canonical("gov-wuxi:skhynix-cn") != with_overrides.canonical("stock-kr:000660")


# --- the real sample --------------------------------------------------------------------------

SAMPLE = Path(__file__).parent.parent / "data" / "sample" / "organizations.csv"
# Clusters of more than one record the resolver may form on the sample: none. The sample lists
# each organisation once; the look-alikes in it are different entities (Big Fund I/II/III,
# governments and zones of different places, CAS and its institutes, parents and their local
# units, groups and their listed companies), all in the case file as hard negatives.
SAMPLE_CLUSTERS: list[tuple[str, ...]] = []


def sample_records() -> list[dict]:
    """The sample organisations as the refresh hands them to the resolver (step._record)."""
    from ingest.resolve.step import resolver_record

    def split(cell: str) -> list[str]:
        return list(dict.fromkeys(v.strip() for v in (cell or "").split("|") if v.strip()))

    with SAMPLE.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [resolver_record(row["id"], {**{k: (v.strip() or None) for k, v in row.items() if k not in ("aliases", "sectors")},
                                "aliases": split(row["aliases"]), "_sectors": split(row["sectors"])},
                    row.get("source") or "sample") for row in rows]


def test_the_sample_resolves_without_false_merges():
    records = sample_records()
    assert len(records) >= 400
    result = resolve(records)
    merged = sorted(tuple(sorted(e.record_ids)) for e in result.entities.values() if len(e.record_ids) > 1)
    assert merged == SAMPLE_CLUSTERS, [result.explain(c[0]).text for c in merged]


# --- required behaviour -----------------------------------------------------------------------

SMIC = [
    rec("gov:1", "中芯国际集成电路制造有限公司"),
    rec("news:2", "中芯国际"),
    rec("news:3", name_en="SMIC"),
    rec("wiki:4", name_en="Semiconductor Manufacturing International Corp."),
    rec("stock-sse:688981", "中芯国际集成电路制造有限公司", stock_code="688981"),
    # HKEX lists the Chinese name beside the English one: that is what links the two languages
    rec("stock-hkex:0981", "中芯国际", "Semiconductor Manufacturing International Corporation",
        stock_code="0981.HK"),
    rec("fund:5", name_en="SMIC", aliases=["688981.SH"]),
]


def test_smic_is_one_entity_with_every_name():
    result = resolve(SMIC)
    assert len(result.entities) == 1
    entity = next(iter(result.entities.values()))
    assert set(entity.names) >= {"中芯国际集成电路制造有限公司", "中芯国际", "SMIC",
                                 "Semiconductor Manufacturing International Corp.",
                                 "Semiconductor Manufacturing International Corporation"}
    assert set(entity.stock_codes) == {"688981.SH", "0981.HK"}
    assert entity.id == "stock-hkex:0981"  # a stock- record wins; then the smallest id
    assert set(entity.sources) == {"gov", "news", "wiki", "stock-sse", "stock-hkex", "fund"}


@pytest.mark.parametrize("a, b", [
    (rec("x:1", "华润微电子有限公司"), rec("y:1", "华润电力控股有限公司")),
    (rec("x:1", "华润微电子"), rec("y:1", "华润电力")),
    (rec("x:1", "长电科技"), rec("y:1", "长城科技")),
    (rec("x:1", "江苏长电科技股份有限公司"), rec("y:1", "中国长城科技集团股份有限公司")),
    (rec("x:1", name_en="Wuxi Rural Commercial Bank Co., Ltd."), rec("y:1", name_en="Ping An Bank Co., Ltd.")),
    (rec("x:1", name_en="JCET"), rec("y:1", name_en="JCE Tech")),
    (rec("x:1", name_en="JCET Group Co., Ltd."), rec("y:1", name_en="JCE Technology Co., Ltd.")),
    (rec("x:1", "江苏银行"), rec("y:1", "江苏租赁")),
    (rec("x:1", "江苏银行股份有限公司"), rec("y:1", "江苏金融租赁股份有限公司")),
    (rec("x:1", name_en="Bank of Jiangsu"), rec("y:1", name_en="Jiangsu Financial Leasing")),
    (rec("x:1", name_en="China Resources Microelectronics"), rec("y:1", name_en="China Resources Power")),
    (rec("x:1", "华虹半导体有限公司"), rec("y:1", "华虹半导体(无锡)有限公司")),  # parent vs subsidiary
    # numbers: phases, funds, fabs
    (rec("x:1", "国家集成电路产业投资基金股份有限公司"), rec("y:1", "国家集成电路产业投资基金二期股份有限公司")),
    (rec("x:1", name_en="Big Fund II"), rec("y:1", name_en="Big Fund III")),
    (rec("x:1", "华虹七厂"), rec("y:1", "华虹九厂")),
    # places: a government, zone or university of another place, even one inside the other
    (rec("x:1", "江阴市人民政府", kind="government_body"), rec("y:1", "无锡市人民政府", kind="government_body")),
    (rec("x:1", "无锡市人民政府"), rec("y:1", "无锡市人民政府国有资产监督管理委员会")),
    (rec("x:1", "江苏省工信厅"), rec("y:1", "工信部")),
    (rec("x:1", name_en="Xinwu District People's Government, Wuxi"),
     rec("y:1", name_en="Xishan District People's Government, Wuxi")),
    (rec("x:1", "惠山经济技术开发区", kind="park"), rec("y:1", "锡山经济技术开发区", kind="park")),
    (rec("x:1", "江阴高新区"), rec("y:1", "无锡高新区")),
    (rec("x:1", "电子科技大学"), rec("y:1", "西安电子科技大学")),
    # a parent and its unit
    (rec("x:1", "中国科学院"), rec("y:1", "中国科学院计算技术研究所")),
    (rec("x:1", "中科院"), rec("y:1", "中科院计算所")),
    (rec("x:1", name_en="Chinese Academy of Sciences"),
     rec("y:1", name_en="Institute of Computing Technology, Chinese Academy of Sciences")),
    (rec("x:1", "华润微电子有限公司"), rec("y:1", "华润微电子有限公司无锡分公司")),
    # a local unit of a firm based elsewhere; two registered names; a group and its listed company
    (rec("x:1", "SK海力士", city="Icheon"), rec("y:1", "SK海力士半导体(中国)有限公司", aliases=["SK hynix Wuxi"])),
    (rec("x:1", "英飞凌", city="Neubiberg"), rec("y:1", "英飞凌无锡")),
    (rec("x:1", "华润微电子有限公司"), rec("y:1", "无锡华润华晶微电子有限公司")),
    (rec("x:1", "紫光股份有限公司", aliases=["H3C"]), rec("y:1", "新华三技术有限公司", aliases=["H3C"])),
    (rec("x:1", "浪潮集团", name_en="Inspur Group"), rec("y:1", "浪潮信息", aliases=["Inspur"], stock_code="000977")),
    # a generic word shared, the distinctive core not
    (rec("x:1", name_en="Lam Research Corporation"), rec("y:1", name_en="ACM Research, Inc.")),
])
def test_similar_names_of_different_firms_stay_apart(a, b):
    comparison = compare_records(a, b)
    assert comparison.score < ResolveSettings().same_threshold, comparison.evidence
    assert resolve([a, b]).canonical("x:1") != resolve([a, b]).canonical("y:1")


@pytest.mark.parametrize("a, b, feature", [
    (rec("x:1", "通富微电"), rec("y:1", name_en="Tongfu Microelectronics"), "pinyin_core"),
    (rec("x:1", "华天科技"), rec("y:1", name_en="Huatian Technology"), "pinyin_core"),
    (rec("x:1", "江南大学"), rec("y:1", name_en="Jiangnan University"), "pinyin_core"),
    (rec("x:1", name_en="SMIC"), rec("y:1", name_en="Semiconductor Manufacturing International Corp."), "acronym"),
    (rec("x:1", name_en="TSMC"), rec("y:1", name_en="Taiwan Semiconductor Manufacturing Company"), "acronym"),
    (rec("x:1", "沪硅产业"), rec("y:1", "上海硅产业集团股份有限公司"), "short_name"),
    (rec("x:1", "紫光国微"), rec("y:1", "紫光国芯微电子股份有限公司"), "abbreviation"),
    (rec("x:1", "長電科技"), rec("y:1", "江苏长电科技股份有限公司"), "name_base"),
    (rec("x:1", name_en="Changdian"), rec("y:1", "长电"), "pinyin_name"),
    # descriptors that are not the firm's core: 精密 / Precision, 数据 / Data (002384, 300738)
    (rec("x:1", "苏州东山精密制造股份有限公司"), rec("y:1", name_en="Dongshan Precision"), "pinyin_core"),
    (rec("x:1", "东山精密"), rec("y:1", name_en="Suzhou Dongshan Precision Manufacturing Co., Ltd."), "pinyin_core"),
    (rec("x:1", "广东奥飞数据科技股份有限公司"), rec("y:1", name_en="Aofei Data"), "pinyin_core"),
    (rec("x:1", "广东奥飞数据科技股份有限公司"), rec("y:1", name_en="Guangdong Aofei Data Technology Co., Ltd."), "pinyin_core"),
])
def test_linking_evidence(a, b, feature):
    # The pair alone is resolved into one entity: by its score, or as the only good match on
    # both sides (cluster.one_to_one), and the hand-set evidence stays among the reasons.
    comparison = compare_records(a, b)
    assert comparison.score >= ResolveSettings().unique_threshold
    assert resolve([a, b]).canonical("x:1") == resolve([a, b]).canonical("y:1")
    assert feature in {e.feature for e in comparison.evidence}
    assert all(len(e) == 3 and isinstance(e.detail, str) for e in comparison.evidence)


def test_governments_zones_and_universities_merge_on_exact_names_only():
    full = rec("a:1", "无锡市人民政府", "Wuxi Municipal People's Government", aliases=["无锡市政府"],
               kind="government_body")
    assert resolve([full, rec("b:1", "无锡市政府")]).canonical("b:1") == "a:1"  # an alias
    assert resolve([full, rec("b:1", name_en="Wuxi Municipal People's Government")]).canonical("b:1") == "a:1"
    near = compare_records(full, rec("b:1", "无锡政府"))  # no listed name: for review, not merged
    assert near.score < ResolveSettings().same_threshold


def test_a_contradicted_pair_is_not_same_and_blocks_a_chain():
    parent = rec("a:1", "SK海力士", "SK hynix Inc.", city="Icheon", kind="listed_company", stock_code="000660.KS")
    unit = rec("b:1", "SK海力士半导体(中国)有限公司", "SK hynix Semiconductor (China) Ltd.",
               aliases=["SK hynix Wuxi"], city="无锡")
    news = rec("c:1", "SK海力士")  # matches both: the parent exactly, the unit by its start
    result = resolve([parent, unit, news])
    assert result.decisions.get("a:1", "b:1").judgement is Judgement.NOT_SAME
    assert "unit of a firm based in icheon" in result.decisions.get("a:1", "b:1").reason
    assert result.canonical("c:1") == result.canonical("a:1") != result.canonical("b:1")
    assert result.clustering.refused


def test_codes_link_and_conflicting_codes_separate():
    same_code = compare_records(rec("a:1", "甲"), rec("b:1", name_en="Zzz", stock_code="SH600584"),)
    assert same_code.score < ResolveSettings().keep_below  # a code on one side only is no evidence
    linked = compare_records(rec("a:1", "甲", stock_code="600584"), rec("b:1", name_en="Zzz", aliases=["600584.SH"]))
    assert linked.score == 1.0 and linked.evidence[0].feature == "shared_key"
    code_a = "91320214MA1N0B1C3" + credit_code_check_char("91320214MA1N0B1C3")
    code_b = "91320214MA1N0B1C4" + credit_code_check_char("91320214MA1N0B1C4")
    twins = [rec("a:1", "无锡新洁能", credit_code=code_a), rec("b:1", "无锡新洁能", credit_code=code_b)]
    result = resolve(twins)
    assert result.canonical("a:1") != result.canonical("b:1")
    assert result.decisions.get("a:1", "b:1").judgement is Judgement.NOT_SAME
    a_shares = [rec("a:1", "新洁能", stock_code="605111"), rec("b:1", "新洁能", stock_code="600584")]
    assert resolve(a_shares).canonical("a:1") != resolve(a_shares).canonical("b:1")
    a_and_h = [rec("a:1", "中芯国际", stock_code="688981"), rec("b:1", "中芯国际", stock_code="0981.HK")]
    assert resolve(a_and_h).canonical("a:1") == resolve(a_and_h).canonical("b:1")


def test_a_chain_through_a_short_name_never_joins_two_credit_codes():
    code_a = "91320214MA1N0B1C3" + credit_code_check_char("91320214MA1N0B1C3")
    code_b = "91310000MA1N0B1C4" + credit_code_check_char("91310000MA1N0B1C4")
    records = [rec("a:1", "中芯国际集成电路制造(上海)有限公司", credit_code=code_b),
               rec("b:1", "中芯国际集成电路制造有限公司", credit_code=code_a),
               rec("c:1", "中芯国际")]
    result = resolve(records)
    assert result.canonical("a:1") != result.canonical("b:1")
    assert result.decisions.get("a:1", "b:1").judgement is Judgement.NOT_SAME
    assert result.clustering.refused  # one of the short name's two links


# --- decisions and overrides ------------------------------------------------------------------

CHAIN = [rec("a:1", name_en="JCET Group Co., Ltd."), rec("b:1", name_en="JCET"),
         rec("c:1", name_en="Jiangsu Changjiang Electronics Technology Co., Ltd.")]


def write_overrides(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "overrides.csv"
    path.write_text("record_a,record_b,judgement,who,note\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_manual_not_same_splits_an_automatic_merge_at_the_weakest_link(tmp_path):
    assert len(resolve(CHAIN).entities) == 1  # a = b by name (1.0), b = c by acronym (0.85)
    overrides = load_overrides(write_overrides(tmp_path, ["a:1,c:1,not_same,alice,test split"]))
    result = resolve(CHAIN, overrides)
    assert result.clustering.clusters == (("a:1", "b:1"), ("c:1",))
    refused = {d.pair: d.score for d, _ in result.clustering.refused}
    assert refused == {("b:1", "c:1"): 0.85}  # the weaker link on the path a - b - c
    assert result.decisions.get("a:1", "c:1").origin is Origin.MANUAL


def test_a_manual_same_joins_and_wins_over_the_machine(tmp_path):
    records = [rec("a:1", "无锡轻工业学院"), rec("b:1", "江南大学")]
    assert resolve(records).canonical("a:1") != resolve(records).canonical("b:1")
    path = write_overrides(tmp_path, ["b:1,a:1,same,bob,historical name"])
    result = resolve(records, load_overrides(path))
    assert result.canonical("a:1") == result.canonical("b:1")
    decision = result.decisions.get("a:1", "b:1")
    assert (decision.origin, decision.who, decision.pair) == (Origin.MANUAL, "bob", ("a:1", "b:1"))


def test_manual_rows_are_never_overruled_by_automatic_ones():
    table = DecisionTable()
    table.add(Decision("a", "b", Judgement.NOT_SAME, Origin.MANUAL, "no", who="carol"))
    table.add(Decision("b", "a", Judgement.SAME, Origin.AUTO, "names", 0.99))
    assert table.get("a", "b").judgement is Judgement.NOT_SAME
    assert len(table.rows()) == 2 and len(table) == 1
    table.add(Decision("a", "b", Judgement.SAME, Origin.MANUAL, "changed my mind", who="carol"))
    assert table.get("a", "b").judgement is Judgement.SAME


@pytest.mark.parametrize("rows, message", [
    (["a:1,b:1,maybe,x,"], "judgement must be same or not_same"),
    (["a:1,,same,x,"], "required"),
    (["a:1,a:1,same,x,"], "two different records"),
])
def test_bad_override_rows_name_their_line(tmp_path, rows, message):
    with pytest.raises(ValueError, match=f"overrides.csv:2: .*{message}"):
        load_overrides(write_overrides(tmp_path, rows))


def test_override_file_without_the_columns_is_refused(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("a,b,judgement\nx,y,same\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing columns"):
        load_overrides(path)


def test_clusters_are_a_pure_function_of_the_decision_table():
    records, _ = load_cases()
    result = resolve(records, load_overrides(CASES / "resolution_overrides.csv"))
    again = cluster_decisions([r["record_id"] for r in records], DecisionTable(result.decisions.rows()),
                              {f.record_id: exclusive_groups(f.keys) for f in map(features, records)})
    assert again.clusters == result.clustering.clusters
    shuffled = records[:]
    random.Random(3).shuffle(shuffled)
    other = resolve(shuffled, load_overrides(CASES / "resolution_overrides.csv"))
    assert other.id_map() == result.id_map()


def test_duplicate_record_ids_are_refused():
    with pytest.raises(ValueError, match="duplicate record_id"):
        resolve([rec("a:1", "甲"), rec("a:1", "乙")])


# --- canonical ids ----------------------------------------------------------------------------

def test_canonical_ids_are_stable_when_records_come_and_go():
    records, _ = load_cases()
    base = resolve(records)
    unrelated = [rec("zz:1", "某某新材料有限公司"), rec("aa:0", name_en="Unrelated Widgets Ltd")]
    grown = resolve(records + unrelated)
    assert all(grown.canonical(r) == c for r, c in base.id_map().items())
    # a record that outranks the current canonical id joins: every old id follows the survivor
    smic = base.canonical("news-zh:smic")
    joined = resolve(records + [rec("stock-aaa:1", "中芯国际", stock_code="688981")])
    assert joined.canonical(smic) == joined.canonical("news-zh:smic") == "stock-aaa:1"
    # the canonical record leaves: with the previous map its id still resolves to the entity
    remaining = [r for r in records if r["record_id"] != smic]
    shrunk = resolve(remaining, previous=base.id_map())
    assert shrunk.canonical(smic) == shrunk.canonical("news-zh:smic") != smic
    with pytest.raises(KeyError):
        resolve(remaining).canonical(smic)


def test_canonical_id_prefers_stock_records_then_credit_codes_then_smallest_id():
    code = "91320214MA1N0B1C3" + credit_code_check_char("91320214MA1N0B1C3")
    result = resolve([rec("a:1", "卓胜微"), rec("b:1", "卓胜微", credit_code=code)])
    assert result.canonical("a:1") == "b:1"
    result = resolve([rec("a:1", "卓胜微"), rec("c:1", "卓胜微")])
    assert result.canonical("c:1") == "a:1"


# --- explanations -----------------------------------------------------------------------------

def test_explain_gives_keys_scores_and_manual_decisions(tmp_path):
    records = SMIC + [rec("news:9", "SK海力士"), rec("news:8", "中芯国际集成电路制造(北京)有限公司")]
    overrides = load_overrides(write_overrides(tmp_path, ["news:2,news:8,not_same,dora,Beijing fab"]))
    explanation = resolve(records, overrides).explain("news:3")
    data = explanation.as_dict()
    assert data["canonical_id"] == "stock-hkex:0981" and "news:3" in data["members"]
    assert {"key": "stock:688981.SH", "records": ["fund:5", "stock-sse:688981"]} in data["shared_keys"]
    features_seen = {e["feature"] for link in data["links"] + data["supporting"] for e in link["evidence"]}
    assert {"shared_key", "acronym", "name_exact"} <= features_seen
    assert any(m["who"] == "dora" and m["judgement"] == "not_same" for m in data["manual"])
    text = explanation.text
    assert text.startswith("news:3 resolves to stock-hkex:0981")
    assert "Shared keys:" in text and "SMIC is the initials of" in text
    assert "manual, by dora" in text


# --- blocking and scale -----------------------------------------------------------------------

def test_every_setting_is_documented():
    assert ResolveSettings().max_block_size == MAX_BLOCK_SIZE
    assert all(f.metadata.get("help") for f in fields(ResolveSettings))
    with pytest.raises(ValueError):
        replace(ResolveSettings(), unsure_threshold=0.9, same_threshold=0.8)


def test_blocking_skips_oversized_blocks():
    distinct = [chr(0x4E00 + 37 * i) for i in range(200)]
    many = [rec(f"s:{i}", f"科技{distinct[i]}{distinct[100 + i]}") for i in range(100)]
    feats = [features(r) for r in many]
    assert list(candidate_pairs(feats, max_block_size=10)) == []
    assert len(list(candidate_pairs(feats[:5], max_block_size=10))) == 10  # only the 科技 block, of 5


CHARS = "华中国海新天长江南北东西金银光明宏达盛泰恒通富德安信诚科创微电芯智能源利瑞祥和丰汇鑫隆昌兴顺成远航星辰云龙凤鹏"
INDUSTRY = [("科技", "Technology"), ("微电子", "Microelectronics"), ("半导体", "Semiconductor"),
            ("材料", "Materials"), ("设备", "Equipment"), ("软件", "Software"), ("医药", "Pharmaceutical")]


def synthetic_records(n: int, seed: int = 7) -> list[dict]:
    """Firms with random two- or three-character cores, each seen by one to four sources."""
    from pypinyin import lazy_pinyin
    rnd = random.Random(seed)
    out: list[dict] = []
    firm = 0
    while len(out) < n:
        firm += 1
        core = "".join(rnd.choice(CHARS) for _ in range(rnd.choice((2, 3, 3))))
        zh, en = rnd.choice(INDUSTRY)
        latin = "".join(lazy_pinyin(core)).capitalize()
        code = f"{rnd.choice(('600', '688', '000', '300'))}{firm % 1000:03d}" if rnd.random() < 0.2 else None
        views = [{"name_zh": f"{rnd.choice(('无锡', '江苏', ''))}{core}{zh}股份有限公司", "stock_code": code},
                 {"name_zh": f"{core}{zh}"}, {"name_en": f"{latin} {en} Co., Ltd."}, {"name_en": f"{latin} {en}"}]
        for i, view in enumerate(views[: rnd.randint(1, 4)]):
            out.append(rec(f"src{i}:{firm}", **view))
    return out[:n]


@pytest.mark.slow
def test_fifty_thousand_records_resolve():
    records = synthetic_records(50_000)
    result = resolve(records)
    assert len(result.id_map()) == 50_000
    assert sum(len(e.record_ids) for e in result.entities.values()) == 50_000
    assert len(result.entities) < 50_000  # sources of one firm did meet


@pytest.mark.parametrize(("a", "b", "merged"), [
    ("天顺风能", "天顺风能（苏州）股份有限公司", True),  # the exchange's short name of the listed company
    ("鹏鼎控股", "鹏鼎控股（深圳）股份有限公司", True),
    ("天顺风能股份有限公司", "天顺风能（苏州）股份有限公司", False),  # two registered names: parent or subsidiary
    ("华虹半导体", "华虹半导体（无锡）有限公司", False),  # a limited company with a place: a local unit
])
def test_a_place_in_a_joint_stock_name_is_no_subsidiary_against_its_short_name(a, b, merged):
    from ingest.resolve.cluster import resolve

    r = resolve([{"record_id": "a:1", "source": "a", "name_zh": a}, {"record_id": "b:1", "source": "b", "name_zh": b}])
    assert (r.canonical("a:1") == r.canonical("b:1")) is merged


@pytest.mark.parametrize(("a", "b", "merged"), [
    ("思进智能", "思进智能成形装备股份有限公司", True),  # 智能 is a word of the registered name too
    ("中钢国际", "中钢国际工程技术股份有限公司", True),
    ("华新电子", "华新材料股份有限公司", False),  # industry words that differ elsewhere still hold it down
    ("陕西能源", "陕西能源投资股份有限公司", True),  # generic words only, the short name's within the long one's
])
def test_a_short_name_inside_the_registered_name_has_no_differing_words(a, b, merged):
    from ingest.resolve.cluster import resolve

    r = resolve([{"record_id": "a:1", "source": "a", "name_zh": a}, {"record_id": "b:1", "source": "b", "name_zh": b}])
    assert (r.canonical("a:1") == r.canonical("b:1")) is merged


def test_the_one_to_one_pairing_settles_a_match_whose_rival_is_clearly_taken():
    """新希望 matches 新希望六和 and 新希望乳业 alike, but 新乳业 clearly matches 新希望乳业: each
    list names a firm once, so the pairing that uses each record once settles both."""
    from ingest.resolve.cluster import resolve

    names = {"a:1": "新希望", "a:2": "新乳业", "b:1": "新希望六和股份有限公司", "b:2": "新希望乳业股份有限公司"}
    r = resolve([{"record_id": k, "source": k[0], "name_zh": v} for k, v in names.items()])
    assert r.canonical("a:1") == r.canonical("b:1") != r.canonical("a:2") == r.canonical("b:2")
    settled = [d for d in r.decisions.effective() if d.evidence and d.evidence[0].feature == "assigned"]
    assert {d.pair for d in settled} == {("a:1", "b:1"), ("a:2", "b:2")}
    # Without 新乳业 nothing takes 新希望乳业: 新希望 stays for review against both.
    r = resolve([{"record_id": k, "source": k[0], "name_zh": v} for k, v in names.items() if k != "a:2"])
    assert len({r.canonical(k) for k in ("a:1", "b:1", "b:2")}) == 3

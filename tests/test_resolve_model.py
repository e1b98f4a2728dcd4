"""Entity resolution across scripts and name forms: normalisation of exchange short names, the
bilingual glossary, the blocking keys, the learned pairwise model, the one-to-one rule, bad
input, and the model's place in the resolution fingerprint."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.normalize import credit_code_check_char
from ingest.normalize.glossary import translate, translated_segments
from ingest.normalize.legal import normalize_org_name
from ingest.normalize.names import parse_name
from ingest.normalize.pinyin import sound_key
from ingest.resolve import Judgement, ResolveSettings, compare_records, resolve
from ingest.resolve.blocking import block_keys, candidate_pairs
from ingest.resolve.features import features
from ingest.resolve.incremental import fingerprint
from ingest.resolve.model import MODEL_FILE, load_model
from ingest.resolve.pair_features import FEATURES
from ingest.resolve.score import model_inputs

CODE_OK = "91320214MA1N0B1C3"


def rec(record_id: str, name_zh: str | None = None, name_en: str | None = None, **extra) -> dict:
    return {"record_id": record_id, "source": record_id.split(":")[0], "name_zh": name_zh,
            "name_en": name_en, "aliases": extra.pop("aliases", []), **extra}


# --- normalisation ----------------------------------------------------------------------------

@pytest.mark.parametrize("short, key", [
    ("*ST国华", "国华"), ("ST任子行", "任子行"), ("万  科Ａ", "万科"), ("寒武纪-U", "寒武纪"),
    ("云从科技-UW", "云从科技"), ("TCL科技", "tcl科技"), ("ST Microelectronics", "stmicroelectronics"),
])
def test_exchange_marks_around_a_short_name_are_not_the_name(short, key):
    assert normalize_org_name(short) == key


def test_the_taxonomy_cities_open_names_as_places_in_both_scripts():
    assert parse_name("浙江苏泊尔股份有限公司").core == "苏泊尔"
    supor = parse_name("ZHE JIANG SUPOR  Co., Ltd.")  # a province spelt in syllables
    assert (supor.region, supor.core) == ("zhejiang", "supor")
    luoyang = parse_name("Longhua Technology Group（Luoyang） Co.,Ltd.")
    assert (luoyang.qualifier, luoyang.core) == ("luoyang", "longhua")
    assert parse_name("台州市某某机械有限公司").region is not None  # a city of the SZSE list, not in regions.yaml


def test_the_glossary_translates_whole_names_and_their_trade_words():
    assert "东北制药" in translate(("northeast", "pharmaceutical"))
    assert "青松" in translate(("green", "pine"))
    assert "山西高速" in translate(("shanxi", "hi", "speed")) or "山西" in translated_segments(("shanxi",))
    assert translate(("titan", "wind", "energy")) == frozenset()  # a brand word does not translate...
    assert "风能" in translated_segments(("titan", "wind", "energy"))  # ...its trade words do


def test_sound_keys_meet_free_romanisations():
    assert sound_key("tianci") == sound_key("tinci")
    assert sound_key("haichen") == sound_key("hicin")
    assert sound_key("wanji") == sound_key("vanjee")
    assert sound_key("huaqing") == sound_key("hwatsing")


# --- blocking ---------------------------------------------------------------------------------

@pytest.mark.parametrize("a, b", [
    (rec("x:1", "力盛体育"), rec("y:1", name_en="Lisheng Sports (Shanghai) Co.,Ltd")),  # pinyin of the first two characters
    (rec("x:1", "天赐材料"), rec("y:1", name_en="Guangzhou Tinci Materials Technology Co., Ltd")),  # sound
    (rec("x:1", "东北制药"), rec("y:1", name_en="NORTHEAST PHARMACEUTICAL GROUP CO.,LTD")),  # translation
    (rec("x:1", "天银机电"), rec("y:1", "常熟市天银机电股份有限公司")),  # two characters anywhere in the full name
    (rec("x:1", "易购"), rec("y:1", "苏宁易购集团股份有限公司")),
    (rec("x:1", "比亚迪"), rec("y:1", name_en="BYD")),  # pinyin initials against an acronym
])
def test_cross_script_and_short_forms_share_a_block(a, b):
    assert list(candidate_pairs([features(a), features(b)])) == [(0, 1)], (block_keys(features(a)), block_keys(features(b)))


def test_the_short_name_of_a_registered_firm_pairs_it_with_no_other_registered_firm():
    # Two registry rows, each a registered name with its short name, share only characters (信长):
    # two registered names that differ are two firms, so the short names' character pairs meet
    # records without a registered name only.
    one = features(rec("reg:1", "江阴信长达半导体有限公司", aliases=["信长达半导"]))
    two = features(rec("reg:2", "苏州汇信长数据科技有限公司", aliases=["汇信长数据"]))
    short = features(rec("news:1", "信长达半导"))
    assert not any(k.startswith("c>") for k in block_keys(one))
    assert list(candidate_pairs([one, two, short])) == [(0, 2), (1, 2)]


def test_blocking_stays_sub_quadratic():
    """Pairs per record do not grow with the number of records (oversized blocks are skipped)."""
    import random

    rnd = random.Random(5)
    chars = "华中长江新天东南海信通达科创微芯晶电光智联泰航博盛宏瑞恒汇星源鼎泽和安康力德利丰"
    trades = ["半导体", "微电子", "科技", "新材料", "精密装备"]

    def records(n: int) -> list:
        out = []
        for i in range(n):
            core = "".join(rnd.choice(chars) for _ in range(rnd.choice((2, 3))))
            out.append(features(rec(f"s{i % 3}:{i}", f"无锡{core}{rnd.choice(trades)}股份有限公司")))
        return out

    small, large = records(2_000), records(8_000)
    per_small = sum(1 for _ in candidate_pairs(small)) / len(small)
    per_large = sum(1 for _ in candidate_pairs(large)) / len(large)
    assert per_large <= max(2 * per_small, 10.0), (per_small, per_large)


# --- the learned model ------------------------------------------------------------------------

def test_the_shipped_model_is_small_complete_and_read_at_run_time():
    model = load_model()
    assert model is not None and model.features == FEATURES
    assert MODEL_FILE.stat().st_size < 200_000
    assert set(model.thresholds) == {"zh", "cross"}
    doc = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert "en_dev" in doc["trained_on"] and "test" not in doc["trained_on"]  # trained on the dev halves only


def test_contributions_add_up_to_the_models_log_odds():
    a, b = features(rec("x:1", "力盛体育", city="上海")), features(rec("y:1", name_en="Lisheng Sports (Shanghai) Co.,Ltd"))
    x = model_inputs(a, b)
    model = load_model()
    assert x is not None and model.kind(x) == "cross"
    assert sum(model.contributions(x).values()) == pytest.approx(model.log_odds(x) - model.expected, abs=1e-6)


def test_a_translated_name_is_matched_and_explained_by_the_models_features():
    a = rec("stock-basic:000597.SZ", "东北制药", stock_code="000597.SZ", city="辽宁", kind="listed_company")
    b = rec("szse-en:000597", name_en="NORTHEAST PHARMACEUTICAL GROUP CO.,LTD", kind="listed_company")
    c = compare_records(a, b)
    assert c.evidence[0].feature == "model"
    assert {"model:x_trans", "model:x_cover_zh"} & {e.feature for e in c.evidence}
    result = resolve([a, b])
    assert result.canonical("szse-en:000597") == "stock-basic:000597.SZ"


def test_a_model_change_rescores_everything(tmp_path):
    s = ResolveSettings()
    other = tmp_path / "model.json"
    doc = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    doc["thresholds"]["cross"]["same"] = min(0.999, doc["thresholds"]["cross"]["same"] + 0.01)
    other.write_text(json.dumps(doc), encoding="utf-8")
    assert fingerprint(replace(s, model=str(other))) != fingerprint(s)
    assert fingerprint(replace(s, model="off")) != fingerprint(s)


def test_a_broken_model_file_is_refused_by_name(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "stakegraph-pair-model", "features": ["rule"], "baseline": 0, "trees": [[[0, 0.5, 7, 8, 0]]], '
                   '"thresholds": {"zh": {"same": 0.9, "unique": 0.5, "unsure": 0.1}, "cross": {"same": 0.9, "unique": 0.5, "unsure": 0.1}}}',
                   encoding="utf-8")
    with pytest.raises(ValueError, match="bad.json"):
        load_model(str(bad))


def test_two_registered_names_that_differ_are_kept_apart_without_the_model():
    # Two legal entities whatever the model would say: the hand-set evidence finds them alike,
    # the pair is judged not the same, and the model (most of a large run's cost) is not asked.
    result = compare_records(rec("x:1", "无锡华中半导体股份有限公司", kind="company"),
                             rec("y:1", "无锡华中微电子有限公司", kind="company"))
    assert result.conflicts == ("registered names differ: 华中半导体 vs 华中微电子",)
    assert result.score <= ResolveSettings().contradiction_cap
    assert not any(e.feature.startswith("model") for e in result.evidence)


def test_pairs_the_model_never_saw_keep_the_hand_set_evidence():
    # two Latin names, and a university: no model evidence, the rules decide
    acronym = compare_records(rec("x:1", name_en="SMIC"), rec("y:1", name_en="Semiconductor Manufacturing International Corp."))
    assert acronym.evidence[0].feature == "acronym"
    uni = compare_records(rec("x:1", "江南大学", kind="university"), rec("y:1", name_en="Jiangnan University", kind="university"))
    assert all(e.feature != "model" for e in uni.evidence)


# --- one to one -------------------------------------------------------------------------------

def test_a_name_matching_two_records_of_one_list_goes_to_review():
    records = [rec("list:a", "华新半导体", kind="company"), rec("list:b", "华芯半导体", kind="company"),
               rec("news:1", name_en="Huaxin Semiconductor", kind="company")]
    result = resolve(records)
    assert len({result.canonical(r["record_id"]) for r in records}) == 3
    rows = [result.decisions.get("list:a", "news:1"), result.decisions.get("list:b", "news:1")]
    assert all(d is not None and d.judgement is Judgement.UNSURE for d in rows), rows


def test_one_to_one_reads_each_records_source_not_its_id():
    # The refresh passes node ids ("x17", "n4"), which do not start with the source: the rule
    # must still see that list:a and list:b are two records of one list.
    records = [{**rec("list:a", "华新半导体", kind="company"), "record_id": "a"},
               {**rec("list:b", "华芯半导体", kind="company"), "record_id": "b"},
               {**rec("news:1", name_en="Huaxin Semiconductor", kind="company"), "record_id": "n1"}]
    result = resolve(records)
    assert len({result.canonical(r["record_id"]) for r in records}) == 3
    assert {result.decisions.get("a", "n1").judgement, result.decisions.get("b", "n1").judgement} == {Judgement.UNSURE}


def test_a_record_linked_by_code_has_found_its_match_in_that_list():
    # The news item's code names its firm in the list; the other firm of the list that its
    # English name also fits is not "the only good match", so the two firms are not chained.
    coded = rec("list:a", "江阴力光智能科技股份有限公司", "Jiangyin Liguang Intelligent Technology Co., Ltd.",
                stock_code="600133.SH", city="江阴", kind="company")
    alike = rec("list:b", "上海利光封装测试股份有限公司", "Shanghai Liguang Packaging & Test Co., Ltd.", city="上海",
                kind="company")
    news = rec("news:1", name_en="Liguang Technology", stock_code="600133.SH", kind="company")
    result = resolve([coded, alike, news])
    assert result.canonical("news:1") == result.canonical("list:a") != result.canonical("list:b")
    assert result.decisions.get("list:b", "news:1").judgement is not Judgement.SAME


def test_the_only_good_candidate_on_both_sides_merges():
    full = rec("szse-zh:300782", "江苏卓胜微电子股份有限公司", kind="listed_company")
    short = rec("stock-basic:300782.SZ", "卓胜微", stock_code="300782.SZ", kind="listed_company")
    other = rec("stock-basic:002049.SZ", "紫光国微", stock_code="002049.SZ", kind="listed_company")
    result = resolve([full, short, other])
    assert result.canonical("szse-zh:300782") == "stock-basic:300782.SZ"
    assert result.canonical("stock-basic:002049.SZ") == "stock-basic:002049.SZ"


def test_a_group_and_a_firm_sharing_its_brand_are_not_merged_as_a_lone_match():
    group = rec("wiki:unigroup", "紫光集团有限公司", "Tsinghua Unigroup Co., Ltd.", kind="company")
    firm = rec("news:guoxin", "紫光国微", kind="company")
    result = resolve([group, firm])
    assert result.canonical("wiki:unigroup") != result.canonical("news:guoxin")


@pytest.mark.parametrize("full, short, code", [
    ("深圳中华自行车(集团)股份有限公司", "深中华A", "000017.SZ"),  # 深 for 深圳, as short names write it
    ("广州恒运企业集团股份有限公司", "穗恒运A", "000531.SZ"),  # 穗 for 广州
    ("广州地铁设计研究院股份有限公司", "地铁设计", "003013.SZ"),  # 研究院 inside a company's name is no unit
])
def test_a_full_name_meets_its_short_name_through_place_abbreviations_and_unit_words(full, short, code):
    a = rec("szse-zh:" + code[:6], full, kind="listed_company")
    b = rec("stock-basic:" + code, short, stock_code=code, kind="listed_company")
    result = resolve([a, b])
    assert result.canonical(a["record_id"]) == b["record_id"]


def test_a_research_institute_and_its_parent_academy_stay_apart():
    parent = rec("x:cas", "中国科学院", kind="research_institute")
    unit = rec("y:ime", "中国科学院微电子研究所", kind="research_institute")
    result = resolve([parent, unit])
    assert result.canonical("x:cas") != result.canonical("y:ime")


# --- bad input --------------------------------------------------------------------------------

def test_bad_input_is_reported_and_never_merged_on_a_name_alone():
    right = credit_code_check_char(CODE_OK)
    typo = CODE_OK + ("0" if right != "0" else "1")  # eighteen characters, the wrong check character
    records = [rec("reg:1", "无锡新洁能股份有限公司", credit_code=typo),
               rec("news:1", "无锡新洁能股份有限公司"),
               rec("reg:2", "有限公司"),  # nothing left after the legal form
               rec("reg:3")]  # only an id
    result = resolve(records)
    assert result.canonical("reg:1") != result.canonical("news:1")
    row = result.decisions.get("news:1", "reg:1")
    assert row.judgement is Judgement.UNSURE and any(e.feature == "bad_input" for e in row.evidence)
    assert any("refused" in p and "check character" in p for p in result.problems_of("reg:1"))
    assert result.problems_of("reg:2") == ("no name left after normalisation: 有限公司",)
    assert result.problems_of("reg:3") == ("only an id: no name and no valid code",)
    assert result.problems_of("news:1") == ()


def test_a_refused_code_both_records_carry_does_not_hold_them_apart():
    # A list and a registry copying one malformed code (no share code starts with 61) and the
    # same registered name: the code agrees, so the names are not all they agree on.
    listed = rec("list:1", "无锡创宏泽精密装备股份有限公司", stock_code="610001.SH", kind="company")
    registry = rec("reg:1", "无锡创宏泽精密装备有限公司", aliases=["创宏泽精密"], stock_code="610001",
                   credit_code=CODE_OK + credit_code_check_char(CODE_OK), kind="company")
    other = rec("news:1", "无锡创宏泽精密装备股份有限公司", stock_code="610002.SH", kind="company")
    result = resolve([listed, registry, other])
    assert result.canonical("list:1") == result.canonical("reg:1")
    assert result.problems_of("list:1") and result.problems_of("reg:1")  # still reported
    row = result.decisions.get("list:1", "news:1")  # another refused code: held for review as before
    assert row.judgement is Judgement.UNSURE and any(e.feature == "bad_input" for e in row.evidence)


# --- evaluation -------------------------------------------------------------------------------

CASES = Path(__file__).resolve().parents[1] / "data" / "eval" / "resolve"


def test_eval_resolve_on_the_curated_case_file(tmp_path):
    from ingest.resolve.evaluate import evaluate_resolution

    result = evaluate_resolution(CASES / "curated", CASES / "curated.truth.csv", CASES / "curated.overrides.csv")
    assert (result["precision"], result["recall"]) == (1.0, 1.0)
    assert "accuracy_at_1" not in result  # not a one-to-one case


def test_eval_resolve_prints_one_json_line_last(tmp_path, capsys):
    from stakegraph_cli.main import main

    shutil.copytree(CASES / "chips_test", tmp_path / "chips")
    code = main(["eval", "resolve", "--data", str(tmp_path / "chips"), "--truth", str(CASES / "chips_test.truth.csv")])
    out = capsys.readouterr().out.strip().splitlines()
    figures = json.loads(out[-1])
    assert code == 0 and {"precision", "recall", "f1"} <= figures.keys()

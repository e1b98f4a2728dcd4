"""Name normalisation and identifier validation (ingest.normalize)."""

from __future__ import annotations

import pytest

from ingest.normalize import (
    CodeError,
    acronyms,
    credit_code_check_char,
    is_chinese,
    name_tokens,
    normalize_org_name,
    normalize_stock_code,
    parse_name,
    pinyin_initials,
    pinyin_key,
    pinyin_variants,
    short_name_variants,
    strip_legal_forms,
    strip_region_prefix,
    validate_credit_code,
)
from ingest.normalize.vocab import vocabulary

# GB 32100-2015 written out independently of ingest.normalize.codes: weight i is 3^i mod 31.
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def with_check_char(first17: str) -> str:
    total = sum(CHARSET.index(ch) * pow(3, i, 31) for i, ch in enumerate(first17))
    return first17 + CHARSET[(31 - total % 31) % 31]


# --- credit codes -----------------------------------------------------------------------------

@pytest.mark.parametrize("first17", ["9132020013600000X", "91320214MA1N0B1C3", "12100000400000001",
                                     "51320000500000000", "Y1320200ABCDEFGHJ"])
def test_valid_credit_codes_pass_and_are_normalised(first17):
    code = with_check_char(first17)
    assert validate_credit_code(code) == code
    assert validate_credit_code(f" {code[:6].lower()} {code[6:]}\n") == code  # spaces, lower case
    assert validate_credit_code("-".join((code[:9], code[9:]))) == code
    assert credit_code_check_char(first17) == code[-1]


def test_the_standard_weights_are_powers_of_three():
    from ingest.normalize.codes import CREDIT_WEIGHTS
    assert tuple(pow(3, i, 31) for i in range(17)) == CREDIT_WEIGHTS


@pytest.mark.parametrize("value, reason", [
    ("91320214MA1N0B1C", "16 characters"),
    ("91320214MA1N0B1C3XX", "19 characters"),
    ("91320214MA1N0B1CI0", "invalid character 'I'"),  # I, O, S, V, Z are not in the charset
    ("9132021OMA1N0B1C30", "invalid character 'O'"),
    ("913A0214MA1N0B1C30", "positions 3-8"),
])
def test_bad_credit_codes_say_why(value, reason):
    with pytest.raises(CodeError, match=reason):
        validate_credit_code(value)


def test_a_wrong_check_character_is_refused():
    code = with_check_char("91320214MA1N0B1C3")
    wrong = CHARSET[(CHARSET.index(code[-1]) + 1) % 31]
    with pytest.raises(CodeError, match="check character") as err:
        validate_credit_code(code[:-1] + wrong)
    assert err.value.reason.endswith(f"expected {code[-1]!r}")


# --- stock codes ------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("600584", "600584.SH"), ("600584.SH", "600584.SH"), ("SH600584", "600584.SH"),
    ("sh.600584", "600584.SH"), ("600584.ss", "600584.SH"), ("６００５８４", "600584.SH"),
    ("688981", "688981.SH"), ("900901", "900901.SH"),
    ("002156.SZ", "002156.SZ"), ("sz002156", "002156.SZ"), ("300782", "300782.SZ"), ("200002", "200002.SZ"),
    ("920001", "920001.BJ"), ("920001.BJ", "920001.BJ"), ("830799", "830799.BJ"), ("430047", "430047.BJ"),
    ("0981.HK", "0981.HK"), ("00981.HK", "0981.HK"), ("981.HK", "0981.HK"), ("hk00981", "0981.HK"),
    ("09988.HK", "9988.HK"), ("80737.HK", "80737.HK"),
    ("000660.KS", "000660.KS"), ("005930.ks", "005930.KS"), ("NVDA.US", "NVDA.US"), ("2330.TW", "2330.TW"),
])
def test_stock_code_variants_are_canonical(value, expected):
    assert normalize_stock_code(value) == expected


@pytest.mark.parametrize("value, reason", [
    ("60058", "5 digits"),
    ("6005841", "7 digits"),
    ("0981", "Hong Kong codes need a .HK suffix"),
    ("600584.SZ", "suffix SZ contradicts prefix 600"),
    ("002156.SH", "suffix SH contradicts prefix 002"),
    ("920001.SH", "contradicts"),
    ("60A584", "letters"),
    ("SH60A584", "letters"),
    ("123456", "prefix 12"),
    ("0000.HK", "not all zero"),
    ("123456.HK", "1 to 5 digits"),
    ("CO.LTD", "unknown market suffix"),
    ("SMIC", "not a recognised format"),
    ("", "empty"),
])
def test_bad_stock_codes_say_why(value, reason):
    with pytest.raises(CodeError, match=reason):
        normalize_stock_code(value)


# --- names ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, key", [
    ("中芯国际集成电路制造有限公司", "中芯国际集成电路制造"),
    ("中芯國際集成電路製造有限公司", "中芯国际集成电路制造"),  # traditional
    ("ＳＭＩＣ", "smic"),  # full-width
    ("Semiconductor Manufacturing International Corp.", "semiconductormanufacturinginternational"),
    ("Semiconductor Manufacturing International Corporation", "semiconductormanufacturinginternational"),
    ("JCET Group Co., Ltd.", "jcet"),
    ("JCET GROUP CO.,LTD", "jcet"),
    ("Tongfu Microelectronics Co.,Ltd", "tongfumicroelectronics"),
    ("Taiwan Semiconductor Manufacturing Company Limited", "taiwansemiconductormanufacturing"),
    ("Advanced Micro-Fabrication Equipment Inc. China", "advancedmicrofabricationequipment"),
    ("Will Semiconductor Co., Ltd. Shanghai", "willsemiconductor"),
    ("英特尔（中国）有限公司", "英特尔"),
    ("江苏长电科技股份有限公司", "江苏长电科技"),
    ("华润电力控股有限公司", "华润电力"),
    ("北方华创科技集团股份有限公司", "北方华创科技"),
    ("Siemens AG", "siemens"), ("Robert Bosch GmbH", "robertbosch"), ("Airbus S.A.", "airbus"),
    ("NXP Semiconductors N.V.", "nxpsemiconductors"), ("Arm Holdings plc", "arm"), ("Foo LLC", "foo"),
    ("Bank of China", "bankofchina"),  # "China" is part of the name here, not boilerplate
    ("华润微电子有限公司无锡分公司", "华润微电子有限公司无锡分公司"),  # a branch keeps its suffix
    ("集团", "集团"), ("Company", "company"),  # never strip a name to nothing
])
def test_normalize_org_name(name, key):
    assert normalize_org_name(name) == key


def test_legal_forms_are_data_not_code():
    v = vocabulary()
    assert "股份有限公司" in v.legal_zh and ("co", "ltd") in v.legal_en
    assert list(v.legal_zh) == sorted(v.legal_zh, key=lambda x: (-len(x), x))  # longest first
    assert len(set(v.legal_zh)) == len(v.legal_zh) and len(set(v.legal_en)) == len(v.legal_en)
    for region in v.regions:
        assert region.parent is None or region.parent in v.region_by_id


def test_strip_legal_forms_keeps_words():
    assert strip_legal_forms("Hua Hong Semiconductor Limited") == "hua hong semiconductor"


def test_name_tokens():
    assert name_tokens("江苏长电科技股份有限公司") == ["江苏", "长电", "科技"]
    assert name_tokens("华润微电子有限公司") == ["华润", "微电子"]
    assert name_tokens("Micro-Fabrication Equipment Inc.") == ["microfabrication", "equipment"]


def test_is_chinese():
    assert is_chinese("长电科技") and is_chinese("SK海力士") and is_chinese("長電")
    assert not is_chinese("JCET") and not is_chinese("") and not is_chinese("Café")


def test_pinyin_keys():
    assert pinyin_key("中芯国际") == "zhongxinguoji"
    assert pinyin_initials("中芯国际") == "zxgj"
    assert pinyin_key("中芯國際") == "zhongxinguoji"
    assert pinyin_key("SK海力士") == "skhailishi"
    assert {"changdian", "zhangdian"} <= pinyin_variants("长电")  # 长 read both ways
    assert "yinhang" in pinyin_variants("银行")
    assert len(pinyin_variants("能能能能能")) <= 8  # bounded however many readings


@pytest.mark.parametrize("name, stripped", [
    ("江苏长电科技", "长电科技"), ("无锡华润微电子", "华润微电子"), ("无锡市新洁能", "新洁能"),
    ("天水华天科技股份有限公司", "华天科技"), ("江苏省无锡市卓胜微电子", "卓胜微电子"),
    ("江苏银行", "江苏银行"), ("无锡农村商业银行", "无锡农村商业银行"),  # nothing distinctive would be left
    ("长电科技", "长电科技"), ("Wuxi NCE Power Co., Ltd.", "ncepower"),
    ("Wuxi Rural Commercial Bank", "wuxiruralcommercialbank"),
])
def test_strip_region_prefix(name, stripped):
    assert strip_region_prefix(name) == stripped


@pytest.mark.parametrize("name, short", [
    ("中芯国际集成电路制造有限公司", "中芯国际"),
    ("江苏长电科技股份有限公司", "长电科技"),
    ("上海硅产业集团股份有限公司", "沪硅产业"),
    ("中国科学院微电子研究所", "中科院微电子所"),
    ("华润微电子有限公司", "华润微"),
    ("Tongfu Microelectronics Co., Ltd.", "tongfu"),
])
def test_short_name_variants(name, short):
    assert short in short_name_variants(name)


def test_short_name_variants_skip_bare_places_and_industry_words():
    variants = short_name_variants("江苏银行股份有限公司") | short_name_variants("Bank of Jiangsu")
    assert not variants & {"江苏", "银行", "bank", "jiangsu"}


@pytest.mark.parametrize("name, acronym", [
    ("Semiconductor Manufacturing International Corp.", "smic"),
    ("Taiwan Semiconductor Manufacturing Company Limited", "tsmc"),
    ("Jiangsu Changjiang Electronics Technology Co., Ltd.", "jcet"),
    ("National Silicon Industry Group Co., Ltd.", "nsig"),
    ("Advanced Micro-Fabrication Equipment Inc. China", "amec"),
])
def test_acronyms(name, acronym):
    assert acronym in acronyms(name)


def test_parse_name_separates_core_industry_and_place():
    p = parse_name("华润微电子(重庆)有限公司")
    assert (p.core, p.qualifier, p.region) == ("华润", "chongqing", "chongqing")
    assert {"microelectronics", "semiconductor"} <= p.industry
    q = parse_name("China Resources Power Holdings Co., Ltd.")
    assert q.core == "resources" and "power" in q.strong_industry
    assert not p.strong_industry & q.strong_industry  # the conflict that keeps them apart
    assert parse_name("江苏银行股份有限公司").core == ""
    assert parse_name("TSMC Nanjing Company Limited").qualifier == "nanjing"
    assert parse_name("Jiangsu Changjiang Electronics Technology").qualifier is None  # a leading place


@pytest.mark.parametrize("name, numbers", [
    ("国家集成电路产业投资基金股份有限公司", set()),
    ("国家集成电路产业投资基金二期股份有限公司", {"2"}), ("大基金三期", {"3"}),
    ("China Integrated Circuit Industry Investment Fund Phase II Co., Ltd.", {"2"}),
    ("Big Fund I", {"1"}), ("Big Fund III", {"3"}), ("Hua Hong Fab 7", {"7"}), ("华虹九厂", {"9"}),
    ("中国电子科技集团公司第五十八研究所", {"58"}), ("58所", {"58"}), ("CETC 58th Institute", {"58"}),
    ("三星电子", set()), ("三一重工", set()), ("Samsung Electronics", set()),  # numerals inside words
])
def test_numbers_in_names(name, numbers):
    assert parse_name(name).numbers == numbers


def test_places_after_the_name_and_districts():
    p = parse_name("英飞凌无锡")  # like 英飞凌(无锡): the Wuxi unit
    assert (p.qualifier, p.base) == ("wuxi", "英飞凌")
    assert parse_name("SK海力士无锡").qualifier == "wuxi"
    assert parse_name("中国科学院").qualifier is None and parse_name("江南大学").qualifier is None
    assert parse_name("无锡市惠山区人民政府").region == "huishan"  # the innermost place
    assert parse_name("锡山经济技术开发区").region == "xishan"
    assert parse_name("Xinwu District People's Government, Wuxi").region == "xinwu"
    assert strip_region_prefix("江苏省无锡市卓胜微电子") == "卓胜微电子"


def test_kinds_units_and_groups():
    assert parse_name("中国科学院").kinds == {"academy"} and not parse_name("中国科学院").units
    assert parse_name("中国科学院计算技术研究所").units == {"institute"}
    assert parse_name("Institute of Computing Technology, Chinese Academy of Sciences").units == {"institute"}
    assert parse_name("江南大学物联网工程学院").kinds == {"university", "college"}
    assert parse_name("江阴市人民政府").place_bound and parse_name("无锡高新区").place_bound
    assert parse_name("江南大学").place_bound and not parse_name("江南大学").units
    assert not parse_name("长电科技").place_bound
    assert parse_name("浪潮集团有限公司").group and parse_name("Inspur Group").group
    assert not parse_name("浪潮信息").group
    assert parse_name("ACM Research, Inc.").core == "acm"  # research is a generic word


def test_organisation_words_stay_out_of_the_industry_lists():
    v = vocabulary()
    assert "人民政府" in v.term_zh and "人民政府" not in v.industry_zh
    assert ("zone",) in v.term_en and ("zone",) not in v.industry_en
    assert v.industry_zh.items() <= v.term_zh.items()

"""Embedders, their blend, the embedding cache and the entity text, on real models."""

from __future__ import annotations

import numpy as np
import pytest

from matching.cases import KINDS, load_pairs
from matching.embed import (
    DEFAULT_EMBEDDER_SPEC,
    CombinedEmbedder,
    EmbeddingCache,
    LexicalEmbedder,
    default_embedder,
    entity_text,
    make_embedder,
)

NEED = "需求：先进封装 2.5D/3D 混合键合产线合作伙伴"
PACKAGER_ZH = entity_text(
    ["长电科技", "JCET Group"],
    ["先进封装", "封装测试"],
    "提供2.5D/3D先进封装、晶圆级封装和混合键合工艺服务。",
)
PACKAGER_EN = entity_text(
    ["Amkor Technology"],
    ["advanced packaging"],
    "Provides 2.5D/3D advanced packaging, hybrid bonding and wafer-level packaging services.",
)
BANK_ZH = entity_text(
    ["江苏银行", "Bank of Jiangsu"], ["银行", "金融"], "为制造企业提供贷款、结算和供应链金融服务。"
)
BANK_EN = entity_text(
    ["Bank of China"],
    ["banking"],
    "Commercial bank providing loans, deposits and trade finance to companies.",
)


def cos(embedder, a: str, b: str) -> float:
    va, vb = embedder.encode([a, b])
    return float(va @ vb)


@pytest.fixture(scope="module")
def embedder():
    return default_embedder()


# ------------------------------------------------------------- fast, lexical


def test_lexical_rows_are_unit_float32_and_stable():
    lexical = LexicalEmbedder()
    rows = lexical.encode(["江南大学", "Jiangnan University", ""])
    assert rows.shape == (3, lexical.dim) and rows.dtype == np.float32
    assert np.allclose(np.linalg.norm(rows[:2], axis=1), 1.0, atol=1e-5)
    assert not np.isnan(rows).any()  # the empty text is a zero row, not NaN
    assert np.array_equal(rows, LexicalEmbedder().encode(["江南大学", "Jiangnan University", ""]))


def test_lexical_pinyin_meets_romanised_names():
    lexical = LexicalEmbedder()
    assert cos(lexical, "长电科技", "Changdian Technology") > cos(
        lexical, "长电科技", "Tongfu Microelectronics"
    )
    assert cos(lexical, "华虹半导体", "Hua Hong Semiconductor") > cos(lexical, "华虹半导体", "Huawei")


def test_lexical_acronyms_and_traditional_script():
    lexical = LexicalEmbedder()
    smic = "Semiconductor Manufacturing International Corporation"
    assert cos(lexical, "SMIC", smic) > cos(lexical, "TSMC", smic)
    assert cos(lexical, "台積電", "台积电") == pytest.approx(1.0, abs=1e-5)


def test_make_embedder_parses_specs():
    blend = make_embedder("use:0.7+lexical:0.3")
    assert isinstance(blend, CombinedEmbedder)
    assert [round(w, 3) for _, w in blend.parts] == [0.7, 0.3]
    assert blend.dim == 512 + LexicalEmbedder().dim
    equal = make_embedder("use+lexical")
    assert [w for _, w in equal.parts] == [0.5, 0.5]
    assert isinstance(make_embedder("lexical"), LexicalEmbedder)
    for bad in ("", "bert", "use:0.5+lexical", "use:-1+lexical:2"):
        with pytest.raises(ValueError):
            make_embedder(bad)


def test_use_on_the_head_of_a_text_reads_only_its_first_characters():
    head = make_embedder("use48")
    assert head.name == "use-m3@48" != make_embedder("use").name  # its own cache entries
    text = "无锡华润上华科技有限公司 / CSMC Technologies Corporation | 晶圆代工"
    long = text + " " + "a foundry for analogue and power chips, 6- and 8-inch lines " * 3
    rows = head.encode([text[:48], long])
    assert np.allclose(rows[0], rows[1], atol=1e-6)
    assert not np.allclose(make_embedder("use").encode([long])[0], rows[1], atol=1e-3)
    with pytest.raises(ValueError):
        make_embedder("use0")


def test_entity_text_format_is_documented_and_deterministic():
    text = entity_text(
        ["江南大学", "Jiangnan University", "jiangnan university", " "], ["高等教育"], "Wuxi｜无锡"
    )
    assert text == "江南大学 / Jiangnan University | 高等教育 | Wuxi/无锡"
    assert entity_text(["JCET"], [], "") == "JCET"
    assert len(entity_text(["X"], [], "长" * 5000)) < 600


def test_cache_encodes_only_new_or_changed_texts(tmp_path):
    lexical = LexicalEmbedder()
    texts = [f"企业 {i} 先进封装" for i in range(20)]
    with EmbeddingCache(tmp_path / "emb.sqlite") as cache:
        first = cache.encode(lexical, texts)
        assert cache.last_stats.encoded == 20
        texts[3] = "企业 3 液冷数据中心"  # one description edited
        second = cache.encode(lexical, [*texts, texts[0]])  # and a duplicate
        assert (cache.last_stats.encoded, cache.last_stats.hits) == (1, 19)
        assert np.array_equal(second[:3], first[:3]) and not np.array_equal(second[3], first[3])
        assert np.array_equal(second[20], second[0])
    with EmbeddingCache(tmp_path / "emb.sqlite") as reopened:  # survives the process
        assert np.array_equal(reopened.encode(lexical, texts), second[:20])
        assert reopened.last_stats.encoded == 0
    assert np.allclose(second, lexical.encode([*texts, texts[0]]))


def test_cache_keys_by_embedder_name(tmp_path):
    with EmbeddingCache(tmp_path / "emb.sqlite") as cache:
        cache.encode(LexicalEmbedder(1024), ["长电科技"])
        cache.encode(LexicalEmbedder(512), ["长电科技"])
        assert cache.last_stats.encoded == 1 and len(cache) == 2


def test_pairs_file_is_well_formed():
    pairs = load_pairs()
    assert len(pairs) >= 120
    assert {p.kind for p in pairs} == set(KINDS)
    for kind in KINDS:
        labels = {p.same for p in pairs if p.kind == kind}
        assert labels == {True, False}, kind


# ------------------------------------------------------------- real models


@pytest.mark.slow
def test_every_embedder_returns_unit_rows():
    for spec in ("minilm", "use", "lexical", DEFAULT_EMBEDDER_SPEC):
        model = make_embedder(spec)
        rows = model.encode(["江南大学", "Jiangnan University", "先进封装 advanced packaging"], batch_size=2)
        assert rows.shape == (3, model.dim) and rows.dtype == np.float32, spec
        assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-4), spec
        assert model.encode([]).shape == (0, model.dim)


@pytest.mark.slow
def test_chinese_name_is_closer_to_its_english_name(embedder):
    same = cos(embedder, "江南大学", "Jiangnan University")
    for other in ("Bank of Jiangsu", "Amkor Technology", "无锡农村商业银行"):
        assert same > cos(embedder, "江南大学", other), other


@pytest.mark.slow
def test_packaging_need_retrieves_packagers_before_banks(embedder):
    docs = [BANK_ZH, PACKAGER_EN, BANK_EN, PACKAGER_ZH]
    scores = embedder.encode(docs) @ embedder.encode([NEED])[0]
    ranked = [docs[i] for i in np.argsort(-scores)]
    assert set(ranked[:2]) == {PACKAGER_ZH, PACKAGER_EN}


@pytest.mark.slow
def test_blend_score_is_weighted_sum_of_part_cosines(embedder):
    a, b = "液冷数据中心", "liquid-cooled data centre"
    expected = sum(w * cos(part, a, b) for part, w in embedder.parts)
    assert cos(embedder, a, b) == pytest.approx(expected, abs=1e-4)
    va, vb = embedder.encode([a, b])
    assert sum(embedder.part_scores(va, vb).values()) == pytest.approx(expected, abs=1e-4)


@pytest.mark.slow
def test_cache_reuses_parts_when_blend_weights_change(tmp_path):
    texts = ["长电科技", "JCET Group", "先进封装"]
    with EmbeddingCache(tmp_path / "emb.sqlite") as cache:
        first = cache.encode(make_embedder("use:0.5+lexical:0.5"), texts)
        assert cache.last_stats.encoded == 3
        reweighted = make_embedder("use:0.8+lexical:0.2")
        second = cache.encode(reweighted, texts)
        assert cache.last_stats.encoded == 0
        assert not np.allclose(first, second)
        assert np.allclose(second, reweighted.encode(texts), atol=1e-5)

"""The run record's memory figures (kg.memory) and the per-name caches the runner empties
between steps (kg.run_cache)."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.normalize.names import parse_name
from ingest.normalize.pinyin import pinyin_variants
from jobs.tasks import load_bundle
from kg.memory import memory_mb, release_free_memory
from kg.run_cache import clear_run_caches


def test_memory_figures_are_resident_now_and_the_peak_so_far():
    m = memory_mb()
    assert 0 < m["rss"] <= m["peak"]
    block = bytearray(64 * 2**20)  # touched: resident
    block[:: 4096] = b"x" * len(block[:: 4096])
    after = memory_mb()
    assert after["peak"] >= m["rss"] + 60
    del block
    release_free_memory()
    assert memory_mb()["peak"] == after["peak"]  # the peak stays; "rss" may fall


def test_clearing_empties_the_name_caches():
    parse_name("无锡华润上华科技有限公司")
    pinyin_variants("华润上华")
    assert parse_name.cache_info().currsize and pinyin_variants.cache_info().currsize
    assert clear_run_caches() >= 2
    assert parse_name.cache_info().currsize == 0 == pinyin_variants.cache_info().currsize


def test_a_run_records_memory_after_every_step(lexical_home, tmp_path: Path):
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "organizations.csv").write_text("id,name_zh,name_en,kind,city,source\n"
                                              "a1,甲科技有限公司,Alpha Tech,company,无锡,a\n", encoding="utf-8")
    log = load_bundle(lexical_home, folder)
    steps = [k for k in log.timings if not k.startswith(("check_inputs", "open_writer", "publish", "texts_", "sector_tags",
                                                          "search_documents"))]
    assert set(steps) <= set(log.memory_mb) and "resolve_entities" in log.memory_mb
    assert all(m["peak"] >= m.get("rss", 0) > 0 for m in log.memory_mb.values())
    assert json.loads(log.to_json())["memory_mb"]["resolve_entities"] == log.memory_mb["resolve_entities"]
    assert parse_name.cache_info().currsize == 0  # emptied after the last step

"""Tie summaries: what a recommendation reads instead of walking a hub's whole neighbourhood."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from kg.backends import open_view
from kg.settings import load_settings
from matching.facts import fetch_facts
from matching.tie_summary import KeyTie

PARTNERS = [  # id, name, city, since, extracted
    ("p1", "甲方科技有限公司", "深圳", "2015", ""),
    ("p2", "乙方微电子有限公司", "无锡", "2012", ""),
    ("p3", "丙方材料有限公司", "上海", "2023", ""),
    ("p4", "丁方装备有限公司", "江阴", "2019", "true"),
    ("p5", "戊方封测有限公司", "北京", "2021", ""),
]


def write_bundle(folder: Path) -> Path:
    folder.mkdir()
    with open(folder / "organizations.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name_zh", "name_en", "kind", "city", "description", "source"])
        w.writerow(["hub", "枢纽集团股份有限公司", "Hub Group", "listed_company", "苏州", "packaging and test", "t"])
        for pid, name, city, _, _ in PARTNERS:
            w.writerow([pid, name, "", "company", city, "parts", "t"])
    with open(folder / "relations.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["source_id", "target_id", "type", "since", "extracted", "source"])
        for pid, _, _, since, extracted in PARTNERS:
            w.writerow(["hub", pid, "SUPPLIES", since, extracted, "t"])
    return folder


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    from jobs.tasks import init_home, load_bundle

    tmp = tmp_path_factory.mktemp("ties")
    settings = load_settings({"home": str(tmp / "home"), "embedder": "lexical", "max_ties_per_candidate": 2}, env={})
    init_home(settings)
    bundle = write_bundle(tmp / "bundle")
    first = load_bundle(settings, bundle)
    second = load_bundle(settings, bundle)
    return settings, first, second


def test_summary_counts_every_tie_and_keeps_the_best_above_the_cap(loaded):
    settings, first, _ = loaded
    with open_view(settings) as view:
        hub = view.get("hub").props
        assert hub["tie_count"] == 5
        assert hub["latest_tie_year"] == 2023
        keys = KeyTie.decode_many(hub["key_ties_json"])
        # curated before extracted, then ties to firms in the home region (Wuxi), then the newest
        supplies = [k for k in keys if k.type == "SUPPLIES"]
        assert [k.other for k in supplies] == ["p2", "p3"]
        assert supplies[0].name_zh == "乙方微电子有限公司" and supplies[0].regions and supplies[0].direction == "out"
        assert [k.type for k in keys if k.type not in ("SUPPLIES",)] == ["LOCATED_IN"], "its own place is always kept"
        small = view.get("p1").props
        assert small["tie_count"] == 1 and small["latest_tie_year"] == 2015
        assert sorted(k.type for k in KeyTie.decode_many(small["key_ties_json"])) == ["LOCATED_IN", "SUPPLIES"]


def test_second_run_sees_no_change(loaded):
    _, _, second = loaded
    totals = second.totals()
    assert totals["added"] == 0 and totals["changed"] == 0, totals


def test_bounded_facts_read_key_ties_and_what_others_have_to_the_hub(loaded):
    settings, _, _ = loaded
    with open_view(settings) as view:
        exact = fetch_facts(view, ["hub", "p5"])
        bounded = fetch_facts(view, ["hub", "p5"], max_ties=2)
    assert len([t for t in exact.ties["hub"] if t.type == "SUPPLIES"]) == 5
    others = sorted(t.other for t in bounded.ties["hub"] if t.type == "SUPPLIES")
    assert others == ["p2", "p3", "p5"]  # two key ties, and p5's own tie seen from p5's side
    assert bounded.regions("hub"), "a hub's own place is still read"
    assert any(r.startswith("cn-js-wuxi") for r in bounded.regions("p2")), "a key tie carries the other end's place"


def test_recomputing_from_the_store_changes_nothing(loaded):
    from kg.backends import open_writer
    from matching.tie_summary import refresh_summaries

    settings, _, _ = loaded
    with open_writer(settings, purpose="test") as w:
        assert refresh_summaries(w, settings) == 0


def test_below_the_cap_the_summary_is_the_walk(loaded):
    settings, _, _ = loaded
    with open_view(settings) as view:
        ids = ["p1", "p2", "p3", "p4", "p5"]
        exact = fetch_facts(view, ids)
        bounded = fetch_facts(view, ids, max_ties=2)
    for i in ids:
        assert {(t.type, t.direction, t.other) for t in bounded.ties[i]} == {(t.type, t.direction, t.other) for t in exact.ties[i]}
        assert bounded.regions(i) == exact.regions(i)


def test_a_small_change_rebuilds_only_what_it_touches_and_equals_a_full_rebuild(tmp_path: Path):
    """The refresh rebuilds summaries incrementally (tie_fp); the result must be what a full
    recomputation from the store gives, which then finds nothing to write."""
    from jobs.tasks import init_home, load_bundle
    from kg.backends import open_writer
    from matching.tie_summary import refresh_summaries

    settings = load_settings({"home": str(tmp_path / "home"), "embedder": "lexical", "max_ties_per_candidate": 2}, env={})
    init_home(settings)
    bundle = write_bundle(tmp_path / "bundle")
    load_bundle(settings, bundle)
    with open_view(settings) as view:
        before = {i: view.get(i).props for i in ("hub", "p1", "p2", "p3", "p4", "p5")}
    orgs = (bundle / "organizations.csv").read_text(encoding="utf-8").replace("乙方微电子有限公司", "乙方半导体有限公司")
    (bundle / "organizations.csv").write_text(orgs, encoding="utf-8")
    with open(bundle / "relations.csv", "a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerow(["p1", "p3", "PARTNERS_WITH", "2024", "", "t"])
    load_bundle(settings, bundle)
    with open_view(settings) as view:
        after = {i: view.get(i).props for i in before}
    hub_ties = {k.other: k for k in KeyTie.decode_many(after["hub"]["key_ties_json"])}
    assert hub_ties["p2"].name_zh == "乙方半导体有限公司", "a renamed neighbour shows in the hub's key ties"
    assert "p1" in {k.other for k in KeyTie.decode_many(after["p3"]["key_ties_json"])}
    assert after["p1"]["tie_count"] == 2 and after["p1"]["latest_tie_year"] == 2024
    assert after["p5"]["key_ties_json"] == before["p5"]["key_ties_json"] and after["p5"]["tie_fp"] == before["p5"]["tie_fp"]
    with open_writer(settings, purpose="test") as w:
        assert refresh_summaries(w, settings) == 0, "the incremental summaries equal a full rebuild"


def test_decoded_key_ties_stay_out_of_the_garbage_collectors_walks(loaded):
    """A long-running server caches decoded key ties of up to DECODED_CACHE_NODES firms; tracked
    objects there made every full collection slower (0.2-0.4 s pauses at 1M organisations)."""
    import gc

    from matching.facts import _decode

    settings, _, _ = loaded
    with open_view(settings) as view:
        text = view.get("hub").props["key_ties_json"]
    ties, names, places, regions = _decode(text)
    gc.collect()
    assert ties and not any(gc.is_tracked(t) for t in ties) and not gc.is_tracked(ties)
    assert not gc.is_tracked(names) and not gc.is_tracked(regions) and not gc.is_tracked(places)
    assert _decode(text) is _decode(text), "decoded once per text"

"""kg.seen: a fact's last sighting from its stored last_seen and its feeds' last complete reads."""

from __future__ import annotations

from kg.seen import feeds_seen, last_seen, record_feeds_seen


def test_a_fact_is_seen_by_the_oldest_of_its_feeds_last_complete_reads():
    seen = {"a": "r20260105", "b": "r20260101"}
    assert last_seen({"status": "active", "feeds": ["a"], "last_seen": "r20251201"}, seen) == "r20260105"
    assert last_seen({"status": "active", "feeds": ["a", "b"], "last_seen": "r20251201"}, seen) == "r20260101"
    # written later than its feeds' last complete reads (a run that read only some of them)
    assert last_seen({"status": "active", "feeds": ["a", "b"], "last_seen": "r20260103"}, seen) == "r20260103"


def test_unseen_facts_and_unrecorded_feeds_keep_their_stored_value():
    seen = {"a": "r2"}
    assert last_seen({"status": "unseen", "feeds": ["a"], "last_seen": "r1"}, seen) == "r1"
    assert last_seen({"status": "active", "feeds": ["a", "c"], "last_seen": "r1"}, seen) == "r1"
    assert last_seen({"status": "active", "feeds": [], "last_seen": "r1"}, seen) == "r1"
    assert last_seen({"status": "active", "feeds": ["a"]}, seen) == "r2"


def test_the_record_is_one_file_updated_in_place(tmp_path):
    assert feeds_seen(tmp_path) == {} and feeds_seen(None) == {}
    record_feeds_seen(tmp_path, ["b", "a"], "r1")
    record_feeds_seen(tmp_path, ["a"], "r2")
    assert feeds_seen(tmp_path) == {"a": "r2", "b": "r1"}
    (tmp_path / "feeds_seen.json").write_text("[not a map", encoding="utf-8")
    assert feeds_seen(tmp_path) == {}

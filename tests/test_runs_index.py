"""The runs' index (ingest/runs.py) is parsed once per content and cached: a run saved a moment
later must show at once, and what a caller does with the rows must not change the cache."""

from __future__ import annotations

from ingest.runs import last_runs, save_run
from kg.changelog import ChangeLog
from kg.settings import load_settings


def test_a_saved_run_shows_at_once_and_the_rows_are_copies(tmp_path):
    s = load_settings({"home": str(tmp_path)}, env={})
    assert last_runs(s) == []
    for i in range(3):
        log = ChangeLog(f"r{i}", "2026-12-07T10:00:00", finished=f"2026-12-07T10:0{i}:00", status="ok")
        log.add("Organization", f"o{i}")
        save_run(s, log)
        newest = last_runs(s, 2)
        assert [r["run_id"] for r in newest] == [f"r{i}", f"r{i - 1}"][: i + 1], "the run just saved comes first"
    newest[0]["run_id"] = "changed by a caller"
    assert [r["run_id"] for r in last_runs(s)] == ["r2", "r1", "r0"]
    assert last_runs(s, 1)[0]["added"] == 1

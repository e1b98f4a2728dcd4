"""The ranker's training budget at refresh is a share of the time the run has taken, not of the
sum of its timings: a few steps keep counts there (16,838 texts encoded read as 16,838 s gave
training a half-hour budget, and it took 417 s of a 576 s load)."""

from __future__ import annotations

import time
from types import SimpleNamespace

from kg.changelog import ChangeLog
from matching.rank.train import elapsed_s


def test_the_budget_counts_the_runs_seconds_not_its_counts() -> None:
    log = ChangeLog("r1", time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 120)))
    log.timings.update({"read:exchange": 1.5, "texts_encoded": 16_838, "search_documents_written": 19_333})
    assert 119 <= elapsed_s(SimpleNamespace(log=log)) <= 125
    assert elapsed_s(SimpleNamespace(log=ChangeLog("r2", "not a time"))) == 0.0

"""Where runs leave their record: $STAKEGRAPH_HOME/runs/<run_id>.json plus an index line each.

The web app's status box and `stakegraph runs` read these; the same JSON is also published inside
the graph version it produced (last_run.json), so the two can never disagree about a graph.
"""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path
from typing import Any

from kg.settings import Settings


def new_run_id() -> str:
    now = time.time()
    return f"r{time.strftime('%Y%m%dT%H%M%S', time.gmtime(now))}{int(now * 1000) % 1000:03d}-{os.getpid() % 100000:05d}"


def runs_dir(settings: Settings) -> Path:
    path = settings.home_path / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_run(settings: Settings, changelog: Any) -> Path:
    path = runs_dir(settings) / f"{changelog.run_id}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(changelog.to_json(), encoding="utf-8")
    os.replace(tmp, path)
    with open(runs_dir(settings) / "index.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({**changelog.totals(), "finished": changelog.finished}, ensure_ascii=False) + "\n")
    return path


def last_runs(settings: Settings, n: int = 10) -> list[dict[str, Any]]:
    """The newest `n` runs, newest first (copies: a caller may change them)."""
    index = settings.home_path / "runs" / "index.jsonl"
    try:
        st = index.stat()
    except OSError:
        return []
    return [dict(r) for r in _index(str(index), st.st_mtime_ns, st.st_size)[:n]]


@functools.lru_cache(maxsize=8)
def _index(path: str, _mtime_ns: int, _size: int) -> tuple[dict[str, Any], ...]:
    """The index file parsed once per content (every web page's footer and the week's-changes
    box read it: a file read and up to 400 JSON parses a page); a run appends a line, which
    changes the size and the time, so the next read sees it."""
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    return tuple(json.loads(line) for line in reversed(lines) if line.strip())


def load_run(settings: Settings, run_id: str) -> dict[str, Any] | None:
    path = settings.home_path / "runs" / f"{Path(run_id).name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

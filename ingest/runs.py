"""Where runs leave their record: $STAKEGRAPH_HOME/runs/<run_id>.json plus an index line each.

The web app's status box and `stakegraph runs` read these; the same JSON is also published inside
the graph version it produced (last_run.json), so the two can never disagree about a graph.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable
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
    try:
        rows = parsed(settings.home_path / "runs" / "index.jsonl", _index_rows)
    except OSError:
        return []
    return [dict(r) for r in rows[:n]]


RUN_TOTALS = ("run_id", "status", "started", "finished", "added", "changed", "unseen")


def version_run(data_dir: Path) -> dict[str, Any]:
    """The totals of the run that produced a graph version (its last_run.json, which also holds
    every change: only the totals are kept). OSError or ValueError when it has none."""
    return dict(parsed(Path(data_dir) / "last_run.json", _totals))


def parsed(path: Path, parse: Callable[[str], Any]) -> Any:
    """`parse` of the file's text, once per content: every web page's footer, the week's-changes
    box and the project page read these files, a file read and many JSON parses each time. A run
    appends to the index or writes a file anew, which changes the size or the time, so the next
    read sees it. Callers must not change what they get."""
    st = path.stat()
    return _parsed(str(path), st.st_mtime_ns, st.st_size, parse)


@functools.lru_cache(maxsize=32)
def _parsed(path: str, _mtime_ns: int, _size: int, parse: Callable[[str], Any]) -> Any:
    with open(path, encoding="utf-8") as fh:
        return parse(fh.read())


def _index_rows(text: str) -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(line) for line in reversed(text.splitlines()) if line.strip())


def _totals(text: str) -> dict[str, Any]:
    run = json.loads(text)
    return {k: run.get(k) for k in RUN_TOTALS}


def load_run(settings: Settings, run_id: str) -> dict[str, Any] | None:
    path = settings.home_path / "runs" / f"{Path(run_id).name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

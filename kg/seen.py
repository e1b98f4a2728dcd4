"""When a fact was last seen: the run that last wrote it, or a later run that read all its feeds.

A refresh used to write `last_seen` on every fact its sources gave again, changed or not: one
set-based statement per label and relationship type, but on the engine that is a write of every
row (25 s of a 1%-changed refresh at a million relations; 3 s at a tenth). Now a run records,
per graph version, the run that last read each feed completely (`feeds_seen.json` beside the
graph, carried into the next version with the other derived files), and writes only the facts it
added or changed, marked unseen, or saw through only some of its feeds. A fact that is still
active after a run that read every one of its feeds was in each of them (otherwise that run
would have marked it unseen), so its last sighting is the latest of: its stored `last_seen`, and
the oldest of its feeds' last complete reads. Pages and exports show that; the raw property in
the Cypher console is the run that last wrote the fact (docs/operations.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["FEEDS_SEEN", "feeds_seen", "last_seen", "parse_feeds_seen", "record_feeds_seen"]

FEEDS_SEEN = "feeds_seen.json"


def feeds_seen(data_dir: Path | str | None) -> dict[str, str]:
    """feed -> the run that last read it completely, for a graph version ({} if none recorded)."""
    if data_dir is None:
        return {}
    try:
        return parse_feeds_seen((Path(data_dir) / FEEDS_SEEN).read_text(encoding="utf-8"))
    except OSError:
        return {}


def parse_feeds_seen(text: str) -> dict[str, str]:
    """The record's text as feed -> run ({} for text that is not one)."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def record_feeds_seen(data_dir: Path | str, feeds: Iterable[str], run_id: str) -> dict[str, str]:
    """Note in the version being written that `run_id` read these feeds completely (written
    atomically; the version is published with it or not at all)."""
    seen = feeds_seen(data_dir)
    seen.update(dict.fromkeys(feeds, run_id))
    path = Path(data_dir) / FEEDS_SEEN
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(dict(sorted(seen.items())), ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return seen


def last_seen(props: Mapping[str, Any], seen: Mapping[str, str]) -> str | None:
    """The run that last saw a node or edge with these properties (run ids sort by time)."""
    stored = props.get("last_seen")
    feeds = props.get("feeds") or []
    if props.get("status") == "unseen" or not feeds or any(f not in seen for f in feeds):
        return stored
    read = min(seen[f] for f in feeds)
    return max(stored, read) if stored else read

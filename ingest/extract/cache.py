"""Extraction results kept between runs, so unchanged documents cost a lookup, not a parse.

A result is a pure function of the document's text and language and of the name index, so
the cache needs no invalidation beyond its key: one file per index digest (a change of any
name, alias, node id, cue word or rule version starts a new file and the old one is removed),
entries keyed by a hash of language and text. A run killed half-way leaves a cache that is
still right; it is written atomically (temporary file, then rename).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("stakegraph.extract")


def text_key(text: str, language: str) -> str:
    return hashlib.sha1(f"{language}\0{text}".encode()).hexdigest()


class ResultCache:
    def __init__(self, folder: Path, digest: str):
        self.folder = folder
        self.path = folder / f"{digest[:24]}.json"
        self.entries: dict[str, Any] = {}
        self.dirty = False
        try:
            self.entries = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    def get(self, key: str) -> Any:
        return self.entries.get(key)

    def put(self, key: str, value: Any) -> None:
        self.entries[key] = value
        self.dirty = True

    def save(self, used: set[str]) -> None:
        """Write the entries and remove other digests' files. Entries this run did not use are
        kept (a one-bundle `load` reads fewer documents than a refresh) until they outnumber
        the used ones four to one."""
        if not self.dirty:
            return
        entries = self.entries
        if len(entries) > 4 * len(used) + 1000:
            entries = {k: v for k, v in entries.items() if k in used}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(entries, ensure_ascii=False, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)
            for old in self.folder.glob("*.json"):
                if old != self.path:
                    old.unlink(missing_ok=True)
        except OSError as exc:  # a cache that cannot be written only costs time next run
            log.warning("extraction cache not saved: %s", exc)

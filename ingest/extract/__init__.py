"""Text extraction: known organisations and places in news and announcements, linked to the
graph, and candidate partnerships from sentences that report cooperation.

Public pieces: `extract_mentions` (the refresh step, ingest.extract.step), `Extractor` (run on
texts directly, e.g. in a notebook), `build_index` / `index_inputs` (the names it looks for)
and `load_cues` (the cooperation words, cooperation.yaml). spaCy is imported only when a
pipeline is first needed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Extractor", "build_index", "extract_mentions", "index_inputs", "load_cues"]


def __getattr__(name: str) -> Any:  # lazy: importing ingest.extract must not load spaCy and jieba
    if name == "extract_mentions":
        from ingest.extract.step import extract_mentions
        return extract_mentions
    if name == "Extractor":
        from ingest.extract.extractor import Extractor
        return Extractor
    if name in ("build_index", "index_inputs"):
        from ingest.extract import names
        return getattr(names, name)
    if name == "load_cues":
        from ingest.extract.cooperation import load_cues
        return load_cues
    raise AttributeError(name)

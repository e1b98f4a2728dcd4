"""Which chain sector a source label or a text means: the two ways a tag is derived.

`SourceMap` reads kg/taxonomy/source_sector_map.csv (exchange and vendor industry labels such as
'C 制造业' or '半导体', each mapped to chain sectors with a confidence). `TextClassifier` takes the
nearest sector embedding of a text embedding. The refresh step in matching.chain.tagging uses
both; `classify_text` serves anyone holding a view (a notebook, a form suggesting a sector).

>>> SourceMap({("csrc", "C 制造业"): [("other.manufacturing", 0.3)]}).lookup({"csrc_industry": "C 制造业"})
[('other.manufacturing', 0.3, 'C 制造业')]
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kg.schema import SECTOR_MAP_FILE, TAXONOMY_DIR
from matching.facts import trees
from matching.vectors import vectors_for

__all__ = [
    "FULL_MARGIN",
    "FULL_TEXT_COSINE",
    "MIN_TEXT_COSINE",
    "SourceMap",
    "Tag",
    "TextClassifier",
    "classify_text",
    "load_source_map",
]

SOURCE_MAP_PATH = TAXONOMY_DIR / SECTOR_MAP_FILE
#: `extra` keys that can hold a source industry label (a key naming a scheme pins the scheme).
LABEL_KEY = re.compile(r"industry|sector|行业|csrc|tushare|stock_kg", re.IGNORECASE)
#: Below this cosine the text is about something the taxonomy does not name: no tag.
MIN_TEXT_COSINE = 0.30
#: Cosine at which, with a clear margin over the runner-up, the text tag is fully trusted.
FULL_TEXT_COSINE = 0.60
#: Margin over the best sector outside the winner's branch that counts as clear.
FULL_MARGIN = 0.08


@dataclass(frozen=True)
class Tag:
    sector_id: str
    confidence: float
    method: str  # "source label" or "text"
    evidence: str


class SourceMap:
    """(scheme, label) -> [(sector, confidence)], read from source_sector_map.csv."""

    def __init__(self, rows: dict[tuple[str, str], list[tuple[str, float]]]):
        self.rows = rows
        self._by_label: dict[str, list[tuple[str, float]]] = defaultdict(list)
        self._schemes = {scheme for scheme, _ in rows}
        for (_, label), targets in rows.items():
            for key in _label_keys(label):
                self._by_label[key].extend(targets)

    def lookup(self, extra: dict[str, Any]) -> list[tuple[str, float, str]]:
        """Mapped (sector, confidence, label) for every source label found in `extra`."""
        pairs = [
            (next((sc for sc in self._schemes if sc in key.lower()), None), label.strip())
            for key, value in sorted(extra.items())
            if LABEL_KEY.search(key) and isinstance(value, str)
            for label in re.split(r"[|;；]", value)
        ]
        return self.lookup_labels(pairs)

    def lookup_labels(self, labels: Sequence[tuple[str | None, str]]) -> list[tuple[str, float, str]]:
        """Mapped (sector, confidence, label) for (scheme or None, label) pairs; best first."""
        found: dict[str, tuple[str, float, str]] = {}
        for scheme, label in labels:
            targets = self.rows.get((scheme, label)) if scheme else None
            if targets is None:
                targets = next((self._by_label[k] for k in _label_keys(label) if k in self._by_label), [])
            for sector, conf in targets:
                if sector not in found or conf > found[sector][1]:
                    found[sector] = (sector, conf, label)
        return sorted(found.values(), key=lambda x: (-x[1], x[0]))


def _label_keys(label: str) -> list[str]:
    """'C 制造业' is also found as '制造业' and 'C制造业'; 'C39 计算机…' as 'C39'."""
    text = " ".join(label.split())
    keys = [text, text.replace(" ", "")]
    code, _, rest = text.partition(" ")
    if rest and re.fullmatch(r"[A-Z]\d*", code):
        keys.append(rest)
    return [k for k in dict.fromkeys(keys) if k]


def load_source_map(path: Path = SOURCE_MAP_PATH) -> SourceMap:
    rows: dict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            rows[(row["source_scheme"], row["source_label"])].append(
                (row["sector_id"], float(row["confidence"]))
            )
    return SourceMap(dict(rows))


class TextClassifier:
    """Nearest chain sector of a text embedding, with a confidence and a sentence saying why.

    The confidence grows with the cosine (from MIN_TEXT_COSINE to FULL_TEXT_COSINE) and is halved
    when a sector of another branch is nearly as close: 'server' texts sit between AI servers and
    general electronics, and staff should see that doubt rather than a confident wrong tag.
    """

    def __init__(
        self, sector_ids: Sequence[str], matrix: np.ndarray, names: dict[str, str], parent: dict[str, str]
    ):
        self.ids = list(sector_ids)
        self.matrix = matrix
        self.names = names
        self.parent = parent

    def _branch(self, sector: str) -> str:
        """The sector's top link below its root ('ic.fab' for 'ic.fab.memory')."""
        chain = [sector]
        while chain[-1] in self.parent:
            chain.append(self.parent[chain[-1]])
        return chain[-2] if len(chain) >= 2 else chain[-1]

    def classify(self, vector: np.ndarray, allowed: set[str] | None = None) -> Tag | None:
        scores = self.matrix @ vector
        order = [i for i in np.argsort(-scores) if allowed is None or self.ids[i] in allowed]
        if not order:
            return None
        best = order[0]
        cos = float(scores[best])
        if cos < MIN_TEXT_COSINE:
            return None
        branch = self._branch(self.ids[best])
        rival = next((i for i in order[1:] if self._branch(self.ids[i]) != branch), None)
        margin = cos - float(scores[rival]) if rival is not None else FULL_MARGIN
        level = min(1.0, (cos - MIN_TEXT_COSINE) / (FULL_TEXT_COSINE - MIN_TEXT_COSINE))
        confidence = round(max(0.05, level * (0.5 + 0.5 * min(1.0, max(0.0, margin) / FULL_MARGIN))), 3)
        sid = self.ids[best]
        evidence = f"text classification: cosine {cos:.2f} with '{self.names.get(sid, sid)}'"
        if rival is not None:
            rid = self.ids[rival]
            evidence += f" (next branch: '{self.names.get(rid, rid)}' {float(scores[rival]):.2f})"
        return Tag(sid, confidence, "text", evidence)


def classify_text(view: Any, text: str, allowed: set[str] | None = None) -> Tag | None:
    """The chain sector a free text describes, using the vectors published with the view's graph."""
    vecs = vectors_for(view)
    if vecs is None or "Sector" not in vecs.indexes:
        return None
    tr = trees(view)
    ids = [s for s in vecs.indexes["Sector"].ids() if s in tr.parent]  # roots are too coarse to be a tag
    matrix = np.stack([vecs.indexes["Sector"].vector(s) for s in ids])
    names = {s: tr.name(s, "en") for s in ids}
    return TextClassifier(ids, matrix, names, tr.parent).classify(vecs.encode(text), allowed)

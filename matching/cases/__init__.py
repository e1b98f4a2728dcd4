"""Evaluation cases kept as data; the benches and the tests read them from here.

``bilingual_pairs.csv`` — columns ``a,b,kind,same``: two texts (organisation
names, sector phrases, or a project need and a company description), ``kind``
in ``zh-zh`` / ``en-en`` / ``zh-en``, and ``same`` = 1 when they denote the same
organisation or concept (or the description answers the need), 0 for a hard
negative (same sector, other firm; look-alike characters; related but wrong).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CASES_DIR", "KINDS", "TextPair", "load_pairs"]

CASES_DIR = Path(__file__).resolve().parent
KINDS = ("zh-zh", "en-en", "zh-en")


@dataclass(frozen=True)
class TextPair:
    a: str
    b: str
    kind: str
    same: bool


def load_pairs(path: str | Path = CASES_DIR / "bilingual_pairs.csv") -> list[TextPair]:
    """Read a pairs file, refusing unknown kinds or labels (a typo must not skew a figure)."""
    pairs: list[TextPair] = []
    with open(path, newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            if row["kind"] not in KINDS or row["same"] not in ("0", "1"):
                raise ValueError(f"{path}:{line}: bad kind/same {row['kind']!r}/{row['same']!r}")
            pairs.append(TextPair(row["a"].strip(), row["b"].strip(), row["kind"], row["same"] == "1"))
    return pairs

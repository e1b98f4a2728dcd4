"""Cooperation cues: is a sentence naming two organisations a report that they work together,
and how sure is that? The words and their strengths are data (cooperation.yaml) so that an
analyst can tune them without touching code.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

CUES_FILE = Path(__file__).with_name("cooperation.yaml")
GAP_SCALE = {"zh": 40.0, "en": 120.0}  # characters at which distance halves its bonus
CROWD_PENALTY = 0.15  # per organisation beyond two in the sentence (lists of attendees)


def _pattern(terms: list[str], words: bool) -> re.Pattern[str]:
    alternation = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternation})\b" if words else f"(?:{alternation})", re.IGNORECASE)


@dataclass(frozen=True)
class Cues:
    strengths: dict[str, float]  # lower-cased term -> strength
    zh: re.Pattern[str]
    en: re.Pattern[str]
    negation: re.Pattern[str]
    max_confidence: float
    digest: str

    def strongest(self, sentence: str) -> tuple[str, float] | None:
        """The strongest cooperation word in the sentence, or None (also when it is negated)."""
        if self.negation.search(sentence):
            return None
        found = [m.group(0).lower() for p in (self.zh, self.en) for m in p.finditer(sentence)]
        if not found:
            return None
        term = max(found, key=lambda t: (self.strengths[t], t))
        return term, self.strengths[term]

    def confidence(self, strength: float, gap: int, organisations: int, language: str) -> float:
        """Strength, lowered by the characters between the two names and by other names in the
        sentence; below 1 always.

        >>> load_cues().confidence(0.9, 0, 2, "zh")
        0.9
        """
        scale = GAP_SCALE.get(language[:2], GAP_SCALE["en"])
        proximity = 0.7 + 0.3 / (1 + max(gap, 0) / scale)
        crowd = 1 / (1 + CROWD_PENALTY * max(organisations - 2, 0))
        return round(min(strength * proximity * crowd, self.max_confidence), 3)


@cache
def load_cues(path: Path = CUES_FILE) -> Cues:
    raw_text = path.read_text(encoding="utf-8")
    raw = yaml.safe_load(raw_text)
    coop = raw["cooperation"]
    strengths = {str(t).lower(): float(s) for lang in ("zh", "en") for t, s in (coop.get(lang) or {}).items()}
    bad = {t: s for t, s in strengths.items() if not 0 < s <= 1}
    if bad:
        raise ValueError(f"{path}: strengths must be in (0, 1]: {bad}")
    neg = raw.get("negation") or {}
    negation = re.compile("|".join([_pattern(neg.get("zh") or ["\0"], words=False).pattern,
                                    _pattern(neg.get("en") or ["\0"], words=True).pattern]), re.IGNORECASE)
    return Cues(strengths, _pattern(list(coop["zh"]), words=False), _pattern(list(coop["en"]), words=True),
                negation, float(raw.get("max_confidence", 0.95)), hashlib.sha1(raw_text.encode()).hexdigest())

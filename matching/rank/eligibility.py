"""Who can be a candidate, per question, read from kg/eligibility.yaml (data, not code).

By default a project's partners are never government bodies or parks (Wuxi's own government
bodies were "partners" of every project), nor the organisations already involved in it; a
relation question from an organisation admits the kinds that relation has in the real world.
A request can narrow the kinds (`include`) or drop some (`exclude`); a kind asked for by name
is admitted even when the default leaves it out ("unless asked").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

import kg

ELIGIBILITY_FILE = Path(kg.__file__).resolve().parent / "eligibility.yaml"
QUESTIONS = ("partners", "sector", "SUPPLIES", "INVESTS_IN", "PARTNERS_WITH", "SUBSIDIARY_OF")


@dataclass(frozen=True)
class Eligibility:
    question: str
    kinds: frozenset[str]
    exclude_involved: bool

    def admits(self, kind: str | None) -> bool:
        return (kind or "company") in self.kinds


def question_of(label: str, rel_type: str | None) -> str:
    """Which question a call asks: a sector's members, a relation from an organisation, or partners."""
    if label == "Sector" or rel_type == "ACTIVE_IN":
        return "sector"
    if rel_type in QUESTIONS:
        return rel_type
    return "partners"


@lru_cache(maxsize=4)
def _table(path: str) -> dict[str, dict]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    table = raw.get("questions") or {}
    unknown = set(table) - set(QUESTIONS)
    if unknown:
        raise ValueError(f"{path}: unknown question(s) {', '.join(sorted(unknown))}; known: {', '.join(QUESTIONS)}")
    return table


def eligibility(question: str, include: list[str] | None = None, exclude: list[str] | None = None,
                path: Path = ELIGIBILITY_FILE) -> Eligibility:
    """The kinds eligible for this question after the request's include / exclude filters."""
    row = _table(str(path)).get(question) or {}
    kinds = set(row.get("kinds") or [])
    if include:
        kinds = set(include)  # asked for by name: admitted, even a kind the default leaves out
    kinds -= set(exclude or [])
    return Eligibility(question, frozenset(kinds), bool(row.get("exclude_involved", question == "partners")))

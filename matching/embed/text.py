"""The one text an organisation, sector or project is embedded from.

Format (empty sections are dropped)::

    {name 1} / {name 2} / ... | {sector 1}, {sector 2}, ... | {description}

Names come first because every model weights early tokens at least as much as
late ones and names are the strongest identity evidence; all aliases (Chinese,
English, abbreviation) are included so each language finds its own words.
Sectors follow as the short what-they-do summary, then the description,
truncated so one long brochure cannot drown the name (MiniLM reads at most
256 word pieces anyway). The text is also the embedding cache key, so the
format must be deterministic: same inputs, same bytes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

__all__ = ["DESCRIPTION_MAX_CHARS", "MAX_NAMES", "MAX_SECTORS", "entity_text"]

#: Characters of description kept: about a paragraph in either language.
DESCRIPTION_MAX_CHARS = 500
#: Aliases kept; beyond a handful they are spelling variants that add noise.
MAX_NAMES = 6
MAX_SECTORS = 8


def _clean(value: str) -> str:
    """NFKC (full-width → half-width) and collapsed whitespace; separators escaped."""
    value = unicodedata.normalize("NFKC", value or "")
    return " ".join(value.replace("|", "/").split())


def _distinct(values: Iterable[str], limit: int) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        cleaned = _clean(value)
        if cleaned and cleaned.casefold() not in seen:
            seen.add(cleaned.casefold())
            out.append(cleaned)
        if len(out) == limit:
            break
    return out


def entity_text(names: list[str], sectors: list[str], description: str = "") -> str:
    """Build the embedding text; see the module docstring for the format.

    >>> entity_text(["江南大学", "Jiangnan University"], ["高等教育"], "Public university in Wuxi.")
    '江南大学 / Jiangnan University | 高等教育 | Public university in Wuxi.'
    """
    parts = [
        " / ".join(_distinct(names, MAX_NAMES)),
        ", ".join(_distinct(sectors, MAX_SECTORS)),
        _clean(description)[:DESCRIPTION_MAX_CHARS].rstrip(),
    ]
    return " | ".join(p for p in parts if p)

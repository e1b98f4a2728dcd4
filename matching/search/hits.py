"""What a search returns: one `Hit` per entity and a `Results` page with its true total.

Both the name search and the semantic and hybrid searches return these, so the page, the API
and notebooks show every mode alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from kg.schema import caption

__all__ = ["LABELS", "LABEL_WEIGHT", "MATCHES", "Hit", "Results", "UnknownFilter"]

LABELS = ("Organization", "Project", "Person", "Sector", "Region", "Document")
#: Among equally good matches, an organisation is what a promotion office looks for first.
LABEL_WEIGHT = {"Organization": 1.0, "Project": 0.99, "Person": 0.98, "Sector": 0.93, "Region": 0.9, "Document": 0.85}
#: How a hit matched, best first: a whole key, a key's start, a word or part of a name (or a chain
#: link the query names), a typo of a name, a word of a description or need; or the vectors
#: (semantic) or only the filters.
MATCHES = ("exact", "prefix", "part", "fuzzy", "text", "semantic", "filter")


@dataclass(frozen=True)
class Hit:
    """One search result: enough to list it without another graph read."""

    id: str
    label: str
    name_zh: str
    name_en: str
    kind: str
    city: str
    score: float
    match: str  # one of MATCHES
    field: str  # which key matched: name_zh, alias, pinyin, initials, stock_code, description, ...
    matched: str  # the matching key, normalised (zxgj, 688981, 中芯国际)

    def display_name(self, lang: str = "zh") -> str:
        return caption(self.label, {"name_zh": self.name_zh, "name_en": self.name_en}, lang, self.id)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Results:
    """One page of hits, the number of entities that match in all (`total`), and where the page
    starts; `facets` counts the matches per kind, region and chain link when asked for."""

    hits: list[Hit]
    total: int
    offset: int = 0
    limit: int = 20
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    semantic: bool = False  # the vectors took part (hybrid or semantic mode)

    @property
    def first(self) -> int:
        """1-based number of the first hit on this page (0 when the page is empty)."""
        return self.offset + 1 if self.hits else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.hits)

    @property
    def has_next(self) -> bool:
        return self.last < self.total

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    def as_dict(self) -> dict:
        return {"total": self.total, "offset": self.offset, "limit": self.limit, "count": len(self.hits),
                "hits": [h.as_dict() for h in self.hits], "facets": {k: [list(x) for x in v] for k, v in self.facets.items()}}


class UnknownFilter(ValueError):
    """A filter value that names no region, sector, kind, label or tier; the message says which
    field and value, and `suggestions` lists close names, so a typo is not an empty list."""

    def __init__(self, field: str, value: str, suggestions: list[str] | None = None):
        self.field, self.value, self.suggestions = field, value, suggestions or []
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"{field}: no {field} called {value!r}{hint}")

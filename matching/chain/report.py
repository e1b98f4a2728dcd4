"""What a chain analysis returns: links, their local firms, dependencies, projects and candidates.

Plain dataclasses, so the CLI table, the web page, the JSON API and the XLSX workbook all render
one object (`ChainReport.as_dict()` is the API body).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Candidate", "ChainReport", "Dependency", "LinkCoverage", "LocalFirm", "ProjectRef"]


@dataclass
class LocalFirm:
    org_id: str
    name_zh: str | None
    name_en: str | None
    kind: str | None
    stock_code: str | None
    sector_id: str  # the (sub-)link it is tagged with
    presence: str  # located | subsidiary | project
    via_id: str  # the region, subsidiary or project that makes it local
    via_name: str
    standing: float
    leader: bool
    tagged_by: str  # curated | derived
    tag_confidence: float
    weight: float

    @property
    def listed(self) -> bool:
        return self.kind == "listed_company"


@dataclass
class Dependency:
    local_id: str
    local_name: str
    other_id: str
    other_name: str
    direction: str  # upstream: the other supplies the local firm; downstream: it buys from it
    other_sectors: list[str]
    other_place: str  # where the other is, by name
    scope: str  # province | outside_province | unknown
    text_en: str
    text_zh: str


@dataclass
class ProjectRef:
    project_id: str
    name_zh: str | None
    name_en: str | None
    stage: str | None
    tier: str | None
    sector_id: str
    local: bool


@dataclass
class Candidate:
    org_id: str
    name_zh: str | None
    name_en: str | None
    kind: str | None
    place_en: str
    place_zh: str
    member: bool  # tagged with the gap link itself (or a sub-link), not only a neighbouring one
    score: float
    reasons_en: list[str]
    reasons_zh: list[str]
    signals: dict[str, float]


@dataclass
class LinkCoverage:
    sector_id: str
    name_zh: str
    name_en: str
    parent_id: str | None
    root: str
    depth: int
    stage: int  # position among its siblings along the chain (0: most upstream)
    upstream: list[str]  # links that supply this one (chain order, incl. the parents')
    downstream: list[str]
    firms: list[LocalFirm] = field(default_factory=list)
    strength: float = 0.0
    gap: bool = True
    members: int = 0  # firms of the link anywhere
    province_members: int = 0  # firms of the link located in the region's province but not in the region
    upstream_gaps: list[str] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    projects: list[ProjectRef] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)

    def name(self, lang: str = "en") -> str:
        return (self.name_en or self.name_zh) if lang == "en" else (self.name_zh or self.name_en)


@dataclass
class ChainReport:
    region_id: str
    region_zh: str
    region_en: str
    province_id: str | None
    province_zh: str | None
    province_en: str | None
    threshold: float
    version: str
    links: list[LinkCoverage]

    def link(self, sector_id: str) -> LinkCoverage:
        for link in self.links:
            if link.sector_id == sector_id:
                return link
        raise KeyError(sector_id)

    def gaps(self) -> list[LinkCoverage]:
        return [link for link in self.links if link.gap]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for link, raw in zip(self.links, out["links"], strict=True):
            for firm, firm_raw in zip(link.firms, raw["firms"], strict=True):
                firm_raw["listed"] = firm.listed
        return out

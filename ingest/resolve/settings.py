"""Every threshold and weight of entity resolution as one typed, frozen value.

The values are rows of the one settings table (kg.settings, `resolve_*`, with their reasons);
this dataclass is the typed view the scorer reads. `ResolveSettings()` holds the declared
defaults; `ResolveSettings.from_settings(settings)` what the operator set (config file,
environment). Pass a modified copy (dataclasses.replace) to resolve(); what scores is
fingerprinted with each run, so a resolution stays reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from kg.settings import Settings, setting_row

__all__ = ["MAX_BLOCK_SIZE", "ResolveSettings", "describe_settings"]

# Records sharing a blocking key are compared pairwise; a key shared by more records than this
# (科技, "technology", a common pinyin) says nothing and would make blocking quadratic.
MAX_BLOCK_SIZE: int = setting_row("resolve_max_block_size").default


def _s(name: str) -> Any:
    """A field whose default and help are the `resolve_<name>` row of kg.settings's table."""
    row = setting_row(f"resolve_{name}")
    return field(default=row.default, metadata={"help": row.help})


@dataclass(frozen=True)
class ResolveSettings:
    same_threshold: float = _s("same_threshold")
    unique_threshold: float = _s("unique_threshold")
    unsure_threshold: float = _s("unsure_threshold")
    max_block_size: int = _s("max_block_size")

    # Name evidence: the best single name-pair feature is the name score.
    name_exact: float = _s("name_exact")
    name_base: float = _s("name_base")
    short_name: float = _s("short_name")
    abbreviation: float = _s("abbreviation")
    core_same_industry: float = _s("core_same_industry")
    core_compatible: float = _s("core_compatible")
    core_compatible_short: float = _s("core_compatible_short")
    pinyin_name: float = _s("pinyin_name")
    pinyin_core_same_industry: float = _s("pinyin_core_same_industry")
    pinyin_core_compatible: float = _s("pinyin_core_compatible")
    pinyin_initials: float = _s("pinyin_initials")
    acronym: float = _s("acronym")
    fuzzy_weight: float = _s("fuzzy_weight")
    fuzzy_short_weight: float = _s("fuzzy_short_weight")
    fuzzy_min_length: int = _s("fuzzy_min_length")
    partial_weight: float = _s("partial_weight")
    partial_min_length: int = _s("partial_min_length")
    one_core_factor: float = _s("one_core_factor")
    fuzzy_min_core: int = _s("fuzzy_min_core")
    fuzzy_zh_weight: float = _s("fuzzy_zh_weight")

    # Caps: contradictions that outweigh any name similarity.
    industry_conflict_cap: float = _s("industry_conflict_cap")
    industry_differ_cap: float = _s("industry_differ_cap")
    region_conflict_factor: float = _s("region_conflict_factor")
    stock_conflict_cap: float = _s("stock_conflict_cap")
    qualifier_cap: float = _s("qualifier_cap")
    empty_core_cap: float = _s("empty_core_cap")
    place_bound_cap: float = _s("place_bound_cap")
    contradiction_cap: float = _s("contradiction_cap")

    # Context: added to the name score when the name score is positive.
    city_agree: float = _s("city_agree")
    city_conflict: float = _s("city_conflict")
    sector_overlap: float = _s("sector_overlap")
    sector_disjoint: float = _s("sector_disjoint")
    kind_conflict: float = _s("kind_conflict")

    # Kinds (the record's `kind`): bodies defined by their place, and listed companies.
    place_bound_kinds: tuple[str, ...] = _s("place_bound_kinds")
    listed_kinds: tuple[str, ...] = _s("listed_kinds")

    # Canonical ids: records whose id starts with one of these win, then credit-code holders.
    canonical_prefixes: tuple[str, ...] = _s("canonical_prefixes")

    # The learned model, one-to-one ambiguity, and what is kept for explanations.
    model: str = _s("model")
    ambiguity_margin: float = _s("ambiguity_margin")
    unique_margin: float = _s("unique_margin")
    keep_below: float = _s("keep_below")

    @classmethod
    def from_settings(cls, settings: Settings) -> ResolveSettings:
        """The values the operator set (config file, environment) for every `resolve_*` row."""
        return cls(**{f.name: getattr(settings, f"resolve_{f.name}") for f in fields(cls)})

    def __post_init__(self) -> None:
        if not 0 < self.unsure_threshold <= self.unique_threshold <= self.same_threshold <= 1:
            raise ValueError("need 0 < unsure_threshold <= unique_threshold <= same_threshold <= 1")
        if not 0 <= self.keep_below <= self.unsure_threshold:
            raise ValueError("need 0 <= keep_below <= unsure_threshold")
        if self.max_block_size < 2:
            raise ValueError("max_block_size must be at least 2")


def describe_settings() -> list[tuple[str, object, str]]:
    """(name, default, help) for every setting, for docs and the settings test."""
    return [(f.name, f.default, f.metadata.get("help", "")) for f in fields(ResolveSettings)]

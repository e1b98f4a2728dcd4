"""Every threshold and weight of entity resolution, in one dataclass with its reasons.

Why one place: a reviewer tuning precision against recall should find all the knobs together,
and a test can check each has a help text. Pass a modified copy (dataclasses.replace) to
resolve(); nothing here is read from the environment, so a resolution is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

# Records sharing a blocking key are compared pairwise; a key shared by more records than this
# (科技, "technology", a common pinyin) says nothing and would make blocking quadratic.
MAX_BLOCK_SIZE = 40


def _s(default, help: str):  # noqa: A002 - "help" reads best in the declarations below
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class ResolveSettings:
    same_threshold: float = _s(0.8, "score at or above which two records are judged the same")
    unsure_threshold: float = _s(0.6, "score at or above which a pair is kept as 'unsure' for review")
    max_block_size: int = _s(MAX_BLOCK_SIZE, "blocks larger than this are skipped as uninformative")

    # Name evidence: the best single name-pair feature is the name score.
    name_exact: float = _s(1.0, "normalised names equal (legal forms, case, script variants ignored)")
    name_base: float = _s(0.95, "names equal once leading/bracketed place names are removed")
    short_name: float = _s(0.9, "one Chinese name is a prefix or listed contraction of the other (>= 3 chars)")
    abbreviation: float = _s(0.85, "one Chinese name's characters appear in order in the other (紫光国微)")
    core_same_industry: float = _s(0.9, "same distinctive core and agreeing industry words")
    core_compatible: float = _s(0.85, "same core (>= 3 chars), one side has no industry words")
    core_compatible_short: float = _s(0.7, "same short core (2 chars), one side without industry words")
    pinyin_name: float = _s(0.95, "pinyin of the Chinese name equals the romanised name")
    pinyin_core_same_industry: float = _s(0.9, "pinyin of the Chinese core equals the Latin core, industries agree")
    pinyin_core_compatible: float = _s(0.75, "pinyin core equal, one side without industry words (平安 ~ Ping An Bank)")
    pinyin_initials: float = _s(0.6, "pinyin initials of the Chinese core equal a Latin acronym (review only)")
    acronym: float = _s(0.85, "a Latin acronym (3-6 letters) equals the initials of the other name")
    fuzzy_weight: float = _s(0.9, "multiplier on rapidfuzz token_sort_ratio for Latin names")
    fuzzy_short_weight: float = _s(0.6, "multiplier instead when a name is shorter than fuzzy_min_length")
    fuzzy_min_length: int = _s(8, "below this many characters, edit similarity is unreliable")
    partial_weight: float = _s(0.8, "multiplier on partial_ratio (only for names of >= partial_min_length)")
    partial_min_length: int = _s(12, "shorter names never score by substring")
    one_core_factor: float = _s(0.5, "multiplier on fuzzy similarity when only one name has a distinctive core")
    fuzzy_min_core: int = _s(5, "Latin cores shorter than this must be equal for fuzzy evidence (acm vs lam research)")
    fuzzy_zh_weight: float = _s(0.7, "multiplier on character ratio for Chinese names (cores differ: 长电 vs 长城)")

    # Caps: contradictions that outweigh any name similarity.
    industry_conflict_cap: float = _s(0.4, "cap when both names carry industry words that never agree")
    industry_differ_cap: float = _s(0.75, "cap when industry words differ, generic on one side (Information vs Software)")
    region_conflict_factor: float = _s(0.7, "multiplier when the names' places differ (上海 vs 无锡, and 江阴 vs 无锡 "
                                            "though one lies in the other)")
    stock_conflict_cap: float = _s(0.3, "cap when both have codes on the same market and none is shared")
    qualifier_cap: float = _s(0.65, "cap when only one name carries a place qualifier (华虹半导体(无锡): a subsidiary)")
    empty_core_cap: float = _s(0.5, "cap on fuzzy similarity of names made only of generic words that differ")
    place_bound_cap: float = _s(0.7, "cap on evidence short of an exact name or pinyin for governments, zones, "
                                     "universities (review only)")
    contradiction_cap: float = _s(0.5, "cap when names look alike but the records contradict: different numbers "
                                       "(基金 vs 基金二期), a parent and its unit (中国科学院 vs its 研究所), a "
                                       "government of another place, a local unit (SK hynix Wuxi), different "
                                       "registered names, a group vs a listed company; judged not the same")

    # Context: added to the name score when the name score is positive.
    city_agree: float = _s(0.05, "bonus when the records' cities are the same (one inside the other: neither)")
    city_conflict: float = _s(-0.2, "penalty when the records' cities differ (neither contains the other)")
    sector_overlap: float = _s(0.05, "bonus when the records share a sector")
    sector_disjoint: float = _s(-0.05, "penalty when both list sectors and none is shared")
    kind_conflict: float = _s(-0.3, "penalty when the kinds differ (company vs university)")

    # Kinds (the record's `kind`): bodies defined by their place, and listed companies.
    place_bound_kinds: tuple[str, ...] = _s(("government_body", "government", "park", "university"),
                                            "kinds merged only on an exact name, alias or code")
    listed_kinds: tuple[str, ...] = _s(("listed_company",), "kinds that count as listed without a stock code")

    # Canonical ids: records whose id starts with one of these win, then credit-code holders.
    canonical_prefixes: tuple[str, ...] = _s(("stock-",), "record-id prefixes preferred as canonical id")

    def __post_init__(self) -> None:
        if not 0 < self.unsure_threshold <= self.same_threshold <= 1:
            raise ValueError("need 0 < unsure_threshold <= same_threshold <= 1")
        if self.max_block_size < 2:
            raise ValueError("max_block_size must be at least 2")


def describe_settings() -> list[tuple[str, object, str]]:
    """(name, default, help) for every setting, for docs and the settings test."""
    return [(f.name, f.default, f.metadata.get("help", "")) for f in fields(ResolveSettings)]

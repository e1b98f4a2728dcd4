"""The county-level division a Chinese registered address names ('广东省深圳市罗湖区深南东路' -> 罗湖区).

Why only the start of the address: a district is written right after the province and the
city; further on, the same characters are street, park and building names (朝阳路, 鼓楼大街).
So the province and the city are skipped when the address starts with them, and the district
must follow at once. The names come from the regions (kg/taxonomy/regions.csv with curated aliases such as
无锡国家高新技术产业开发区 for 新吴区, and every GB/T 2260 division),
so the rule knows no name the place linker cannot find (the taxonomy's regions, and the county-level
divisions the default manifest loads from data/sources/cn_divisions/regions.csv).

>>> district_of("广东省深圳市罗湖区深南东路5047号"), district_of("江苏省江阴市长山大道78号")
('罗湖区', '江阴市')
>>> district_of("山东省潍坊高新技术产业开发区东方路268号")
''
"""

from __future__ import annotations

import csv
import unicodedata
from functools import lru_cache
from pathlib import Path

from kg.schema import TAXONOMY_DIR

__all__ = ["DIVISIONS_FILE", "district_of"]

#: The county-level divisions the starter graph loads as Regions (built by data/tools/build_sample.py
#: from GB/T 2260 codes); the taxonomy holds the provinces, cities and curated districts.
DIVISIONS_FILE = Path(__file__).resolve().parents[2] / "data" / "sources" / "cn_divisions" / "regions.csv"

MAX_NAME = 16  # characters; the longest division name or alias tried


@lru_cache(maxsize=1)
def _names() -> tuple[frozenset[str], frozenset[str]]:
    """(province and city names, district names) as written in full, plus long aliases."""
    upper: set[str] = set()
    lower: set[str] = set()
    rows: list[dict[str, str]] = []
    for path in (TAXONOMY_DIR / "regions.csv", DIVISIONS_FILE):
        if path.exists():
            with open(path, encoding="utf-8-sig", newline="") as fh:
                rows += list(csv.DictReader(fh))
    for row in rows:
        names = [row["name_zh"], *(a for a in (row.get("aliases") or "").split("|") if len(a) >= 2)]
        han = [n for n in names if n and all("\u4e00" <= c <= "\u9fff" for c in n)]
        if row["level"] in ("province", "city"):
            upper.update(han)
        elif row["level"] == "district":
            # a short form (新吴, 江阴) is also a street's or a firm's name: only full names and
            # the curated long aliases (zones) count
            lower.update(n for n in han if n == row["name_zh"] or len(n) >= 4)
    return frozenset(upper), frozenset(lower)


def _skip(text: str, pos: int, names: frozenset[str]) -> int:
    for size in range(min(MAX_NAME, len(text) - pos), 1, -1):
        if text[pos:pos + size] in names:
            return pos + size
    return pos


def district_of(address: str) -> str:
    """The district, county or county-level city the address starts with (after its province
    and city), as the division table writes it; '' when it names none there."""
    text = unicodedata.normalize("NFKC", address or "").replace(" ", "")
    upper, lower = _names()
    after_province = _skip(text, 0, upper)
    after_city = _skip(text, after_province, upper)
    for pos in dict.fromkeys((after_city, after_province)):
        end = _skip(text, pos, lower)
        if end > pos:
            return text[pos:end]
    return ""

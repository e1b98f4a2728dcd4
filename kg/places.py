"""Linking free-text `city` / `province` cells to Region nodes.

Sources write the same place many ways: 无锡市, 无锡, Wuxi, Wuxi City, wuxishi. Keys strip the
administrative suffix in both languages and compare case-folded text and pinyin, so all of those
meet one Region. County-level cities (江阴, 宜兴) are Regions of their own, PART_OF their city.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

from pypinyin import lazy_pinyin

ZH_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "地区", "新区", "省", "市", "区", "县")
EN_SUFFIXES = re.compile(r"\b(city|province|prefecture|district|county|shi|sheng|qu|municipality|sar)\b")
LEVEL_RANK = {"city": 0, "district": 1, "province": 2, "country": 3}


def place_keys(name: str) -> set[str]:
    """Every key under which a place name should be found."""
    text = unicodedata.normalize("NFKC", name or "").strip()
    if not text:
        return set()
    keys = {text.casefold()}
    if re.search(r"[\u4e00-\u9fff]", text):
        core = text
        for suffix in ZH_SUFFIXES:
            if core.endswith(suffix) and len(core) > len(suffix) + 1:
                core = core[: -len(suffix)]
                break
        keys |= {core, "".join(lazy_pinyin(core)), "".join(lazy_pinyin(text))}
    else:
        core = EN_SUFFIXES.sub(" ", text.casefold())
        core = re.sub(r"[^a-z0-9]+", "", core)
        keys.add(core)
    return {k for k in keys if k}


class Gazetteer:
    def __init__(self) -> None:
        self._by_key: dict[str, set[str]] = defaultdict(set)
        self._level: dict[str, str] = {}
        self._parent: dict[str, str] = {}

    def add(self, region_id: str, names: Iterable[str], level: str | None, parent_id: str | None) -> None:
        self._level[region_id] = level or "city"
        if parent_id:
            self._parent[region_id] = parent_id
        for name in names:
            for key in place_keys(name):
                self._by_key[key].add(region_id)

    def ancestors(self, region_id: str) -> list[str]:
        out, seen = [], set()
        while region_id in self._parent and region_id not in seen:
            seen.add(region_id)
            region_id = self._parent[region_id]
            out.append(region_id)
        return out

    def find(self, name: str, within: str | None = None) -> str | None:
        """The region a place name means; `within` (a region id) settles names used twice."""
        candidates: set[str] = set()
        for key in place_keys(name):
            candidates |= self._by_key.get(key, set())
        if within:
            inside = {c for c in candidates if within in self.ancestors(c) or c == within}
            candidates = inside or candidates
        if not candidates:
            return None
        return min(candidates, key=lambda c: (LEVEL_RANK.get(self._level.get(c, "city"), 9), c))

    def locate(self, city: str | None, province: str | None, country: str | None = None,
               district: str | None = None) -> str | None:
        """The most specific region named by a row's city / province / country cells, and its
        district cell: a district counts only inside the city (or province) the row names, since
        one name is used in many cities (鼓楼区, 朝阳区)."""
        prov = self.find(province) if province else None
        if city:
            found = self.find(city, within=prov)
            if found:
                if district:
                    inner = self.find(district, within=found)
                    if inner and inner != found and found in self.ancestors(inner):
                        return inner
                return found
        if district and prov:
            inner = self.find(district, within=prov)
            if inner and prov in self.ancestors(inner):
                return inner
        if prov:
            return prov
        return self.find(country) if country else None

"""Search keys derived from names: pinyin and initials, so 'zxgj' finds 中芯国际."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from pypinyin import Style, lazy_pinyin

HAN = re.compile(r"[\u4e00-\u9fff]")


def name_keys(props: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, str | None]:
    """pinyin and initials of name_zh. `previous` is the stored node: when its name_zh is the same,
    its keys are reused, since pinyin conversion was most of the cost of a refresh's node step."""
    name = props.get("name_zh") or ""
    if not HAN.search(name):
        return {}
    if previous and previous.get("name_zh") == name and previous.get("pinyin") and previous.get("initials"):
        return {"pinyin": previous["pinyin"], "initials": previous["initials"]}
    return dict(zip(("pinyin", "initials"), _keys("".join(HAN.findall(name))), strict=True))


@lru_cache(maxsize=65_536)
def _keys(han: str) -> tuple[str, str]:
    return "".join(lazy_pinyin(han)), "".join(lazy_pinyin(han, style=Style.FIRST_LETTER))

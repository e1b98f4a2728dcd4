"""Search keys derived from names: pinyin and initials, so 'zxgj' finds 中芯国际."""

from __future__ import annotations

import re
from typing import Any

from pypinyin import Style, lazy_pinyin

HAN = re.compile(r"[\u4e00-\u9fff]")


def name_keys(props: dict[str, Any]) -> dict[str, str | None]:
    name = props.get("name_zh") or ""
    if not HAN.search(name):
        return {}
    han = "".join(HAN.findall(name))
    return {
        "pinyin": "".join(lazy_pinyin(han)),
        "initials": "".join(lazy_pinyin(han, style=Style.FIRST_LETTER)),
    }

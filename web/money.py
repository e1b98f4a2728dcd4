"""Money as a promotion office writes it: 120亿元 / 5000万元 in Chinese, CNY 12 bn / CNY 500 m in
English. One function for every page, the brief and its download, so an amount never shows as
12,000,000,000 in one place and 120亿元 in another.
"""

from __future__ import annotations

from typing import Any

YI = 1e8  # 亿
WAN = 1e4  # 万


def _num(x: float, sep: str = ",") -> str:
    """At most two decimals, none when whole: 120, 1.5, 0.35; thousands separated in English
    only (5000万元, CNY 35,000)."""
    text = (f"{x:,.2f}" if sep else f"{x:.2f}").rstrip("0").rstrip(".")
    return text or "0"


def money(amount: Any, lang: str = "zh") -> str:
    """An amount in yuan, in the reader's units; empty for no amount, as given for text."""
    if amount in (None, ""):
        return ""
    try:
        x = float(amount)
    except (TypeError, ValueError):
        return str(amount)
    if lang == "zh":
        if abs(x) >= YI:
            return f"{_num(x / YI, '')}亿元"
        if abs(x) >= WAN:
            return f"{_num(x / WAN, '')}万元"
        return f"{_num(x, '')}元"
    if abs(x) >= 1e9:
        return f"CNY {_num(x / 1e9)} bn"
    if abs(x) >= 1e6:
        return f"CNY {_num(x / 1e6)} m"
    return f"CNY {_num(x)}"


def parse_yi(text: Any) -> float | None:
    """An amount typed in 亿元 (the unit the office thinks in) as yuan: "120" → 1.2e10."""
    if text in (None, ""):
        return None
    return float(str(text).replace(",", "").strip()) * YI

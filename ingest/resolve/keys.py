"""Strong keys: identifiers that settle identity on their own.

Why separate from names: a shared credit code or stock code links two records whatever their
names say (中芯国际 and SMIC share 688981.SH), and two different credit codes keep records apart
however alike their names are. One company may have several stock codes (688981.SH and
0981.HK for SMIC), so every valid code in `stock_code` or among the aliases counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ingest.normalize.codes import CodeError, normalize_stock_code, validate_credit_code

__all__ = ["RecordKeys", "exclusive_groups", "key_conflicts", "record_keys", "refused_claim", "split_values"]

CREDIT = "credit"
STOCK = "stock"
# An alias is only tried as a code when it looks like one; "3M" or "Co.Ltd" are names.
_CODE_LIKE = re.compile(r"^(?:[A-Za-z]{2}[.\-:]?)?\d{1,6}(?:[.\-:][A-Za-z]{1,4})?$|^[A-Za-z]{1,6}\.[A-Za-z]{1,3}$")
_CREDIT_LIKE = re.compile(r"^[0-9A-Za-z]{18}$")
# Mainland B shares (SH 900xxx, SZ 200xxx) sit beside a company's A share on the same market.
_B_SHARE = re.compile(r"^(900|200)\d{3}\.(SH|SZ)$")


@dataclass(frozen=True)
class RecordKeys:
    stock_codes: frozenset[str]
    credit_codes: frozenset[str]
    aliases: tuple[str, ...]  # the aliases that were names, not codes
    rejected: tuple[tuple[str, str], ...]  # (value, reason) for codes that did not check out

    @property
    def keys(self) -> frozenset[str]:
        return frozenset({f"{STOCK}:{c}" for c in self.stock_codes} | {f"{CREDIT}:{c}" for c in self.credit_codes})


# A market before or after the digits (SH600001, 600001.SH): one claim, written two ways.
_MARKET = re.compile(r"^(?:SH|SZ|BJ|HK)[.\-:]?|[.\-:](?:SH|SS|SSE|SZ|SZSE|BJ|BSE|HK|HKEX)$")


def refused_claim(value: str) -> str:
    """A refused code as a comparable claim: upper case, no spaces or separators, no market
    (610001.SH and 610001 claim the same code, though neither is one)."""
    text = re.sub(r"[\s\u3000]+", "", str(value)).upper()
    return re.sub(r"[^0-9A-Z]", "", _MARKET.sub("", text))


def split_values(value: Any) -> list[str]:
    """A field that may be missing, a string ("600584.SH; 0981.HK") or a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in re.split(r"[;,|/，；、]", value) if v.strip()]
    if isinstance(value, Iterable):
        return [s for v in value for s in split_values(v)]
    return [str(value)]


def _market(code: str) -> str:
    return code.rsplit(".", 1)[-1]


def record_keys(record: Mapping[str, Any]) -> RecordKeys:
    """Codes from stock_code, credit_code and code-like aliases, validated and canonical."""
    stock: set[str] = set()
    credit: set[str] = set()
    rejected: list[tuple[str, str]] = []
    for value in split_values(record.get("stock_code")):
        try:
            stock.add(normalize_stock_code(value))
        except CodeError as exc:
            rejected.append((value, exc.reason))
    for value in split_values(record.get("credit_code")):
        try:
            credit.add(validate_credit_code(value))
        except CodeError as exc:
            rejected.append((value, exc.reason))
    names: list[str] = []
    for alias in record.get("aliases") or []:
        alias = str(alias).strip()
        if not alias:
            continue
        try:
            if _CREDIT_LIKE.match(alias) and any(c.isdigit() for c in alias):
                credit.add(validate_credit_code(alias))
                continue
            if _CODE_LIKE.match(alias):
                stock.add(normalize_stock_code(alias))
                continue
        except CodeError:
            pass  # not a code after all: keep it as a name
        names.append(alias)
    return RecordKeys(frozenset(stock), frozenset(credit), tuple(names), tuple(rejected))


def exclusive_groups(keys: RecordKeys) -> dict[str, frozenset[str]]:
    """Codes by group, where an organisation holds one value per group: its credit code, its A
    share (SH, SZ and BJ together; a B share sits beside it and is left out), and one code on
    each other market (HK, KS, US...). Two different values in one group are two organisations.
    """
    groups: dict[str, set[str]] = {}
    if keys.credit_codes:
        groups[CREDIT] = set(keys.credit_codes)
    for code in keys.stock_codes:
        if _B_SHARE.match(code):
            continue
        market = _market(code)
        groups.setdefault("CN-A" if market in ("SH", "SZ", "BJ") else market, set()).add(code)
    return {g: frozenset(v) for g, v in groups.items()}


def key_conflicts(a: RecordKeys, b: RecordKeys) -> list[str]:
    """Reasons the two cannot be one organisation, judged by their codes alone.

    Different credit codes are different legal entities; stock codes conflict only within one
    group of exclusive_groups (a firm may be listed in Shanghai and Hong Kong, not twice in
    Shanghai). Reasons about credit codes start with "credit".
    """
    ga, gb = exclusive_groups(a), exclusive_groups(b)
    out = []
    for group in sorted(ga.keys() & gb.keys(), key=lambda g: (g != CREDIT, g)):
        if not ga[group] & gb[group]:
            kind = "credit codes differ" if group == CREDIT else f"different {group} stock codes"
            out.append(f"{kind}: {sorted(ga[group])} vs {sorted(gb[group])}")
    return out

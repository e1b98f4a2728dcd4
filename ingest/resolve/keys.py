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

__all__ = ["RecordKeys", "key_conflicts", "record_keys", "split_values"]

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


def key_conflicts(a: RecordKeys, b: RecordKeys) -> list[str]:
    """Reasons the two cannot be one organisation, judged by their codes alone.

    Different credit codes are different legal entities. Stock codes conflict only within one
    market: a firm has one A share (its B share aside) and one Hong Kong code, but may have both.
    """
    out = []
    if a.credit_codes and b.credit_codes and not a.credit_codes & b.credit_codes:
        out.append(f"credit codes differ: {sorted(a.credit_codes)} vs {sorted(b.credit_codes)}")
    if a.stock_codes & b.stock_codes:
        return out

    def by_market(codes: frozenset[str]) -> dict[str, set[str]]:
        markets: dict[str, set[str]] = {}
        for c in codes:
            if not _B_SHARE.match(c):
                market = "CN-A" if _market(c) in ("SH", "SZ", "BJ") else _market(c)
                markets.setdefault(market, set()).add(c)
        return markets

    ma, mb = by_market(a.stock_codes), by_market(b.stock_codes)
    for market in sorted(ma.keys() & mb.keys()):
        out.append(f"different {market} stock codes: {sorted(ma[market])} vs {sorted(mb[market])}")
    return out

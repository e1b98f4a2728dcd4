"""Identifier validation: unified social credit codes and stock codes.

Why strict: these are the strong keys of entity resolution; one mistyped code would merge two
firms outright, so a code that does not check out is refused with a reason, never guessed.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["CodeError", "credit_code_check_char", "normalize_stock_code", "validate_credit_code"]

# GB 32100-2015: 31 characters, no I, O, S, V, Z (they read like 1, 0, 5, U, 2).
CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CREDIT_LENGTH = 18

# Mainland exchanges by code prefix: Shanghai main board 60, STAR 68, B shares 90; Shenzhen
# main board 00, ChiNext 30, B shares 20; Beijing 920 (new codes) and the 4/8 NEEQ ranges.
CN_PREFIXES = (("920", "BJ"), ("60", "SH"), ("68", "SH"), ("90", "SH"), ("00", "SZ"), ("30", "SZ"),
               ("20", "SZ"), ("4", "BJ"), ("8", "BJ"))
SUFFIX_ALIASES = {"SH": "SH", "SS": "SH", "SSE": "SH", "SZ": "SZ", "SZSE": "SZ", "BJ": "BJ", "BSE": "BJ",
                  "HK": "HK", "HKEX": "HK"}
_PREFIXED = re.compile(r"^(SH|SZ|BJ|HK)[.\-:]?([0-9A-Z]+)$")
_SUFFIXED = re.compile(r"^([0-9A-Z]+)[.\-:](SH|SS|SSE|SZ|SZSE|BJ|BSE|HK|HKEX)$")
_FOREIGN = re.compile(r"^([0-9A-Z][0-9A-Z\-]{0,9})\.([A-Z]{1,3})$")
# Other markets' suffixes (Reuters/Yahoo style) accepted as given: KS/KQ Korea, TW/TWO Taiwan,
# T Tokyo, US/O/N/OQ United States, L London, DE/F Germany, ... Listed so "CO.LTD" is not a ticker.
FOREIGN_MARKETS = frozenset({"US", "O", "N", "OQ", "KS", "KQ", "TW", "TWO", "T", "L", "DE", "F", "PA", "AS",
                             "SW", "SI", "AX", "TO", "MI", "MC", "ST", "HE", "OL", "BR", "NS", "BO", "JK",
                             "KL", "BK", "NZ", "SA", "MX"})


class CodeError(ValueError):
    """A code that cannot be accepted; str(error) is the reason, for rejection reports."""

    def __init__(self, reason: str, code: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def _clean(s: str) -> str:
    return re.sub(r"[\s\u3000]+", "", unicodedata.normalize("NFKC", s or "")).upper()


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a credit code from its first 17 (GB 32100-2015 section 5)."""
    total = sum(CREDIT_CHARSET.index(ch) * w for ch, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARSET[(31 - total % 31) % 31]


def validate_credit_code(s: str) -> str:
    """Return the code upper-cased without spaces or hyphens, or raise CodeError(reason).

    Checks the length, the character set, that positions 3-8 (the administrative division)
    are digits, and the check character.
    """
    code = _clean(s).replace("-", "")
    if len(code) != CREDIT_LENGTH:
        raise CodeError(f"credit code has {len(code)} characters, expected {CREDIT_LENGTH}", code)
    for i, ch in enumerate(code):
        if ch not in CREDIT_CHARSET:
            raise CodeError(f"credit code has invalid character {ch!r} at position {i + 1}", code)
    if not code[2:8].isdigit():
        raise CodeError("credit code positions 3-8 must be an administrative division code (digits)", code)
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise CodeError(f"credit code check character is {code[17]!r}, expected {expected!r}", code)
    return code


def _cn_exchange(digits: str) -> str | None:
    return next((ex for prefix, ex in CN_PREFIXES if digits.startswith(prefix)), None)


def _hk(digits: str, raw: str) -> str:
    if not digits.isdigit():
        raise CodeError(f"Hong Kong code {raw!r} must be digits", raw)
    if not 1 <= len(digits) <= 5 or int(digits) == 0:
        raise CodeError(f"Hong Kong code {raw!r} must be 1 to 5 digits, not all zero", raw)
    number = int(digits)
    if number > 99999:
        raise CodeError(f"Hong Kong code {raw!r} is out of range", raw)
    return f"{number:04d}.HK"


def _mainland(digits: str, exchange: str | None, raw: str) -> str:
    if not digits.isdigit():
        raise CodeError(f"stock code {raw!r} has letters where digits belong", raw)
    if len(digits) != 6:
        if exchange is None and 1 <= len(digits) <= 5:
            raise CodeError(f"stock code {raw!r} has {len(digits)} digits: mainland codes have 6, "
                            "Hong Kong codes need a .HK suffix", raw)
        raise CodeError(f"stock code {raw!r} has {len(digits)} digits, expected 6", raw)
    inferred = _cn_exchange(digits)
    if inferred is None:
        raise CodeError(f"stock code {raw!r}: prefix {digits[:2]} is not a share code on SH, SZ or BJ", raw)
    if exchange is not None and exchange != inferred:
        raise CodeError(f"stock code {raw!r}: suffix {exchange} contradicts prefix {digits[:3]} ({inferred})",
                        raw)
    return f"{digits}.{inferred}"


def normalize_stock_code(s: str) -> str:
    """Canonical stock code: DDDDDD.SH|SZ|BJ, DDDD.HK, or TICKER.XX for other markets.

    Accepts 600584, 600584.SH, SH600584, sh.600584, 0981.HK, 00981.HK, 981.HK; infers the
    mainland exchange from the prefix when absent, and refuses a suffix that contradicts it.

    >>> normalize_stock_code("sh.600584"), normalize_stock_code("00981.hk")
    ('600584.SH', '0981.HK')
    """
    raw = _clean(s)
    if not raw:
        raise CodeError("empty stock code", raw)
    m = _PREFIXED.match(raw) or _SUFFIXED.match(raw)
    if m:
        if m.re is _PREFIXED:
            exchange, digits = SUFFIX_ALIASES[m.group(1)], m.group(2)
        else:
            digits, exchange = m.group(1), SUFFIX_ALIASES[m.group(2)]
        return _hk(digits, raw) if exchange == "HK" else _mainland(digits, exchange, raw)
    if raw.isdigit():
        return _mainland(raw, None, raw)
    m = _FOREIGN.match(raw)
    if m and m.group(2) in FOREIGN_MARKETS:  # 000660.KS, NVDA.US, 2330.TW: kept as given
        return raw
    if m:
        raise CodeError(f"stock code {raw!r}: unknown market suffix {m.group(2)!r}", raw)
    if re.fullmatch(r"[0-9A-Z]+", raw) and re.search(r"\d", raw):
        raise CodeError(f"stock code {raw!r} mixes letters and digits", raw)
    raise CodeError(f"stock code {raw!r} is not a recognised format (need digits, or TICKER.MARKET)", raw)

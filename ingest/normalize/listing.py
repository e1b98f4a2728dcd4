"""Rules for the quirks of exchange lists and their derivatives, one rule per case.

Why rules with names: the real lists write one company many ways ('万  科Ａ' in the Shenzhen
export, '万科A' in tushare, '*ST国华' while under risk warning, '2156' for 002156 in a
spreadsheet that dropped the zeros). A mapping filter (ingest.sources.mapping) applies these
rules to a cell and says which ones changed it, so the run log can count each rule per source
and field instead of the values changing silently.

Each function returns (value, rules that changed it); a value that cannot be read raises
ValueError with the reason, which rejects the row.

>>> short_name("万  科Ａ"), short_name("*ST国华"), short_name("寒武纪-U")
(('万科A', ('fullwidth', 'spaces')), ('国华', ('status_prefix',)), ('寒武纪', ('listing_suffix',)))
>>> number("19,405,918,198")
('19405918198', ('thousands_separator',))
"""

from __future__ import annotations

import re
import unicodedata

from ingest.normalize.codes import CodeError, normalize_stock_code

__all__ = ["a_share_number", "clean_text", "listed_name", "number", "person_name", "short_name", "stock_status"]

Result = tuple[str, tuple[str, ...]]

HAN = r"[\u4e00-\u9fff]"
# Risk-warning and reform markers the exchanges put before a short name: *ST, ST, S*ST, SST
# (special treatment), PT (particular transfer, until 2002), S (share reform not yet done).
STATUS_PREFIX = re.compile(rf"^(S?\*?ST|PT|S)(?={HAN})")
# First-day markers: N on the listing day, C for the first days without a price limit.
LISTING_MARKER = re.compile(rf"^[NC](?={HAN})")
# STAR / ChiNext suffixes: -U not yet profitable, -W weighted voting rights, -D depositary receipt.
LISTING_SUFFIX = re.compile(r"-[UWD]{1,3}$")
SPACES = re.compile(r"[\s\u3000]+")
NAMESAKE_NUMBER = re.compile(rf"(?<={HAN})\d+$")


def _fullwidth(text: str) -> Result:
    """NFKC: full-width letters, digits and punctuation ('Ａ', '，', '（') to their ASCII forms."""
    out = unicodedata.normalize("NFKC", text)
    return out, (("fullwidth",) if out != text else ())


def short_name(text: str) -> Result:
    """A stock short name as people type it: ASCII letters, no spaces, no status or listing
    markers ('*ST国华' -> '国华', '万  科Ａ' -> '万科A', 'C德力佳' -> '德力佳', '寒武纪-U' -> '寒武纪')."""
    out, rules = _fullwidth(text)
    squeezed = SPACES.sub("", out)
    if squeezed != out:
        rules += ("spaces",)
    out = squeezed
    for rule, pattern in (("status_prefix", STATUS_PREFIX), ("listing_marker", LISTING_MARKER),
                          ("listing_suffix", LISTING_SUFFIX)):
        bare = pattern.sub("", out)
        if bare != out and bare:
            out, rules = bare, (*rules, rule)
    return out, rules


def listed_name(text: str) -> Result:
    """A short name as the exchange lists it today, markers kept ('*ST国华': how traders and
    news write it while the warning lasts), only in ASCII letters and without spaces."""
    out, rules = _fullwidth(text)
    squeezed = SPACES.sub("", out)
    return squeezed, (*rules, "spaces") if squeezed != out else rules


def stock_status(text: str) -> Result:
    """The status marker of a short name ('*ST', 'ST', 'PT' …), or '' when it has none."""
    out = SPACES.sub("", unicodedata.normalize("NFKC", text))
    m = STATUS_PREFIX.match(out)
    return (m.group(1) if m else ""), ()


def clean_text(text: str) -> Result:
    """Names and addresses in Latin script: full-width forms to ASCII, runs of spaces to one,
    no space before a comma ('CO.， LTD' -> 'CO., LTD')."""
    out, rules = _fullwidth(text)
    spaced = re.sub(r"\s+,", ",", SPACES.sub(" ", out)).strip()
    if spaced != out:
        rules += ("spaces",)
    return spaced, rules


def number(text: str) -> Result:
    """A count written with thousands separators ('19,405,918,198') as plain digits."""
    out, rules = _fullwidth(text.strip())
    bare = out.replace(",", "").replace(" ", "")
    if bare != out:
        rules += ("thousands_separator",)
    if not re.fullmatch(r"-?\d+(\.\d+)?", bare):
        raise ValueError(f"{text!r} is not a number")
    return bare, rules


def a_share_number(text: str) -> Result:
    """A mainland share code whose leading zeros a spreadsheet dropped ('2156' -> '002156').
    Only codes of 1 to 6 digits are padded; the result must be a valid SH/SZ/BJ code."""
    out, rules = _fullwidth(text.strip())
    if not out.isdigit() or len(out) > 6:
        raise CodeError(f"stock code {text!r} is not 1 to 6 digits", text)
    padded = out.zfill(6)
    if padded != out:
        rules += ("leading_zeros",)
    return normalize_stock_code(padded).split(".")[0], rules


def person_name(text: str) -> Result:
    """A person's name: full-width forms to ASCII, no spaces inside a Chinese name, and no
    namesake number ('王平1': the source numbers people who share a name; the id keeps them
    apart, the name is 王平). Latin names keep single spaces."""
    out, rules = _fullwidth(text)
    if re.search(HAN, out) and not re.search(r"[A-Za-z]", out):
        squeezed = SPACES.sub("", out)
    else:
        squeezed = SPACES.sub(" ", out).strip()
    if squeezed != out:
        rules += ("spaces",)
    bare = NAMESAKE_NUMBER.sub("", squeezed)
    if bare != squeezed and bare:
        squeezed, rules = bare, (*rules, "namesake_number")
    return squeezed, rules

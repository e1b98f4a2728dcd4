"""Every limit on what a form or API call may send, declared once, and the checks that apply them.

Why reject rather than trim: a silently shortened name or note is a wrong fact nobody notices.
A `FormError` names the field and carries a message key (web/messages.py), so the page and the
API say the same thing in the user's language. Markup and Cypher in free text are not errors:
Jinja escapes everything on output and queries only ever take parameters; names are stricter
(no angle brackets, no control characters) because they travel into CSV, Excel and other tools.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable
from typing import Any

MAX_QUERY_CHARS = 200
MAX_CYPHER_CHARS = 20_000  # one console/API Cypher statement
MAX_NAME_CHARS = 200
MAX_SHORT_CHARS = 300  # codes, cities, owner, url
MAX_TEXT_CHARS = 4000  # descriptions
MAX_NOTE_CHARS = 1000
MAX_LIST_ITEMS = 30  # aliases, needs
MAX_ID_CHARS = 200
MAX_USERNAME_CHARS = 64
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 256
MAX_TOKEN_NAME_CHARS = 64
MAX_INVESTMENT_CNY = 1e13
MAX_RESULTS = 100  # the largest k or limit an API caller may ask for

NEW_ID = re.compile(r"^[a-z]+(-[a-z0-9]+){1,8}$")
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
STOCK_CODE = re.compile(r"^(?:(?:SH|SZ|BJ|HK)\.?)?\d{4,6}(?:\.(?:SH|SZ|BJ|HK|SS))?$", re.IGNORECASE)
URL = re.compile(r"^https?://[^\s<>\"']{1,290}$", re.IGNORECASE)
DATE = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?)?$")  # 2019, 2019-06, 2019-06-30
_MARKUP = re.compile(r"<\s*[/!?]?[A-Za-z][^>]*>|<!--|&#?[A-Za-z0-9]+;")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SLUG_DROP = re.compile(r"[^a-z0-9]+")


class FormError(ValueError):
    """A rejected field: `field` names it, `key` is the message, `params` fill it in."""

    def __init__(self, field: str, key: str, **params: Any):
        super().__init__(f"{field}: {key} {params or ''}".strip())
        self.field = field
        self.key = key
        self.params = params


def text(value: Any, field: str, max_chars: int, *, required: bool = False, multiline: bool = False) -> str:
    s = unicodedata.normalize("NFC", "" if value is None else str(value)).strip()
    if multiline:
        s = s.replace("\r\n", "\n")
    if required and not s:
        raise FormError(field, "error.required")
    if len(s) > max_chars:
        raise FormError(field, "error.too_long", max=max_chars, got=len(s))
    if _CONTROL.search(s) or (not multiline and ("\n" in s or "\r" in s)):
        raise FormError(field, "error.control_chars")
    return s


def name(value: Any, field: str, *, required: bool = False) -> str:
    s = text(value, field, MAX_NAME_CHARS, required=required)
    if "<" in s or ">" in s:
        raise FormError(field, "error.angle_brackets")
    return s


def items(value: Any, field: str, *, max_items: int = MAX_LIST_ITEMS) -> list[str]:
    """A list typed one per line or separated by '|' (the bundle's multi-value separator)."""
    if isinstance(value, (list, tuple)):
        parts: Iterable[Any] = value
    else:
        parts = re.split(r"[\n|]", str(value or ""))
    out = [name(p, field) for p in parts]
    out = list(dict.fromkeys(p for p in out if p))
    if len(out) > max_items:
        raise FormError(field, "error.too_many", max=max_items)
    return out


def choice(value: Any, field: str, allowed: Iterable[str], *, required: bool = False) -> str:
    s = text(value, field, MAX_SHORT_CHARS, required=required)
    allowed = tuple(allowed)
    if s and s not in allowed:
        raise FormError(field, "error.choice", allowed=", ".join(allowed))
    return s


def number(value: Any, field: str, *, minimum: float = 0, maximum: float = MAX_INVESTMENT_CNY) -> float | None:
    s = text(value, field, 40).replace(",", "")
    if not s:
        return None
    try:
        x = float(s)
    except ValueError:
        raise FormError(field, "error.number") from None
    if not (minimum <= x <= maximum) or x != x:
        raise FormError(field, "error.range", min=minimum, max=maximum)
    return x


def integer(value: Any, field: str, default: int, *, minimum: int = 1, maximum: int = MAX_RESULTS) -> int:
    if value in (None, ""):
        return default
    try:
        x = int(str(value))
    except ValueError:
        raise FormError(field, "error.number") from None
    if not minimum <= x <= maximum:
        raise FormError(field, "error.range", min=minimum, max=maximum)
    return x


def pattern(value: Any, field: str, regex: re.Pattern[str], key: str) -> str:
    s = text(value, field, MAX_SHORT_CHARS)
    if s and not regex.match(s):
        raise FormError(field, key)
    return s


def node_id(value: Any, field: str = "id") -> str:
    """An id typed by a user or API caller that refers to an existing node (checked by the caller)."""
    s = text(value, field, MAX_ID_CHARS, required=True)
    if any(ch.isspace() for ch in s):
        raise FormError(field, "error.bad_id")
    return s


def new_node_id(prefix: str, *names: str | None) -> str:
    """A readable id with a short random suffix: proj-liquid-cooling-7f3a.

    The suffix makes two projects of the same name distinct ids without a lookup, and a random
    one (not a counter) never collides between processes.
    """
    base = ""
    for n in names:
        if not n:
            continue
        if re.search(r"[\u3400-\u9fff]", n):
            from pypinyin import lazy_pinyin

            n = " ".join(lazy_pinyin(n))
        base = _SLUG_DROP.sub("-", unicodedata.normalize("NFKD", n).encode("ascii", "ignore").decode().lower())
        base = "-".join([w for w in base.split("-") if w][:5])[:40].strip("-")
        if base:
            break
    new = f"{prefix}-{base or 'new'}-{secrets.token_hex(2)}"
    if not NEW_ID.match(new):
        raise FormError("id", "error.bad_id")
    return new


def plain(value: Any, field: str, max_chars: int, *, required: bool = False, multiline: bool = False) -> str:
    """Free text that must not carry markup: relation roles, evidence and the reasons of an edit,
    which travel into exports and other tools. A tag or an entity is refused with a message
    rather than stored and escaped, so what staff typed is what every reader sees."""
    s = text(value, field, max_chars, required=required, multiline=multiline)
    if _MARKUP.search(s):
        raise FormError(field, "error.markup")
    return s


def date(value: Any, field: str) -> str:
    """A date as the sources write them: a year, a month or a day (2019, 2019-06, 2019-06-30)."""
    s = text(value, field, 10)
    if s and not DATE.match(s):
        raise FormError(field, "error.date")
    return s


def date_order(since: str | None, until: str | None, field: str = "until") -> None:
    """`until` may not come before `since`; dates of different precision compare on what both
    give (2019 and 2019-06 agree)."""
    if since and until:
        n = min(len(since), len(until))
        if until[:n] < since[:n]:
            raise FormError(field, "error.until_before_since", since=since, until=until)

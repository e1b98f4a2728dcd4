"""The Content-Disposition header of every download, written in one place.

A download's name can carry ids that bundles and staff typed (a project id, a region id). A
quote, a backslash or CR/LF in one must not end the quoted name early or split the header, and
a Chinese name must arrive intact. RFC 6266 with RFC 5987: an ASCII `filename` for old clients
(quotes, backslashes, percent signs and control characters removed) and `filename*=UTF-8''…`
with the exact name, percent-encoded, which current browsers prefer.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

# RFC 5987 attr-char beyond letters and digits: everything else in filename* is percent-encoded.
_ATTR_CHARS = "!#$&+-.^_`|~"
# Not in the quoted ASCII name: outside printable ASCII, the quote and backslash that end or
# escape it, and "%" that some browsers decode.
_NOT_IN_FALLBACK = re.compile(r'[^\x20-\x7e]|["\\%]')


def attachment(filename: str) -> str:
    """The header value that saves the response as `filename`.

    >>> attachment("项目 1.csv")
    'attachment; filename="1.csv"; filename*=UTF-8\\'\\'%E9%A1%B9%E7%9B%AE%201.csv'
    """
    name = "".join("_" if c in "/\\" else c for c in filename if not _is_control(c)).strip() or "download"
    ascii_name = _NOT_IN_FALLBACK.sub("", unicodedata.normalize("NFKD", name)).strip()
    if not ascii_name or ascii_name.startswith("."):
        ascii_name = "download" + ascii_name
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"


def _is_control(c: str) -> bool:
    """Control and format characters, and the Unicode line and paragraph separators."""
    return unicodedata.category(c)[0] == "C" or c in "\u2028\u2029"

"""Cell values made safe for where they land: a spreadsheet, or a terminal.

Graph text comes from bundles, staff edits and query results, so it is untrusted wherever it is
shown. Two places interpret text rather than display it:

- A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula
  (`=HYPERLINK(...)`, `@SUM(...)`, DDE payloads), and Excel also strips a leading tab or CR
  before deciding. Every CSV and XLSX the product writes passes its cells through
  `spreadsheet_cell`, the OWASP "CSV injection" rule: such a cell gets a leading apostrophe,
  which Excel and LibreOffice show as nothing and never evaluate. Plain numbers (`-1.5`,
  `+3`) are left alone, so a score or a coordinate stays a number.
- A terminal obeys escape sequences: ESC `[2J` clears it, OSC 8 makes fake links, OSC 52
  writes the clipboard, and bidi controls reorder what a reader sees. `terminal_text` shows every
  control character as a visible escape (`\\x1b`, `\\u202e`) instead.

One function each, used by the CLI, the web downloads and the exports alike, so the rules
cannot drift apart the way three copies of the formula check once did.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["FORMULA_START", "spreadsheet_cell", "terminal_text"]

#: First characters (after optional spaces) that make a spreadsheet evaluate a cell.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A whole cell that is just a number: a spreadsheet reads it as that number, never as a formula.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# C0 and C1 controls and DEL, line/paragraph separators, and the bidi embedding, override and
# isolate controls ("Trojan source"): each can change what a terminal shows.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_KEEP_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def spreadsheet_cell(value: Any) -> Any:
    """The value with a leading `'` when a spreadsheet would run it as a formula; else unchanged.

    `=HYPERLINK(...)` and ` @SUM(A1)` get the apostrophe; `-1.5` and `Acme` do not. Numbers and
    other non-text values are returned as they are, so an XLSX cell stays numeric.
    """
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(("\t", "\r")):
        return "'" + value
    head = value.lstrip()
    if head.startswith(FORMULA_START) and not _NUMBER.fullmatch(head.rstrip()):
        return "'" + value
    return value


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def terminal_text(text: str, keep_newlines: bool = False) -> str:
    """The text with every control character shown as a visible escape, for printing to a terminal.

    ESC, then `[2J`, becomes the four characters backslash, x, 1, b followed by `[2J`, and a
    newline backslash-n; keep_newlines leaves newlines alone, for multi-line output (a report)
    whose lines we built ourselves.
    """
    return (_CONTROL_KEEP_LINES if keep_newlines else _CONTROL).sub(_escape, text)

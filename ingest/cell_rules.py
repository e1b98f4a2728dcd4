"""What a value may hold: ids and names refuse control characters, prose loses them with a warning.

Why two rules: an id or a name is matched, linked and shown everywhere; a NUL or an escape in it
makes two ids that look the same, breaks the HTML and the terminal, and cannot be repaired by
guessing, so the row is rejected. A description is only read; a stray control character in it is
noise from a copy and paste, so it is removed (tab and line breaks stay) and the run says so.

Which is which comes from the schema (kg/schema.yaml), not from a list here: prose is a plain
`string` property that is neither one of the label's names (`required_any`) nor an enum, plus any
column the schema does not declare (kept in `extra`). Everything else — ids, names, aliases and
other lists, enums, numbers — is a key.
"""

from __future__ import annotations

import re
from typing import Any

from kg.schema import Label, Prop

# C0 and C1 controls, DEL, the line and paragraph separators, and the bidi embedding, override and
# isolate controls (they reorder what a reader sees: "Trojan source").
_CONTROLS = "\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
KEY_CONTROL = re.compile(f"[{_CONTROLS}]")
TEXT_CONTROL = re.compile(f"(?![\t\n\r])[{_CONTROLS}]")  # prose keeps tabs and line breaks
# What a file must hold for any cell of it to need a look (line ends only cut lines or sit in prose).
CONTROL_IN_CELLS = re.compile(f"(?![\n\r])[{_CONTROLS}]")


def is_prose(prop: Prop | None, label: Label | None = None) -> bool:
    """True when a value of this property (None: a column the schema does not declare) is free
    text, where control characters are stripped rather than refused."""
    if prop is None:
        return True
    return prop.type == "string" and not prop.enum and (label is None or prop.name not in label.required_any)


def key_problem(value: object) -> str | None:
    """Why this id, name or key value is refused, or None."""
    found = KEY_CONTROL.search(value) if isinstance(value, str) else None
    if found is None:
        return None
    return (f"control character U+{ord(found.group()):04X} at position {found.start() + 1}: "
            "not allowed in ids, names and other keys")


def clean_prose(value: str) -> tuple[str, str]:
    """The text without its control characters, and what was removed ('' when nothing was)."""
    removed = sorted({f"U+{ord(c):04X}" for c in TEXT_CONTROL.findall(value)})
    if not removed:
        return value, ""
    return TEXT_CONTROL.sub("", value), f"control characters removed ({', '.join(removed)})"


class ControlCharacter(ValueError):
    """A key value holds a control character; `reason` says which and where."""

    def __init__(self, reason: str, value: str):
        super().__init__(reason)
        self.reason, self.value = reason, value


def screen(value: Any, prose: bool) -> tuple[Any, str]:
    """A value as it may be stored, and what was removed from it ('' when nothing was).
    Raises ControlCharacter for a key (a list of keys: any item) that holds one."""
    if not prose:
        for item in value if isinstance(value, list) else [value]:
            why = key_problem(item)
            if why:
                raise ControlCharacter(why, str(item))
        return value, ""
    return clean_prose(value) if isinstance(value, str) else (value, "")

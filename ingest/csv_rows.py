"""Reading CSV rows so that no row is ever lost without a word (the bundle and the csv kind).

Why not `csv.reader`: it lets one bad quote decide the fate of the rest of the file. An unclosed
quote swallows the following rows into one cell (and the file loads with no complaint), and
after its field-size error it carries on from the middle of the over-long cell, so the cell's
remaining lines are read as rows of their own (a row can be smuggled that way). This reader
works on physical lines and decides per record:

- A quoted cell may span lines only in a prose column (the caller says which: `multiline`), and
  then only up to `csv_max_cell_lines` lines. A quote that opens in an id or a name and does not
  close on its line, or that never closes cleanly (the end of the file, or text right after what
  would be its closing quote), rejects that row as "unclosed quote" and reading resumes at the
  next physical line, so the good rows after it load.
- A cell longer than `csv_max_cell_chars` characters (or lines) rejects its row, and reading
  resumes after the cell's closing quote: what is inside a cell is never read as rows.
- A row with more cells than the header has columns is rejected; a header wider than
  `csv_max_columns`, or with a column named twice, refuses the file.
- A symbolic link, or anything but a regular file, refuses the file unless
  `bundle_follow_symlinks` is set (a bundle is data somebody handed over: a link can point
  at any file the loading user can read).

Every problem is a Rejection with file, row (the physical line, header = 1), field and reason.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.cell_rules import CONTROL_IN_CELLS, key_problem
from ingest.records import Rejection

LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line ends csv itself accepts; not U+2028 and friends
UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that did not decode (surrogateescape)


@dataclass(frozen=True)
class CsvLimits:
    """The reader's limits; `from_settings` reads them from the settings table (kg/settings.py)."""

    max_cell_chars: int = 131_072
    max_cell_lines: int = 1_000
    max_columns: int = 500
    follow_symlinks: bool = False

    @classmethod
    def from_settings(cls, settings: Any = None) -> CsvLimits:
        """The limits of these settings; without any, of the process's settings (config file
        and STAKEGRAPH_* variables), which is what a source built without settings reads."""
        if settings is None:
            from kg.settings import load_settings

            settings = load_settings()
        return cls(int(settings.csv_max_cell_chars), int(settings.csv_max_cell_lines),
                   int(settings.csv_max_columns), bool(settings.bundle_follow_symlinks))


@dataclass
class CsvTable:
    """One file as read: the header, the good rows with their line numbers, and what was not."""

    header: list[str] = field(default_factory=list)
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    refused: bool = False  # the whole file was not read (no header, a bad header, a link, …)
    controls: bool = False  # some cell may hold a control character (ingest.cell_rules): screen the rows


@dataclass
class _Record:
    cells: list[str]
    first: int  # index of its first physical line
    last: int  # index of its last physical line
    problem: tuple[str, str] | None = None  # (field, reason) when the row is rejected
    unclosed: bool = False  # a quote that never closed: resume at first + 1, not at last + 1


def file_problem(path: Path, limits: CsvLimits) -> str | None:
    """Why this directory entry must not be read as a data file, or None."""
    if path.is_symlink() and not limits.follow_symlinks:
        return "file refused: a symbolic link (set bundle_follow_symlinks = true to follow links)"
    if not path.is_file():  # a folder, a FIFO (which would block the run), a device
        return "file refused: not a regular file"
    return None


def read_csv(path: Path, feed: str, limits: CsvLimits | None = None, *,
             multiline: Callable[[str], bool] = lambda column: False, encoding: str = "utf-8") -> CsvTable:
    """Read one CSV file; `multiline(column)` says whether a quoted cell of that column may span
    lines (prose may; ids and names may not). Undecodable bytes reject their row, not the file."""
    limits = limits or CsvLimits.from_settings()
    out = CsvTable()

    def refuse(row: int, what: str, reason: str) -> CsvTable:
        out.rejected.append(Rejection(feed, path.name, row, what, reason))
        out.refused = True
        return out

    why = file_problem(path, limits)
    if why:
        return refuse(0, "(file)", why)
    utf8 = codecs.lookup(encoding).name == "utf-8"
    text = path.read_bytes().decode("utf-8-sig" if utf8 else encoding, errors="surrogateescape")
    label = "UTF-8" if utf8 else encoding
    undecodable = _undecodable(text)  # one scan of the file spares one per row
    out.controls = CONTROL_IN_CELLS.search(text) is not None
    lines = LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None:
        return refuse(0, "(file)", "file refused: the file is empty (no header row)")
    head = _record(lines, start, [], lambda column: False, limits)
    if head.problem:
        return refuse(start + 1, "(header)", f"file refused: {head.problem[1]}")
    header = [h.strip() for h in head.cells]
    if any(_undecodable(h) for h in header):
        return refuse(start + 1, "(header)", f"file refused: the header is not {label} text")
    bad_name = next((h for h in header if key_problem(h)), None)
    if bad_name is not None:
        return refuse(start + 1, "(header)", f"file refused: column {bad_name!r}: {key_problem(bad_name)}")
    if len(header) > limits.max_columns:
        return refuse(start + 1, "(header)",
                      f"file refused: {len(header)} columns, more than csv_max_columns ({limits.max_columns})")
    seen: set[str] = set()
    twice = next((h for h in header if h and (h in seen or seen.add(h))), None)
    if twice:
        return refuse(start + 1, twice, f"file refused: column {twice} is named twice")
    out.header = header
    i = head.last + 1
    while i < len(lines):
        rec = _record(lines, i, header, multiline, limits)
        i = rec.first + 1 if rec.unclosed else rec.last + 1
        line_no = rec.first + 1
        if rec.problem:
            out.rejected.append(Rejection(feed, path.name, line_no, *rec.problem))
            continue
        if not any(c.strip() for c in rec.cells):
            continue
        if len(rec.cells) > len(header):
            out.rejected.append(Rejection(feed, path.name, line_no, "(row)",
                                          f"{len(rec.cells)} cells but the header has {len(header)} columns"))
            continue
        row = dict(zip(header, (c.strip() for c in rec.cells), strict=False))
        bad = next((k for k, v in row.items() if _undecodable(v)), None) if undecodable else None
        if bad is not None:
            out.rejected.append(Rejection(feed, path.name, line_no, bad, f"not {label} text (bad encoding)"))
            continue
        out.rows.append((line_no, row))
    return out


def _undecodable(text: str) -> bool:
    return UNDECODABLE.search(text) is not None


def _record(lines: list[str], i: int, header: list[str], multiline: Callable[[str], bool],
            limits: CsvLimits) -> _Record:
    """The record that starts at line i (RFC 4180: a quoted cell starts with `"`, a quote in it
    is doubled, and only `,` or the line end may follow its closing quote)."""
    line = lines[i]
    if '"' not in line:  # the common case, at C speed
        cells = line.split(",")
        return _Record(cells, i, i, _too_long(cells, header, limits) if len(line) > limits.max_cell_chars else None)
    cells: list[str] = []
    problem: tuple[str, str] | None = None
    spanning = ""  # the first column whose cell spans lines
    text, cur, pos = line, i, 0

    def unclosed(column: str, why: str) -> _Record:
        where = f"field {column}" if column in header else column
        return _Record(cells, i, cur, (column, f"unclosed quote in {where} ({why}); reading resumes at the next line"), True)

    while True:
        column = header[len(cells)] if len(cells) < len(header) else f"(column {len(cells) + 1})"
        if not text.startswith('"', pos):
            comma = text.find(",", pos)
            end = len(text) if comma == -1 else comma
            cells.append(text[pos:end])
            if problem is None and end - pos > limits.max_cell_chars:
                problem = (column, _long_reason(end - pos, 1, limits))
            pos = end
        else:
            parts: list[str] = []
            size, cell_first, p = 0, cur, pos + 1
            while True:
                q = text.find('"', p)
                if q == -1:  # still open at the end of this line
                    if not multiline(column):
                        return unclosed(column, "an id, a name or a value cannot span lines")
                    if cur + 1 >= len(lines):
                        return unclosed(column, "no closing quote before the end of the file")
                    size += len(text) - p + 1
                    if size <= limits.max_cell_chars and cur - cell_first < limits.max_cell_lines:
                        parts += (text[p:], "\n")
                    cur, text, p = cur + 1, lines[cur + 1], 0
                    spanning = spanning or column
                    continue
                if text.startswith('"', q + 1):  # a doubled quote is a quote
                    size += q + 1 - p
                    parts.append(text[p:q + 1])
                    p = q + 2
                    continue
                size += q - p
                parts.append(text[p:q])
                pos = q + 1
                break
            if pos < len(text) and text[pos] != ",":
                if cur > i:  # the quote that seemed to close it opens a cell of a later row
                    return unclosed(spanning, f"the quote on line {cur + 1} is followed by text, so it does not close it")
                return _Record(cells, i, cur, (column, f"text after the closing quote in field {column}"))
            lines_spanned = cur - cell_first + 1
            if problem is None and (size > limits.max_cell_chars or lines_spanned > limits.max_cell_lines):
                skipped = f"; lines {cell_first + 1}-{cur + 1} were skipped, not read as rows" if cur > cell_first else ""
                problem = (column, _long_reason(size, lines_spanned, limits) + skipped)
            cells.append("" if problem else "".join(parts))
        if pos >= len(text):
            break
        pos += 1  # the comma
    if problem is None and cur > i and len(cells) > len(header):
        # A multi-line record wider than the header is rows run together by a stray quote.
        return unclosed(spanning, f"lines {i + 1}-{cur + 1} would make one row of {len(cells)} cells; "
                                  f"the header has {len(header)} columns")
    return _Record(cells, i, cur, problem)


def _too_long(cells: list[str], header: list[str], limits: CsvLimits) -> tuple[str, str] | None:
    for n, cell in enumerate(cells):
        if len(cell) > limits.max_cell_chars:
            return (header[n] if n < len(header) else f"(column {n + 1})", _long_reason(len(cell), 1, limits))
    return None


def _long_reason(chars: int, lines: int, limits: CsvLimits) -> str:
    over = (f"{lines} lines, more than csv_max_cell_lines ({limits.max_cell_lines})" if lines > limits.max_cell_lines
            else f"{chars} characters, more than csv_max_cell_chars ({limits.max_cell_chars})")
    return f"cell too long: {over}"

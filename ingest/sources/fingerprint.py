"""What a source would read, summed up before reading it: the refresh's unchanged-source check.

A weekly refresh whose sources did not change should not re-read, re-resolve and re-diff a
national register to find nothing. Each source gets a fingerprint taken *before* it is read:
for a source with a `path` (bundle, csv, json, jsonl, text) the kind, its options and the
relative name, size and modification time of every file under the path; a source with a
`fingerprint()` method of its own (staff edits) gives that. A source with neither (an HTTP API)
has none and is always read, which also makes the run one that cannot be skipped.

Taken before the read, so a file rewritten while it is being read leaves a fingerprint that no
longer matches it, and the next run reads it again.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

__all__ = ["source_fingerprint", "tree_fingerprint"]


def tree_fingerprint(path: Path, skip: tuple[str, ...] = ()) -> str:
    """sha1 of (relative name, size, mtime in ns) of every file under `path` (or of the file),
    and of the target of every symbolic link: a file added, removed, renamed, or rewritten
    changes it. A missing path has its own fingerprint (the read will reject it each time).
    Folders named in `skip` are left out (__pycache__: compiled as a side effect of running)."""
    h = hashlib.sha1()
    path = Path(path)
    if not path.exists():
        h.update(b"missing:" + str(path).encode())
        return h.hexdigest()
    if path.is_file():
        _add_file(h, path, path.name)
        return h.hexdigest()
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for name in sorted(filenames):
            full = Path(dirpath) / name
            _add_file(h, full, full.relative_to(path).as_posix())
    return h.hexdigest()


def _add_file(h: Any, full: Path, rel: str) -> None:
    h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
    if full.is_symlink():
        h.update(b"link:" + os.readlink(full).encode("utf-8", "surrogateescape") + b"\0")
    try:
        st = full.stat()
    except OSError:  # a dangling link: the reader reports it
        h.update(b"unreadable\0")
        return
    h.update(f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}\0".encode())


def source_fingerprint(source: Any) -> str | None:
    """The source's fingerprint, or None when it cannot tell without reading (always read)."""
    own = getattr(source, "fingerprint", None)
    if callable(own):
        value = own()
        return None if value is None else f"{type(source).__name__}:{value}"
    path = getattr(source, "path", None)
    if path is None:
        return None
    h = hashlib.sha1(type(source).__name__.encode())
    h.update(_options(source).encode("utf-8", "surrogateescape"))
    h.update(tree_fingerprint(Path(path)).encode())
    return h.hexdigest()


#: Options left out: the CSV reader's limits come from the settings (None: the process's), and
#: the settings are part of the run's own fingerprint (jobs.unchanged); a limit that bites
#: rejects rows, and a run with rejected rows is never skipped.
NOT_OPTIONS = ("limits",)


def _options(source: Any) -> str:
    """The source's declared options (mapping, patterns...): a changed mapping reads the same
    files into other records."""
    if is_dataclass(source):
        return repr([(f.name, getattr(source, f.name, None)) for f in fields(source) if f.repr and f.name not in NOT_OPTIONS])
    return repr(sorted((k, v) for k, v in vars(source).items() if k not in NOT_OPTIONS))

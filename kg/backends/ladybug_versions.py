"""Published versions of an embedded graph, so that a write is all-or-nothing.

A ladybug database has one writer, and a read-only handle sees a snapshot until reopened. A
refresh is thousands of statements; to make it atomic for readers and safe against kill -9, the
writer works on a private copy (`graph/v-<time>-<pid>/`) and publishes it by atomically
replacing the one-line file `graph/CURRENT`. Readers open whatever CURRENT names and reopen when
it changes. A killed writer leaves an unpublished folder that the next writer deletes.

A version name becomes a folder path (and `restore` reads one from an archive's manifest), so
every name is checked against the one pattern the writer uses: a name such as `/srv` or `../x`
would otherwise make a restore or a prune replace or delete a folder outside `graph/`.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from kg.store import StoreError

DB_FILE = "graph.lbdb"
DATA_DIR = "data"  # derived files published with the graph (FAISS index, text index)
WORK_PREFIX = ".work-"
# What new_version writes: v-<local time>-<pid>-<6 digits>; nothing else is a version.
VERSION_NAME = re.compile(r"v-[0-9]{8}T[0-9]{6}-[0-9]{1,10}-[0-9]{6}")


def check_version_name(name: object, *, work: bool = False) -> str:
    """The name itself if it is one the writer makes (with `work`, also its private working
    copy's); a StoreError naming it otherwise. Why a pattern, not a path check: it admits no
    separator, no `..` and no absolute path whatever the platform, so the folder is always
    directly under graph/."""
    text = name if isinstance(name, str) else ""
    bare = text.removeprefix(WORK_PREFIX) if work else text
    if not VERSION_NAME.fullmatch(bare):
        raise StoreError(f"{name!r} is not a graph version name (expected v-YYYYMMDDTHHMMSS-<pid>-<6 digits>)")
    return text


class Versions:
    def __init__(self, home: Path):
        self.root = home / "graph"

    @property
    def pointer(self) -> Path:
        return self.root / "CURRENT"

    def current(self) -> str | None:
        try:
            name = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def path(self, name: str) -> Path:
        """The folder of a published version or of a writer's working copy; refuses any other name."""
        return self.root / check_version_name(name, work=True)

    def db_path(self, name: str) -> Path:
        return self.path(name) / DB_FILE

    def new_version(self) -> str:
        """Make a private working copy of the current version (or an empty folder)."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
        work = self.path(f"{WORK_PREFIX}{name}")
        current = self.current()
        if current:
            shutil.copytree(self.path(current), work)
        else:
            work.mkdir()
        (work / DATA_DIR).mkdir(exist_ok=True)
        return work.name

    def publish(self, work_name: str, keep: int) -> str:
        """Rename the working copy to its final name and point CURRENT at it, atomically."""
        work = self.path(work_name)
        final = check_version_name(work_name.removeprefix(WORK_PREFIX))
        _fsync_tree(work)
        os.replace(work, self.path(final))
        tmp = self.root / f".CURRENT.{os.getpid()}"
        tmp.write_text(final + "\n", encoding="utf-8")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.pointer)
        _fsync_dir(self.root)
        self.prune(keep)
        return final

    def discard(self, work_name: str) -> None:
        shutil.rmtree(self.path(work_name), ignore_errors=True)

    def prune(self, keep: int) -> None:
        """Drop unpublished leftovers of killed writers and all but the newest `keep` versions."""
        current = self.current()
        for leftover in self.root.glob(f"{WORK_PREFIX}*"):
            if VERSION_NAME.fullmatch(leftover.name.removeprefix(WORK_PREFIX)) and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
        versions = sorted(p.name for p in self.root.glob("v-*")
                          if VERSION_NAME.fullmatch(p.name) and p.is_dir() and not p.is_symlink())
        for name in versions[: max(0, len(versions) - keep)]:
            if name != current:
                shutil.rmtree(self.path(name), ignore_errors=True)


def _fsync_tree(path: Path) -> None:
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

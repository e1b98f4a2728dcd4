"""Backup and restore of STAKEGRAPH_HOME, consistent while the web app and refreshes run.

What makes a backup consistent without stopping anything:
- the graph: a published ladybug version is never modified after publish (a writer copies it
  to a new folder), so the version CURRENT names is a consistent snapshot. It is hard-linked
  into a staging folder first (instant, and a prune that deletes the version meanwhile only
  unlinks its names), then archived at leisure;
- the workspace (users, history, shortlists, decisions): SQLite's online backup API copies a
  consistent snapshot while other connections keep writing;
- on Neo4j the graph is not in the home: the archive carries a JSONL export of it instead
  (a read of the committed state), and the Neo4j database's own backup remains the tool for
  a large production server (docs/neo4j.md).

Restore writes the version back beside the existing ones and points CURRENT at it atomically,
and copies the workspace in through the same backup API, so even a running app sees the
restored state on its next request; stopping the app first is still the advice.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from kg.backends import current_version, open_view
from kg.locking import WriterLock
from kg.settings import Settings
from kg.store import StoreError

FORMAT = "stakegraph-backup/1"
HOME_FILES = ("stakegraph.toml", "secret_key")
HOME_DIRS = ("runs",)


def backup(settings: Settings, out: Path | None = None, *, with_cache: bool = False) -> tuple[Path, dict[str, Any]]:
    """Write a tar.gz of the published graph, the workspace and the home's settings files."""
    home = settings.home_path
    if current_version(settings) is None:
        raise StoreError(f"no graph in {home} to back up")
    out = out or home / "backups" / f"stakegraph-{time.strftime('%Y%m%dT%H%M%S')}.tar.gz"
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".backup-", dir=home))
    try:
        for _attempt in range(5):
            with open_view(settings) as view:
                version, counts = view.version, view.counts()
            if settings.backend != "ladybug":
                from kg.export import export_files

                export_files(settings, staging / "export", "jsonl")
                break
            if _link_version(home, staging, version):
                break
        else:
            raise StoreError("the graph version changed five times during the backup; try again")
        _sqlite_copy(home / "workspace.db", staging / "workspace.db")
        if with_cache and (home / "cache" / "embeddings.sqlite").exists():
            (staging / "cache").mkdir()
            _sqlite_copy(home / "cache" / "embeddings.sqlite", staging / "cache" / "embeddings.sqlite")
        for name in HOME_FILES:
            if (home / name).is_file():
                shutil.copy2(home / name, staging / name)
        for name in HOME_DIRS:
            if (home / name).is_dir():
                shutil.copytree(home / name, staging / name)
        manifest = {"format": FORMAT, "version": version, "backend": settings.backend, "counts": counts,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
        tmp = out.with_name(out.name + ".part")
        with tarfile.open(tmp, "w:gz") as tar:
            for item in sorted(staging.iterdir()):
                tar.add(item, arcname=item.name)
        os.chmod(tmp, 0o600)  # it holds password hashes and the secret key
        os.replace(tmp, out)
        return out, manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _link_version(home: Path, staging: Path, name: str) -> bool:
    """Hard-link one published version into staging; False if a prune removed it meanwhile."""
    from kg.backends.ladybug_versions import Versions

    target = staging / "graph" / name
    try:
        shutil.copytree(Versions(home).path(name), target, copy_function=_link_or_copy)
    except (FileNotFoundError, shutil.Error):
        shutil.rmtree(staging / "graph", ignore_errors=True)
        return False
    (staging / "graph" / "CURRENT").write_text(name + "\n", encoding="utf-8")
    return True


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _sqlite_copy(src: Path, dst: Path) -> None:
    """A consistent copy of a live SQLite database (WAL included) via the online backup API."""
    if not src.exists():
        return
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def restore(settings: Settings, archive: Path, *, force: bool = False) -> dict[str, Any]:
    """Restore an archive into the home; refuses to replace an existing graph without force.

    Everything is checked before the home changes (see `check_archive`, then the staged copy's
    databases); a refusal leaves the home as it was. Restore only archives you made: a checked
    archive still carries its own settings, secret key and users (docs/operations.md).
    """
    home = settings.home_path
    if current_version(settings) is not None and not force:
        raise StoreError(f"{home} already has a graph; restore with --force to replace it (back it up first)")
    with _open_archive(archive) as tar:
        manifest, members = check_archive(archive, tar, home)
        created = not home.exists()
        home.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=home))
        try:
            try:
                tar.extractall(staging, members=members, filter="data")  # checked already; the filter is a second guard
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise StoreError(f"{archive} is damaged: {exc}") from exc
            _check_staged(archive, staging, manifest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            if created:
                with contextlib.suppress(OSError):
                    home.rmdir()  # made for this restore, and empty again
            raise
        try:
            _apply(settings, archive, staging, manifest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _open_archive(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, "r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise StoreError(f"{archive} is not a readable stakegraph backup (.tar.gz): {exc}") from exc


def _apply(settings: Settings, archive: Path, staging: Path, manifest: dict[str, Any]) -> None:
    home = settings.home_path
    lock = WriterLock(home / "locks" / "writer.lock", f"restore {archive.name}").acquire(wait_s=600)
    try:
        if (staging / "graph").is_dir():
            _restore_version(home, staging, manifest["version"], settings.keep_versions)
        elif (staging / "export").is_dir():
            lock.release()  # the copy takes the writer lock itself
            from kg.export import copy_between

            copy_between(settings, str(staging / "export"), settings.backend, replace=True)
        if (staging / "workspace.db").exists():
            _sqlite_copy(staging / "workspace.db", home / "workspace.db")
        if (staging / "cache" / "embeddings.sqlite").exists():
            (home / "cache").mkdir(exist_ok=True)
            _sqlite_copy(staging / "cache" / "embeddings.sqlite", home / "cache" / "embeddings.sqlite")
        for name in HOME_FILES:
            if (staging / name).is_file():
                shutil.copy2(staging / name, home / name)
        for name in HOME_DIRS:
            if (staging / name).is_dir():
                shutil.copytree(staging / name, home / name, dirs_exist_ok=True)
    finally:
        lock.release()


# What an archive may hold (backup() writes nothing else): files at the top, and folders whose
# members are checked by name. Anything else is refused rather than extracted and ignored.
TOP_FILES = ("manifest.json", "workspace.db", *HOME_FILES)
TOP_DIRS = ("graph", "export", "cache", *HOME_DIRS)
MANIFEST_MAX_BYTES = 1 << 20
MAX_MEMBERS = 5_000_000
SPACE_MARGIN = 1.1  # the staged copy plus a tenth for SQLite's copies and the filesystem's blocks


def check_archive(archive: Path, tar: tarfile.TarFile, home: Path) -> tuple[dict[str, Any], list[tarfile.TarInfo]]:
    """The manifest and the members to extract, after checking every member and every path the
    restore will write or delete; a StoreError naming the archive, member and reason otherwise.

    Why before extracting: tarfile's "data" filter alone would still let a member land anywhere
    inside the staging folder, and the manifest's version name becomes a folder path in the home
    (a name such as "/srv" made the old restore delete that folder)."""
    from kg.backends.ladybug_versions import DB_FILE, check_version_name

    free = shutil.disk_usage(home if home.exists() else _existing_parent(home)).free
    members: list[tarfile.TarInfo] = []
    files: set[str] = set()
    seen: set[str] = set()
    total = 0
    try:
        for m in tar:
            if len(members) >= MAX_MEMBERS:
                raise StoreError(f"{archive}: more than {MAX_MEMBERS:,} members; not a stakegraph backup")
            name = _member_name(archive, m)
            if name in seen:
                raise StoreError(f"{archive}: member {name!r} appears twice (a later copy would replace the first)")
            seen.add(name)
            if m.isreg():
                files.add(name)
                total += m.size
                if total * SPACE_MARGIN > free:
                    raise StoreError(f"{archive}: unpacks to more than {total:,} bytes; {home} has {free:,} free")
            elif m.islnk():
                if m.linkname not in files:  # only names already checked are in files
                    raise StoreError(f"{archive}: member {name!r} is a hard link to {m.linkname!r}, "
                                     "which is not a file earlier in the archive")
                files.add(name)
            elif not m.isdir():
                kind = "a symbolic link" if m.issym() else "a device or special file"
                raise StoreError(f"{archive}: member {name!r} is {kind}; a stakegraph backup holds only files and folders")
            members.append(m)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise StoreError(f"{archive} is damaged or not a .tar.gz: {exc}") from exc
    manifest = _read_manifest(archive, tar, members)
    version = manifest.get("version")
    try:
        check_version_name(version)
    except StoreError as exc:
        raise StoreError(f"{archive}: manifest.json: {exc}") from None
    graph = {n.split("/")[1] for n in seen if n.startswith("graph/")} - {"CURRENT"}
    if graph and graph != {version}:
        raise StoreError(f"{archive}: graph/ holds {sorted(graph)}, but the manifest names version {version!r}")
    if graph and f"graph/{version}/{DB_FILE}" not in seen:
        raise StoreError(f"{archive}: graph/{version}/{DB_FILE} is missing")
    if not graph and "export" not in {n.split("/")[0] for n in seen}:
        raise StoreError(f"{archive}: holds neither a graph version (graph/) nor an export (export/)")
    _check_targets(home, ["locks/writer.lock", *((f"graph/{version}", "graph/CURRENT", f"graph/.CURRENT.restore.{os.getpid()}") if graph else ()),
                          *(n for n in seen if n.split("/")[0] not in ("graph", "export"))])
    return manifest, members


def _member_name(archive: Path, member: tarfile.TarInfo) -> str:
    """The member's name if it is relative, plain (no "..", ".", empty part, backslash or control
    character) and under one of the top-level names a backup writes."""
    raw = member.name
    text = raw[:-1] if raw.endswith("/") else raw
    parts = text.split("/")
    bad = (not text or text.startswith("/") or any(p in ("", ".", "..") for p in parts)
           or any(c == "\\" or ord(c) < 32 or ord(c) == 127 for c in text))
    if bad:
        raise StoreError(f"{archive}: member {raw!r} is not a plain relative path inside the archive "
                         "(absolute, \"..\", empty part, backslash or control character)")
    top = parts[0]
    if not ((len(parts) == 1 and top in TOP_FILES) or top in TOP_DIRS):
        raise StoreError(f"{archive}: member {raw!r} is not something a stakegraph backup holds "
                         f"(expected {', '.join(TOP_FILES)} or the folders {', '.join(TOP_DIRS)})")
    return text


def _read_manifest(archive: Path, tar: tarfile.TarFile, members: list[tarfile.TarInfo]) -> dict[str, Any]:
    entry = next((m for m in members if m.name == "manifest.json"), None)
    if entry is None or not entry.isreg():
        raise StoreError(f"{archive}: no manifest.json; not a stakegraph backup")
    if entry.size > MANIFEST_MAX_BYTES:
        raise StoreError(f"{archive}: manifest.json is {entry.size:,} bytes (at most {MANIFEST_MAX_BYTES:,})")
    fh = tar.extractfile(entry)
    try:
        manifest = json.loads(fh.read().decode("utf-8")) if fh is not None else None
    except (ValueError, RecursionError) as exc:
        raise StoreError(f"{archive}: manifest.json is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else manifest
        raise StoreError(f"{archive} is not a stakegraph backup (format {found!r}, expected {FORMAT!r})")
    return manifest


def _check_targets(home: Path, relative: list[str]) -> None:
    """Every path the restore writes or deletes, relative to the home, stays inside it, also once
    links already in the home are followed (a link out would be written through)."""
    root = home.resolve()
    for rel in relative:
        lexical = os.path.normpath(home / rel)
        if os.path.commonpath([lexical, os.path.normpath(home)]) != os.path.normpath(home):
            raise StoreError(f"restore would write {lexical}, outside {home}; refused")
        real = (home / rel).resolve()
        if not real.is_relative_to(root):
            raise StoreError(f"restore would write {home / rel}, which leads to {real} outside {home}; refused")


def _existing_parent(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def _check_staged(archive: Path, staging: Path, manifest: dict[str, Any]) -> None:
    """The databases open before anything is replaced: SQLite files pass quick_check and the
    graph version opens read-only. Pickles (the resolution state of older releases) are dropped:
    nothing loads one any more, and nothing should carry one forward."""
    for rel in ("workspace.db", "cache/embeddings.sqlite"):
        if (staging / rel).is_file():
            _check_sqlite(archive, staging / rel, rel)
    version_dir = staging / "graph" / manifest["version"]
    if version_dir.is_dir():
        from kg.backends.ladybug import LadybugView
        from kg.backends.ladybug_versions import DB_FILE
        from kg.schema import load_schema

        try:
            LadybugView(version_dir / DB_FILE, manifest["version"], load_schema()).close()
        except StoreError as exc:
            raise StoreError(f"{archive}: graph/{manifest['version']} does not open as a graph: {exc}") from None
        for stale in version_dir.rglob("*.pickle"):
            if stale.is_file():
                stale.unlink()


def _check_sqlite(archive: Path, path: Path, rel: str) -> None:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = con.execute("PRAGMA quick_check").fetchone()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{archive}: {rel} is not a readable SQLite database: {exc}") from None
    if not result or result[0] != "ok":
        raise StoreError(f"{archive}: {rel} fails SQLite's integrity check: {result[0] if result else 'no answer'}")


def _restore_version(home: Path, staging: Path, version: str, keep: int) -> None:
    from kg.backends.ladybug_versions import Versions

    versions = Versions(home)
    versions.root.mkdir(parents=True, exist_ok=True)
    target = versions.path(version)
    if target.exists():  # the same version is still on disk: a restore in place is a no-op for it
        shutil.rmtree(staging / "graph" / version)
    else:
        os.replace(staging / "graph" / version, target)
    tmp = versions.root / f".CURRENT.restore.{os.getpid()}"
    tmp.write_text(version + "\n", encoding="utf-8")
    os.replace(tmp, versions.pointer)
    versions.prune(max(keep, 1))

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
    """Restore an archive into the home; refuses to replace an existing graph without force."""
    home = settings.home_path
    home.mkdir(parents=True, exist_ok=True)
    if current_version(settings) is not None and not force:
        raise StoreError(f"{home} already has a graph; restore with --force to replace it (back it up first)")
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=home))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(staging, filter="data")  # no absolute paths, links out or devices
        manifest = json.loads((staging / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise StoreError(f"{archive} is not a stakegraph backup (format {manifest.get('format')!r})")
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
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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

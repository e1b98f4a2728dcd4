"""Restore of crafted archives: each is refused (or its pickle ignored) before the home changes,
nothing outside the home is touched, and no pickle is ever loaded (issue 12, finding 4)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import os
import pickle
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.resolve.incremental import ResolveState
from jobs.tasks import init_home, load_bundle
from kg.backends import current_version
from kg.backends.ladybug_versions import Versions, check_version_name
from kg.backup import backup, restore
from kg.settings import load_settings
from kg.store import StoreError

TINY = Path(__file__).parent / "fixtures" / "tiny"


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> tuple[Path, Path]:
    """A home with a graph, and an archive `stakegraph backup` made of it."""
    root = tmp_path_factory.mktemp("restore-safety")
    settings = load_settings({"home": str(root / "home"), "embedder": "lexical"})
    init_home(settings)
    load_bundle(settings, TINY)
    archive, _ = backup(settings, root / "genuine.tar.gz")
    return settings.home_path, archive


@pytest.fixture
def target(made, tmp_path):
    """A copy of the made home, which a crafted restore --force must leave exactly as it is."""
    home = tmp_path / "target"
    shutil.copytree(made[0], home)
    return load_settings({"home": str(home), "embedder": "lexical"})


@pytest.fixture
def victim(tmp_path) -> Path:
    """A folder outside the home that an archive tries to delete or write into."""
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me", encoding="utf-8")
    return folder


def tree(root: Path) -> dict[str, tuple]:
    """Every entry under root: kind, size, mtime and a digest of the content (files)."""
    out: dict[str, tuple] = {}
    for dirpath, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(dirpath) / name
            st = path.lstat()
            digest = hashlib.sha1(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else ""
            out[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return out


def genuine_members(archive: Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    with tarfile.open(archive, "r:gz") as tar:
        return [(m, tar.extractfile(m).read() if m.isreg() else None) for m in tar.getmembers()]


def craft(archive: Path, out: Path, edit: Callable[[list[tuple[tarfile.TarInfo, bytes | None]]], None]) -> Path:
    """The genuine archive with its member list edited (members are (TarInfo, data) pairs)."""
    members = genuine_members(archive)
    edit(members)
    with tarfile.open(out, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    return info, data


def link_member(name: str, target: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def set_manifest(version: str):
    def edit(members):
        for i, (info, data) in enumerate(members):
            if info.name == "manifest.json":
                manifest = {**json.loads(data), "version": version}
                members[i] = (info, json.dumps(manifest).encode())
    return edit


def add(*extra):
    def edit(members):
        members.extend(extra)
    return edit


class RunsCode:
    """Unpickling this writes the marker file: what a crafted resolution state would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",)


def evil_pickle(marker: Path) -> bytes:
    return pickle.dumps((3, RunsCode(marker)))


def version_of(archive: Path) -> str:
    with tarfile.open(archive, "r:gz") as tar:
        return json.loads(tar.extractfile("manifest.json").read())["version"]


CASES = {
    "version is an absolute path": lambda v, victim, home: set_manifest(str(victim)),
    "version climbs out of graph/": lambda v, victim, home: set_manifest("../victim"),
    "version is an empty name": lambda v, victim, home: set_manifest(""),
    "member climbs out": lambda v, victim, home: add(file_member("../../evil", b"x")),
    "member climbs out inside a folder": lambda v, victim, home: add(file_member(f"graph/{v}/../../../evil", b"x")),
    "absolute member": lambda v, victim, home: add(file_member(str(victim / "evil"), b"x")),
    "symlink member out": lambda v, victim, home: add(link_member("runs/link", str(victim / "precious.txt"), tarfile.SYMTYPE)),
    "symlink member inside": lambda v, victim, home: add(link_member(f"graph/{v}/data/x", "graph.lbdb", tarfile.SYMTYPE)),
    "hard link out": lambda v, victim, home: add(link_member("runs/hard", str(victim / "precious.txt"), tarfile.LNKTYPE)),
    "device member": lambda v, victim, home: add(link_member("runs/dev", "", tarfile.CHRTYPE)),
    "unknown top-level member": lambda v, victim, home: add(file_member(".bashrc", b"x")),
    "member twice": lambda v, victim, home: add(file_member("secret_key", b"one"), file_member("secret_key", b"two")),
    "second graph version": lambda v, victim, home: add(file_member("graph/v-20200101T000000-1-000001/graph.lbdb", b"x")),
}
REASONS = {
    "version is an absolute path": "not a graph version name", "version climbs out of graph/": "not a graph version name",
    "version is an empty name": "not a graph version name", "member climbs out": "not a plain relative path",
    "member climbs out inside a folder": "not a plain relative path", "absolute member": "not a plain relative path",
    "symlink member out": "symbolic link", "symlink member inside": "symbolic link", "hard link out": "hard link",
    "device member": "device", "unknown top-level member": "not something a stakegraph backup holds",
    "member twice": "appears twice", "second graph version": "but the manifest names version",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_crafted_archive_is_refused_and_nothing_changes(case, made, target, victim, tmp_path):
    archive = craft(made[1], tmp_path / "crafted.tar.gz", CASES[case](version_of(made[1]), victim, target.home_path))
    home_before, victim_before = tree(target.home_path), tree(victim)
    with pytest.raises(StoreError, match=REASONS[case]):
        restore(target, archive, force=True)
    assert tree(target.home_path) == home_before
    assert tree(victim) == victim_before
    assert not (tmp_path / "evil").exists() and not (victim / "evil").exists()


def test_a_crafted_archive_is_refused_in_an_empty_home_too(made, victim, tmp_path):
    archive = craft(made[1], tmp_path / "crafted.tar.gz", set_manifest(str(victim)))
    settings = load_settings({"home": str(tmp_path / "new"), "embedder": "lexical"})
    before = tree(victim)
    with pytest.raises(StoreError, match="not a graph version name"):
        restore(settings, archive)
    assert not settings.home_path.exists() and tree(victim) == before


def test_sizes_beyond_the_free_space_are_refused_before_extracting(made, target, tmp_path):
    """A header may claim any size: the claim is checked against the home's free space first."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for info, data in genuine_members(made[1]):
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
        body = raw.getvalue()  # before close: no end-of-archive blocks after the members
    huge = tarfile.TarInfo("runs/huge.json")
    huge.size = shutil.disk_usage(target.home_path).free * 2  # claimed; the data is not there
    archive = tmp_path / "huge.tar.gz"
    archive.write_bytes(gzip.compress(body + huge.tobuf(tarfile.PAX_FORMAT) + b"\0" * 1024))
    before = tree(target.home_path)
    with pytest.raises(StoreError, match="unpacks to more than"):
        restore(target, archive, force=True)
    assert tree(target.home_path) == before


@pytest.mark.parametrize("bad", ["workspace.db", "graph"])
def test_databases_that_do_not_open_are_refused_before_the_home_changes(bad, made, target, tmp_path):
    version = version_of(made[1])
    name = "workspace.db" if bad == "workspace.db" else f"graph/{version}/graph.lbdb"

    def edit(members):
        for i, (info, _data) in enumerate(members):
            if info.name == name:
                members[i] = (info, b"not a database" * 100)

    archive = craft(made[1], tmp_path / "bad.tar.gz", edit)
    before = tree(target.home_path)
    with pytest.raises(StoreError, match="SQLite|does not open as a graph"):
        restore(target, archive, force=True)
    assert tree(target.home_path) == before
    empty = load_settings({"home": str(tmp_path / "new"), "embedder": "lexical"})
    with pytest.raises(StoreError, match="SQLite|does not open as a graph"):
        restore(empty, archive)
    assert not empty.home_path.exists()  # not even the folder made to unpack into


def test_a_link_in_the_home_leading_out_is_not_written_through(made, target, victim, tmp_path):
    shutil.rmtree(target.home_path / "runs")
    (target.home_path / "runs").symlink_to(victim, target_is_directory=True)
    before = tree(victim)
    with pytest.raises(StoreError, match="outside"):
        restore(target, made[1], force=True)
    assert tree(victim) == before


def test_not_an_archive_or_not_a_backup_is_refused(target, tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x1f\x8b not really gzip")
    before = tree(target.home_path)
    with pytest.raises(StoreError, match="not a readable stakegraph backup|damaged"):
        restore(target, junk, force=True)
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as tar:
        info, data = file_member("manifest.json", b'{"format": "something else", "version": "v-20200101T000000-1-000001"}')
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(StoreError, match="not a stakegraph backup"):
        restore(target, other, force=True)
    assert tree(target.home_path) == before


def test_a_pickled_state_in_an_archive_is_dropped_and_never_loaded(made, tmp_path, caplog):
    """The archive is otherwise genuine, so it is restored; its pickle is not carried over, and a
    pickle put into the graph folder afterwards is deleted unread by the next refresh."""
    marker = tmp_path / "marker"
    version = version_of(made[1])
    archive = craft(made[1], tmp_path / "pickled.tar.gz",
                    add(file_member(f"graph/{version}/data/resolution_state.pickle", evil_pickle(marker))))
    settings = load_settings({"home": str(tmp_path / "restored"), "embedder": "lexical"})
    restore(settings, archive)
    data = Versions(settings.home_path).path(version) / "data"
    assert not (data / "resolution_state.pickle").exists() and (data / "resolution_state.arrow").is_file()

    (data / "resolution_state.pickle").write_bytes(evil_pickle(marker))  # as if put there by hand
    (data / "resolution_state.arrow").unlink()
    with caplog.at_level(logging.INFO, logger="stakegraph.refresh"):
        first = load_bundle(settings, TINY)
    assert "never loaded" in caplog.text and "from scratch" in caplog.text
    assert first.totals()["added"] == first.totals()["changed"] == 0
    new = Versions(settings.home_path).path(current_version(settings)) / "data"
    assert not (new / "resolution_state.pickle").exists() and ResolveState.load(new / "resolution_state.arrow") is not None
    assert not marker.exists()


def test_the_state_loader_never_unpickles(tmp_path):
    marker = tmp_path / "marker"
    for name in ("resolution_state.arrow", "resolution_state.pickle"):
        (tmp_path / name).write_bytes(evil_pickle(marker))
        assert ResolveState.load(tmp_path / name) is None
    assert not marker.exists()


def edited(path: Path, out: Path, name: str, values: list, kind=None, metadata: dict | None = None) -> Path:
    """The saved state with one column replaced (and, with kind, of another type)."""
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    kind = kind or table.schema.field(name).type
    table = table.set_column(table.schema.get_field_index(name), pa.field(name, kind), pa.array([values], kind))
    table = table.replace_schema_metadata(metadata or table.schema.metadata)
    with pa.OSFile(str(out), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return out


def test_the_state_round_trips_and_a_wrong_field_is_refused_not_used(tmp_path):
    import pyarrow as pa

    from ingest.resolve import resolve

    first = resolve([{"record_id": "a:1", "source": "a", "name_zh": "江苏长电科技股份有限公司", "aliases": []},
                     {"record_id": "b:1", "source": "b", "name_zh": "长电科技", "aliases": []},
                     {"record_id": "c:1", "source": "c", "name_zh": "长电", "name_en": "JCET", "aliases": []}])
    path = tmp_path / "state.arrow"
    first.state.save(path)
    again = ResolveState.load(path)
    assert again is not None and again.rows and again.rows == first.state.rows and again.linked == first.state.linked
    for new, old in zip(again.rows.values(), first.state.rows.values(), strict=True):
        assert (new.evidence, new.reason, new.score, new.who, new.when) == (old.evidence, old.reason, old.score, old.who, old.when)
        assert type(new.judgement) is type(old.judgement) and new.evidence and isinstance(new.evidence[0], type(old.evidence[0]))
    assert (again.hashes, again.keys, again.fingerprint, again.explained) == (
        first.state.hashes, first.state.keys, first.state.fingerprint, first.state.explained)

    rows = len(first.state.rows)
    bad = {
        "an unknown judgement": ("judgement", ["maybe"] * rows),
        "records out of order": ("a", ["zzz"] * rows),
        "a record paired with itself": ("b", [d.record_a for d in first.state.rows.values()]),
        "evidence counts that do not add up": ("evidence_count", [99] * rows),
        "a hash missing": ("hashes", [None] * len(first.state.hashes)),
        "a column of another type": ("hashes", [1] * len(first.state.hashes), pa.large_list(pa.int64())),
        "one id too many": ("ids", [*first.state.hashes, "x:1"]),
    }
    for why, (name, values, *kind) in bad.items():
        assert ResolveState.load(edited(path, tmp_path / "bad.arrow", name, values, *kind)) is None, why
    old_version = {b"format": b"stakegraph-resolve-state", b"version": b"3"}
    assert ResolveState.load(edited(path, tmp_path / "v3.arrow", "who", [""] * rows, metadata=old_version)) is None
    (tmp_path / "cut.arrow").write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert ResolveState.load(tmp_path / "cut.arrow") is None


@pytest.mark.parametrize("name", ["/tmp/x", "../x", "v-1", "", "v-20250101T000000-1-000001/..", ".work-../x",
                                  "v-20250101T000000-1-000001\n", None])
def test_version_names_other_than_the_writers_are_refused(name, tmp_path):
    with pytest.raises(StoreError, match="not a graph version name"):
        Versions(tmp_path).path(name)
    assert check_version_name("v-20250101T000000-12345-000001") == "v-20250101T000000-12345-000001"
    assert Versions(tmp_path).path(".work-v-20250101T000000-1-000001").parent == tmp_path / "graph"

"""A refresh whose inputs did not change reads nothing and publishes nothing; any change of a
source file, a staff edit or decision, the settings, or a failed or rejecting source makes the
next run a full one (jobs.unchanged, ingest.sources.fingerprint)."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ingest.records import Batch
from ingest.sources import load_manifest
from ingest.sources.fingerprint import source_fingerprint
from ingest.sources.staff_source import record_edit
from jobs.refresh import run_refresh
from jobs.tasks import load_bundle, refresh_manifest
from kg.backends import current_version, data_dir, open_view
from kg.schema import Schema


def bundle(folder: Path, orgs: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "organizations.csv").write_text("id,name_zh,name_en,kind,city,source\n" + orgs, encoding="utf-8")
    return folder


ORGS = "a1,甲科技有限公司,Alpha Tech,company,无锡,a\nb1,乙微电子有限公司,Beta Micro,company,无锡,a\n"


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    bundle(tmp_path / "a", ORGS)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "2025-01-02-x.txt").write_text("甲科技与乙微电子签署合作协议\n双方共建产线。\n", encoding="utf-8")
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - {name: a, kind: bundle, path: a}\n  - {name: docs, kind: text, path: docs}\n", encoding="utf-8")
    return path


def refresh(settings, manifest: Path):
    """What `stakegraph refresh --manifest` runs."""
    return refresh_manifest(settings, manifest)


def names(settings) -> dict[str, str]:
    with open_view(settings) as v:
        return {n.id: n.props.get("name_en") for b in v.iter_nodes("Organization") for n in b}


def test_nothing_changed_reads_nothing_and_publishes_nothing(lexical_home, manifest):
    first = refresh(lexical_home, manifest)
    version = current_version(lexical_home)
    recorded = json.loads((data_dir(lexical_home, version) / "inputs.json").read_text())
    assert set(recorded["sources"]) == {"taxonomy", "a", "docs", "staff"} and all(recorded["sources"].values())
    again = refresh(lexical_home, manifest)
    assert again.status == "unchanged" and again.feeds == ["a", "docs", "staff", "taxonomy"]
    assert not any(k.startswith("read:") for k in again.timings)  # no source was read
    assert current_version(lexical_home) == version  # nothing published
    runs = [json.loads(line) for line in (lexical_home.home_path / "runs" / "index.jsonl").read_text().splitlines()]
    assert runs[-1]["run_id"] == again.run_id and runs[-2]["run_id"] == first.run_id  # the run is recorded


def test_a_changed_file_a_staff_edit_or_a_setting_means_a_full_run(lexical_home, manifest, tmp_path):
    refresh(lexical_home, manifest)
    bundle(tmp_path / "a", ORGS.replace("Alpha Tech", "Alpha Technologies"))
    changed = refresh(lexical_home, manifest)
    assert changed.status == "ok" and changed.totals()["changed"] == 1
    assert names(lexical_home)["a1"] == "Alpha Technologies"
    os.utime(tmp_path / "docs" / "2025-01-02-x.txt", ns=(1, 1))  # same bytes, other time: read again
    assert refresh(lexical_home, manifest).status == "ok"
    assert refresh(lexical_home, manifest).status == "unchanged"
    record_edit(lexical_home, "staff1", "Organization", "a1", {"name_en": "Alpha (edited)"})
    edited = refresh(lexical_home, manifest)
    assert edited.status == "ok" and names(lexical_home)["a1"] == "Alpha (edited)"
    assert refresh(lexical_home, manifest).status == "unchanged"
    other = lexical_home.replace(neighbour_limit=lexical_home.neighbour_limit + 1)
    assert refresh(other, manifest).status == "ok"


class Failing:
    """A source that dies half-way through its read (a network drop, a disk error)."""

    name = "a"

    def __init__(self, path: Path):
        self.path = path

    def read(self, schema: Schema) -> Batch:
        raise OSError(f"{self.path}: connection reset half-way through")


def test_a_source_failing_mid_read_leaves_the_graph_and_is_retried(lexical_home, manifest, tmp_path):
    refresh(lexical_home, manifest)
    version, before = current_version(lexical_home), names(lexical_home)
    bundle(tmp_path / "a", ORGS.replace("Beta Micro", "Beta Microelectronics"))
    sources = load_manifest(manifest)
    broken = [Failing(s.path) if s.name == "a" else s for s in sources]
    with pytest.raises(OSError, match="half-way"):
        run_refresh(lexical_home, broken, skip_unchanged=True)
    assert current_version(lexical_home) == version and names(lexical_home) == before
    retried = refresh(lexical_home, manifest)  # not skipped: the file changed
    assert retried.status == "ok" and names(lexical_home)["b1"] == "Beta Microelectronics"


def test_rejected_rows_or_an_unfingerprinted_source_are_never_skipped(lexical_home, manifest, tmp_path):
    bundle(tmp_path / "a", ORGS + "c1,,,company,无锡,a\n")  # no name: rejected
    first = refresh(lexical_home, manifest)
    assert first.rejected
    assert not (data_dir(lexical_home, current_version(lexical_home)) / "inputs.json").exists()
    again = refresh(lexical_home, manifest)
    assert again.status != "unchanged" and again.rejected  # reported again, not hidden by a skip
    assert source_fingerprint(object()) is None  # no path, no fingerprint(): always read


def test_load_always_loads(lexical_home, tmp_path):
    """`stakegraph load DIR` is an explicit request: it reads and diffs even an unchanged folder."""
    folder = bundle(tmp_path / "b", ORGS)
    load_bundle(lexical_home, folder)
    version = current_version(lexical_home)
    assert load_bundle(lexical_home, folder).status == "ok" and current_version(lexical_home) != version


class Versioned(BaseHTTPRequestHandler):
    """One JSON document with an ETag; GETs are counted."""

    etag = '"v1"'
    name = "Alpha Tech"
    gets = 0

    def do_HEAD(self) -> None:  # noqa: N802 (http.server's name)
        self._head(len(self._body()))

    def do_GET(self) -> None:  # noqa: N802
        Versioned.gets += 1
        body = self._body()
        self._head(len(body))
        self.wfile.write(body)

    def _body(self) -> bytes:
        return json.dumps({"items": [{"id": "h1", "name": self.name, "kind": "company"}]}).encode()

    def _head(self, length: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("ETag", Versioned.etag)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_an_http_source_with_the_same_etag_is_not_fetched_again(lexical_home, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Versioned)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        path = tmp_path / "sources.yaml"
        url = f"http://127.0.0.1:{server.server_port}/orgs"
        path.write_text(f"sources:\n  - {{name: api, kind: http, url: '{url}', records: items,\n"
                        "     mapping: {label: Organization, id: id, fields: {name_en: name, kind: kind}}}\n", encoding="utf-8")
        Versioned.gets = 0
        assert refresh(lexical_home, path).status == "ok" and Versioned.gets == 1
        assert refresh(lexical_home, path).status == "unchanged" and Versioned.gets == 1
        Versioned.etag, Versioned.name = '"v2"', "Alpha Technologies"
        assert refresh(lexical_home, path).status == "ok" and Versioned.gets == 2
        assert names(lexical_home)["h1"] == "Alpha Technologies"
    finally:
        server.shutdown()
        thread.join(5)


def test_a_load_then_a_refresh_of_the_same_sources_skips(lexical_home, manifest):
    """The load of a manifest (reader limits from the process) and the weekly refresh (limits from
    the settings) see the same sources: the refresh after it has nothing to do."""
    run_refresh(lexical_home, load_manifest(manifest))
    assert refresh(lexical_home, manifest).status == "unchanged"

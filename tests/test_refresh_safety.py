"""A refresh killed at any moment leaves the graph as before; a second writer is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kg.backends import current_version, open_view
from kg.settings import load_settings

TINY = Path(__file__).parent / "fixtures" / "tiny"
EXE = str(Path(sys.executable).with_name("stakegraph"))


# The lexical embedder keeps the 20,000-row runs about safety, not about model speed.
ENV = {**os.environ, "STAKEGRAPH_EMBEDDER": "lexical"}


def cli(home: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    env = {**ENV, "STAKEGRAPH_HOME": str(home)}
    return subprocess.run([EXE, *args], capture_output=True, text=True, env=env, **kw)


def big_bundle(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    rows = ["id,name_zh,name_en,kind,city,description,source"]
    rows += [f"b{i},测试企业{i}号,Test Company {i},company,无锡,maker of part {i % 97},synthetic" for i in range(n)]
    (folder / "organizations.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def stats(home: Path) -> dict:
    return json.loads(cli(home, "stats", "--json").stdout.splitlines()[-1])


@pytest.mark.slow
def test_kill_9_mid_refresh_leaves_graph_as_before_and_rerun_completes(tmp_path):
    home = tmp_path / "home"
    assert cli(home, "init").returncode == 0
    assert cli(home, "load", str(TINY)).returncode == 0
    before, version = stats(home), current_version(load_settings({"home": str(home)}))
    bundle = big_bundle(tmp_path / "big", 20_000)
    env = {**ENV, "STAKEGRAPH_HOME": str(home)}
    proc = subprocess.Popen([EXE, "load", str(bundle)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list((home / "graph").glob(".work-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # well inside the write phase
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert current_version(load_settings({"home": str(home)})) == version
    assert stats(home) == before  # nothing of the killed run is visible
    out = cli(home, "load", str(bundle), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1])["added"] >= 20_000
    assert stats(home)["Organization"] == before["Organization"] + 20_000
    assert not list((home / "graph").glob(".work-*"))  # the leftover was cleaned up


def test_second_refresh_is_refused_with_a_clear_message(tmp_path):
    from kg.backends import open_writer

    settings = load_settings({"home": str(tmp_path / "home")})
    assert cli(settings.home_path, "init").returncode == 0
    with open_writer(settings, purpose="refresh r-test"):
        out = cli(settings.home_path, "load", str(TINY))
    assert out.returncode != 0
    assert "being written by" in out.stderr and "refresh r-test" in out.stderr


def test_reader_keeps_answering_during_a_write(tmp_path):
    from kg.backends import open_writer
    from kg.views import LiveView

    settings = load_settings({"home": str(tmp_path / "home")})
    assert cli(settings.home_path, "init").returncode == 0
    assert cli(settings.home_path, "load", str(TINY)).returncode == 0
    live = LiveView(settings)
    assert live.get().get("o1") is not None
    with open_writer(settings) as w:
        w.upsert_nodes("Organization", [{"id": "new1", "name_en": "New", "kind": "company"}])
        assert live.get().get("o1") is not None and live.get().get("new1") is None
    assert live.get().get("new1") is not None  # the new version, without a restart
    live.close()
    with open_view(settings) as v:
        assert v.get("new1") is not None

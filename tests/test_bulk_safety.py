"""kill -9 anywhere in the bulk path (Arrow tables built, COPY of nodes, COPY of edges, publish)
leaves the published graph as it was, or, killed after the pointer moved, the complete new one;
never a part. The next writer opens, removes the leftover and publishes in full."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kg.backends import current_version, open_view, open_writer
from kg.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
N_NODES, N_EDGES = 30_000, 90_000

# Writes N_NODES organisations and N_EDGES SUPPLIES edges through the bulk path (create_nodes and
# create_edges: COPY from Arrow tables) and commits; prints a marker before each phase.
WRITER = textwrap.dedent(f"""
    import sys
    from kg.backends import open_writer
    from kg.settings import load_settings

    settings = load_settings({{"home": sys.argv[1]}})
    p = sys.argv[2]  # id prefix
    def say(what):
        print(what, flush=True)
    with open_writer(settings, purpose="bulk kill test") as w:
        say("arrow")
        nodes = [{{"id": f"{{p}}{{i}}", "name_en": f"Bulk {{i}}", "kind": "company", "status": "active",
                  "feeds": ["bulk"], "last_seen": "r1", "first_seen": "r1", "source": "bulk"}} for i in range({N_NODES})]
        say("copy nodes")
        w.create_nodes("Organization", nodes)
        edges = [{{"source_id": f"{{p}}{{i % {N_NODES}}}", "target_id": f"{{p}}{{(i * 7 + 1) % {N_NODES}}}", "status": "active",
                  "feeds": ["bulk"], "last_seen": "r1", "first_seen": "r1", "sources": ["bulk"]}} for i in range({N_EDGES})]
        say("copy edges")
        w.create_edges("SUPPLIES", edges)
        say("publish")
    say("done")
""")


def counts(settings) -> tuple[int, int]:
    with open_view(settings) as v:
        c = v.counts()
    return c["Organization"], c["SUPPLIES"]


@pytest.mark.slow
def test_kill_9_at_random_points_of_the_bulk_path_never_publishes_a_part(tmp_path):
    settings = load_settings({"home": str(tmp_path / "home")})
    with open_writer(settings, purpose="seed") as w:
        w.upsert_nodes("Organization", [{"id": "seed", "name_en": "Seed", "kind": "company"}])
    version, before = current_version(settings), counts(settings)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STAKEGRAPH_COPY_MIN_NODES": "1000", "STAKEGRAPH_COPY_MIN_EDGES": "1000"}
    rng = random.Random(20)
    phases = ["arrow", "copy nodes", "copy edges", "publish"]
    landed: list[str] = []
    for trial in range(12):
        phase = phases[trial % len(phases)]
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(settings.home_path), f"t{trial}-"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        seen = []
        while (line := proc.stdout.readline().strip()) and line != phase:
            seen.append(line)
        assert line == phase, f"trial {trial}: the writer ended before {phase!r}: {seen}"
        time.sleep(rng.uniform(0, 0.05 if phase == "publish" else 1.5))  # somewhere inside the phase
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        landed.append(phase)
        now = current_version(settings)
        if now == version:
            assert counts(settings) == before, f"trial {trial} ({phase}): a part of the killed write is visible"
        else:  # killed after the pointer moved: the whole new graph, nothing less
            assert phase == "publish" and counts(settings) == (before[0] + N_NODES, before[1] + N_EDGES)
            version, before = now, counts(settings)
    assert len(landed) >= 10
    out = subprocess.run([sys.executable, "-c", WRITER, str(settings.home_path), "final-"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.split()[-1] == "done", out.stderr
    assert counts(settings) == (before[0] + N_NODES, before[1] + N_EDGES)
    assert not list((settings.home_path / "graph").glob(".work-*"))  # every killed writer's copy removed

"""The refresh runner: read sources, resolve, diff against the graph, write what changed, derive.

`stakegraph load DIR`, `stakegraph refresh` and the set-up command all run `run_refresh`; only
the list of sources differs. Everything happens inside one graph writer, so a killed run
publishes nothing and the next run starts from the last published graph. The steps live on the
floors below (ingest/ for the records, matching/ for derived data); this module only orders them.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections.abc import Callable, Sequence

from ingest.context import Context
from ingest.extract.step import extract_mentions
from ingest.graph_diff import link_places, mark_unseen, snapshot, write_edges, write_nodes
from ingest.progress import progress
from ingest.records import Batch
from ingest.resolve.step import move_merged_nodes, resolve_entities
from ingest.runs import new_run_id, save_run
from ingest.sources.registry import Source
from ingest.sources.staff_source import StaffSource
from jobs.derive import DERIVE_STEPS
from jobs.unchanged import INPUTS_FILE, run_inputs, unchanged_since_last_run
from kg.backends import open_writer
from kg.changelog import ChangeLog
from kg.gcpause import gc_paused
from kg.memory import memory_mb, release_free_memory
from kg.run import RunContext
from kg.run_cache import clear_run_caches
from kg.schema import load_schema
from kg.settings import Settings

__all__ = ["RejectedAbort", "Step", "default_derive", "default_steps", "run_refresh"]

log = logging.getLogger("stakegraph.refresh")

Step = Callable[[RunContext], None]


class RejectedAbort(RuntimeError):
    """--strict: rows were rejected, so nothing was written."""


def default_steps() -> list[Step]:
    """Ingest's steps, in order: the graph's nodes, merges, places, nodes, merged nodes' edges,
    relations proposed from documents, edges, facts no longer seen."""
    return [snapshot, resolve_entities, link_places, write_nodes, move_merged_nodes, extract_mentions,
            write_edges, mark_unseen]


def default_derive() -> list[Step]:
    """Derived data published with the graph: embeddings and indexes, chain tags, tie summaries."""
    return list(DERIVE_STEPS)


def run_refresh(
    settings: Settings,
    sources: Sequence[Source],
    *,
    strict: bool = False,
    steps: Sequence[Step] | None = None,
    derive: Sequence[Step] | None = None,
    wait_s: float = 0,
    skip_unchanged: bool = False,
) -> ChangeLog:
    """Run every source, then resolution, then the diff and write, then derived data.

    With `skip_unchanged` (the weekly `refresh`; `load DIR` always loads) and the default steps,
    a run whose inputs all equal those of the run that wrote the published graph (jobs.unchanged)
    reads nothing and publishes nothing: its run record says every source was seen complete and
    unchanged. Every run with the default steps records its inputs for the next one."""
    schema = load_schema()
    run_id = new_run_id()
    sources = [*sources, StaffSource(settings)]  # last, so staff values are applied over the sources
    changelog = ChangeLog(run_id, time.strftime("%Y-%m-%dT%H:%M:%S"))
    default = steps is None and derive is None
    t0 = time.perf_counter()
    inputs = run_inputs(settings, schema, sources) if default else None  # taken before any source is read
    changelog.timings["check_inputs"] = round(time.perf_counter() - t0, 3)
    if skip_unchanged and inputs is not None and unchanged_since_last_run(settings, inputs):
        changelog.feeds = sorted(s.name for s in sources)
        changelog.status = "unchanged"
        changelog.finished = time.strftime("%Y-%m-%dT%H:%M:%S")
        log.info("no source, edit, setting or code changed since the published graph was built: nothing to do")
        save_run(settings, changelog)
        return changelog
    batch = Batch()
    for source in progress(sources, "reading sources", unit="source"):
        t0 = time.perf_counter()
        with gc_paused():  # a million edge records, no cycles among them
            batch.extend(source.read(schema))
        changelog.timings[f"read:{source.name}"] = round(time.perf_counter() - t0, 3)
        changelog.memory_mb[f"read:{source.name}"] = memory_mb()
        log.info("read %s: %d nodes, %d edges so far", source.name, len(batch.nodes), len(batch.edges))
    changelog.feeds = sorted(batch.feeds)
    changelog.warnings = [w.as_dict() for w in batch.warnings]
    changelog.normalised = sorted(batch.normalised.values(), key=lambda n: (n["source"], n["field"], n["rule"]))
    for w in batch.warnings[:50]:  # the summary and the run's JSON carry them all
        log.info("warning %s", w)
    if strict and batch.rejected:
        changelog.rejected = [r.as_dict() for r in batch.rejected]
        changelog.status = "aborted"
        raise RejectedAbort("\n".join(str(r) for r in batch.rejected[:50]))
    t0 = time.perf_counter()
    with open_writer(settings, purpose=f"refresh {run_id}", wait_s=wait_s) as writer:
        changelog.timings["open_writer"] = round(time.perf_counter() - t0, 3)  # its private copy of the graph
        ctx = Context(settings, schema, writer, changelog, run_id, batch=batch)
        try:
            run_steps = [*(steps if steps is not None else default_steps()), *(derive if derive is not None else default_derive())]
            for step in progress(run_steps, "refresh", unit="step", label=lambda s: s.__name__):
                t0 = time.perf_counter()
                step(ctx)
                changelog.timings[step.__name__] = round(time.perf_counter() - t0, 3)
                clear_run_caches()  # the step's per-name caches: gigabytes at 200,000 records, rarely read again
                release_free_memory()
                changelog.memory_mb[step.__name__] = memory_mb()
                log.info("step %s: %.1f s, %s MiB", step.__name__, changelog.timings[step.__name__],
                         changelog.memory_mb[step.__name__])
                # The snapshot and the diff hold millions of dicts for the whole run: left to the
                # collector, each full collection rescans them all (seconds each at 1M edges).
                gc.freeze()
        finally:
            gc.unfreeze()
        changelog.rejected = [r.as_dict() for r in batch.rejected]
        changelog.status = "ok" if not batch.rejected else "ok, with rejected rows"
        changelog.finished = time.strftime("%Y-%m-%dT%H:%M:%S")
        (writer.data_dir / "last_run.json").write_text(changelog.to_json(), encoding="utf-8")
        _record_inputs(writer.data_dir, inputs, batch, sources)
        t0 = time.perf_counter()
    changelog.timings["publish"] = round(time.perf_counter() - t0, 3)  # the engine's checkpoint and the switch
    save_run(settings, changelog)
    return changelog


def _record_inputs(folder, inputs: dict | None, batch: Batch, sources: Sequence[Source]) -> None:
    """Keep the fingerprints with the graph when this run read everything: every source complete
    and no row rejected. Otherwise remove the copy inherited from the previous version, so the
    next run reads everything again (it retries what failed and reports what was rejected)."""
    path = folder / INPUTS_FILE
    complete = inputs is not None and not batch.rejected and {s.name for s in sources} <= batch.feeds
    if complete:
        path.write_text(json.dumps(inputs, sort_keys=True), encoding="utf-8")
    else:
        path.unlink(missing_ok=True)

"""Is there anything for this refresh to do? The inputs a run depends on, summed up before it reads.

A refresh is a pure function of its inputs: the sources, the staff's edits and decisions, the
resolution override file, the settings, the schema and the pipeline's code. When none of them
changed since the run that wrote the published graph, the run would rebuild the same graph, so
it publishes nothing and records only that every source was seen complete (its run record, with
status "unchanged"). Facts then keep the `last_seen` of the run that last wrote them; the run
records say which later runs saw every source unchanged (docs/operations.md).

The fingerprints are written beside the graph (`data/inputs.json`) by a run that read every
source completely and rejected no row; a run with a source that cannot be fingerprinted (an
HTTP API), a rejected row, or a failed source always runs in full next time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest.sources.fingerprint import source_fingerprint, tree_fingerprint
from ingest.sources.registry import Source
from kg.backends import current_version, data_dir
from kg.schema import Schema, schema_fingerprint
from kg.settings import Settings
from kg.workspace import Workspace

__all__ = ["INPUTS_FILE", "WORKSPACE_INPUTS", "read_inputs", "run_inputs", "unchanged_since_last_run"]

INPUTS_FILE = "inputs.json"
#: Workspace tables a refresh step reads (edits come in through the staff source; decisions
#: through resolution; shortlists and stages are feedback a derived model may learn from). The
#: others (users, tokens, log-ins, audit, console history, recommendation snapshots) change
#: with every visit and are no input of a refresh.
WORKSPACE_INPUTS = {
    "edits": "id, label, node_id, props",  # not applied_run: the refresh writes that itself
    "decisions": "id, record_a, record_b, judgement, active",
    "shortlist": "project_id, org_id, status, note",
    "stage_history": "project_id, old_stage, new_stage, ts",
}
#: The pipeline's code: a new release or a local edit means a full run.
CODE_DIRS = ("kg", "ingest", "matching", "jobs")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
OVERRIDE_FILE = "overrides.csv"  # ingest.resolve.step.OVERRIDE_FILE: read by resolution from the home


def run_inputs(settings: Settings, schema: Schema, sources: Sequence[Source]) -> dict[str, Any]:
    """Every source's fingerprint (None: cannot tell) and one of everything else the run reads."""
    h = hashlib.sha1()
    values = settings.as_dict()
    h.update(json.dumps({k: values[k] for k in sorted(values)}, default=str, ensure_ascii=False).encode())
    h.update(schema_fingerprint(schema).encode())
    for folder in CODE_DIRS:
        h.update(tree_fingerprint(PROJECT_ROOT / folder, skip=("__pycache__",)).encode())
    h.update(tree_fingerprint(settings.home_path / OVERRIDE_FILE).encode())
    ws = Workspace.open(settings)
    for table, columns in WORKSPACE_INPUTS.items():
        for row in ws.execute(f"SELECT {columns} FROM {table} ORDER BY {columns}"):
            h.update(json.dumps(list(row), default=str, ensure_ascii=False).encode())
    return {"sources": {s.name: source_fingerprint(s) for s in sources}, "pipeline": h.hexdigest()}


def read_inputs(settings: Settings) -> dict[str, Any] | None:
    """The fingerprints the published graph was built from, or None (none recorded)."""
    version = current_version(settings)
    if version is None:
        return None
    try:
        return json.loads((data_dir(settings, version) / INPUTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def unchanged_since_last_run(settings: Settings, inputs: dict[str, Any]) -> bool:
    """True when every input has a fingerprint and all equal the published graph's."""
    if any(fp is None for fp in inputs["sources"].values()):
        return False
    return read_inputs(settings) == inputs

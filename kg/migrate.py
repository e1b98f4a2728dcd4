"""Applying an edited schema file to an existing graph, without a reload.

Each backend already brings a graph up to its schema whenever a writer opens it (ladybug adds
missing tables, columns and (from, to) pairs in `_ensure_tables`; Neo4j creates missing
constraints and indexes, and needs nothing for a new property). `migrate` makes that step
explicit: it compares the schema the graph was last written with (stored beside it) with the
file, opens a writer to apply the difference, commits, and reports what changed. Removing
something from the schema removes nothing from the graph: data is never dropped by a migration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from kg.backends import current_version, open_writer, stored_schema
from kg.schema import Schema, load_schema, parse_schema, schema_fingerprint
from kg.settings import Settings


@dataclass
class MigrationReport:
    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # in the graph, no longer in the schema
    applied: bool = False
    version: str | None = None

    def lines(self) -> list[str]:
        if not self.added and not self.kept:
            return ["the graph already matches the schema file; nothing to do"]
        out = [f"added {a}" for a in self.added]
        out += [f"kept {k} (no longer in the schema; data is never dropped by a migration)" for k in self.kept]
        out.append(f"applied; graph version {self.version}" if self.applied else "dry run: nothing applied")
        return out


def schema_diff(old: Schema | None, new: Schema) -> tuple[list[str], list[str]]:
    """(added, removed) labels, properties, relationship types, their ends and edge properties."""
    if old is None:
        return [f"label {label}" for label in new.labels] + [f"relationship type {r}" for r in new.relationships], []

    def items(schema: Schema) -> set[str]:
        out = set()
        for label in schema.labels:
            out.add(f"label {label}")
            out |= {f"property {label}.{p}" for p in schema.node_columns(label)}
        for name, rel in schema.relationships.items():
            out.add(f"relationship type {name}")
            out |= {f"end {name}: {a}->{b}" for a, b in rel.ends}
        out |= {f"edge property {p}" for p in schema.edge_columns()}
        return out

    before, after = items(old), items(new)
    return sorted(after - before), sorted(before - after)


def migrate(settings: Settings, schema: Schema | None = None, *, dry_run: bool = False) -> MigrationReport:
    schema = schema or load_schema()
    text = stored_schema(settings)
    old = parse_schema(json.loads(text)) if text else None
    added, removed = schema_diff(old, schema)
    report = MigrationReport(added, removed)
    if dry_run or (old is not None and text == schema_fingerprint(schema)):
        return report
    with open_writer(settings, purpose="migrate", schema=schema):
        pass  # opening applies the schema; the clean exit publishes it
    report.version = current_version(settings)
    report.applied = True
    return report

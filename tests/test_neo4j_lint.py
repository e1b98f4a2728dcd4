"""Every Cypher statement the Neo4j backend can send, parsed and linted by Neo4j's own front end.

No Neo4j server can be installed here, so this is what CI can check without one: the
statements of kg/backends/neo4j_statements.py for every label, relationship type and pair of
ends in the schema; the library's queries (recorded while recommend, facts, trees and the
chain report run on a real ladybug graph), rewritten by `portable` as the Neo4j view does;
the console's examples and its EXPLAIN guard. They go through @neo4j-cypher/language-support
(installed by .ci/setup into .ci/cypher-lint) with the schema's labels, types and property
keys, so a syntax error, an unknown function or procedure, or a misspelt label, type or
property fails the test. Broken statements prove the lint can fail.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kg.backends import neo4j_statements as st
from kg.console import EXAMPLES, split_statements
from kg.schema import load_schema
from kg.store import GraphView

ROOT = Path(__file__).resolve().parent.parent
LINT = ROOT / ".ci" / "cypher-lint"
EMBEDDED = ("Organization", "Sector", "Project")
META_PROPS = {"id", "version", "schema", "committed", "writer", "writer_since", "run", "since", st.VECTOR_PROPERTY,
              st.RUN_PROPERTY}
ROW_KEYS = {"source_id", "target_id", "props", "vector"}  # keys of the parameter rows the writes UNWIND


def _need_linter() -> None:
    missing = shutil.which("node") is None or not (LINT / "node_modules" / "@neo4j-cypher").is_dir()
    if missing:
        msg = "Neo4j's Cypher front end is not installed: run `bash .ci/setup --test` (node + npm install in .ci/cypher-lint)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


def lint(statements: dict[str, str], split: list[str] | None = None) -> dict:
    _need_linter()
    schema = load_schema()
    props = META_PROPS | ROW_KEYS | set(schema.edge_columns())
    for label in schema.labels:
        props |= set(schema.node_columns(label))
    payload = {
        "schema": {"labels": [*schema.labels, st.META_LABEL], "relationshipTypes": list(schema.relationships),
                   "propertyKeys": sorted(props)},
        "version": "CYPHER 5",
        "statements": [{"name": k, "text": v} for k, v in statements.items()],
        "split": split or [],
    }
    proc = subprocess.run(["node", str(LINT / "lint.cjs")], input=json.dumps(payload), capture_output=True,
                          text=True, timeout=300, cwd=LINT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# the enumeration -----------------------------------------------------------------------------
ARG_VALUES = {
    "label": lambda s: list(s.labels),
    "rel_type": lambda s: list(s.relationships),
    "direction": lambda s: ["out", "in"],
    "types": lambda s: [None, ["ACTIVE_IN"], ["PARTNERS_WITH", "SUPPLIES", "INVESTS_IN"]],
    "dimensions": lambda s: [384],
    "similarity": lambda s: ["cosine"],
    "statement": lambda s: [EXAMPLES[0].cypher, "MATCH (n:Organization) RETURN n.id LIMIT 10"],
}


def backend_statements() -> dict[str, str]:
    """Every statement function and constant of neo4j_statements, called with every schema value."""
    schema = load_schema()
    out: dict[str, str] = {}
    for name, obj in vars(st).items():
        if name.startswith("_") or name in ("q", "portable") or getattr(obj, "__module__", st.__name__) != st.__name__:
            continue
        if isinstance(obj, str) and name.isupper() and " " in obj:
            out[name] = obj
        elif inspect.isfunction(obj) and name not in ("vector_index_name", "id_constraint_name"):
            params = list(inspect.signature(obj).parameters)
            if params == ["schema"]:
                for i, text in enumerate(obj(schema)):
                    out[f"{name}[{i}]"] = text
                continue
            if name == "vector_index_statement":
                out.update({f"{name}({label})": obj(label, 384) for label in EMBEDDED})
                continue
            if params == ["rel_type", "src_label", "dst_label"]:
                for rel in schema.relationships.values():
                    for a, b in rel.ends:
                        out[f"{name}({rel.name},{a},{b})"] = obj(rel.name, a, b)
                continue
            unknown = [p for p in params if p not in ARG_VALUES]
            assert not unknown, f"neo4j_statements.{name} takes {unknown}: teach this test how to enumerate it"
            for combo in _combos([ARG_VALUES[p](schema) for p in params]):
                out[f"{name}{tuple(combo)!r}"] = obj(*combo)
    return out


def _combos(lists):
    if not lists:
        yield []
        return
    for head in lists[0]:
        for tail in _combos(lists[1:]):
            yield [head, *tail]


class Recorder(GraphView):
    """A view that records every query the library sends through it."""

    def __init__(self, inner: GraphView):
        self.inner, self.seen = inner, set()
        self.schema = inner.schema

    def query(self, cypher, params=None, **kw):
        self.seen.add(cypher)
        return self.inner.query(cypher, params, **kw)

    def get(self, node_id):
        return self.inner.get(node_id)

    def get_many(self, ids):
        return self.inner.get_many(ids)

    def neighbours(self, *a, **kw):
        return self.inner.neighbours(*a, **kw)

    def counts(self):
        return self.inner.counts()

    def iter_nodes(self, *a, **kw):
        return self.inner.iter_nodes(*a, **kw)

    def iter_edges(self, *a, **kw):
        return self.inner.iter_edges(*a, **kw)

    @property
    def version(self):
        return self.inner.version

    @property
    def data_dir(self):
        return self.inner.data_dir

    def close(self):
        self.inner.close()


@pytest.fixture(scope="module")
def library_statements(tmp_path_factory) -> dict[str, str]:
    from jobs.tasks import init_home, load_bundle
    from kg.backends import open_view
    from kg.settings import load_settings
    from matching.facts import fetch_facts, trees
    from matching.recommend import recommend

    s = load_settings({"home": str(tmp_path_factory.mktemp("lint") / "home"), "embedder": "lexical"})
    init_home(s)
    load_bundle(s, ROOT / "tests" / "fixtures" / "tiny")
    with open_view(s) as v:
        rec = Recorder(v)
        trees(rec)
        fetch_facts(rec, ["o1", "o2"])
        fetch_facts(rec, ["s-pkg"], "Sector")
        recommend(rec, "o1", k=5, settings=s)
        recommend(rec, "s-pkg", k=5, settings=s)
        try:
            from matching.chain import chain_report
        except ImportError:
            pass
        else:
            chain_report(rec, "cn-js-wuxi", settings=s) if "settings" in inspect.signature(chain_report).parameters \
                else chain_report(rec, "cn-js-wuxi")
    assert rec.seen, "the library sent no query"
    return {f"library[{i}]": st.portable(text) for i, text in enumerate(sorted(rec.seen))}


# the tests ------------------------------------------------------------------------------------
def _problems(result: dict) -> list[str]:
    return [f"{r['name']}: {d['message']} (severity {d['severity']})" for r in result["results"] for d in r["diagnostics"]]


def test_every_backend_statement_passes_neo4j_lint():
    statements = backend_statements()
    schema = load_schema()
    assert len(statements) > 4 * (len(schema.labels) + len(schema.relationships))  # the enumeration is real
    assert {"LOCK_META", "PUBLISH_META", "READ_META", "VECTOR_SEARCH", "LIST_INDEXES"} <= set(statements)
    problems = _problems(lint(statements))
    assert not problems, "\n".join(problems)


def test_library_queries_pass_neo4j_lint_after_portable(library_statements):
    problems = _problems(lint(library_statements))
    assert not problems, "\n".join(problems) + "\n" + "\n".join(library_statements.values())


def test_console_examples_and_guard_pass_neo4j_lint():
    statements = {f"example[{i}]": st.portable(ex.cypher) for i, ex in enumerate(EXAMPLES)}
    statements |= {f"explain[{i}]": st.explain(st.portable(ex.cypher)) for i, ex in enumerate(EXAMPLES)}
    problems = _problems(lint(statements))
    assert not problems, "\n".join(problems)


def test_the_backend_sends_no_cypher_of_its_own():
    """Every statement lives in neo4j_statements, or the enumeration above would miss it."""
    pattern = re.compile(r"[\"'](?:MATCH|MERGE|CREATE|UNWIND|CALL|SHOW|RETURN|EXPLAIN|DROP)\b")
    for name in ("neo4j.py", "neo4j_common.py", "neo4j_view.py", "neo4j_writer.py", "neo4j_bulk.py"):
        text = (ROOT / "kg" / "backends" / name).read_text(encoding="utf-8")
        assert not pattern.search(text), f"kg/backends/{name} has a Cypher literal: move it to neo4j_statements.py"


BROKEN = {
    "syntax": "MATCH (n:Organization RETURN n",
    "misspelt clause": "UNWIND $rows AS r MERGE (n:Organization {id: r.id}) SETT n += r.props",
    "unknown label": "MATCH (n:Organisation) RETURN n.id",
    "unknown property": "MATCH (n:Organization) RETURN n.nmae_en",
    "unknown type": "MATCH (:Organization)-[e:PARTNER_OF]->() RETURN e",
    "ladybug function": "MATCH (n) RETURN label(n)",
    "unknown procedure": "CALL db.index.vector.queryNode('x', 1, [1.0]) YIELD node RETURN node",
    "undefined variable": "MATCH (n:Organization) RETURN m",
}


def test_the_lint_fails_broken_statements():
    result = lint(BROKEN)
    clean = [r["name"] for r in result["results"] if not r["diagnostics"]]
    assert not clean, f"the lint passed broken statements: {clean}"


def test_portable_rewrites_ladybug_label_function():
    assert st.portable("MATCH (a)-[e]->(b) RETURN label(e), label(b), 'label(e)'") == \
        "MATCH (a)-[e]->(b) RETURN type(e), labels(b)[0], 'label(e)'"


SPLITS = [
    "MATCH (n) RETURN n; CREATE (m)",
    "RETURN ';' AS a; RETURN 2",
    "RETURN 1 // ; x\n",
    'RETURN "a\\";b" AS s; RETURN 1',
    "RETURN `a;b` AS x",
    "MATCH (n) RETURN n; COMMIT; CREATE (m)",
    "RETURN 1 /* ; */ AS x",
    "RETURN 'it''s' AS x; RETURN 2",
]


def test_console_splits_statements_as_neo4j_does():
    theirs = lint({}, SPLITS)["splits"]
    for text, their in zip(SPLITS, theirs, strict=True):
        their = [s.strip().removesuffix(";").strip() for s in their]
        assert split_statements(text) == [s for s in their if s], text

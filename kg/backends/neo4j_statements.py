"""Every Cypher statement the Neo4j backend sends, as functions of the schema.

They live apart from the driver code so that tests/test_neo4j_lint.py can enumerate all of
them (for every label, relationship type and pair of end labels the schema allows) and run
them through Neo4j's own parser and linter without a server. Names of labels, types and
properties come from the schema file and are backtick-quoted; values are always parameters.
"""

from __future__ import annotations

import re

from kg.console_lexer import scan_pieces
from kg.schema import Schema

META_LABEL = "_Meta"
META_ID = "graph"
VECTOR_PROPERTY = "embedding"
NAME_INDEX_PROPS = ("name_zh", "name_en", "status")


def q(name: str) -> str:
    """Backtick-quote a label, type or property name from the schema."""
    return "`" + name.replace("`", "``") + "`"


def _index_name(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]+", "_", p).strip("_").lower() for p in parts)


# schema -----------------------------------------------------------------------------------
def schema_statements(schema: Schema) -> list[str]:
    """Uniqueness constraints on every label's id and indexes on names and edge ids.

    `IF NOT EXISTS` makes the list safe to run on every writer open: that is the migration step
    on Neo4j (properties need no declaration there, new labels and types get their indexes).
    """
    out = [
        f"CREATE CONSTRAINT {id_constraint_name(META_LABEL)} IF NOT EXISTS "
        f"FOR (n:{q(META_LABEL)}) REQUIRE n.id IS UNIQUE"
    ]
    for label, spec in schema.labels.items():
        out.append(
            f"CREATE CONSTRAINT {id_constraint_name(label)} IF NOT EXISTS FOR (n:{q(label)}) REQUIRE n.id IS UNIQUE"
        )
        for prop in NAME_INDEX_PROPS:
            if prop in spec.props or prop in schema.provenance:
                out.append(
                    f"CREATE INDEX {_index_name(label, prop)} IF NOT EXISTS FOR (n:{q(label)}) ON (n.{q(prop)})"
                )
    for rel in schema.relationships:
        out.append(f"CREATE INDEX {_index_name('rel', rel, 'id')} IF NOT EXISTS FOR ()-[e:{q(rel)}]-() ON (e.id)")
    return out


def id_constraint_name(label: str) -> str:
    """The uniqueness constraint on a label's id (also the index every lookup and MERGE uses)."""
    return _index_name("meta" if label == META_LABEL else label, "id")


LIST_INDEXES = "SHOW INDEXES YIELD name RETURN name"
LIST_CONSTRAINTS = "SHOW CONSTRAINTS YIELD name RETURN name"


def vector_index_statement(label: str, dimensions: int, similarity: str = "cosine") -> str:
    """A vector index over the label's embedding (OPTIONS take literals, so the int is checked)."""
    if not isinstance(dimensions, int) or not 1 <= dimensions <= 4096:
        raise ValueError(f"vector dimensions must be an int from 1 to 4096, got {dimensions!r}")
    if similarity not in ("cosine", "euclidean"):
        raise ValueError(f"similarity must be cosine or euclidean, got {similarity!r}")
    return (
        f"CREATE VECTOR INDEX {vector_index_name(label)} IF NOT EXISTS FOR (n:{q(label)}) ON n.{q(VECTOR_PROPERTY)} "
        f"OPTIONS {{indexConfig: {{`vector.dimensions`: {dimensions}, `vector.similarity_function`: '{similarity}'}}}}"
    )


def vector_index_name(label: str) -> str:
    return _index_name(label, VECTOR_PROPERTY)


def set_vectors(label: str) -> str:
    """rows: [{id, vector}]; the procedure stores a compact float32 vector property."""
    return (
        f"UNWIND $rows AS r MATCH (n:{q(label)} {{id: r.id}}) "
        f"CALL db.create.setNodeVectorProperty(n, '{VECTOR_PROPERTY}', r.vector)"
    )


VECTOR_SEARCH = (
    "CALL db.index.vector.queryNodes($index, $k, $vector) YIELD node, score "
    "RETURN node.id AS id, score ORDER BY score DESC"
)


# writes -----------------------------------------------------------------------------------
def upsert_nodes(label: str) -> str:
    """rows: [{id, props}]; `+=` leaves properties absent from props as they are."""
    return f"UNWIND $rows AS r MERGE (n:{q(label)} {{id: r.id}}) SET n += r.props"


def create_nodes(label: str) -> str:
    """rows: [{id, props}] of nodes the refresh diffed as new: no MERGE lookup; an id that
    exists already fails the statement on the uniqueness constraint (the writer then upserts)."""
    return f"UNWIND $rows AS r CREATE (n:{q(label)} {{id: r.id}}) SET n += r.props"


def update_nodes(label: str) -> str:
    """rows: [{id, props}] of nodes that should exist; a missing id is skipped, never created."""
    return f"UNWIND $rows AS r MATCH (n:{q(label)} {{id: r.id}}) SET n += r.props"


def upsert_edges(rel_type: str, src_label: str, dst_label: str) -> str:
    """rows: [{source_id, target_id, props}]; edge identity is (type, source, target)."""
    return (
        f"UNWIND $rows AS r MATCH (a:{q(src_label)} {{id: r.source_id}}) MATCH (b:{q(dst_label)} {{id: r.target_id}}) "
        f"MERGE (a)-[e:{q(rel_type)}]->(b) SET e += r.props RETURN count(e) AS n"
    )


def create_edges(rel_type: str, src_label: str, dst_label: str) -> str:
    """rows as upsert_edges, of edges the refresh diffed as new: CREATE skips MERGE's walk of
    the ends' relationships, which on a node of high degree is the cost of the write."""
    return (
        f"UNWIND $rows AS r MATCH (a:{q(src_label)} {{id: r.source_id}}) MATCH (b:{q(dst_label)} {{id: r.target_id}}) "
        f"CREATE (a)-[e:{q(rel_type)}]->(b) SET e += r.props RETURN count(e) AS n"
    )


def delete_nodes(label: str) -> str:
    return f"UNWIND $ids AS x MATCH (n:{q(label)} {{id: x}}) DETACH DELETE n RETURN count(*) AS n"


def delete_edges(rel_type: str, src_label: str, dst_label: str) -> str:
    return (
        f"UNWIND $rows AS r MATCH (a:{q(src_label)} {{id: r.source_id}})-[e:{q(rel_type)}]->"
        f"(b:{q(dst_label)} {{id: r.target_id}}) DELETE e RETURN count(*) AS n"
    )


LOCK_META = (
    f"MERGE (m:{q(META_LABEL)} {{id: $meta_id}}) SET m.writer = $purpose, m.writer_since = datetime()"
)
PUBLISH_META = (
    f"MERGE (m:{q(META_LABEL)} {{id: $meta_id}}) "
    "SET m.version = $version, m.schema = $schema, m.committed = datetime(), m.writer = null"
)

# the bulk path (kg/backends/neo4j_bulk.py) ---------------------------------------------------
RUN_PROPERTY = "_run"  # the writer's version id on nodes and edges its bulk path committed early
BULK_MARK = f"CREATE (m:{q(META_LABEL)} {{id: $marker, run: $run, since: datetime()}})"
BULK_MARKS = f"MATCH (m:{q(META_LABEL)}) WHERE m.run IS NOT NULL RETURN m.id AS marker, m.run AS run"
BULK_UNMARK = f"MATCH (m:{q(META_LABEL)} {{id: $marker}}) DELETE m"


def bulk_undo_nodes(label: str) -> str:
    """Removes what a bulk load that never published committed: batched, in an implicit
    transaction, so that undoing a large load does not need the memory the load avoided."""
    return (
        f"MATCH (n:{q(label)}) WHERE n.{q(RUN_PROPERTY)} = $run "
        f"CALL (n) {{ DETACH DELETE n }} IN TRANSACTIONS OF $batch ROWS"
    )


def bulk_undo_edges(rel_type: str) -> str:
    return (
        f"MATCH ()-[e:{q(rel_type)}]->() WHERE e.{q(RUN_PROPERTY)} = $run "
        f"CALL (e) {{ DELETE e }} IN TRANSACTIONS OF $batch ROWS"
    )


# reads ------------------------------------------------------------------------------------
READ_META = f"MATCH (m:{q(META_LABEL)} {{id: $meta_id}}) RETURN m.version AS version, m.schema AS schema"


def get_many(label: str) -> str:
    return f"UNWIND $ids AS x MATCH (n:{q(label)} {{id: x}}) RETURN n"


def labels_of(label: str) -> str:
    return f"UNWIND $ids AS x MATCH (n:{q(label)} {{id: x}}) RETURN n.id AS id"


def neighbours(label: str, direction: str, types: list[str] | None) -> str:
    rel = ":" + "|".join(q(t) for t in types) if types else ""
    pattern = f"(a:{q(label)} {{id: $id}})-[e{rel}]->(b)" if direction == "out" else f"(a:{q(label)} {{id: $id}})<-[e{rel}]-(b)"
    return f"MATCH {pattern} RETURN type(e) AS type, e, b ORDER BY type, b.id LIMIT $limit"


def count_nodes(label: str) -> str:
    return f"MATCH (n:{q(label)}) RETURN count(n) AS n"


def count_edges(rel_type: str) -> str:
    return f"MATCH ()-[e:{q(rel_type)}]->() RETURN count(e) AS n"


def iter_nodes(label: str) -> str:
    """One streamed query; the driver pulls it in fetch_size batches (ordered by the id index)."""
    return f"MATCH (n:{q(label)}) RETURN n ORDER BY n.id"


def iter_edges(rel_type: str) -> str:
    return f"MATCH (a)-[e:{q(rel_type)}]->(b) RETURN a.id AS a, b.id AS b, e ORDER BY a.id, b.id"


def explain(statement: str) -> str:
    """The console's check: EXPLAIN plans without running; the summary's query type must be 'r'."""
    return "EXPLAIN " + statement


# the dialect ----------------------------------------------------------------------------------
_LABEL_CALL = re.compile(r"\blabel\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)", re.IGNORECASE)


def portable(cypher: str) -> str:
    """Rewrite the one ladybug function the library uses, `label(x)`, into Neo4j's.

    `label(e)` of a relationship variable (one bound as `[e…]`) becomes `type(e)`, of a node
    `labels(x)[0]`. Only code is rewritten, never strings or comments. Everything else the
    library sends is the common subset of both dialects (the lint test checks it).
    """
    if "label" not in cypher.lower():
        return cypher
    out = []
    for kind, a, b in scan_pieces(cypher):
        piece = cypher[a:b]
        if kind == "code":
            piece = _LABEL_CALL.sub(lambda m: _label_of(cypher, m.group(1)), piece)
        out.append(piece)
    return "".join(out)


def _label_of(cypher: str, var: str) -> str:
    if re.search(r"\[\s*" + re.escape(var) + r"\s*[:\]*{|]", cypher):
        return f"type({var})"
    return f"labels({var})[0]"

"""Every setting and limit, declared once with its default and help.

Values come, last one winning, from: the defaults below, the config file
(`$STAKEGRAPH_HOME/stakegraph.toml`, or the file named by STAKEGRAPH_CONFIG), and environment
variables `STAKEGRAPH_<NAME>` (upper case). docs/settings.md is generated from this table and a
test checks they agree, so the docs never drift.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("home", "./var", "Directory holding the graph versions, indexes, users, runs and logs."),
    Setting("backend", "ladybug", "Graph backend: ladybug (embedded, default) or neo4j."),
    Setting("host", "127.0.0.1", "Address the web app listens on."),
    Setting("port", 5000, "Port the web app listens on."),
    Setting("neo4j_uri", "", "Bolt URI of the Neo4j server when backend = neo4j (also read from NEO4J_URI)."),
    Setting("neo4j_user", "neo4j", "Neo4j user (also NEO4J_USER)."),
    Setting("neo4j_password", "", "Neo4j password (also NEO4J_PASSWORD); never commit it."),
    Setting("neo4j_database", "neo4j", "Neo4j database name."),
    Setting("query_timeout_ms", 10_000, "Time limit of one console/API Cypher query."),
    Setting("query_max_rows", 10_000, "Row cap of one console/API Cypher query; the result says when it was cut."),
    Setting("console_workers", 4, "Console queries that run at once: each runs in its own confined worker process (docs/console.md); one more is told the console is busy."),
    Setting("console_memory_mb", 1024, "Memory cap of one console worker above what it uses at rest (half the engine's buffer pool, half everything else); a query past it is stopped with a message."),
    Setting("console_grace_ms", 2000, "How long past a query's time limit the console waits for the engine to stop it before it kills the worker process."),
    Setting("console_result_mb", 256, "Largest result (encoded) a console worker may send back; a larger one is refused and its worker stopped."),
    Setting("console_landlock", True, "Confine console workers with Linux Landlock (read only their graph version, write nothing, no TCP but Neo4j's); false only on a kernel without Landlock, which leaves file access to the statement check alone."),
    Setting("write_batch_size", 5_000, "Rows per UNWIND batch when writing nodes and edges."),
    Setting("touch_rewrite_min_edges", 50_000, "From this many edges of a type due for a new last_seen, the embedded backend sets the refresh's last_seen by rewriting the relationship table (read, DROP, CREATE, COPY) instead of SET, which is slow on edges into high in-degree nodes (220k LOCATED_IN edges: 37 s vs 1.3 s)."),
    Setting("bulk_copy_min_rows", 5_000, "Smallest batch of new nodes or edges (per label, or per type and end labels) the embedded backend bulk-loads with COPY instead of UNWIND."),
    Setting("csv_max_cell_chars", 131_072, "Longest cell of a bundle or csv-source file; a longer one rejects its row, and what is inside it is never read as rows."),
    Setting("csv_max_cell_lines", 1_000, "Most lines one quoted prose cell (a description) of a CSV may span; ids and names may not span lines at all. A longer cell rejects its row."),
    Setting("csv_max_columns", 500, "Widest header of a bundle or csv-source file; a wider file is refused."),
    Setting("bundle_follow_symlinks", False, "Read bundle and csv-source files that are symbolic links; by default such a file is refused, since a link can point at any file the loading user can read."),
    Setting("keep_versions", 3, "Graph versions kept on disk (readers may still hold the older ones)."),
    Setting("neighbour_limit", 200, "Most neighbours an entity page or API call returns."),
    Setting("search_limit", 50, "Most hits a search returns."),
    Setting("embedder", "default", "Embedder spec (see matching.embed), e.g. 'use+lexical'."),
    Setting("home_region", "cn-js-wuxi", "Region whose local strength and ties count (chain map, recommendations)."),
    Setting(
        "signal_weights",
        "semantic=0.30,peer_similarity=0.30,sector_fit=0.15,cooperation=0.10,region_ties=0.05,standing=0.05,recency=0.05",
        "Weights of the recommendation signals (normalised to sum to 1); see docs/recommendation.md.",
    ),
    Setting("vector_backend", "faiss", "Nearest-neighbour search: faiss (index files beside each graph version) or neo4j (Neo4j's own vector index; needs backend = neo4j; docs/neo4j.md)."),
    Setting("candidate_pool", 300, "Candidates one recommendation scores (FAISS nearest plus graph neighbourhood)."),
    Setting(
        "max_ties_per_candidate",
        40,
        "A recommendation reads at most this many ties of one candidate (besides its place and sectors); above it, the key ties the refresh chose (curated, local, by type, newest).",
    ),
    Setting("retention_days", 0, "Delete facts unseen for this many days at refresh; 0 keeps them forever."),
    Setting("gap_threshold", 0.35, "A chain link whose local strength is below this is a gap."),
    Setting("login_max_failures", 5, "Failed logins per user and address before a 15-minute lock-out."),
    Setting("secret_key", "", "Flask secret key; generated into $home/secret_key when empty."),
    Setting("secure_cookies", False, "Send the session cookie only over HTTPS (set true behind TLS)."),
    Setting("max_body_bytes", 1_048_576, "Largest request body the web app and API accept; a bigger one gets 413 (no form or API body of ours comes near 1 MB)."),
    Setting("max_json_depth", 100, "Deepest nesting of a JSON request body; a deeper one gets 413 before it is parsed (deep nesting would exhaust the parser's recursion)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}
_ENV_ALIASES = {"neo4j_uri": "NEO4J_URI", "neo4j_user": "NEO4J_USER", "neo4j_password": "NEO4J_PASSWORD"}


class Settings:
    """Resolved settings; attribute access by name (settings.query_timeout_ms)."""

    def __init__(self, values: dict[str, Any]):
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    @property
    def home_path(self) -> Path:
        return Path(self._values["home"]).expanduser().resolve()

    def replace(self, **changes: Any) -> Settings:
        return Settings({**self._values, **changes})


def _convert(setting: Setting, raw: Any) -> Any:
    kind = type(setting.default)
    if kind is bool and isinstance(raw, str):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    try:
        return kind(raw)
    except (TypeError, ValueError):
        raise ValueError(f"setting {setting.name}: {raw!r} is not a valid {kind.__name__}") from None


def load_settings(overrides: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    values = {s.name: s.default for s in SETTINGS}
    home = env.get("STAKEGRAPH_HOME") or (overrides or {}).get("home") or values["home"]
    config = env.get("STAKEGRAPH_CONFIG") or str(Path(home) / "stakegraph.toml")
    if Path(config).is_file():
        with open(config, "rb") as fh:
            for name, raw in tomllib.load(fh).items():
                if name not in _BY_NAME:
                    raise ValueError(f"{config}: unknown setting {name!r}")
                values[name] = _convert(_BY_NAME[name], raw)
    for s in SETTINGS:
        raw = env.get(f"STAKEGRAPH_{s.name.upper()}") or env.get(_ENV_ALIASES.get(s.name, "\0"))
        if raw not in (None, ""):
            values[s.name] = _convert(s, raw)
    for name, raw in (overrides or {}).items():
        values[name] = _convert(_BY_NAME[name], raw) if name in _BY_NAME else raw
    return Settings(values)


def settings_markdown() -> str:
    """The settings table for docs/settings.md."""
    lines = [
        "# Settings",
        "",
        "Set in `$STAKEGRAPH_HOME/stakegraph.toml` (`name = value`) or as `STAKEGRAPH_<NAME>` environment variables.",
        "",
        "| name | default | meaning |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{s.name}` | `{s.default!r}` | {s.help} |" for s in SETTINGS]
    return "\n".join(lines) + "\n"

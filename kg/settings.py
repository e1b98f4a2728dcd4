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
    """One setting: its name, typed default, doc line and environment variable.

    The type is the default's unless given: int, float, bool, str, or tuple (a list of strings,
    comma-separated in the environment).
    """

    name: str
    default: Any
    help: str
    type: type = type(None)

    def __post_init__(self) -> None:
        if self.type is type(None):
            object.__setattr__(self, "type", type(self.default))

    @property
    def env(self) -> str:
        return f"STAKEGRAPH_{self.name.upper()}"


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
    Setting("console_result_mb", 64, "Largest result (encoded) a console worker may send back; a larger one is refused and its worker stopped."),
    Setting("console_landlock", True, "Confine console workers with Linux Landlock (read only their graph version, write nothing, no TCP but Neo4j's); false only on a kernel without Landlock, which leaves file access to the statement check alone."),
    Setting("write_batch_size", 5_000, "Rows per UNWIND batch when writing nodes and edges; on Neo4j's bulk path also rows per committed transaction (bench/neo4j_batches.py, warm, load ~12: 1,000 / 5,000 / 20,000 rows gave 2.0k / 2.5k / 2.3k nodes/s; ~20 MB of server heap a batch)."),
    Setting("bulk_copy_min_rows", 5_000, "Neo4j backend: smallest batch of new nodes or edges (per label, or per type and end labels) written through the bulk path: CREATE instead of MERGE, committed batch by batch outside the writer's transaction and removed again if the writer does not publish (docs/neo4j.md)."),
    Setting("copy_min_nodes", 500, "Embedded backend: smallest batch of new nodes of one label bulk-loaded with COPY from an Arrow table instead of UNWIND ... MERGE (bench/bulk_copy.py: COPY costs a fixed ~0.5-1 s, UNWIND ~3 ms a row; they cross at a few hundred rows)."),
    Setting("copy_min_edges", 1_500, "Embedded backend: smallest batch of new edges (per type and end labels) bulk-loaded with COPY instead of UNWIND ... CREATE (bench/bulk_copy.py: a relationship COPY costs a fixed ~4 s under load, UNWIND ~4 ms an edge, COPY ~1 ms; they cross at ~1,300)."),
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
        "semantic=0.25,peer_similarity=0.15,sector_fit=0.10,tree_distance=0.05,item_cf=0.10,co_neighbours=0.10,"
        "diffusion=0.15,cooperation=0.05,family_popularity=0.05",
        "Default weights of the fit signals (normalised to sum to 1): used when the graph version has no learned model for a question, or with ranker = weights; chosen on the sample's development links (docs/recommendation.md).",
    ),
    Setting("ranker", "learned", "learned: rank with the model trained at refresh (matching.rank.train), falling back to signal_weights where it has none; weights: always signal_weights."),
    Setting("policy_weights", "region_ties=0.05,standing=0.03", "The office's priorities, added to the fit score as a separate 'policy' line of the breakdown (not normalised)."),
    Setting("tie_weight_extracted", 0.5, "How much a relation extracted from text counts in a score, against 1 for a curated or official one (illustrative ones count 0)."),
    Setting("tie_half_life_years", 3.0, "A past relation (its `until` before this year) counts half a current one, halving again every this many years after it ended."),
    Setting("ranker_train_questions", 250, "Relations of each type hidden and asked back when the refresh trains the ranking model."),
    Setting("ranker_min_positives", 200, "Fewest answered questions of a type for a learned model of it; below, the default weights are used and the run log says so."),
    Setting("ranker_train_share", 0.10, "Training the ranking model at refresh stops after this share of the refresh's time so far (at least ranker_train_min_seconds); what it asked by then is what it learns from."),
    Setting("ranker_train_min_seconds", 60.0, "The least time training at refresh may take, however quick the refresh (a small graph)."),
    Setting("ranker_retrain_share", 0.01, "A refresh that touched less than this share of the nodes keeps the previous version's ranking model."),
    Setting("ranker_kind", "auto", "Model of the learned ranker: auto (LightGBM lambdarank or logistic regression, whichever ranks the held-out training questions better), lightgbm or logistic."),
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
    Setting("web_workers", 2, "Worker processes of `stakegraph serve` (gunicorn): one per core; each holds its own vector indexes and caches (docs/deployment.md)."),
    Setting("web_threads", 4, "Threads per worker process of `stakegraph serve`: requests each worker handles at once; more queue (docs/deployment.md)."),
    Setting("web_connection_limit", 200, "Open client connections `stakegraph serve` accepts at once; more wait in the kernel's backlog."),
    Setting("web_channel_timeout_s", 120, "Seconds an idle client connection of `stakegraph serve` stays open."),
    Setting("view_node_cache", 20_000, "Nodes a read-only view of the embedded engine keeps once read (per graph version, which never changes; an id read again needs no engine query); 0 turns the cache off."),
    Setting("web_neighbour_cache", 4096, "Neighbour lists the web app keeps per graph version (an entity page read again needs no engine query); 0 turns the cache off."),
    Setting("trusted_proxy", "", "Address of the reverse proxy whose X-Forwarded-For/-Proto headers `stakegraph serve` believes (e.g. 127.0.0.1); empty trusts none."),
)

# The vector index (matching.index): the refresh job, the web app and the ANN bench agree on these.
SETTINGS += (
    Setting("ann_flat_max", 50_000, "Up to this many vectors the index is exact (IndexFlatIP); above it, HNSW."),
    Setting("ann_hnsw_m", 32, "HNSW neighbours per node: recall and memory grow with it (~2*M*4 bytes a vector)."),
    Setting("ann_ef_construction", 80, "HNSW build beam width: higher builds slower and a better graph."),
    Setting("ann_ef_search", 96, "HNSW query beam width (raised to k when k is larger): recall vs latency."),
    Setting("ann_rebuild_fraction", 0.2, "Rebuild when removed-but-stored vectors exceed this share of the index."),
    Setting("ann_threads", 0, "OpenMP threads for FAISS; 0 leaves FAISS's default (all cores)."),
    Setting("embed_threads", 0, "CPU threads for model inference; 0 uses every core."),
)

# Entity resolution (ingest.resolve): every threshold and weight, so a reviewer tuning precision
# against recall finds the knobs together. What scores is fingerprinted with each resolution run
# (ingest.resolve.incremental), so changing one rescores every pair and a run stays reproducible.
SETTINGS += (
    Setting('resolve_same_threshold', 0.8, 'Score at or above which two records are judged the same.'),
    Setting('resolve_unsure_threshold', 0.6, "Score at or above which a pair is kept as 'unsure' for review."),
    Setting('resolve_max_block_size', 40, 'Blocks larger than this are skipped as uninformative.'),
    Setting('resolve_name_exact', 1.0, 'Normalised names equal (legal forms, case, script variants ignored)'),
    Setting('resolve_name_base', 0.95, 'Names equal once leading/bracketed place names are removed.'),
    Setting('resolve_short_name', 0.9, 'One Chinese name is a prefix or listed contraction of the other (>= 3 chars)'),
    Setting('resolve_abbreviation', 0.85, "One Chinese name's characters appear in order in the other (紫光国微)"),
    Setting('resolve_core_same_industry', 0.9, 'Same distinctive core and agreeing industry words.'),
    Setting('resolve_core_compatible', 0.85, 'Same core (>= 3 chars), one side has no industry words.'),
    Setting('resolve_core_compatible_short', 0.7, 'Same short core (2 chars), one side without industry words.'),
    Setting('resolve_pinyin_name', 0.95, 'Pinyin of the Chinese name equals the romanised name.'),
    Setting('resolve_pinyin_core_same_industry', 0.9, 'Pinyin of the Chinese core equals the Latin core, industries agree.'),
    Setting('resolve_pinyin_core_compatible', 0.75, 'Pinyin core equal, one side without industry words (平安 ~ Ping An Bank)'),
    Setting('resolve_pinyin_initials', 0.6, 'Pinyin initials of the Chinese core equal a Latin acronym (review only)'),
    Setting('resolve_acronym', 0.85, 'A Latin acronym (3-6 letters) equals the initials of the other name.'),
    Setting('resolve_fuzzy_weight', 0.9, 'Multiplier on rapidfuzz token_sort_ratio for Latin names.'),
    Setting('resolve_fuzzy_short_weight', 0.6, 'Multiplier instead when a name is shorter than fuzzy_min_length.'),
    Setting('resolve_fuzzy_min_length', 8, 'Below this many characters, edit similarity is unreliable.'),
    Setting('resolve_partial_weight', 0.8, 'Multiplier on partial_ratio (only for names of >= partial_min_length)'),
    Setting('resolve_partial_min_length', 12, 'Shorter names never score by substring.'),
    Setting('resolve_one_core_factor', 0.5, 'Multiplier on fuzzy similarity when only one name has a distinctive core.'),
    Setting('resolve_fuzzy_min_core', 5, 'Latin cores shorter than this must be equal for fuzzy evidence (acm vs lam research)'),
    Setting('resolve_fuzzy_zh_weight', 0.7, 'Multiplier on character ratio for Chinese names (cores differ: 长电 vs 长城)'),
    Setting('resolve_industry_conflict_cap', 0.4, 'Cap when both names carry industry words that never agree.'),
    Setting('resolve_industry_differ_cap', 0.75, 'Cap when industry words differ, generic on one side (Information vs Software)'),
    Setting('resolve_region_conflict_factor', 0.7, "Multiplier when the names' places differ (上海 vs 无锡, and 江阴 vs 无锡 though one lies in the other)"),
    Setting('resolve_stock_conflict_cap', 0.3, 'Cap when both have codes on the same market and none is shared.'),
    Setting('resolve_qualifier_cap', 0.65, 'Cap when only one name carries a place qualifier (华虹半导体(无锡): a subsidiary)'),
    Setting('resolve_empty_core_cap', 0.5, 'Cap on fuzzy similarity of names made only of generic words that differ.'),
    Setting('resolve_place_bound_cap', 0.7, 'Cap on evidence short of an exact name or pinyin for governments, zones, universities (review only)'),
    Setting('resolve_contradiction_cap', 0.5, 'Cap when names look alike but the records contradict: different numbers (基金 vs 基金二期), a parent and its unit (中国科学院 vs its 研究所), a government of another place, a local unit (SK hynix Wuxi), different registered names, a group vs a listed company; judged not the same.'),
    Setting('resolve_city_agree', 0.05, "Bonus when the records' cities are the same (one inside the other: neither)"),
    Setting('resolve_city_conflict', -0.2, "Penalty when the records' cities differ (neither contains the other)"),
    Setting('resolve_sector_overlap', 0.05, 'Bonus when the records share a sector.'),
    Setting('resolve_sector_disjoint', -0.05, 'Penalty when both list sectors and none is shared.'),
    Setting('resolve_kind_conflict', -0.3, 'Penalty when the kinds differ (company vs university)'),
    Setting('resolve_place_bound_kinds', ('government_body', 'government', 'park', 'university'), 'Kinds merged only on an exact name, alias or code.'),
    Setting('resolve_listed_kinds', ('listed_company',), 'Kinds that count as listed without a stock code.'),
    Setting('resolve_canonical_prefixes', ('stock-',), 'Record-id prefixes preferred as canonical id.'),
    Setting('decision_files', ('data/curated/resolution_decisions.csv',),
            'Resolution decisions shipped with the data (the columns of overrides.csv), relative to the project; '
            '$STAKEGRAPH_HOME/overrides.csv and staff marks are read after them.'),
    Setting('resolve_model', 'builtin', 'The learned pairwise model that scores Chinese-Chinese and cross-script pairs: builtin (ingest/resolve/model.json, trained by data/tools/train_resolve_model.py), off (hand-set scores only), or the path of another model file.'),
    Setting('resolve_ambiguity_margin', 0.05, "A source lists an organisation once: a record merges with a record of another source only when that one leads every other candidate of its source by this much (from both ends); otherwise the pairs go to review."),
    Setting('resolve_unique_threshold', 0.7, "Score at or above which an unsure pair merges when it is the only good match on both sides (see resolve_unique_margin); the learned model's own threshold for it lands here."),
    Setting('resolve_unique_margin', 0.1, "An unsure pair is merged when each record is the other's best candidate in its source by at least this much: the only good match on both sides."),
    Setting('resolve_keep_below', 0.35, "Scored pairs below the unsure threshold but at or above this are kept (judgement 'below'), so an explanation can show a record's best refused candidate."),
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


def setting_row(name: str) -> Setting:
    """A setting's row of the table (modules that keep a typed view of a section read it)."""
    return _BY_NAME[name]


def _convert(setting: Setting, raw: Any) -> Any:
    kind = setting.type
    if kind is bool and isinstance(raw, str):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind is tuple:
        items = raw.split(",") if isinstance(raw, str) else raw
        return tuple(str(x).strip() for x in items if str(x).strip())
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
        raw = env.get(s.env) or env.get(_ENV_ALIASES.get(s.name, "\0"))
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
        "| name | type | default | environment | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| `{s.name}` | {s.type.__name__} | `{s.default!r}` | `{s.env}` | {s.help} |" for s in SETTINGS]
    return "\n".join(lines) + "\n"

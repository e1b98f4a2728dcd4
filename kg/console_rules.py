"""What the console lets a statement say: the lists kg.console_check applies, as data.

Words are compared in kg.console_lexer.normal form (NFKC, upper case). Anything that reaches
outside the graph is refused *wherever* it appears in code (file access cannot hide behind an
alias); write and administration clauses are refused as keywords; a word followed by `(` must
be a function below or a clause keyword; `CALL` only reaches the read procedures below. The
function list is ladybug 0.22's `CALL show_functions()` (scalar, aggregate and rewrite functions)
without the ones that change session state, plus the Neo4j functions of the common dialect.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Reaching outside the graph: refused in any code position except a property or label name.
OUTSIDE_KEYWORDS = {
    "LOAD": "LOAD (CSV, FROM, an extension) reads files or code from outside the graph",
    "COPY": "COPY reads or writes files",
    "EXPORT": "EXPORT writes files",
    "IMPORT": "IMPORT reads files",
    "ATTACH": "ATTACH opens another database",
    "INSTALL": "INSTALL downloads an extension",
    "UNINSTALL": "UNINSTALL removes an extension",
}
# Table functions that read files (ladybug's read_csv_serial, read_parquet, …; DuckDB-style
# read_json, scan_*, glob), and the ones that report on files and disks.
FILE_FUNCTION = re.compile(r"READ_[A-Z0-9_]*|SCAN_[A-Z0-9_]*|GLOB|FILE_INFO|DISK_INFO|DISK_SIZE_INFO|FSM_INFO|BM_INFO")

# Clauses and commands that write, change the schema or the session: refused as keywords (a
# word right after AS is an alias, `RETURN o.id AS set`, and is not one).
WRITE_KEYWORDS = {
    "CREATE": "CREATE writes to the graph",
    "MERGE": "MERGE writes to the graph",
    "SET": "SET writes to the graph",
    "DELETE": "DELETE writes to the graph",
    "DETACH": "DETACH DELETE writes to the graph",
    "REMOVE": "REMOVE writes to the graph",
    "FOREACH": "FOREACH is only used to write",
    "DROP": "DROP changes the schema",
    "ALTER": "ALTER changes the schema",
    "RENAME": "RENAME changes the schema",
    "COMMENT": "COMMENT ON changes the schema",
    "USE": "USE switches to another database",
    "CHECKPOINT": "CHECKPOINT is an administration command",
    "ANALYZE": "ANALYZE is an administration command",
    "BEGIN": "transaction commands are not allowed; each query is its own read-only transaction",
    "COMMIT": "transaction commands are not allowed; each query is its own read-only transaction",
    "ROLLBACK": "transaction commands are not allowed; each query is its own read-only transaction",
    "TRANSACTIONS": "CALL … IN TRANSACTIONS is only used to write",
    "GRANT": "security commands are not allowed",
    "DENY": "security commands are not allowed",
    "REVOKE": "security commands are not allowed",
    "SHOW": "SHOW commands are administration commands; query the graph instead",
    "TERMINATE": "administration commands are not allowed",
    "START": "administration commands are not allowed",
    "STOP": "administration commands are not allowed",
    "ENABLE": "administration commands are not allowed",
    "DEALLOCATE": "administration commands are not allowed",
    "REALLOCATE": "administration commands are not allowed",
}

# Keywords that may stand right before `(` without being a function call.
CLAUSE_KEYWORDS = _words("""
MATCH OPTIONAL WHERE RETURN WITH UNWIND CALL YIELD UNION ALL ORDER BY SKIP LIMIT DISTINCT AS AND
OR XOR NOT IN IS NULL CASE WHEN THEN ELSE END EXISTS COUNT CONTAINS STARTS ENDS ASC DESC
ASCENDING DESCENDING SHORTEST ANY NONE SINGLE EXPLAIN PROFILE
""")

# Types written with arguments, as in CAST(x AS DECIMAL(10, 2)).
TYPES_WITH_ARGUMENTS = frozenset({"DECIMAL", "NUMERIC", "STRUCT", "MAP", "UNION"})

# Functions a statement may call (ladybug and Neo4j names, normal form).
FUNCTIONS = _words("""
ABS ACOS ALL ANY ARRAY_APPEND ARRAY_CAT ARRAY_CONCAT ARRAY_CONTAINS ARRAY_COSINE_SIMILARITY
ARRAY_CROSS_PRODUCT ARRAY_DISTANCE ARRAY_DOT_PRODUCT ARRAY_EXTRACT ARRAY_HAS ARRAY_INDEXOF
ARRAY_INNER_PRODUCT ARRAY_POSITION ARRAY_PREPEND ARRAY_PUSH_BACK ARRAY_PUSH_FRONT ARRAY_SLICE
ARRAY_SQUARED_DISTANCE ARRAY_VALUE ASIN ATAN ATAN2 BITSHIFT_LEFT BITSHIFT_RIGHT BITWISE_AND
BITWISE_OR BITWISE_XOR BLOB CARDINALITY CAST CBRT CEIL CEILING CENTURY COALESCE CONCAT CONCAT_WS
CONTAINS COS COT COUNT_IF CURRENT_DATE CURRENT_TIMESTAMP DATE DATEPART DATETRUNC DATE_PART
DATE_TRUNC DAYNAME DECODE DEGREES DURATION ELEMENT_AT ENCODE ENDS_WITH EPOCH_MS EQUALS EVEN
FACTORIAL FLOOR GAMMA GEN_RANDOM_UUID GREATER_THAN GREATER_THAN_EQUALS GREATEST HASH IFNULL
INITCAP INTERVAL IS_ACYCLIC IS_TRAIL LAST_DAY LCASE LEAST LEFT LESS_THAN LESS_THAN_EQUALS
LEVENSHTEIN LGAMMA LIST_ANY_VALUE LIST_APPEND LIST_CAT LIST_CONCAT LIST_CONTAINS LIST_CREATION
LIST_DISTINCT LIST_ELEMENT LIST_EXTRACT LIST_FILTER LIST_HAS LIST_HAS_ALL LIST_HAS_ANY
LIST_INDEXOF LIST_MAX LIST_MIN LIST_POSITION LIST_PREPEND LIST_PRODUCT LIST_REDUCE LIST_REVERSE
LIST_REVERSE_SORT LIST_SLICE LIST_SORT LIST_SUM LIST_TO_STRING LIST_TRANSFORM LIST_UNIQUE LN LOG
LOG10 LOG2 LOWER LPAD LTRIM MAKE_DATE MAP MAP_EXTRACT MAP_KEYS MAP_VALUES MD5 MONTHNAME NEGATE
NODES NOT_EQUALS OCTET_LENGTH OFFSET PI POW PREFIX PROPERTIES RADIANS RANDOM RANGE REGEXP_EXTRACT
REGEXP_EXTRACT_ALL REGEXP_FULL_MATCH REGEXP_MATCHES REGEXP_REPLACE REGEXP_SPLIT_TO_ARRAY
RELATIONSHIPS RELS REPEAT REPLACE REVERSE RIGHT ROUND RPAD RTRIM SHA256 SIGN SIN SINGLE SIZE
SPLIT_PART SQRT STARTS_WITH STRING STRING_SPLIT STRING_TO_ARRAY STRUCT_EXTRACT STRUCT_PACK
STR_SPLIT SUBSTR SUBSTRING SUFFIX TAN TIMESTAMP TIME_BUCKET TOLOWER TOUPPER TO_BLOB TO_BOOL
TO_DATE TO_DAYS TO_DOUBLE TO_EPOCH_MS TO_FLOAT TO_HOURS TO_INT128 TO_INT16 TO_INT32 TO_INT64
TO_INT8 TO_INTERVAL TO_MICROSECONDS TO_MILLISECONDS TO_MINUTES TO_MONTHS TO_SECONDS TO_SERIAL
TO_STRING TO_TIMESTAMP TO_UINT128 TO_UINT16 TO_UINT32 TO_UINT64 TO_UINT8 TO_UUID TO_YEARS TRIM
TYPEOF UCASE UNION_EXTRACT UNION_TAG UNION_VALUE UPPER UUID INTERNAL_ID
AVG COLLECT COUNT COUNT_STAR HISTOGRAM MAX MIN PERCENTILECONT PERCENTILEDISC SUM
COST END_NODE ID KEYS LABEL LABELS LENGTH NULLIF ROWID START_NODE
TYPE ELEMENTID TOINTEGER TOFLOAT TOSTRING TOBOOLEAN TOINTEGERORNULL TOFLOATORNULL
TOSTRINGORNULL TOBOOLEANORNULL STARTNODE ENDNODE HEAD LAST TAIL SPLIT EXP E RAND ISEMPTY ISNAN
REDUCE NONE STDEV STDEVP DATETIME LOCALDATETIME LOCALTIME TIME POINT DISTANCE HAVERSIN
RANDOMUUID VALUETYPE CHAR_LENGTH CHARACTER_LENGTH NORMALIZE BTRIM SHORTESTPATH ALLSHORTESTPATHS
VECTOR.SIMILARITY.COSINE VECTOR.SIMILARITY.EUCLIDEAN POINT.DISTANCE
""")

# Procedures that only read the graph or its catalogue (ladybug and Neo4j names, normal form).
READ_PROCEDURES = frozenset({
    # ladybug
    "SHOW_TABLES", "TABLE_INFO", "SHOW_CONNECTION", "DB_VERSION", "SHOW_INDEXES",
    # neo4j
    "DB.LABELS", "DB.RELATIONSHIPTYPES", "DB.PROPERTYKEYS", "DB.SCHEMA.VISUALIZATION",
    "DB.SCHEMA.NODETYPEPROPERTIES", "DB.SCHEMA.RELTYPEPROPERTIES", "DB.INDEX.VECTOR.QUERYNODES",
    "DB.INDEX.FULLTEXT.QUERYNODES", "DB.INDEX.FULLTEXT.QUERYRELATIONSHIPS",
})

# The ladybug plan (`EXPLAIN`): table functions a read may scan (READ_FTABLE is the engine's own
# intermediate table: UNWIND, paths), and operators (whole names) that must never appear.
PLAN_TABLE_FUNCTIONS = frozenset({"READ_FTABLE", "SHOW_TABLES", "TABLE_INFO", "SHOW_CONNECTION", "DB_VERSION",
                                  "SHOW_INDEXES"})
PLAN_REFUSED_OPERATOR = re.compile(
    r"COPY.*|EXPORT.*|IMPORT.*|ATTACH.*|DETACH.*|USE_.*|INSTALL.*|UNINSTALL.*|LOAD.*|.*EXTENSION.*|"
    r"STANDALONE.*|CREATE.*|DROP.*|ALTER.*|DELETE.*|SET_.*|MERGE|INSERT.*|TRANSACTION.*|CHECKPOINT.*|"
    r".*PROJECT_GRAPH.*|DDL.*"
)

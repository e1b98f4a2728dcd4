"""The console's statement check: a clear reason *before* anything runs.

It reads the tokens of kg.console_lexer and applies the lists of kg.console_rules: one
statement; nothing that reaches outside the graph (LOAD, COPY, EXPORT, IMPORT, ATTACH, INSTALL,
file-reading table functions) wherever it appears; no write, schema, session or administration
clause; every word followed by `(` an allowed function or a clause keyword; `CALL` only to a
read procedure. On ladybug the worker also checks the engine's plan of the statement
(`check_plan`, fed with the text of `EXPLAIN <statement>`), which sees what the parser made of
the text rather than what the tokenizer guessed.

None of this is the guarantee: the statement runs in a confined worker process (see
kg.console_pool) that cannot read a file outside its graph version whatever the check misses.
"""

from __future__ import annotations

import re

from kg.console_lexer import Token, split_statements, tokenize
from kg.console_rules import (
    CLAUSE_KEYWORDS,
    FILE_FUNCTION,
    FUNCTIONS,
    OUTSIDE_KEYWORDS,
    PLAN_REFUSED_OPERATOR,
    PLAN_TABLE_FUNCTIONS,
    READ_PROCEDURES,
    TYPES_WITH_ARGUMENTS,
    WRITE_KEYWORDS,
)
from kg.store import QueryRefused

__all__ = ["check_plan", "check_query"]

READ_ONLY = "the console is read-only: "


def check_query(cypher: str) -> str:
    """The one statement to run, or QueryRefused with the reason. Nothing is sent to the engine."""
    statements = split_statements(cypher)
    if not statements:
        raise QueryRefused("the query is empty")
    if len(statements) > 1:
        raise QueryRefused(
            f"one statement per query: this text has {len(statements)} (separated by ';'); run them one at a time"
        )
    statement = statements[0]
    tokens = [t for t in tokenize(statement) if t.kind != "semicolon"]
    # Names given with AS (`RETURN o.id AS set … ORDER BY set`) are variables wherever they recur.
    aliases = {tokens[i + 1].word for i in range(len(tokens) - 1)
               if tokens[i].kind == "word" and tokens[i].word == "AS" and tokens[i + 1].kind == "word"}
    for i, tok in enumerate(tokens):
        if tok.kind in ("word", "name"):
            _check_word(tokens, i, aliases)
    return statement


def _at(tok: Token) -> str:
    return f"(at character {tok.start + 1})"


def _check_word(tokens: list[Token], i: int, aliases: set[str]) -> None:
    tok = tokens[i]
    word = tok.word
    prev = tokens[i - 1] if i > 0 else None
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    before = prev.text if prev is not None and prev.kind == "punct" else ""
    if before in (".", ":") and not _calls(nxt):
        return  # a property (n.set), a label or type (:Delete), a map value's key position
    if FILE_FUNCTION.fullmatch(word):
        raise QueryRefused(f"{READ_ONLY}{tok.text} reads files from outside the graph {_at(tok)}")
    if tok.kind == "name":
        if _calls(nxt) and (prev is None or prev.word != "CALL"):
            _check_function(tokens, i)
        return  # otherwise a `quoted name` is never a keyword
    if word in OUTSIDE_KEYWORDS and not _is_map_key(prev, nxt):
        raise QueryRefused(f"{READ_ONLY}{OUTSIDE_KEYWORDS[word]} {_at(tok)}")
    if word in aliases and not _calls(nxt):
        return  # an alias and its uses: RETURN o.id AS set ORDER BY set (the plan check and the
        # read-only engine still stop a SET clause that hides behind an alias of the same name)
    if _is_map_key(prev, nxt) or _is_variable(prev, nxt):
        return
    if word in WRITE_KEYWORDS:
        raise QueryRefused(f"{READ_ONLY}{WRITE_KEYWORDS[word]} {_at(tok)}")
    if word == "CALL":
        _check_call(tokens, i)
    elif _calls(nxt):
        _check_function(tokens, i)


def _calls(tok: Token | None) -> bool:
    return tok is not None and tok.kind == "punct" and tok.text == "("


def _is_map_key(prev: Token | None, nxt: Token | None) -> bool:
    """`{create: 1}` or `{a: 1, delete: 2}`: a key, not a clause."""
    return (nxt is not None and nxt.text == ":" and prev is not None and prev.kind == "punct"
            and prev.text in ("{", ","))


def _is_variable(prev: Token | None, nxt: Token | None) -> bool:
    """`(set:Organization)` or `[delete:SUPPLIES]`: a variable bound by a pattern."""
    return (nxt is not None and nxt.text == ":" and prev is not None and prev.kind == "punct"
            and prev.text in ("(", "["))


def _dotted_name(tokens: list[Token], first: int) -> tuple[str, str]:
    """`a.b.c` (words or backtick names joined by dots) from tokens[first]: (normal form, as typed)."""
    parts, typed, j = [tokens[first].word], [tokens[first].text], first
    while (j + 2 < len(tokens) and tokens[j + 1].text == "." and tokens[j + 1].kind == "punct"
           and tokens[j + 2].kind in ("word", "name")):
        parts.append(tokens[j + 2].word)
        typed.append(tokens[j + 2].text)
        j += 2
    return ".".join(parts), ".".join(typed)


def _dotted_back(tokens: list[Token], last: int) -> tuple[str, int]:
    """The dotted name that ends at tokens[last]; (name, first index)."""
    j = last
    while j >= 2 and tokens[j - 1].text == "." and tokens[j - 1].kind == "punct" and tokens[j - 2].kind in ("word", "name"):
        j -= 2
    return _dotted_name(tokens, j)[0], j


def _check_call(tokens: list[Token], i: int) -> None:
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if nxt is not None and nxt.kind == "punct" and nxt.text in ("{", "("):
        return  # a subquery `CALL { … }` / `CALL (x) { … }`: its clauses are checked as any other
    if nxt is None or nxt.kind not in ("word", "name"):
        raise QueryRefused(f"the console only calls read-only procedures; this CALL names none {_at(tokens[i])}")
    name, typed = _dotted_name(tokens, i + 1)
    if FILE_FUNCTION.fullmatch(name.rsplit(".", 1)[-1]):
        raise QueryRefused(f"{READ_ONLY}{typed} reads files from outside the graph {_at(nxt)}")
    if name not in READ_PROCEDURES:
        raise QueryRefused(
            f"the console only calls read-only procedures; {typed} is not on its list "
            f"(see docs/console.md) {_at(nxt)}"
        )


def _check_function(tokens: list[Token], i: int) -> None:
    name, first = _dotted_back(tokens, i)
    before = tokens[first - 1] if first > 0 else None
    if before is not None and before.kind == "word" and before.word == "CALL":
        return  # the procedure of a CALL, checked by _check_call
    if FILE_FUNCTION.fullmatch(name.rsplit(".", 1)[-1]):
        raise QueryRefused(f"{READ_ONLY}{tokens[i].text} reads files from outside the graph {_at(tokens[i])}")
    if "." not in name and (name in CLAUSE_KEYWORDS or name in TYPES_WITH_ARGUMENTS):
        return
    if name not in FUNCTIONS:
        raise QueryRefused(
            f"the console does not run the function {_dotted_name(tokens, first)[1]}(…); see docs/console.md for the ones it does "
            f"{_at(tokens[first])}"
        )


_PLAN_OPERATOR = re.compile(r"│ +([A-Z][A-Z_]*)\[\d+\] +│")
_PLAN_FUNCTION = re.compile(r"│ +Function: (\S+) +│")


def check_plan(plan_text: str) -> None:
    """Refuse a ladybug plan (the text `EXPLAIN <statement>` returns) that reaches outside the
    graph: an operator that copies, exports, attaches or installs, or a table-function scan other
    than the engine's own intermediate tables and the catalogue procedures."""
    for op in _PLAN_OPERATOR.findall(plan_text):
        if PLAN_REFUSED_OPERATOR.fullmatch(op):
            raise QueryRefused(f"{READ_ONLY}the engine's plan for this query has a {op} step")
    for fn in _PLAN_FUNCTION.findall(plan_text):
        if fn.upper() not in PLAN_TABLE_FUNCTIONS:
            raise QueryRefused(f"{READ_ONLY}the engine's plan for this query calls the table function {fn}")

"""A Cypher tokenizer for the console's statement check: the text cut where the engine cuts it.

The check that runs on these tokens (kg.console_check) is only as good as its agreement with the
engine's own lexer, so the rules here follow the openCypher grammar the engines use:

- numbers are lexed whole (`1`, `1.5`, `.5`, `1e5`, `1.5e-3`, `0x1F`, `0o17`), so in `x=1LOAD`
  the `1` is a number and `LOAD` a word of its own, as the engine reads it;
- strings take backslash escapes; `backtick names` double their backticks;
- `//` comments end at any line break (the engine ends them at `\\r` or `\\n`), `/* */` comments
  do not nest, and a comment separates tokens (`LO/**/AD` is two words);
- a word is a Unicode identifier (letters, digits, `_`), and anything the tokenizer does not
  know is a separator.

Where the two could disagree, the tokenizer cuts *more* finely than the engine, so it may see a
keyword the engine does not (a refusal too many) but never hides one inside a longer token.
Unterminated strings, names and comments are refused rather than guessed at.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from kg.store import QueryRefused

__all__ = ["ScanError", "Token", "normal", "scan_pieces", "split_statements", "tokenize"]

# Characters at which str.splitlines breaks: a `//` comment ends at the first of them.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_NUMBER = re.compile(
    r"0[xX][0-9A-Fa-f]+|0[oO][0-7]+"  # hexadecimal, octal
    r"|(?:[0-9]+\.[0-9]+|\.[0-9]+|[0-9]+)(?:[eE][-+]?[0-9]+)?"  # decimal, with an exponent
)
_PUNCT = ("..", "->", "<-", "<>", "<=", ">=", "=~", "+=", "::", "||")


class ScanError(QueryRefused):
    """The text does not end where it should (an unterminated string, name or comment)."""


@dataclass(frozen=True)
class Token:
    """kind: word, name (`backticked`), string, number, param ($x), punct, semicolon, comment."""

    kind: str
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def word(self) -> str:
        """The keyword a word or backtick name would be, compatibility- and case-folded."""
        text = self.text[1:-1].replace("``", "`") if self.kind == "name" else self.text
        return normal(text)


def normal(text: str) -> str:
    """NFKC and upper case: fullwidth `ＬＯＡＤ` and `load` both become `LOAD`."""
    return unicodedata.normalize("NFKC", text).upper()


def _word_start(ch: str) -> bool:
    return ch == "_" or ch.isidentifier()


def _word_part(ch: str) -> bool:
    return ch == "_" or ("a" + ch).isidentifier()


def tokenize(text: str, keep_comments: bool = False) -> Iterator[Token]:
    """The tokens of a text, whitespace dropped (comments too unless keep_comments)."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        two = text[i : i + 2]
        if two == "//":
            j = i + 2
            while j < n and text[j] not in LINE_BREAKS:
                j += 1
            if keep_comments:
                yield Token("comment", text[i:j], i)
            i = j
        elif two == "/*":
            j = text.find("*/", i + 2)
            if j < 0:
                raise ScanError(f"the query has an unterminated /* comment (at character {i + 1})")
            if keep_comments:
                yield Token("comment", text[i : j + 2], i)
            i = j + 2
        elif c in "'\"":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise ScanError(f"the query has an unterminated string (at character {i + 1})")
            yield Token("string", text[i : j + 1], i)
            i = j + 1
        elif c == "`":
            j = i + 1
            while True:
                j = text.find("`", j)
                if j < 0:
                    raise ScanError(f"the query has an unterminated `name` (at character {i + 1})")
                if text[j + 1 : j + 2] != "`":
                    break
                j += 2
            yield Token("name", text[i : j + 1], i)
            i = j + 1
        elif c == ";":
            yield Token("semicolon", c, i)
            i += 1
        elif c == "$":
            j = i + 1
            while j < n and _word_part(text[j]):
                j += 1
            yield Token("param", text[i:j], i)
            i = j
        elif c.isdigit() or (c == "." and text[i + 1 : i + 2].isdigit()):
            m = _NUMBER.match(text, i)
            j = m.end() if m and m.end() > i else i + 1
            yield Token("number", text[i:j], i)
            i = j
        elif _word_start(c):
            j = i + 1
            while j < n and _word_part(text[j]):
                j += 1
            yield Token("word", text[i:j], i)
            i = j
        elif c.isspace():
            i += 1
        else:
            yield Token("punct", two if two in _PUNCT else c, i)
            i += 2 if two in _PUNCT else 1


def split_statements(cypher: str) -> list[str]:
    """The statements of a text, split at semicolons outside strings, names and comments.

    Statements that are empty or only comments are dropped, so `MATCH (n) RETURN n;` is one.
    """
    out: list[str] = []
    start, meaningful = 0, False
    for tok in tokenize(cypher, keep_comments=True):
        if tok.kind == "semicolon":
            if meaningful:
                out.append(cypher[start : tok.start].strip())
            start, meaningful = tok.end, False
        elif tok.kind != "comment":
            meaningful = True
    if meaningful:
        out.append(cypher[start:].strip())
    return out


def scan_pieces(cypher: str) -> Iterator[tuple[str, int, int]]:
    """('code'|'string'|'quoted'|'comment'|'semicolon', start, end) spans covering the text.

    For rewriting code while leaving strings and comments alone (kg.backends.neo4j_statements).
    """
    pos = 0
    kinds = {"string": "string", "name": "quoted", "comment": "comment", "semicolon": "semicolon"}
    for tok in tokenize(cypher, keep_comments=True):
        kind = kinds.get(tok.kind)
        if kind is None:
            continue
        if pos < tok.start:
            yield "code", pos, tok.start
        yield kind, tok.start, tok.end
        pos = tok.end
    if pos < len(cypher):
        yield "code", pos, len(cypher)

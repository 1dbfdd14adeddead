"""A small SOQL tokenizer and parser for the subset an integration uses (SOQL and SOSL Reference:
"SELECT", "WHERE", "Comparison Operators", "Quoted String Escape Sequences", "ORDER BY", "LIMIT").

    SELECT f1, f2 | COUNT() FROM Obj [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
    [LIMIT n] [OFFSET n]

cond: comparisons (= != <> < <= > >=), [NOT] IN (...), LIKE with % and _ wildcards, NOT, AND/OR with
parentheses (mixing AND and OR at one level without parentheses is refused, as in SOQL), null,
true/false, numbers, date and datetime literals, and `Parent.Field` one relationship deep.
Strings are single-quoted; the only escapes are \\n \\r \\t \\b \\f (either case), \\" \\' \\\\, \\uXXXX,
and \\% \\_ inside a LIKE pattern; any other backslash is an error. Nothing is ever evaluated as code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "OFFSET",
    "NULL",
    "TRUE",
    "FALSE",
    "COUNT",
    "INCLUDES",
    "EXCLUDES",
}
ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'[^'\\]*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>[-+]?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
""",
    re.VERBOSE,
)


class SoqlError(Exception):
    """A query Salesforce refuses: MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, ..."""

    def __init__(self, code: str, detail: str, query: str = "", position: int | None = None) -> None:
        self.code = code
        self.detail = detail
        if position is None:
            message = detail
        else:
            line = query.replace("\n", " ")
            message = f"\n{line}\n{' ' * position}^\nERROR at Row:1:Column:{position + 1}\n{detail}"
        super().__init__(message)
        self.message = message


@dataclass
class Token:
    kind: str  # keyword, name, string, number, date, datetime, op, punct, end
    value: Any
    position: int
    escaped: frozenset[int] = frozenset()  # indexes of \% and \_ in a string


@dataclass
class Query:
    object_token: Token
    fields: list[Token]
    count: bool = False
    where: Any = None
    order: list[tuple[Token, bool, bool]] = field(default_factory=list)  # (field, descending, nulls_first)
    limit: int | None = None
    offset: int = 0


def _read_string(text: str, start: int) -> tuple[Token, int]:
    out: list[str] = []
    escaped: set[int] = set()
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "'":
            return Token("string", "".join(out), start, frozenset(escaped)), i + 1
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt.lower() in ESCAPES or nxt in ESCAPES:
            out.append(ESCAPES.get(nxt.lower(), ESCAPES.get(nxt, nxt)))
            i += 2
        elif nxt in "%_" and nxt:
            escaped.add(len(out))
            out.append(nxt)
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
            out.append(chr(int(text[i + 2 : i + 6], 16)))
            i += 6
        else:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"Invalid string literal '{text[start:]}'. Illegal character "
                f"sequence '\\{nxt}' in string literal.",
                text,
                i,
            )
    raise SoqlError(
        "MALFORMED_QUERY", f"line 1:{start} mismatched character '<EOF>' expecting '''", text, start
    )


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, end = 0, len(text)
    while i < end:
        match = TOKEN_RE.match(text, i)
        if match is None:
            if text[i] != "'":
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text[i]}'", text, i)
            token, i = _read_string(text, i)  # a literal with escapes, or one never closed
            tokens.append(token)
            continue
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "string":
            tokens.append(Token("string", value[1:-1], i))
        elif kind == "name" and value.upper() in KEYWORDS:
            tokens.append(Token("keyword", value.upper(), i))
        elif kind != "space":
            tokens.append(Token(kind, value, i))
        i = match.end()
    tokens.append(Token("end", "<EOF>", len(text)))
    return tokens


class Parser:
    """Recursive descent over the tokens; builds a Query whose `where` is a tree of tuples."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # ----- token helpers ---------------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.i]

    def fail(self, token: Token | None = None, expected: str | None = None) -> SoqlError:
        token = token or self.current
        shown = token.value if token.kind != "string" else f"'{token.value}'"
        detail = (
            f"unexpected token: {shown}" if expected is None else f"expecting {expected}, found '{shown}'"
        )
        return SoqlError("MALFORMED_QUERY", detail, self.text, token.position)

    def take(self) -> Token:
        token = self.current
        self.i += 1
        return token

    def is_keyword(self, *words: str) -> bool:
        return self.current.kind == "keyword" and self.current.value in words

    def expect_keyword(self, word: str) -> Token:
        if not self.is_keyword(word):
            raise self.fail(expected=f"'{word}'")
        return self.take()

    def expect_punct(self, char: str) -> Token:
        if self.current.kind != "punct" or self.current.value != char:
            raise self.fail(expected=f"'{char}'")
        return self.take()

    def name(self) -> Token:
        if self.current.kind != "name":
            raise self.fail()
        return self.take()

    # ----- grammar ---------------------------------------------------------------------------
    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        count = False
        fields: list[Token] = []
        if self.is_keyword("COUNT"):
            self.take()
            self.expect_punct("(")
            self.expect_punct(")")
            count = True
        else:
            fields.append(self.name())
            while self.current.kind == "punct" and self.current.value == ",":
                self.take()
                fields.append(self.name())
        self.expect_keyword("FROM")
        object_token = self.name()
        query = Query(object_token, fields, count)
        if self.is_keyword("WHERE"):
            self.take()
            query.where = self.condition()
        if self.is_keyword("ORDER"):
            self.take()
            self.expect_keyword("BY")
            query.order = self.order_list()
        if self.is_keyword("LIMIT"):
            self.take()
            query.limit = self.integer()
        if self.is_keyword("OFFSET"):
            self.take()
            query.offset = self.integer()
        if self.current.kind != "end":
            raise self.fail()
        return query

    def integer(self) -> int:
        token = self.current
        if token.kind != "number" or not re.fullmatch(r"\d+", token.value):
            raise self.fail(expected="an integer")
        self.take()
        return int(token.value)

    def order_list(self) -> list[tuple[Token, bool, bool]]:
        out = []
        while True:
            name = self.name()
            descending = False
            if self.is_keyword("ASC", "DESC"):
                descending = self.take().value == "DESC"
            nulls_first = not descending
            if self.is_keyword("NULLS"):
                self.take()
                if not self.is_keyword("FIRST", "LAST"):
                    raise self.fail(expected="FIRST or LAST")
                nulls_first = self.take().value == "FIRST"
            out.append((name, descending, nulls_first))
            if not (self.current.kind == "punct" and self.current.value == ","):
                return out
            self.take()

    def condition(self) -> Any:
        first = self.unary()
        if not self.is_keyword("AND", "OR"):
            return first
        joiner = self.current.value
        parts = [first]
        while self.is_keyword("AND", "OR"):
            if self.current.value != joiner:
                raise self.fail()  # SOQL needs parentheses to mix AND and OR
            self.take()
            parts.append(self.unary())
        return (joiner.lower(), parts)

    def unary(self) -> Any:
        if self.is_keyword("NOT"):
            self.take()
            return ("not", self.unary())
        if self.current.kind == "punct" and self.current.value == "(":
            self.take()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Any:
        field_token = self.name()
        if self.is_keyword("NOT"):
            self.take()
            if not self.is_keyword("IN"):
                raise self.fail(expected="'IN'")
            self.take()
            return ("in", field_token, True, self.value_list())
        if self.is_keyword("IN"):
            self.take()
            return ("in", field_token, False, self.value_list())
        if self.is_keyword("LIKE"):
            self.take()
            pattern = self.take()
            if pattern.kind != "string":
                raise self.fail(pattern)
            return ("like", field_token, pattern)
        if self.is_keyword("INCLUDES", "EXCLUDES"):
            word = self.take().value
            return (word.lower(), field_token, self.value_list())
        if self.current.kind != "op":
            raise self.fail()
        op = self.take().value
        return ("cmp", field_token, "!=" if op == "<>" else op, self.literal())

    def value_list(self) -> list[Token]:
        self.expect_punct("(")
        values = [self.literal()]
        while self.current.kind == "punct" and self.current.value == ",":
            self.take()
            values.append(self.literal())
        self.expect_punct(")")
        return values

    def literal(self) -> Token:
        token = self.current
        if token.kind in ("string", "number", "date", "datetime") or (
            token.kind == "keyword" and token.value in ("NULL", "TRUE", "FALSE")
        ):
            return self.take()
        raise self.fail()


def parse(text: str) -> Query:
    return Parser(text).parse()


def like_regex(token: Token) -> re.Pattern[str]:
    """% is any run of characters, _ one character; \\% and \\_ are themselves. Case-insensitive."""
    out = []
    for index, char in enumerate(token.value):
        if char == "%" and index not in token.escaped:
            out.append(".*")
        elif char == "_" and index not in token.escaped:
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


class LikePattern:
    """A LIKE pattern as a test of one value, answering as like_regex does. The patterns look-ups send
    (ASCII text between optional leading and trailing %) are tested with str methods, as compiling a
    regex per value of a long LIKE list costs the emulator more than the rest of the query."""

    def __init__(self, token: Token) -> None:
        self.token = token
        self.simple = _simple_like(token)
        self._regex: re.Pattern[str] | None = None

    def regex(self) -> re.Pattern[str]:
        if self._regex is None:
            self._regex = like_regex(self.token)
        return self._regex

    def matches(self, value: str) -> bool:
        # Regex IGNORECASE equates some non-ASCII letters with ASCII ones ("ſ" with "s", the Kelvin
        # sign with "k") that str.lower() keeps apart; only ASCII values take the fast path.
        if self.simple is None or not value.isascii():
            return self.regex().fullmatch(value) is not None
        core, leading, trailing = self.simple
        value = value.lower()
        if leading and trailing:
            return core in value
        if leading:
            return value.endswith(core)
        if trailing:
            return value.startswith(core)
        return value == core


def _simple_like(token: Token) -> tuple[str, bool, bool] | None:
    """(lower-cased ASCII literal, leading %, trailing %) when the pattern has no other wildcard."""
    text, escaped = token.value, token.escaped
    start, end = 0, len(text)
    while start < end and text[start] == "%" and start not in escaped:
        start += 1
    while end > start and text[end - 1] == "%" and end - 1 not in escaped:
        end -= 1
    core = text[start:end]
    wildcard = ("%" in core or "_" in core) and any(
        text[i] in "%_" and i not in escaped for i in range(start, end)
    )
    if wildcard or not core.isascii():
        return None
    return core.lower(), start > 0, end < len(text)

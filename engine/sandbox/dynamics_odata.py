"""A small OData 4.0 lexer and parser for Dataverse's `$filter`, `$orderby` and key segments, written
by hand (no eval). The error texts are those of Microsoft.OData.Core, the library Dataverse parses
URLs with, e.g. `There is an unterminated literal at position 21 in 'lastname eq 'O'Bryan''.`
(webapi/query/filter-rows.md) or `Syntax error: character '#' is not valid at position 5 in '...'.`

Grammar (lowest precedence first): or, and, not, comparison (eq ne gt ge lt le), primary. A primary
is a parenthesised expression, a literal (string, number, guid, date, datetime, true/false/null, a
typed enum literal `Namespace.Type'Value'`, a JSON-style array), a parameter alias `@p1`, a property
path `a/b`, a function call `contains(name,'x')`, or a Dataverse query function with named
parameters `Microsoft.Dynamics.CRM.In(PropertyName='x',PropertyValues=["a","b"])`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine.sandbox.dynamics_errors import query_error

GUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?")
NUMBER_RE = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDfFlL]?")
IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
SPACE_RE = re.compile(r"\s*")
# The unquoted tokens in the order the lexer tries them: a guid, date or number counts only when no
# letter, digit or _ follows it as matched (atomic groups: no shorter match is tried instead).
WORD_RE = re.compile(
    rf"(?P<guid>(?>{GUID_RE.pattern})(?!\w))"
    rf"|(?P<datetime>(?>{DATETIME_RE.pattern})(?!\w))"
    rf"|(?P<number>(?>{NUMBER_RE.pattern})(?!\w))"
    rf"|(?P<ident>{IDENT_RE.pattern})"
)
COMPARISONS = {
    "eq": "Equal",
    "ne": "NotEqual",
    "gt": "GreaterThan",
    "ge": "GreaterThanOrEqual",
    "lt": "LessThan",
    "le": "LessThanOrEqual",
}
PUNCTUATION = {"(": "lparen", ")": "rparen", ",": "comma", "/": "slash", "=": "equals"}


@dataclass
class Token:
    # ident, string, number, guid, datetime, enum, array, alias, lparen, rparen, comma, slash, equals, end
    kind: str
    value: Any
    pos: int


# AST: tuples, first item the node kind
#   ("or"|"and", left, right)  ("not", expr)  ("cmp", op, left, right)
#   ("lit", edm_type, value)   ("prop", [segments])  ("alias", name)
#   ("func", name, [args])     ("dvfunc", name, {param: node})


class Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str) -> Exception:
        return query_error(message)

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        while True:
            token = self.next()
            out.append(token)
            if token.kind == "end":
                return out

    def next(self) -> Token:
        text = self.text
        start = self.pos = SPACE_RE.match(text, self.pos).end()  # type: ignore[union-attr]
        if start >= len(text):
            return Token("end", None, start)
        char = text[start]
        if char in PUNCTUATION:
            self.pos += 1
            return Token(PUNCTUATION[char], char, start)
        if char == "'":
            return Token("string", self.quoted(), start)
        if char == "[":
            return Token("array", self.array(), start)
        if char == "@":
            match = IDENT_RE.match(text, start + 1)
            if not match:
                raise self.fail(f"Syntax error: character '@' is not valid at position {start} in '{text}'.")
            self.pos = match.end()
            return Token("alias", "@" + match.group(0), start)
        match = WORD_RE.match(text, start)
        if match is None:
            raise self.fail(f"Syntax error: character '{char}' is not valid at position {start} in '{text}'.")
        kind = match.lastgroup or ""
        self.pos = match.end()
        if kind == "ident" and self.pos < len(text) and text[self.pos] == "'":
            return Token("enum", (match.group(), self.quoted()), start)
        return Token(kind, match.group(), start)

    def quoted(self) -> str:
        """A single-quoted literal starting at self.pos; `''` is one quote."""
        text, i, parts = self.text, self.pos + 1, []
        while True:
            j = text.find("'", i)
            if j == -1:
                raise self.fail(f"There is an unterminated literal at position {len(text)} in '{text}'.")
            parts.append(text[i:j])
            if j + 1 < len(text) and text[j + 1] == "'":
                parts.append("'")
                i = j + 2
                continue
            self.pos = j + 1
            return "".join(parts)

    def array(self) -> list[Any]:
        """A JSON array as Dataverse query functions take it; strings in double or single quotes."""
        text, i, items = self.text, self.pos + 1, []
        expecting_item = True
        while True:
            while i < len(text) and text[i].isspace():
                i += 1
            if i >= len(text):
                raise self.fail(
                    "Invalid JSON. Unexpected end of input was found in JSON content. Not all object and "
                    "array scopes were closed."
                )
            char = text[i]
            if char == "]" and (not expecting_item or not items):
                self.pos = i + 1
                return items
            if char == "," and not expecting_item:
                expecting_item = True
                i += 1
                continue
            if not expecting_item:
                raise self.fail(
                    "Invalid JSON. A comma character ',' was expected in scope 'Array'. Every two elements "
                    "in an array and properties of an object must be separated by commas."
                )
            value, i = self._json_value(i)
            items.append(value)
            expecting_item = False

    def _json_value(self, i: int) -> tuple[Any, int]:
        text = self.text
        char = text[i]
        if char in "\"'":
            j = i + 1
            out = []
            while j < len(text) and text[j] != char:
                if text[j] == "\\" and j + 1 < len(text):
                    j += 1
                out.append(text[j])
                j += 1
            if j >= len(text):
                raise self.fail(
                    "Invalid JSON. Unexpected end of input reached while processing a JSON string value."
                )
            return "".join(out), j + 1
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, i):
                return value, i + len(word)
        match = NUMBER_RE.match(text, i)
        if match:
            number = match.group(0).rstrip("mMdDfFlL")
            return (float(number) if any(c in number for c in ".eE") else int(number)), match.end()
        raise self.fail(f"Invalid JSON. Unexpected token '{char}'.")


class Parser:
    """Recursive descent over the token list; `text` is kept for OData's error messages."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = Lexer(text).tokens()
        self.i = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def is_word(self, *words: str) -> bool:
        return self.current.kind == "ident" and self.current.value in words

    def error(self, template: str) -> Exception:
        return query_error(template.format(pos=self.current.pos, text=self.text))

    def parse_filter(self) -> tuple:
        if self.current.kind == "end":
            raise self.error("Expression expected at position {pos} in '{text}'.")
        node = self.parse_or()
        if self.current.kind != "end":
            raise self.error("Syntax error at position {pos} in '{text}'.")
        return node

    def parse_or(self) -> tuple:
        node = self.parse_and()
        while self.is_word("or"):
            self.advance()
            node = ("or", node, self.parse_and())
        return node

    def parse_and(self) -> tuple:
        node = self.parse_not()
        while self.is_word("and"):
            self.advance()
            node = ("and", node, self.parse_not())
        return node

    def parse_not(self) -> tuple:
        if self.is_word("not"):
            self.advance()
            return ("not", self.parse_not())
        return self.parse_comparison()

    def parse_comparison(self) -> tuple:
        node = self.parse_primary()
        while self.current.kind == "ident" and self.current.value in COMPARISONS:
            op = self.advance().value
            node = ("cmp", op, node, self.parse_primary())
        return node

    def parse_primary(self) -> tuple:
        token = self.current
        if token.kind == "lparen":
            self.advance()
            node = self.parse_or()
            if self.current.kind != "rparen":
                raise self.error("')' or operator expected at position {pos} in '{text}'.")
            self.advance()
            return node
        literal = self.literal(token)
        if literal is not None:
            self.advance()
            return literal
        if token.kind == "alias":
            self.advance()
            return ("alias", token.value)
        if token.kind == "ident" and token.value not in ("and", "or", "not", *COMPARISONS):
            self.advance()
            if self.current.kind == "lparen":
                return self.call(token.value)
            return self.path(token.value)
        raise self.error("Expression expected at position {pos} in '{text}'.")

    @staticmethod
    def literal(token: Token) -> tuple | None:
        kind, value = token.kind, token.value
        if kind == "string":
            return ("lit", "Edm.String", value)
        if kind == "guid":
            return ("lit", "Edm.Guid", value.lower())
        if kind == "datetime":
            return ("lit", "Edm.DateTimeOffset" if "T" in value else "Edm.Date", value)
        if kind == "number":
            return number_literal(value)
        if kind == "enum":
            return ("lit", "enum:" + value[0], value[1])
        if kind == "array":
            return ("lit", "array", value)
        if kind == "ident" and value in ("true", "false"):
            return ("lit", "Edm.Boolean", value == "true")
        if kind == "ident" and value == "null":
            return ("lit", "null", None)
        return None

    def path(self, first: str) -> tuple:
        segments = [first]
        while self.current.kind == "slash":
            self.advance()
            if self.current.kind != "ident":
                raise self.error("Syntax error at position {pos} in '{text}'.")
            segments.append(self.advance().value)
        return ("prop", segments)

    def call(self, name: str) -> tuple:
        self.advance()  # (
        if name.startswith("Microsoft.Dynamics.CRM."):
            return ("dvfunc", name, self.named_args())
        args: list[tuple] = []
        if self.current.kind != "rparen":
            while True:
                args.append(self.parse_or())
                if self.current.kind == "comma":
                    self.advance()
                    continue
                break
        if self.current.kind != "rparen":
            raise self.error("')' or ',' expected at position {pos} in '{text}'.")
        self.advance()
        return ("func", name, args)

    def named_args(self) -> dict[str, tuple]:
        params: dict[str, tuple] = {}
        while self.current.kind != "rparen":
            if self.current.kind != "ident":
                raise self.error("')' or ',' expected at position {pos} in '{text}'.")
            name = self.advance().value
            if self.current.kind != "equals":
                raise self.error("Syntax error at position {pos} in '{text}'.")
            self.advance()
            params[name] = self.parse_primary()
            if self.current.kind == "comma":
                self.advance()
            elif self.current.kind != "rparen":
                raise self.error("')' or ',' expected at position {pos} in '{text}'.")
        self.advance()
        return params


def number_literal(text: str) -> tuple:
    suffix = text[-1].lower() if text[-1].isalpha() and text[-1].lower() in "mdfl" else ""
    digits = text[:-1] if suffix else text
    if suffix == "m":
        return ("lit", "Edm.Decimal", float(digits))
    if suffix in ("d", "f") or "e" in digits.lower():
        return ("lit", "Edm.Double", float(digits))
    if "." in digits:
        return ("lit", "Edm.Decimal", float(digits))
    value = int(digits)
    return ("lit", "Edm.Int32" if -(2**31) <= value < 2**31 and suffix != "l" else "Edm.Int64", value)


def parse_filter(text: str) -> tuple:
    return Parser(text).parse_filter()


def parse_alias_value(text: str) -> tuple:
    """The value of a parameter alias (`@p1='x'`, `@p2=["a","b"]`) as a literal node."""
    parser = Parser(text)
    node = parser.literal(parser.current)
    if node is None or parser.tokens[1].kind != "end":
        raise query_error(f"Syntax error at position 0 in '{text}'.")
    return node


def parse_orderby(text: str) -> list[tuple[list[str], bool]]:
    """`name asc,revenue desc` -> [(path, descending)]."""
    parser = Parser(text)
    items: list[tuple[list[str], bool]] = []
    while True:
        if parser.current.kind != "ident":
            raise parser.error("Expression expected at position {pos} in '{text}'.")
        path = parser.path(parser.advance().value)[1]
        descending = False
        if parser.is_word("asc", "desc"):
            descending = parser.advance().value == "desc"
        items.append((path, descending))
        if parser.current.kind == "comma":
            parser.advance()
            continue
        if parser.current.kind != "end":
            raise parser.error("Syntax error at position {pos} in '{text}'.")
        return items


def parse_key(text: str) -> str | dict[str, Any]:
    """A key segment's inside: a GUID, or `name=literal` pairs (alternate or metadata keys)."""
    parser = Parser(text)
    if parser.current.kind == "guid" and parser.tokens[1].kind == "end":
        return parser.current.value.lower()
    pairs: dict[str, Any] = {}
    while True:
        if parser.current.kind != "ident" or parser.tokens[parser.i + 1].kind != "equals":
            raise query_error(f"Bad Request - Error in query syntax. The key '{text}' is not valid.")
        name = parser.advance().value
        parser.advance()
        node = parser.literal(parser.current)
        if node is None or node[1] in ("array", "null"):
            raise query_error(f"Bad Request - Error in query syntax. The key '{text}' is not valid.")
        parser.advance()
        pairs[name] = node[2]
        if parser.current.kind == "comma":
            parser.advance()
            continue
        if parser.current.kind != "end":
            raise query_error(f"Bad Request - Error in query syntax. The key '{text}' is not valid.")
        return pairs


def quote(value: str) -> str:
    """An OData string literal: single quotes, a quote doubled."""
    return "'" + value.replace("'", "''") + "'"

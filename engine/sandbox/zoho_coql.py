"""The subset of COQL (Zoho's CRM Object Query Language, POST /crm/v7/coql) the emulator runs.

Supported: `select <fields> from <module> where <criteria> [order by <field> [asc|desc]]
[limit <n> [offset <m>] | limit <m>, <n>]`; at most two criteria joined by `and`/`or` at one level of
parentheses (Zoho's rule: (A and (B and C))); the
comparators `= != < > <= >=`, `like` ('x%', '%x', '%x%'), `in (...)`/`not in (...)` (at most
IN_VALUES values), `is null`/`is not null`; a lookup's id as `Account_Name.id` (or the lookup
itself, compared with its id). Anything else (joins through other fields, aggregates, group by,
functions) is refused with Zoho's SYNTAX_ERROR, naming the clause — never half-run. Limits from
Zoho's "Query API - Limitations" page (docs/zoho-api-facts.md). Imports nothing from the engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_LIMIT = 2000
DEFAULT_LIMIT = 200
MAX_OFFSET_ROWS = 100_000
MAX_SELECT_FIELDS = 50
MAX_CRITERIA = 25
IN_VALUES = 50

TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|=|<|>)"
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*))"
)
UNSUPPORTED = {"group", "having", "join", "count", "sum", "max", "min", "avg", "distinct", "union"}


class CoqlError(Exception):
    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "details": self.details, "message": self.message, "status": "error"}


def syntax_error(clause: str, near: str) -> CoqlError:
    return CoqlError(
        "SYNTAX_ERROR", "error occured while parsing the query", {"clause": clause, "near": near}
    )


@dataclass
class Token:
    kind: str
    text: str


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        match = TOKEN.match(query, pos)
        if not match or match.end() == pos:
            raise syntax_error("query", query[pos : pos + 20].strip())
        kind = match.lastgroup or "word"
        tokens.append(Token(kind, match.group(kind)))
        pos = match.end()
    return tokens


Predicate = Callable[[dict[str, Any]], bool]


@dataclass
class Query:
    module: str
    fields: list[str]
    where: Predicate
    order_by: str | None
    descending: bool
    limit: int
    offset: int


class _Parser:
    def __init__(self, tokens: list[Token], known: Callable[[str, str], bool]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.known = known
        self.module = ""
        self.criteria = 0

    # ----- token helpers -----------------------------------------------------------------
    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def word(self) -> str:
        token = self.peek()
        return token.text.lower() if token and token.kind == "word" else ""

    def take(self, clause: str) -> Token:
        token = self.peek()
        if token is None:
            raise syntax_error(clause, "end of query")
        self.pos += 1
        return token

    def expect_word(self, word: str, clause: str) -> None:
        token = self.take(clause)
        if token.kind != "word" or token.text.lower() != word:
            raise syntax_error(clause, token.text)

    def expect(self, text: str, clause: str) -> None:
        token = self.take(clause)
        if token.text != text:
            raise syntax_error(clause, token.text)

    # ----- clauses -----------------------------------------------------------------------
    def parse(self) -> Query:
        self.expect_word("select", "select")
        fields = self.select_list()
        self.expect_word("from", "from")
        module = self.take("from")
        if module.kind != "word" or "." in module.text:
            raise syntax_error("from", module.text)
        self.module = module.text
        if not self.known(self.module, ""):
            raise CoqlError("INVALID_QUERY", "invalid module given", {"module": self.module})
        for name in fields:
            self.check_column(name, "select")
        if self.word() != "where":
            near = self.peek().text if self.peek() else "end of query"
            raise syntax_error("where", near)
        self.pos += 1
        where = self.disjunction()
        order_by, descending = self.order_clause()
        limit, offset = self.limit_clause()
        if self.peek() is not None:
            raise syntax_error("query", self.peek().text)  # type: ignore[union-attr]
        return Query(self.module, fields, where, order_by, descending, limit, offset)

    def select_list(self) -> list[str]:
        fields: list[str] = []
        while True:
            token = self.take("select")
            if token.kind != "word" or token.text.lower() in UNSUPPORTED | {"from"}:
                raise syntax_error("select", token.text)
            fields.append(token.text)
            if self.peek() and self.peek().text == ",":  # type: ignore[union-attr]
                self.pos += 1
                continue
            break
        if len(fields) > MAX_SELECT_FIELDS:
            raise CoqlError(
                "LIMIT_EXCEEDED",
                f"select columns limit exceeded; the maximum is {MAX_SELECT_FIELDS}",
                {"limit": MAX_SELECT_FIELDS},
            )
        return fields

    def check_column(self, name: str, clause: str) -> None:
        base, _, rest = name.partition(".")
        if rest not in ("", "id") or not self.known(self.module, base):
            if rest not in ("", "id"):
                raise syntax_error(clause, name)  # a join through another field: not supported here
            raise CoqlError("INVALID_QUERY", "invalid column given", {"column_name": name, "clause": clause})

    def order_clause(self) -> tuple[str | None, bool]:
        if self.word() != "order":
            return None, False
        self.pos += 1
        self.expect_word("by", "order by")
        column = self.take("order by")
        self.check_column(column.text, "order by")
        descending = False
        if self.word() in ("asc", "desc"):
            descending = self.word() == "desc"
            self.pos += 1
        return column.text, descending

    def limit_clause(self) -> tuple[int, int]:
        if self.word() != "limit":
            return DEFAULT_LIMIT, 0
        self.pos += 1
        first = self.number("limit")
        limit, offset = first, 0
        if self.peek() and self.peek().text == ",":  # type: ignore[union-attr]
            self.pos += 1
            limit, offset = self.number("limit"), first  # "limit offset, count"
        elif self.word() == "offset":
            self.pos += 1
            offset = self.number("offset")
        if not 1 <= limit <= MAX_LIMIT:
            raise CoqlError(
                "LIMIT_EXCEEDED",
                f"limit exceeded; the maximum is {MAX_LIMIT}",
                {"clause": "limit", "limit": MAX_LIMIT},
            )
        if offset + limit > MAX_OFFSET_ROWS:
            raise CoqlError(
                "LIMIT_EXCEEDED",
                f"offset limit exceeded; at most {MAX_OFFSET_ROWS} rows",
                {"clause": "offset", "limit": MAX_OFFSET_ROWS},
            )
        return limit, offset

    def number(self, clause: str) -> int:
        token = self.take(clause)
        if token.kind != "num" or "." in token.text or token.text.startswith("-"):
            raise syntax_error(clause, token.text)
        return int(token.text)

    # ----- criteria ----------------------------------------------------------------------
    def disjunction(self) -> Predicate:
        """At most two criteria at one level: Zoho wants (A and (B and C)), never A and B and C."""
        near = self.peek().text if self.peek() else "end of query"  # type: ignore[union-attr]
        first = self.term()
        if self.word() not in ("and", "or"):
            return first
        join = self.word()
        self.pos += 1
        second = self.term()
        if self.word() in ("and", "or"):
            raise syntax_error(
                "where", f"{near}: more than two criteria need brackets, as (A {join} (B ...))"
            )
        if join == "and":
            return lambda r: first(r) and second(r)
        return lambda r: first(r) or second(r)

    def term(self) -> Predicate:
        token = self.peek()
        if token and token.text == "(":
            self.pos += 1
            inner = self.disjunction()
            self.expect(")", "where")
            return inner
        self.criteria += 1
        if self.criteria > MAX_CRITERIA:
            raise CoqlError(
                "LIMIT_EXCEEDED",
                f"criteria limit exceeded; the maximum is {MAX_CRITERIA}",
                {"clause": "where", "limit": MAX_CRITERIA},
            )
        column = self.take("where")
        if column.kind != "word":
            raise syntax_error("where", column.text)
        self.check_column(column.text, "where")
        return self.comparison(column.text)

    def comparison(self, column: str) -> Predicate:
        token = self.take("where")
        text = token.text.lower()
        if token.kind == "op":
            value = self.literal()
            return _compare(column, token.text, value)
        if text == "is":
            negate = self.word() == "not"
            if negate:
                self.pos += 1
            self.expect_word("null", "where")
            return lambda r: (_get(r, column) is None) != negate
        if text == "like":
            return _like(column, str(self.literal()), False)
        if text == "not" and self.word() in ("in", "like"):
            kind = self.word()
            self.pos += 1
            if kind == "like":
                return _like(column, str(self.literal()), True)
            values = self.value_list()
            return lambda r: _norm(_get(r, column)) not in values
        if text == "in":
            values = self.value_list()
            return lambda r: _norm(_get(r, column)) in values
        raise syntax_error("where", token.text)

    def value_list(self) -> set[Any]:
        self.expect("(", "where")
        values = [self.literal()]
        while self.peek() and self.peek().text == ",":  # type: ignore[union-attr]
            self.pos += 1
            values.append(self.literal())
        self.expect(")", "where")
        if len(values) > IN_VALUES:
            raise CoqlError(
                "LIMIT_EXCEEDED",
                f"in clause limit exceeded; the maximum is {IN_VALUES} values",
                {"clause": "where", "limit": IN_VALUES},
            )
        return {_norm(v) for v in values}

    def literal(self) -> Any:
        token = self.take("where")
        if token.kind == "str":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "num":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "word" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        raise syntax_error("where", token.text)


def _get(record: dict[str, Any], column: str) -> Any:
    base, _, _rest = column.partition(".")
    value = record.get(base)
    return value.get("id") if isinstance(value, dict) else value


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value  # Zoho compares text case-insensitively


def _compare(column: str, op: str, value: Any) -> Predicate:
    def check(record: dict[str, Any]) -> bool:
        got = _get(record, column)
        if op == "=":
            return got is not None and _norm(got) == _norm(value)
        if op == "!=":
            return _norm(got) != _norm(value)
        if got is None:
            return False
        try:
            return {"<": got < value, ">": got > value, "<=": got <= value, ">=": got >= value}[op]
        except TypeError:
            return False

    return check


def _like(column: str, pattern: str, negate: bool) -> Predicate:
    regex = re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("%")) + "$", re.IGNORECASE)
    return lambda r: bool(regex.match(str(_get(r, column) or ""))) != negate


def parse(query: str, known: Callable[[str, str], bool]) -> Query:
    """`known(module, field)` says whether a module (field "") or a module's field exists."""
    if not isinstance(query, str) or not query.strip():
        raise CoqlError("REQUIRED_PARAM_MISSING", "select_query is missing", {"param_name": "select_query"})
    return _Parser(tokenize(query), known).parse()


def run(query: Query, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """The rows of a page, and whether more follow."""
    hits = [r for r in rows if query.where(r)]
    if query.order_by:
        order = query.order_by
        hits.sort(
            key=lambda r: (_get(r, order) is None, _norm(_get(r, order)) or ""), reverse=query.descending
        )
    page = hits[query.offset : query.offset + query.limit]
    return page, query.offset + query.limit < len(hits)

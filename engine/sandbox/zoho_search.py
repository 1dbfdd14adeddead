"""Zoho's Search Records criteria (GET /crm/v7/{module}/search?criteria=...): `(Field:operator:value)`
groups joined by `and`/`or`, with parentheses; `\\(`, `\\)` and `\\,` escape those characters in a
value. Operators: equals, not_equal, starts_with, in (comma-separated values), greater_than,
greater_equal, less_than, less_equal. At most MAX_CRITERIA groups. Imports nothing from the engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MAX_CRITERIA = 10
OPERATORS = (
    "equals",
    "not_equal",
    "starts_with",
    "in",
    "greater_than",
    "greater_equal",
    "less_than",
    "less_equal",
)

Predicate = Callable[[dict[str, Any]], bool]


class CriteriaError(Exception):
    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"code": "INVALID_QUERY", "details": self.details, "message": self.message, "status": "error"}


def _value(record: dict[str, Any], name: str) -> Any:
    value = record.get(name)
    return value.get("id") if isinstance(value, dict) else value


def _text(value: Any) -> str:
    return "" if value is None else str(value).lower()


def _split_values(raw: str) -> list[str]:
    out, current, escaped = [], "", False
    for ch in raw:
        if escaped:
            current += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            out.append(current)
            current = ""
        else:
            current += ch
    out.append(current)
    return out


def _unescape(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw)


def _group(text: str, known: Callable[[str], bool]) -> Predicate:
    name, sep, rest = text.partition(":")
    operator, sep2, raw = rest.partition(":")
    if not sep or not sep2:
        raise CriteriaError("invalid query formed", {"reason": "invalid criteria", "criteria": text})
    if not known(name):
        raise CriteriaError("invalid query formed", {"api_name": name, "reason": "the field does not exist"})
    if operator not in OPERATORS:
        raise CriteriaError(
            "invalid query formed",
            {"api_name": name, "operator": operator, "reason": "invalid operator found"},
        )
    if operator == "in":
        wanted = {v.lower() for v in _split_values(raw)}
        return lambda r: _text(_value(r, name)) in wanted
    value = _unescape(raw).lower()
    tests: dict[str, Callable[[str], bool]] = {
        "equals": lambda got: got == value,
        "not_equal": lambda got: got != value,
        "starts_with": lambda got: got.startswith(value),
        "greater_than": lambda got: got > value,
        "greater_equal": lambda got: got >= value,
        "less_than": lambda got: got < value,
        "less_equal": lambda got: got <= value,
    }
    test = tests[operator]
    return lambda r: test(_text(_value(r, name)))


class _Criteria:
    def __init__(self, text: str, known: Callable[[str], bool]) -> None:
        self.text = text
        self.pos = 0
        self.known = known
        self.groups = 0

    def parse(self) -> Predicate:
        predicate = self.expression()
        if self.text[self.pos :].strip():
            raise CriteriaError(
                "invalid query formed", {"reason": "unexpected text", "near": self.text[self.pos :]}
            )
        return predicate

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def expression(self) -> Predicate:
        parts = [self.primary()]
        joins: list[str] = []
        while True:
            self.skip_spaces()
            rest = self.text[self.pos :].lower()
            join = "and" if rest.startswith("and") else "or" if rest.startswith("or") else None
            if join is None:
                break
            self.pos += len(join)
            joins.append(join)
            parts.append(self.primary())
        if len(set(joins)) > 1:  # Zoho wants each pair bracketed: ((A and B) or C)
            raise CriteriaError("invalid query formed", {"reason": "mixed and/or without brackets"})
        if not joins:
            return parts[0]
        combine = all if joins[0] == "and" else any
        return lambda r: combine(p(r) for p in parts)

    def primary(self) -> Predicate:
        self.skip_spaces()
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise CriteriaError(
                "invalid query formed", {"reason": "expected (", "near": self.text[self.pos :]}
            )
        self.pos += 1
        self.skip_spaces()
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            inner = self.expression()
            self.skip_spaces()
            self.close()
            return inner
        start, escaped = self.pos, False
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == ")":
                break
            self.pos += 1
        group = self.text[start : self.pos]
        self.close()
        self.groups += 1
        if self.groups > MAX_CRITERIA:
            raise CriteriaError("invalid query formed", {"reason": f"more than {MAX_CRITERIA} criteria"})
        return _group(group, self.known)

    def close(self) -> None:
        if self.pos >= len(self.text) or self.text[self.pos] != ")":
            raise CriteriaError("invalid query formed", {"reason": "expected )"})
        self.pos += 1


def parse_criteria(text: str, known: Callable[[str], bool]) -> Predicate:
    return _Criteria(text, known).parse()

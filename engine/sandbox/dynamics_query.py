"""Binding and evaluating parsed `$filter` trees, `$select` and `$orderby` over Dataverse rows
(records or metadata), with Dataverse's semantics:

- string comparisons are case-insensitive (webapi/query/filter-rows.md, "Filter using string values") and,
  as SQL Server compares, ignore trailing spaces;
- `contains`, `startswith` and `endswith` are SQL LIKE: `%`, `_`, `[...]`, `[^...]` are wildcards and a
  wildcard is literal only inside brackets, e.g. `[%]` (wildcard-characters.md);
- comparisons follow SQL's three-valued logic: a row whose column is null matches `eq null` but neither
  `eq 'x'` nor `ne 'x'`;
- `Microsoft.Dynamics.CRM.In/NotIn/Between/NotBetween(PropertyName=..,PropertyValues=[..])`.
Type errors use Microsoft.OData.Core's texts ("A binary operator with incompatible types was detected...").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Protocol

from engine.sandbox.dynamics_errors import not_implemented, property_not_found, query_error
from engine.sandbox.dynamics_odata import COMPARISONS, parse_alias_value

NUMERIC = {"Edm.Int32", "Edm.Int64", "Edm.Decimal", "Edm.Double"}
STRINGISH = {"Edm.String", "Edm.Guid"}
# Dataverse query functions (webapi/query/filter-rows.md); the sandbox evaluates the first four.
DATAVERSE_FUNCTIONS = {
    "In",
    "NotIn",
    "Between",
    "NotBetween",
    "Above",
    "AboveOrEqual",
    "ContainValues",
    "DoesNotContainValues",
    "EqualBusinessId",
    "EqualUserId",
    "EqualUserLanguage",
    "EqualUserOrUserHierarchy",
    "EqualUserTeams",
    "InFiscalPeriod",
    "InFiscalYear",
    "Last7Days",
    "LastMonth",
    "LastWeek",
    "LastXDays",
    "LastXHours",
    "LastXMonths",
    "LastXWeeks",
    "LastXYears",
    "LastYear",
    "Next7Days",
    "NextMonth",
    "NextWeek",
    "NextXDays",
    "NextXHours",
    "NextXMonths",
    "NextXWeeks",
    "NextXYears",
    "NextYear",
    "NotEqualBusinessId",
    "NotEqualUserId",
    "NotUnder",
    "OlderThanXDays",
    "OlderThanXHours",
    "OlderThanXMinutes",
    "OlderThanXMonths",
    "OlderThanXWeeks",
    "OlderThanXYears",
    "On",
    "OnOrAfter",
    "OnOrBefore",
    "ThisMonth",
    "ThisWeek",
    "ThisYear",
    "Today",
    "Tomorrow",
    "Under",
    "UnderOrEqual",
    "Yesterday",
}
Evaluator = Callable[[dict[str, Any]], Any]


class Resolver(Protocol):
    type_name: str

    def edm(self, path: list[str]) -> str: ...

    def get(self, row: dict[str, Any], path: list[str]) -> Any: ...


class DictResolver:
    """Metadata rows: a property exists when the template row has it; nested complex values by `a/b`."""

    def __init__(self, type_name: str, template: dict[str, Any], enums: dict[str, str] | None = None) -> None:
        self.type_name = type_name
        self.template = template
        self.enums = enums or {}

    def edm(self, path: list[str]) -> str:
        value: Any = self.template
        for i, segment in enumerate(path):
            if not isinstance(value, dict) or segment not in value or segment.startswith("@"):
                owner = self.type_name if i == 0 else "Microsoft.Dynamics.CRM." + path[i - 1]
                raise property_not_found(segment, owner)
            value = value[segment]
        key = "/".join(path)
        if key in self.enums:
            return "enum:" + self.enums[key]
        if isinstance(value, bool):
            return "Edm.Boolean"
        if isinstance(value, int):
            return "Edm.Int32"
        if isinstance(value, float):
            return "Edm.Double"
        return "Edm.String" if isinstance(value, str) else "Edm.Untyped"

    def get(self, row: dict[str, Any], path: list[str]) -> Any:
        value: Any = row
        for segment in path:
            value = value.get(segment) if isinstance(value, dict) else None
        return value


def like(pattern: str, mode: str) -> re.Pattern[str]:
    """SQL LIKE as a regular expression, for contains/startswith/endswith."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        close = pattern.find("]", i + 2) if char == "[" else -1
        if char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        elif char == "[" and close != -1:
            body = pattern[i + 1 : close]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            escaped = "".join("\\" + c if c in "\\]^[" else c for c in body)
            out.append(("[^" if negate else "[") + escaped + "]")
            i = close
        else:
            out.append(re.escape(char))
        i += 1
    core = "".join(out)
    regex = {"contains": f".*{core}.*", "startswith": f"{core}.*", "endswith": f".*{core}"}[mode]
    return re.compile(regex, re.IGNORECASE | re.DOTALL)


def to_moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def normalize(value: Any, edm: str) -> Any:
    if value is None:
        return None
    if edm in ("Edm.DateTimeOffset", "Edm.Date"):
        return to_moment(value)
    if edm in NUMERIC:
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else _number(value)
    if edm == "Edm.Boolean":
        return bool(value)
    if isinstance(value, str):
        return value.rstrip(" ").casefold()  # SQL Server compares strings padded, without regard to case
    return value


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def display_type(edm: str) -> str:
    return edm[5:] if edm.startswith("enum:") else edm


def compatible(left: str, right: str) -> bool:
    if "null" in (left, right) or "Edm.Untyped" in (left, right) or left == right:
        return True
    pair = {left, right}
    if pair <= NUMERIC or pair <= STRINGISH or pair == {"Edm.DateTimeOffset", "Edm.Date"}:
        return True
    enums = [t for t in pair if t.startswith("enum:")]
    return bool(enums) and pair - set(enums) <= {"Edm.String"} | set(enums)


class FilterCompiler:
    """Turns a parse tree into a function row -> True/False/None, checking types first."""

    def __init__(self, resolver: Resolver, aliases: dict[str, str]) -> None:
        self.resolver = resolver
        self.aliases = aliases

    def predicate(self, node: tuple) -> Evaluator:
        edm, fn = self.compile(node)
        if edm not in ("Edm.Boolean", "null"):
            raise query_error(
                f"The $filter expression must evaluate to a single boolean value, not '{display_type(edm)}'."
            )
        return fn

    def compile(self, node: tuple) -> tuple[str, Evaluator]:
        kind = node[0]
        if kind == "lit":
            value = node[2]
            return node[1], lambda row: value
        if kind == "alias":
            text = self.aliases.get(node[1])
            return self.compile(parse_alias_value(text)) if text is not None else ("null", lambda row: None)
        if kind == "prop":
            path = node[1]
            edm = self.resolver.edm(path)
            return edm, lambda row: self.resolver.get(row, path)
        if kind == "cmp":
            return self.comparison(node)
        if kind in ("and", "or"):
            return self.logical(node)
        if kind == "not":
            inner = self.boolean_operand(node[1], "Not")
            return "Edm.Boolean", lambda row: None if (v := inner(row)) is None else not v
        if kind == "func":
            return self.function(node[1], node[2])
        return self.dataverse_function(node[1], node[2])

    def boolean_operand(self, node: tuple, kind: str) -> Evaluator:
        edm, fn = self.compile(node)
        if edm not in ("Edm.Boolean", "null"):
            raise query_error(
                f"A binary operator with incompatible types was detected. Found operand types "
                f"'{display_type(edm)}' and 'Edm.Boolean' for operator kind '{kind}'."
            )
        return fn

    def logical(self, node: tuple) -> tuple[str, Evaluator]:
        kind = "And" if node[0] == "and" else "Or"
        left, right = self.boolean_operand(node[1], kind), self.boolean_operand(node[2], kind)
        if kind == "And":

            def both(row: dict[str, Any]) -> Any:
                a, b = left(row), right(row)
                return False if a is False or b is False else (None if a is None or b is None else True)

            return "Edm.Boolean", both

        def either(row: dict[str, Any]) -> Any:
            a, b = left(row), right(row)
            return True if a is True or b is True else (None if a is None or b is None else False)

        return "Edm.Boolean", either

    def comparison(self, node: tuple) -> tuple[str, Evaluator]:
        op, (left_t, left), (right_t, right) = node[1], self.compile(node[2]), self.compile(node[3])
        if not compatible(left_t, right_t) or "array" in (left_t, right_t):
            raise query_error(
                f"A binary operator with incompatible types was detected. Found operand types "
                f"'{display_type(left_t)}' and '{display_type(right_t)}' for operator kind "
                f"'{COMPARISONS[op]}'."
            )
        edm = right_t if left_t in ("null", "Edm.Untyped") else left_t
        null_literal = "null" in (left_t, right_t)

        def compare(row: dict[str, Any]) -> Any:
            a, b = normalize(left(row), edm), normalize(right(row), edm)
            if a is None or b is None:
                if not null_literal or op not in ("eq", "ne"):
                    return None
                return (a is None and b is None) == (op == "eq")
            try:
                return {"eq": a == b, "ne": a != b, "gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
            except TypeError:
                return None

        return "Edm.Boolean", compare

    def function(self, name: str, args: list[tuple]) -> tuple[str, Evaluator]:
        if name not in ("contains", "startswith", "endswith"):
            raise query_error(
                f"An unknown function with name '{name}' was found. This may also be a function import or a "
                "key "
                "lookup on a navigation property, which is not allowed."
            )
        compiled = [self.compile(arg) for arg in args]
        if len(compiled) != 2 or any(t not in ("Edm.String", "null") for t, _ in compiled):
            raise query_error(
                f"No function signature for the function with name '{name}' matches the specified "
                "arguments. The "
                f"function signatures considered are: {name}(Edm.String Nullable=true, Edm.String "
                "Nullable=true)."
            )
        (_, subject), (_, pattern) = compiled
        cache: dict[str, re.Pattern[str]] = {}

        def matches(row: dict[str, Any]) -> Any:
            text, pat = subject(row), pattern(row)
            if text is None or pat is None:
                return None
            regex = cache.get(pat) or cache.setdefault(pat, like(str(pat), name))
            return regex.fullmatch(str(text)) is not None

        return "Edm.Boolean", matches

    def dataverse_function(self, name: str, params: dict[str, tuple]) -> tuple[str, Evaluator]:
        short = name.removeprefix("Microsoft.Dynamics.CRM.")
        if short not in DATAVERSE_FUNCTIONS:
            raise query_error(
                f"An unknown function with name '{name}' was found. This may also be a function import or a "
                "key "
                "lookup on a navigation property, which is not allowed."
            )
        if short not in ("In", "NotIn", "Between", "NotBetween"):
            raise not_implemented(f"the query function {name}")
        prop_t, prop = self._named(params, "PropertyName", name)
        values_t, values = self._named(params, "PropertyValues", name)
        if prop_t != "Edm.String" or values_t != "array":
            raise query_error(
                f"Invalid parameters for {name}: PropertyName is a string, PropertyValues an array."
            )
        path = [str(prop({}))]
        edm = self.resolver.edm(path)
        wanted = [normalize(v, edm) for v in values({})]
        if short.endswith("Between") and len(wanted) != 2:
            raise query_error(f"{name} takes exactly two PropertyValues.")
        negate = short.startswith("Not")

        def test(row: dict[str, Any]) -> Any:
            value = normalize(self.resolver.get(row, path), edm)
            if value is None:
                return None
            try:
                hit = wanted[0] <= value <= wanted[1] if short.endswith("Between") else value in wanted
            except TypeError:
                return None
            return hit != negate

        return "Edm.Boolean", test

    def _named(self, params: dict[str, tuple], key: str, name: str) -> tuple[str, Evaluator]:
        if key not in params:
            raise query_error(f"The function '{name}' requires the parameter '{key}'.")
        return self.compile(params[key])


def compile_filter(node: tuple, resolver: Resolver, aliases: dict[str, str]) -> Evaluator:
    return FilterCompiler(resolver, aliases).predicate(node)


def parse_select(text: str, known: Callable[[str], bool], type_name: str) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    for name in names:
        if not name:
            raise query_error(f"Syntax error at position {len(text)} in '{text}'.")
        if not known(name):
            raise property_not_found(name, type_name)
    return names


def sort_rows(
    rows: list[dict[str, Any]], order: list[tuple[list[str], bool]], resolver: Resolver
) -> list[dict[str, Any]]:
    """Stable multi-key sort; nulls first ascending, as SQL Server sorts them."""
    ordered = list(rows)
    for path, descending in reversed(order):
        edm = resolver.edm(path)

        def key(row: dict[str, Any], path: list[str] = path, edm: str = edm) -> tuple[int, Any]:
            value = normalize(resolver.get(row, path), edm)
            return (0, "") if value is None else (1, value)

        ordered.sort(key=key, reverse=descending)
    return ordered

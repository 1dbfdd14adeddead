"""The CRM search API's filter language (POST /crm/v3/objects/{type}/search).

From HubSpot's search guide (developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm):
filters in a group are ANDed, groups ORed; values are case-insensitive except for enumerations;
string IN / NOT_IN values must be lowercase; one sort; default limit 10, max 200; 10,000 results per
query at most; request body at most 3,000 characters.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

from engine.sandbox.hubspot_rules import BadRequest, parse_moment

OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}
QUERY_PROPERTIES = {
    "companies": ("name", "domain", "website", "phone"),
    "contacts": ("email", "firstname", "lastname", "phone", "company"),
}


@dataclass
class SearchLimits:
    max_groups: int = 5
    max_filters_per_group: int = 6
    max_filters_total: int = 18
    default_limit: int = 10
    max_limit: int = 200
    max_results: int = 10_000
    max_body_chars: int = 3_000


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        moment = parse_moment(text)
        return moment.timestamp() * 1000 if moment else None


def _compare(stored: str, wanted: str) -> int:
    a, b = _number(stored), _number(wanted)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    x, y = stored.lower(), wanted.lower()
    return (x > y) - (x < y)


def _tokens(text: str) -> set[str]:
    return {t for t in re.split(r"[\s,;]+", text.lower()) if t}


def _contains_token(stored: str, wanted: str) -> bool:
    wanted = wanted.lower()
    candidates = _tokens(stored) | {stored.lower()}
    if "*" in wanted:
        return any(fnmatch.fnmatchcase(c, wanted) for c in candidates)
    return wanted in candidates


def _equal(stored: str, wanted: str, enum: bool) -> bool:
    return stored == wanted if enum else stored.lower() == wanted.lower()


def _in(stored: str, values: list[str], enum: bool) -> bool:
    # Documented: for string properties the values must be lowercase. Stored values are compared
    # lowercased, the given ones as given, so an uppercase value never matches.
    return stored in values if enum else stored.lower() in values


def _match_filter(props: dict[str, str], flt: dict[str, Any], enum: bool) -> bool:
    op, value = flt["operator"], props.get(flt["propertyName"])
    if op == "HAS_PROPERTY":
        return value not in (None, "")
    if op == "NOT_HAS_PROPERTY":
        return value in (None, "")
    if op in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN") and value in (None, ""):
        return True
    if value in (None, ""):
        return False
    assert value is not None
    wanted = flt.get("value")
    simple = {
        "EQ": lambda: _equal(value, wanted, enum),
        "NEQ": lambda: not _equal(value, wanted, enum),
        "LT": lambda: _compare(value, wanted) < 0,
        "LTE": lambda: _compare(value, wanted) <= 0,
        "GT": lambda: _compare(value, wanted) > 0,
        "GTE": lambda: _compare(value, wanted) >= 0,
        "BETWEEN": lambda: _compare(value, wanted) >= 0 and _compare(value, flt["highValue"]) <= 0,
        "IN": lambda: _in(value, flt["values"], enum),
        "NOT_IN": lambda: not _in(value, flt["values"], enum),
        "CONTAINS_TOKEN": lambda: _contains_token(value, wanted),
        "NOT_CONTAINS_TOKEN": lambda: not _contains_token(value, wanted),
    }
    return bool(simple[op]())


def _as_str(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise BadRequest(f"Invalid input JSON: {where} must be a string")


def _check_filter(flt: Any, known: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if not isinstance(flt, dict) or not isinstance(flt.get("propertyName"), str):
        raise BadRequest("Invalid input JSON: each filter needs a propertyName and an operator")
    op = flt.get("operator")
    if op not in OPERATORS:
        raise BadRequest(f"Invalid input JSON: operator {op!r} is not one of {', '.join(sorted(OPERATORS))}")
    if flt["propertyName"] not in known:
        raise BadRequest(f'Property "{flt["propertyName"]}" does not exist')
    out = {"propertyName": flt["propertyName"], "operator": op}
    if op in ("IN", "NOT_IN"):
        values = flt.get("values")
        if not isinstance(values, list) or not values:
            raise BadRequest(f"{op} filter on {flt['propertyName']} needs a non-empty values list")
        out["values"] = [_as_str(v, "values") for v in values]
    elif op not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        if flt.get("value") is None:
            raise BadRequest(f"{op} filter on {flt['propertyName']} needs a value")
        out["value"] = _as_str(flt["value"], "value")
        if op == "BETWEEN":
            if flt.get("highValue") is None:
                raise BadRequest(f"BETWEEN filter on {flt['propertyName']} needs a highValue")
            out["highValue"] = _as_str(flt["highValue"], "highValue")
    return out


def parse_groups(
    body: dict[str, Any], known: dict[str, dict[str, Any]], limits: SearchLimits
) -> list[list[dict[str, Any]]]:
    groups = body.get("filterGroups") or []
    if not isinstance(groups, list):
        raise BadRequest("Invalid input JSON: filterGroups must be a list")
    if len(groups) > limits.max_groups:
        raise BadRequest(f"Too many filter groups: {len(groups)}. The maximum is {limits.max_groups}.")
    parsed: list[list[dict[str, Any]]] = []
    for group in groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise BadRequest("Invalid input JSON: each filter group needs a filters list")
        if len(filters) > limits.max_filters_per_group:
            raise BadRequest(
                f"Too many filters in a filter group: {len(filters)}. "
                f"The maximum is {limits.max_filters_per_group}."
            )
        parsed.append([_check_filter(f, known) for f in filters])
    total = sum(len(g) for g in parsed)
    if total > limits.max_filters_total:
        raise BadRequest(f"Too many filters: {total}. The maximum is {limits.max_filters_total}.")
    return parsed


def matches(
    props: dict[str, str], groups: list[list[dict[str, Any]]], known: dict[str, dict[str, Any]]
) -> bool:
    if not groups:
        return True
    return any(
        all(_match_filter(props, f, known[f["propertyName"]]["type"] == "enumeration") for f in g)
        for g in groups
        if g
    )


def matches_query(props: dict[str, str], query: str, object_type: str) -> bool:
    words = query.lower().split()
    haystack = " ".join(props.get(p, "") for p in QUERY_PROPERTIES[object_type]).lower()
    return all(w.strip("*") in haystack for w in words)


def sort_key(
    records: list[dict[str, Any]], sorts: Any, known: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    if not sorts:
        return sorted(records, key=lambda r: int(r["id"]))
    if not isinstance(sorts, list) or len(sorts) > 1:
        raise BadRequest("Only one sort is allowed")
    sort = sorts[0]
    name = sort.get("propertyName") if isinstance(sort, dict) else sort if isinstance(sort, str) else None
    if name not in known:
        raise BadRequest(f'Property "{name}" does not exist')
    descending = isinstance(sort, dict) and sort.get("direction") == "DESCENDING"

    def key(record: dict[str, Any]) -> tuple[int, float, str]:
        value = record["properties"].get(name) or ""
        num = _number(value) if value else None
        return (0 if num is not None else 1, num or 0.0, value.lower())

    return sorted(records, key=key, reverse=descending)

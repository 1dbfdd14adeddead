"""JSONPath, compiled once per expression. A plain chain of names (`$.address.city`,
`$['@odata.nextLink']`) is read by walking the dicts, which gives what jsonpath-ng's find gives for it
at a fraction of the cost, and so is such a chain ending in `[*]` on a list; anything else (filters,
slices, `[*]` on a mapping) goes through jsonpath-ng.

jsonpath-ng's `parse` builds a new parser (its PLY tables) for every expression: a profile's hundred
paths cost a tenth of a second that way. One parser parses them all here, under a lock (a PLY parser
keeps its stacks on itself), and each expression is parsed once (`compiled`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from typing import Any

from jsonpath_ng.ext.parser import ExtendedJsonPathParser
from jsonpath_ng.jsonpath import Child, Fields, JSONPath, Root, Wildcard

Finder = Callable[[Any], list[Any]]
_parser: ExtendedJsonPathParser | None = None
_parsing = threading.Lock()


@cache
def compiled(expression: str) -> JSONPath:
    """`expression` parsed, as jsonpath_ng.ext.parse parses it (and raising what it raises)."""
    global _parser
    with _parsing:
        if _parser is None:
            _parser = ExtendedJsonPathParser()
        return _parser.parse(expression)


@cache
def finder(expression: str) -> Finder:
    """A function giving the values `expression` finds in a document (a list: none, one or several)."""
    parsed = compiled(expression)
    keys = plain_keys(parsed)
    if keys is not None:
        return lambda data: _walk(data, keys)
    if type(parsed) is Child and type(parsed.right) is Wildcard:  # $.a.b[*]: a list's items
        keys = plain_keys(parsed.left)
        if keys is not None:
            def items(data: Any) -> list[Any]:
                found = _walk(data, keys)
                if found and type(found[0]) is list:
                    return list(found[0])
                return [m.value for m in parsed.find(data)]  # not a list: jsonpath-ng's own rules
            return items
    return lambda data: [m.value for m in parsed.find(data)]


def _walk(data: Any, keys: list[str]) -> list[Any]:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return []
        data = data[key]
    return [data]


def plain_keys(compiled: Any) -> list[str] | None:
    """The names of `$.a.b.c` (Child(Child(Root, a), b)...), or None for any other expression."""
    keys: list[str] = []
    node = compiled
    while type(node) is Child:
        right = node.right
        if type(right) is not Fields or len(right.fields) != 1 or right.fields[0] == "*":
            return None
        keys.append(right.fields[0])
        node = node.left
    return list(reversed(keys)) if type(node) is Root and keys else None


@cache
def getter(expression: str) -> Callable[[Any], Any] | None:
    """For a plain chain of names: a function giving the one value found, or None when nothing is
    found (as jsonpath-ng would find no match). None for any other expression."""
    keys = plain_keys(compiled(expression))
    if keys is None:
        return None
    if len(keys) == 1:
        key = keys[0]
        return lambda data: data.get(key) if isinstance(data, dict) else None

    def get(data: Any) -> Any:
        for key in keys:
            if not isinstance(data, dict):
                return None
            data = data.get(key)
        return data

    return get

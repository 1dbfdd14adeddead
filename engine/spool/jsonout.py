"""A JSON document written as a stream: the same text as `json.dumps(doc, indent=2, ensure_ascii=False,
default=str)`, but a value given as an iterator (a plan's records, its requests) is written one item at
a time, so the document is never whole in memory.

Each item is written by orjson (OPT_INDENT_2: the standard library falls back to its pure-Python
encoder with `indent`, which cost more than making the plan) when it holds only what orjson writes as
the standard library does: exact dicts with text keys, lists, tuples, text, booleans, None, integers
(orjson refuses those past 64 bits) and floats whose text is the same in both (not NaN nor infinity,
which orjson writes as null; not 1e-05, which it writes as 0.00001). Anything else is written by the
standard library, as before. tests/test_spool.py holds the two to the same text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

import orjson

INDENT = "  "
_SCALARS = frozenset({str, int, bool, type(None)})


def dumps(value: Any, depth: int) -> str:
    """`value` as json.dumps(indent=2) writes it at `depth` levels of nesting (strings hold no raw newline:
    json escapes it, so every newline is the encoder's own)."""
    text = indented(value)
    return text.replace("\n", "\n" + INDENT * depth) if depth else text


def indented(value: Any) -> str:
    """json.dumps(value, indent=2, ensure_ascii=False, default=str)."""
    if orjson_writes_alike(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode("utf-8")
        except orjson.JSONEncodeError:  # an integer past 64 bits, a lone surrogate
            pass
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def orjson_writes_alike(value: Any) -> bool:
    """Whether `value` holds only what orjson writes as the standard library does (see the module).
    A loop over a stack rather than a recursion: it is run on every record of a plan."""
    pending = [value]
    take, add = pending.pop, pending.extend
    while pending:
        item = take()
        kind = type(item)
        if kind in _SCALARS:
            continue
        if kind is dict:
            for key in item:
                if type(key) is not str:
                    return False
            add(item.values())
        elif kind is list or kind is tuple:
            add(item)
        elif kind is not float or orjson.dumps(item) != float.__repr__(item).encode():
            return False
    return True


def write_json(document: dict[str, Any], out: TextIO) -> None:
    """Write `document` (a dict whose values may be iterators, each written as a list) and a newline."""
    if not document:
        out.write("{}\n")
        return
    out.write("{")
    for position, (key, value) in enumerate(document.items()):
        out.write(("," if position else "") + "\n" + INDENT + dumps(key, 1) + ": ")
        if isinstance(value, Iterator):
            write_list(value, out, 1)
        else:
            out.write(dumps(value, 1))
    out.write("\n}\n")


def write_list(items: Iterator[Any], out: TextIO, depth: int) -> None:
    inner = INDENT * (depth + 1)
    first = True
    for item in items:
        out.write(("[\n" if first else ",\n") + inner + dumps(item, depth + 1))
        first = False
    out.write("[]" if first else "\n" + INDENT * depth + "]")

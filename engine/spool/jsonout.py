"""A JSON document written as a stream: the same text as `json.dumps(doc, indent=2, ensure_ascii=False,
default=str)`, but a value given as an iterator (a plan's records, its requests) is written one item at
a time, so the document is never whole in memory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

INDENT = "  "


def dumps(value: Any, depth: int) -> str:
    """`value` as json.dumps(indent=2) writes it at `depth` levels of nesting (strings hold no raw newline:
    json escapes it, so every newline is the encoder's own)."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return text.replace("\n", "\n" + INDENT * depth)


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

"""Field values between the wire and the engine. Inside the engine every value is a scalar of its
field's type, under the field's name; a field's `read` (JSONPath) or `path` (dotted) says where an
answer holds it, and its `write` (a structural template with $value) and `path` say how a request body
carries it. Only answers read here and bodies rendered by render.py cross that line."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from engine.connector import FieldRelation, FieldSpec, ObjectSpec
from engine.paths import finder
from engine.templating import compile_template

Reader = Callable[[dict[str, Any]], list[Any]]

# object id -> (the object, its readers, its writers); the object is kept so its id stays its own
_SHAPES: dict[int, tuple[ObjectSpec, list[tuple[str, str | None, Reader]], dict[str, Writer]]] = {}


class Writer:
    """How one field is carried in a request body: its `write` template and where it goes."""

    __slots__ = ("keys", "render")

    def __init__(self, name: str, spec: FieldSpec) -> None:
        self.keys = (spec.path or name).split(".")
        self.render = compile_template(spec.write) if spec.write is not None else None

    def shaped(self, value: Any) -> Any:
        return self.render({"value": value}) if self.render is not None and value is not None else value


def _walker(keys: list[str]) -> Reader:
    def walk(data: dict[str, Any]) -> list[Any]:
        node: Any = data
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return []
            node = node[key]
        return [node]
    return walk


_TOP_KEY = re.compile(r"^\$(?:\.([^.\[\]]+)|\[['\"]([^'\"]+)['\"]\])")


def top_key(expression: str) -> str | None:
    """The record key a JSONPath starts from (`emails` of `$.emails[*].value`), or None."""
    found = _TOP_KEY.match(expression)
    return (found[1] or found[2]) if found else None


def reading(spec: FieldSpec, relation: FieldRelation | None = None) -> str | None:
    """Where an answer holds the field, when not under its own name: a JSONPath or a dotted path."""
    if relation is not None and relation.read:
        return relation.read
    return spec.read or spec.path


def _shapes(obj: ObjectSpec) -> tuple[list[tuple[str, str | None, Reader]], dict[str, Writer]]:
    known = _SHAPES.get(id(obj))
    if known is not None and known[0] is obj:
        return known[1], known[2]
    by_field = {r.field: r for r in obj.relations.values() if isinstance(r, FieldRelation)}
    readers: list[tuple[str, str | None, Reader]] = []
    for name, spec in obj.fields.items():
        where = reading(spec, by_field.get(name))
        if where is None:
            continue
        if where.startswith("$"):
            readers.append((name, top_key(where), finder(where)))
        else:
            keys = where.split(".")
            readers.append((name, keys[0], _walker(keys)))
    writers = {name: Writer(name, spec) for name, spec in obj.fields.items()
               if spec.write is not None or spec.path}
    _SHAPES[id(obj)] = (obj, readers, writers)
    return readers, writers


def from_answer(obj: ObjectSpec, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """One record's fields as the engine holds them, and the fields whose `read` found several values
    (all of them, the first being the field's value). A field whose answer lacks the key its read
    starts from stays absent: it is not known, rather than empty."""
    readers, _ = _shapes(obj)
    if not readers:
        return raw, {}
    fields = dict(raw)
    several: dict[str, list[Any]] = {}
    for name, top, read in readers:
        if top is not None and top not in raw:
            fields.pop(name, None)
            continue
        found = read(raw)
        fields[name] = found[0] if found else None
        if len(found) > 1:
            several[name] = found
    return fields, several


def shapes_writes(obj: ObjectSpec) -> bool:
    """Whether any field of the object is written in a shape of its own (`write` or `path`)."""
    return bool(_shapes(obj)[1])


def to_wire(obj: ObjectSpec, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields of a write as the request body carries them: each through its `write` template and
    placed at its `path` (nested fields of one object gathered into one mapping)."""
    _, writers = _shapes(obj)
    if not writers or not any(name in writers for name in fields):
        return fields
    out: dict[str, Any] = {}
    for name, value in fields.items():
        writer = writers.get(name)
        if writer is None:
            out[name] = value
            continue
        node = out
        for key in writer.keys[:-1]:
            node = node.setdefault(key, {})
        node[writer.keys[-1]] = writer.shaped(value)
    return out


def query_name(obj: ObjectSpec, name: str) -> str:
    """How look-ups name a field: its `query_name`, else its `path`, else its name."""
    spec = obj.fields.get(name)
    if spec is None:
        return name
    return spec.query_name or spec.path or name

"""Reverse: a CRM record back in the local shape of one stream (what `import` writes, what `pull` shows).
A field mapped from a plain source path (`$.address.city`) goes back to that path, and so does an
identity part's first path; what else a stream needs back is declared in the profile's
`pull.<object>.fields`. A transform that changes a value's kind (a date to a month name) does not map
back: `unfillable` names those fields, which `validate` reports."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine.catalog import ProfileBundle
from engine.connector import FieldRelation
from engine.profile import ConstantMapping, SourceMapping, StreamSpec
from engine.render import read_one

PLAIN_PATH = re.compile(r"^\$((?:\.[A-Za-z_][A-Za-z0-9_]*)+)$")
# transforms whose result is the same kind of value as their input: the CRM's value can stand for it
SHAPE_KEEPING = frozenset({"url", "domain", "phone_e164", "state_code", "state_name", "title_case", "email",
                           "integer", "truncate"})


def plain_path(path: str) -> list[str] | None:
    """`$.address.city` -> ["address", "city"]; None for a path that selects more than one value."""
    found = PLAIN_PATH.match(path)
    return found[1][1:].split(".") if found else None


@dataclass(frozen=True)
class StreamBack:
    """How one stream's local records are written from CRM fields: [(path, CRM field)], its id path, and
    its parents' paths with their relations' CRM fields."""

    stream: str
    paths: list[tuple[list[str], str]]
    id_path: list[str]
    parents: list[tuple[list[str], str, str]]  # (path, CRM field or JSONPath of the parent's id, its stream)


def stream_back(bundle: ProfileBundle, stream: str) -> StreamBack:
    profile = bundle.profile.model
    spec = profile.streams[stream]
    obj = bundle.connector.model.objects[spec.object]
    paths: dict[str, tuple[list[str], str]] = {}
    for target, mapping in spec.fields.items():
        if isinstance(mapping, SourceMapping) and mapping.source != spec.id and _keeps_shape(mapping):
            path = plain_path(mapping.source)
            if path:
                paths.setdefault(".".join(path), (path, target))
    key = obj.identity_keys[spec.identity.key]
    for part in key.parts:
        given = spec.identity.source.get(part.name)
        first = given if isinstance(given, str) else (given[0] if given else None)
        path = plain_path(first) if first else None
        if path:
            paths.setdefault(".".join(path), (path, part.field))
    declared = profile.pull.get(spec.object)
    for source, field_name in (declared.fields.get(stream, {}) if declared else {}).items():
        path = plain_path(source)
        if path:
            paths[".".join(path)] = (path, field_name)
    parents = []
    for parent in spec.parents:
        relation = obj.relations.get(parent.relation)
        path = plain_path(parent.source)
        if relation is not None and relation.read_as and path:
            read = relation.read if isinstance(relation, FieldRelation) else None
            where = read or relation.read_as
            parents.append((path, where, parent.stream))
    return StreamBack(stream, list(paths.values()), plain_path(spec.id) or ["id"], parents)


def parent_of(fields: dict[str, Any], where: str) -> Any:
    """A parent's id in a listed CRM record: under a field's name, or at a relation's JSONPath `read`
    (a lookup answered as an object, `$.Account_Name.id`)."""
    return read_one(fields, where) if where.startswith("$") else fields.get(where)


def _keeps_shape(mapping: SourceMapping) -> bool:
    return mapping.transform is None or mapping.transform.name in SHAPE_KEEPING


def local_shape(back: StreamBack, fields: dict[str, Any], local_id: str | None,
                parent_refs: dict[tuple[str, str], str] | None = None) -> dict[str, Any]:
    """The CRM record as a local record of the stream; `parent_refs`: (parent stream, CRM id) -> the
    local source id linked to it, so a contact comes with its company's local id."""
    record: dict[str, Any] = {}
    if local_id is not None:
        _put(record, back.id_path, local_id)
    for path, field_name in back.paths:
        value = fields.get(field_name)
        if value not in (None, ""):
            _put(record, path, value)
    for path, field_name, parent_stream in back.parents:
        parent_id = parent_of(fields, field_name)
        local = (parent_refs or {}).get((parent_stream, str(parent_id))) if parent_id else None
        if local is not None:
            _put(record, path, local)
    return record


def _put(record: dict[str, Any], path: list[str], value: Any) -> None:
    here = record
    for key in path[:-1]:
        here = here.setdefault(key, {})
        if not isinstance(here, dict):
            return
    here.setdefault(path[-1], value)


def unfillable(bundle: ProfileBundle, stream: str) -> list[str]:
    """The stream's mapped source paths a pull cannot fill from the CRM (a template, a constant, a
    transform that changes the kind of value), unless the profile's `pull.<object>.fields` gives them."""
    spec: StreamSpec = bundle.profile.model.streams[stream]
    paths = stream_back(bundle, stream).paths
    back = {".".join(path) for path, _ in paths}
    declared = bundle.profile.model.pull.get(spec.object)
    told = set(declared.fields.get(stream, {}).values()) if declared else set()  # said to come back
    missing = []
    for target, mapping in spec.fields.items():
        if isinstance(mapping, SourceMapping):
            path = plain_path(mapping.source)
            lost = path is None or ".".join(path) not in back
            if mapping.source != spec.id and target not in told and lost:
                missing.append(f"{target} ({mapping.source})")
        elif not isinstance(mapping, ConstantMapping) and target not in told:  # a constant is the profile's
            missing.append(f"{target} (a template)")
    return missing

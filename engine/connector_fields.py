"""`crmsync connectors NAME [OBJECT]`: what a connector says a CRM object's fields are — each field's
type, whether it is required on create, part of an identity key, read-only or unique, what it refers
to, and its picklist values (the first few, and how many more), for a person writing a profile."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from engine.connector import ConnectorSpec, FieldSpec, ObjectSpec
from engine.errors import UsageError
from engine.summary import say
from engine.terminal import visible

OPTIONS_SHOWN = 6  # picklist values shown per field; the rest are counted


def identity_fields(obj: ObjectSpec) -> set[str]:
    return {name for key in obj.identity_keys.values() for part in key.parts
            for name in (part.field, *part.also)}


def marks(name: str, spec: FieldSpec, identity: set[str]) -> list[str]:
    found = [word for word, on in (("required", spec.required), ("identity", name in identity),
                                   ("read-only", not spec.creatable and not spec.updatable),
                                   ("create-only", spec.creatable and not spec.updatable),
                                   ("unique", spec.unique), ("restricted", spec.restricted)) if on]
    if spec.references:
        found.append(f"→ {spec.references}")
    if spec.max_length:
        found.append(f"max {spec.max_length:,}")
    return found


def options_text(spec: FieldSpec, most: int = OPTIONS_SHOWN) -> str:
    values = [str(o.value) for o in spec.options or [] if o.active]
    shown = ", ".join(values[:most])
    return shown + (f" … and {len(values) - most:,} more" if len(values) > most else "")


def field_row(name: str, spec: FieldSpec, identity: set[str]) -> dict[str, Any]:
    return {"name": name, "type": spec.type, "label": spec.label, "required": spec.required,
            "identity": name in identity, "read_only": not spec.creatable and not spec.updatable,
            "creatable": spec.creatable, "updatable": spec.updatable, "unique": spec.unique,
            "references": spec.references, "max_length": spec.max_length, "restricted": spec.restricted,
            "options": None if spec.options is None else
            [{"value": o.value, "label": o.label, "active": o.active} for o in spec.options]}


def object_row(name: str, obj: ObjectSpec) -> dict[str, Any]:
    identity = identity_fields(obj)
    return {"name": name, "api_name": obj.api_name, "label": obj.label,
            "identity_keys": {key: [p.field for p in spec.parts] for key, spec in obj.identity_keys.items()},
            "fields": [field_row(f, spec, identity) for f, spec in obj.fields.items()]}


def chosen_objects(spec: ConnectorSpec, object_name: str | None) -> list[str]:
    """The connector's objects, or the one asked for (an unknown one is bad usage, naming the known)."""
    if object_name is None:
        return list(spec.objects)
    if object_name not in spec.objects:
        raise UsageError(f"connector {spec.name} has no object {object_name!r}; its objects: "
                         f"{', '.join(spec.objects)}")
    return [object_name]


def describe(spec: ConnectorSpec, object_name: str | None) -> dict[str, Any]:
    """The connector and its objects' fields (or one object's), as data (`--format json`)."""
    return {"name": spec.name, "label": spec.label, "api_version": spec.api_version,
            "objects": [object_row(name, spec.objects[name]) for name in chosen_objects(spec, object_name)]}


def print_fields(spec: ConnectorSpec, object_name: str | None, console: Console) -> None:
    """Per object: its identity keys, then a table of its fields: name, type, marks, picklist values."""
    names = chosen_objects(spec, object_name)
    say(console, f"[bold]{visible(spec.name)}[/] ({visible(spec.label)}, API {visible(spec.api_version)})")
    for name in names:
        obj = spec.objects[name]
        keys = "; ".join(f"{key} = {' + '.join(p.field for p in k.parts)}"
                         for key, k in obj.identity_keys.items())
        say(console, f"\n[bold]{visible(name)}[/] ({len(obj.fields):,} fields); identity keys: "
                     f"{visible(keys or 'none')}")
        console.print(fields_table(obj))


def fields_table(obj: ObjectSpec) -> Table:
    identity = identity_fields(obj)
    table = Table()
    for column in ("field", "type", "marks", "values"):
        table.add_column(column, overflow="fold")
    for name, spec in obj.fields.items():
        table.add_row(visible(name), spec.type, visible(", ".join(marks(name, spec, identity))),
                      visible(options_text(spec)))
    return table

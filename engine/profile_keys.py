"""A profile's own identity keys and upsert keys (`identity_keys`, `upsert_keys`), merged into its
connector's objects when the profile loads: from then on plan, push and validate see them exactly as
keys the connector declares. A profile's custom fields that say how they are carried on the wire
(`read`, `write`, `path`, `query_name`) are merged too, so answers and request bodies read and shape
them as the connector's own fields."""

from __future__ import annotations

from engine.connector import ConnectorSpec, FieldSpec, ObjectSpec
from engine.errors import LoadError, LoadErrors
from engine.loader import Loaded, Loc
from engine.profile import Profile

SHAPE_KEYS = ("read", "write", "path", "query_name")


def merged_connector(profile: Loaded[Profile], connector: Loaded[ConnectorSpec]) -> Loaded[ConnectorSpec]:
    """The connector with the profile's keys added to its objects; a key naming an unknown object or
    field, or clashing with the connector's, is a load error at the profile's file:line:col."""
    model = profile.model
    if not (model.identity_keys or model.upsert_keys or _shaped_custom_fields(model)):
        return connector
    errors = [LoadError(profile.position(loc, key=key), message) for loc, message, key in
              _problems(model, connector.model)]
    if errors:
        raise errors[0] if len(errors) == 1 else LoadErrors(errors)
    objects = dict(connector.model.objects)
    for name in {*model.identity_keys, *model.upsert_keys, *_shaped_custom_fields(model)}:
        objects[name] = _merged_object(objects[name], model, name)
    return connector.with_model(connector.model.model_copy(update={"objects": objects}))


def _shaped_custom_fields(profile: Profile) -> dict[str, dict[str, FieldSpec]]:
    return {obj: shaped for obj, fields in profile.custom_fields.items()
            if (shaped := {n: f for n, f in fields.items() if f.model_fields_set & set(SHAPE_KEYS)})}


def _merged_object(obj: ObjectSpec, profile: Profile, name: str) -> ObjectSpec:
    return obj.model_copy(update={
        "fields": {**obj.fields, **{k: v for k, v in _shaped_custom_fields(profile).get(name, {}).items()
                                    if k not in obj.fields}},
        "identity_keys": {**obj.identity_keys, **profile.identity_keys.get(name, {})},
        "upsert_keys": [*obj.upsert_keys, *profile.upsert_keys.get(name, [])],
    }, deep=False)


def _problems(profile: Profile, connector: ConnectorSpec) -> list[tuple[Loc, str, bool]]:
    problems: list[tuple[Loc, str, bool]] = []
    for top in ("identity_keys", "upsert_keys"):
        for obj_name in getattr(profile, top):
            if obj_name not in connector.objects:
                problems.append(((top, obj_name), f"unknown object {obj_name!r}; {connector.name} has "
                                                  f"{', '.join(connector.objects)}", True))
    for obj_name, keys in profile.identity_keys.items():
        obj = connector.objects.get(obj_name)
        if obj is None:
            continue
        known = {*obj.fields, *profile.custom_fields.get(obj_name, {})}
        for key_name, key in keys.items():
            if key_name in obj.identity_keys:
                problems.append((("identity_keys", obj_name, key_name), f"{connector.name} already has an "
                                 f"identity key {key_name!r} on {obj_name}; name this one otherwise", True))
            for i, part in enumerate(key.parts):
                for at, field in [("field", part.field), *(("also", f) for f in part.also)]:
                    if field not in known:
                        problems.append((("identity_keys", obj_name, key_name, "parts", i, at),
                                         _unknown_field(obj_name, field), False))
    for obj_name, fields in profile.upsert_keys.items():
        obj = connector.objects.get(obj_name)
        if obj is None:
            continue
        known = {*obj.fields, *profile.custom_fields.get(obj_name, {})}
        for i, field in enumerate(fields):
            if field not in known:
                problems.append((("upsert_keys", obj_name, i), _unknown_field(obj_name, field), False))
            elif field in obj.upsert_keys:
                problems.append((("upsert_keys", obj_name, i), f"{field!r} is already an upsert key of "
                                 f"{obj_name} in {connector.name}; remove it here", False))
    return problems


def _unknown_field(obj_name: str, field: str) -> str:
    return (f"unknown field {field!r} of {obj_name}: neither the connector's nor one of the profile's "
            "custom_fields")

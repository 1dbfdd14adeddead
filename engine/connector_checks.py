"""Load checks of a connector spec that no single model can make: dangling references (an object named
by a relation, a field named by an identity key, a placeholder an endpoint does not have) and every JSONPath
of the spec, each reported with the key path where it is, right after the file is loaded."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel

from engine.connector import (
    PLACEHOLDERS,
    AssociationRelation,
    ConnectorSpec,
    Endpoint,
    FieldRelation,
    JsonPathMark,
    ObjectSpec,
    jsonpath_error,
    template_placeholders,
)

Problem = tuple[tuple[str | int, ...], str]


def reference_problems(spec: ConnectorSpec) -> list[Problem]:
    """Dangling references, each with the key path where it is (checked right after loading)."""
    problems: list[Problem] = []
    for i, flow in enumerate(spec.auth.flows):
        used = template_placeholders([flow.token_url or "", flow.scope or ""])
        for name in sorted(used - set(spec.connection)):
            problems.append((("auth", "flows", i), f"unknown placeholder {{{name}}}; auth may use the "
                                                   f"connection settings {sorted(spec.connection)}"))
    for obj_name, obj in spec.objects.items():
        problems += _object_problems(spec, obj_name, obj)
        for ep_name, ep in obj.endpoints.items():
            problems += _endpoint_problems(spec, ep_name, ep, ("objects", obj_name, "endpoints", ep_name),
                                          [obj])
    if spec.users is not None:
        problems += _endpoint_problems(spec, "users", spec.users.endpoint, ("users", "endpoint"), [])
    for ep_name, ep in spec.endpoints.named().items():
        served = [spec.objects[o] for o in (ep.objects or spec.objects) if o in spec.objects
                  and ep_name not in spec.objects[o].endpoints]
        problems += _endpoint_problems(spec, ep_name, ep, ("endpoints", ep_name), served)
    return problems + jsonpath_problems(spec) + _since_problems(spec)


def _since_problems(spec: ConnectorSpec) -> list[Problem]:
    """A `since` request belongs to a list endpoint, and may use {since} besides the list's placeholders."""
    problems: list[Problem] = []
    places = [(("endpoints", name), ep, list(spec.objects.values()))
              for name, ep in spec.endpoints.named().items()]
    places += [(("objects", o, "endpoints", name), ep, [obj]) for o, obj in spec.objects.items()
               for name, ep in obj.endpoints.items()]
    for here, ep, served in places:
        if ep.since is None:
            continue
        if here[-1] != "list":
            problems.append(((*here, "since"), "only a list endpoint has a `since` request"))
            continue
        problems += _endpoint_problems(spec, "list.since", ep.since, (*here, "since"), served)
    return problems


def jsonpath_problems(model: BaseModel, here: tuple[str | int, ...] = ()) -> list[Problem]:
    """Every value of a field declared `JsonPath`, anywhere in `model`, that is not a JSONPath (parsed
    as the engine reads it; {placeholders} stand for a name)."""
    problems: list[Problem] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, str) and _is_jsonpath(info.annotation, info.metadata):
            message = jsonpath_error(value)
            problems += [((*here, name), message)] if message else []
        else:
            problems += _nested_jsonpath_problems(value, (*here, name))
    return problems


def _nested_jsonpath_problems(value: Any, here: tuple[str | int, ...]) -> list[Problem]:
    if isinstance(value, BaseModel):
        return jsonpath_problems(value, here)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    return [problem for key, item in items for problem in _nested_jsonpath_problems(item, (*here, key))]


def _is_jsonpath(annotation: Any, metadata: list[Any]) -> bool:
    if any(isinstance(m, JsonPathMark) for m in metadata):
        return True
    return any(isinstance(m, JsonPathMark)
               for arg in get_args(annotation) for m in getattr(arg, "__metadata__", ()))


def _object_problems(spec: ConnectorSpec, obj_name: str, obj: ObjectSpec) -> list[Problem]:
    here = ("objects", obj_name)
    problems: list[Problem] = []
    for key_name, key in obj.identity_keys.items():
        for i, part in enumerate(key.parts):
            for field in [part.field, *part.also]:
                if field not in obj.fields:
                    problems.append(((*here, "identity_keys", key_name, "parts", i),
                                     f"unknown field {field!r} of {obj_name}"))
    for rel_name, rel in obj.relations.items():
        where = (*here, "relations", rel_name)
        if rel.to not in spec.objects:
            problems.append(((*where, "to"), f"unknown object {rel.to!r}"))
        if isinstance(rel, FieldRelation) and rel.field not in obj.fields:
            problems.append(((*where, "field"), f"unknown field {rel.field!r} of {obj_name}"))
        if isinstance(rel, AssociationRelation):
            problems += _association_problems(spec, obj, rel, where)
    if obj.record_url:
        known = {"id", *spec.connection}
        for name in sorted(template_placeholders(obj.record_url) - known):
            problems.append(((*here, "record_url"), f"unknown placeholder {{{name}}}; record URLs have "
                                                    "{id} and the connection settings "
                                                    f"{sorted(spec.connection)}"))
    for i, field in enumerate(obj.upsert_keys):
        if field not in obj.fields:
            problems.append(((*here, "upsert_keys", i), f"unknown field {field!r} of {obj_name}"))
    for field_name, field in obj.fields.items():
        if field.references and field.references not in spec.objects:
            problems.append(((*here, "fields", field_name, "references"),
                             f"unknown object {field.references!r}"))
    return problems


def _association_problems(spec: ConnectorSpec, obj: ObjectSpec, rel: AssociationRelation,
                          where: tuple[str | int, ...]) -> list[Problem]:
    """An association relation's endpoints: its own or the connector's, each there, and using
    {type_id}/{category} only where the relation sets them."""
    problems: list[Problem] = []
    for name in ("associate", "associations"):
        own: Endpoint | None = getattr(rel, name)
        endpoint = own or obj.endpoints.get(name) or getattr(spec.endpoints, name)
        if endpoint is None:
            why = "" if name == "associate" else " (to read which associations exist)"
            problems.append((where, f"an association relation needs `{name}` of its own or "
                                    f"endpoints.{name}{why}"))
            continue
        at = (*where, name) if own is not None else where
        if own is not None:
            problems += _endpoint_problems(spec, name, own, at, [obj])  # type: ignore[arg-type]
        used = template_placeholders([endpoint.path, endpoint.query, endpoint.headers, endpoint.body,
                                      endpoint.item])
        for unset in sorted(used & rel.unset()):
            problems.append((at, f"{{{unset}}} is used by the {name} endpoint, and this relation sets no "
                                 f"{unset}"))
    return problems


def _endpoint_problems(spec: ConnectorSpec, ep_name: str, ep: Endpoint, here: tuple[str | int, ...],
                       served: list[ObjectSpec]) -> list[Problem]:
    problems: list[Problem] = []
    for i, obj_name in enumerate(ep.objects):
        if obj_name not in spec.objects:
            problems.append(((*here, "objects", i), f"unknown object {obj_name!r}"))
    allowed = PLACEHOLDERS[ep_name]
    if ep_name in ("create", "upsert") and ep.response.empty_body == "all_succeeded" \
            and not ep.response.id_header:
        problems.append(((*here, "response", "empty_body"), "an answer without a body gives no ids of the "
                         "records it created; all_succeeded is for update and associate endpoints, or with "
                         "id_header"))
    for i, name in enumerate(ep.escape):
        if name not in allowed:
            problems.append(((*here, "escape", i), f"unknown placeholder {name!r}; this endpoint has "
                                                   f"{', '.join(sorted(allowed))}"))
    used = template_placeholders([ep.path, ep.query, ep.headers, ep.body, ep.item])
    used |= template_placeholders(ep.value_item) - {"value"}
    for key, names in ep.response.placeholders().items():
        for name in sorted(names):
            if not name.startswith("vars.") and (key != "key" or name not in allowed):
                problems.append(((*here, "response", key), f"unknown placeholder {{{name}}}; response paths "
                                 "may use the object's {vars.*}, and `key` this endpoint's placeholders"))
            elif name.startswith("vars."):
                used.add(name)  # each object served must set it, checked below
    for name in sorted(used):
        if name.startswith("vars."):
            var = name[len("vars."):]
            missing = [o.api_name for o in served if var not in o.vars]
            if missing:
                problems.append(((*here, *_used_at(ep, name)),
                                 f"{{{name}}} is not set in the vars of {', '.join(missing)}"))
        elif name not in allowed:
            problems.append(((*here, *_used_at(ep, name)), f"unknown placeholder {name!r}; this endpoint has "
                                   f"{', '.join(sorted(allowed))} and {{vars.*}}"))
    return problems


def _used_at(ep: Endpoint, name: str) -> tuple[str | int, ...]:
    """The key path, inside an endpoint, of the first template that uses placeholder `name`."""
    for key in ("path", "query", "headers", "body", "item", "value_item"):
        found = _find_placeholder(getattr(ep, key), name)
        if found is not None:
            return (key, *found)
    return next((("response", key) for key, names in ep.response.placeholders().items() if name in names), ())


def _find_placeholder(template: Any, name: str) -> tuple[str | int, ...] | None:
    if name not in template_placeholders(template):
        return None
    items = template.items() if isinstance(template, dict) else enumerate(template) \
        if isinstance(template, list) else []
    for key, value in items:
        if name in template_placeholders({key: value} if isinstance(template, dict) else value):
            return (key, *(_find_placeholder(value, name) or ()))
    return ()

"""Static validation: check a profile against its connector before any data is read.

Each finding says where it is (`file:line:col`), which stream and field, and what is wrong. Errors
would make records (or whole batches) fail; warnings are risks a person should look at.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Iterator
from functools import partial
from graphlib import CycleError, TopologicalSorter
from typing import Any

from jinja2 import meta
from jsonpath_ng.exceptions import JsonPathParserError

from engine.catalog import ProfileBundle
from engine.connector import AssociationRelation, ConnectorSpec, FieldSpec, ObjectSpec, compile_regex
from engine.errors import CrmsyncError
from engine.findings import Finding
from engine.loader import Loc
from engine.paths import compiled as parse_jsonpath  # one shared parser, each path parsed once
from engine.profile import ConstantMapping, Mapping, SourceMapping, StreamSpec, TemplateMapping
from engine.profile_templates import BoundedEnvironment, template_problems
from engine.render import endpoint_for
from engine.sources import unsafe_fields
from engine.team.permissions import object_kind
from engine.transforms import TRANSFORMS, TransformError

# What kind of value each transform produces; a kind fits the field types listed in FITS.
TRANSFORM_OUTPUT: dict[str, str] = {
    "state_code": "state_code", "state_name": "string", "month_name": "month_name", "date": "date",
    "url": "url", "domain": "string", "phone_e164": "phone", "email": "email", "integer": "integer",
    "lower": "string", "upper": "string", "strip": "string", "title_case": "string", "join": "string",
    "first": "any", "truncate": "string",
}

FITS: dict[str, set[str]] = {
    "string": {"string", "text", "picklist", "multipicklist", "url", "email", "phone", "state_code",
               "month_name"},
    "any": {"string", "text", "picklist", "multipicklist", "url", "email", "phone", "date", "datetime",
            "month_name", "state_code", "number", "integer", "boolean"},
    "integer": {"number", "integer", "string", "text"},
    "number": {"number", "string", "text"},
    "boolean": {"boolean", "string", "text"},
    "date": {"date", "datetime", "string", "text"},
    "datetime": {"datetime", "string", "text"},
    "month_name": {"month_name", "picklist", "string", "text"},
    "state_code": {"state_code", "picklist", "string", "text"},
    "url": {"url", "string", "text"},
    "phone": {"phone", "string", "text"},
    "email": {"email", "string", "text"},
}

# Field types whose values a raw source string often breaks: the transform that makes them safe.
ADVISED_TRANSFORM = {"url": "url", "state_code": "state_code", "month_name": "month_name",
                     "phone": "phone_e164", "date": "date"}

_ENV = BoundedEnvironment()


# Findings that make a plan impossible (or wrong beyond one record): a plan or push refuses to start on
# them. The others (a constant off a picklist, a read-only field...) are findings of each record.
BLOCKING = frozenset({
    "unknown_object", "unknown_identity_key", "identity_part_unmapped", "unknown_identity_part",
    "unknown_stream", "unknown_relation", "relation_mismatch", "self_parent", "parent_cycle",
    "unknown_transform", "bad_template", "template_loads", "template_format_map", "template_too_large",
    "bad_jsonpath", "upsert_unavailable", "upsert_key_unmapped", "upsert_key_constant",
    "upsert_key_not_unique", "owner_on_account", "owner_unavailable", "unknown_name_field",
})


class NotPlannable(CrmsyncError):
    """A profile with findings no plan can be made with; each line is one, located."""

    exit_code = 2

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        lines = [f"{f.where}: error {'.'.join(p for p in (f.stream, f.field) if p)}: {f.message} ({f.code})"
                 for f in findings]
        super().__init__("\n".join([*lines, "no plan is made until these are fixed "
                                               "(`crmsync validate PROFILE` lists every finding)"]))


def refuse_unplannable(bundle: ProfileBundle) -> list[Finding]:
    """Raise NotPlannable when the profile has a BLOCKING finding (no data is read before). Otherwise the
    warnings every plan and push repeats: mappings of fields that must not be sent (`unsafe_source`)."""
    findings = validate(bundle)
    blocking = [f for f in findings if f.code in BLOCKING and f.severity == "error"]
    if blocking:
        raise NotPlannable(blocking)
    return [f for f in findings if f.code == "unsafe_source"]


def validate(bundle: ProfileBundle,
             live_fields: dict[str, dict[str, FieldSpec]] | None = None, *,
             pull: bool = False) -> list[Finding]:
    """Every finding of a profile against its connector (and, when given, the CRM's live fields);
    `pull`: also the local fields a pull cannot fill (warnings)."""
    checker = _Checker(bundle, live_fields or {})
    checker.pull = pull
    return list(checker.run())


def effective_fields(connector: ConnectorSpec, custom: dict[str, dict[str, FieldSpec]],
                     live: dict[str, dict[str, FieldSpec]], object_name: str) -> dict[str, FieldSpec]:
    """The connector's standard fields, then the profile's custom fields, then what the CRM says."""
    fields = dict(connector.objects[object_name].fields)
    fields.update(custom.get(object_name, {}))
    said = live.get(object_name, {})
    if said:
        from engine.metadata import merge  # the live metadata reader (and its HTTP client) only when asked

        for name, spec in said.items():
            fields[name] = merge(fields[name], spec) if name in fields else spec
    return fields


class _Checker:
    def __init__(self, bundle: ProfileBundle, live: dict[str, dict[str, FieldSpec]]) -> None:
        self.loaded = bundle.profile
        self.profile = bundle.profile.model
        self.connector = bundle.connector.model
        self.connector_file = bundle.connector
        self.bundle = bundle
        self.pull = False
        self.live = live

    def at(self, loc: Loc, *, key: bool = False) -> str:
        return str(self.loaded.position(loc, key=key))

    def run(self) -> Iterator[Finding]:
        yield from self.check_connection()
        for obj_name in self.profile.custom_fields:
            if obj_name not in self.connector.objects:
                yield self.unknown_object(("custom_fields", obj_name), obj_name, None, key=True)
        for stream_name, stream in self.profile.streams.items():
            yield from self.check_stream(stream_name, stream)
        yield from self.check_parent_cycle()
        yield from self.check_pull()

    def check_pull(self) -> Iterator[Finding]:
        """An object the profile writes that the connector cannot list (pushes work, pulls cannot),
        and the profile's `pull` section."""
        objects = dict.fromkeys(s.object for s in self.profile.streams.values()
                                if s.object in self.connector.objects)
        unlisted = [o for o in objects if endpoint_for(self.connector, o, "list") is None]
        if unlisted:
            yield Finding("warning", "cannot_pull", f"{self.connector.name} has no `list` endpoint for "
                          f"{', '.join(unlisted)}: crmsync can push to them but cannot pull them",
                          str(self.connector_file.position(("endpoints",), key=True)))
        from engine.pull.checks import pull_checks

        for severity, code, message, loc, key, stream, field in pull_checks(self.bundle, self.pull):
            yield Finding(severity, code, message, self.at(loc, key=key), stream, field)  # type: ignore[arg-type]

    def check_parent_cycle(self) -> Iterator[Finding]:
        """Streams whose parents lead back to themselves: none of them could be written first. (A stream
        that is its own parent is `self_parent`.)"""
        streams = self.profile.streams
        graph = {name: {p.stream for p in spec.parents if p.stream in streams and p.stream != name}
                 for name, spec in streams.items()}
        try:
            TopologicalSorter(graph).prepare()
        except CycleError as exc:
            cycle: list[str] = exc.args[1]  # each stream is a parent of the next
            child, parent = cycle[1], cycle[0]
            index = next(i for i, p in enumerate(streams[child].parents) if p.stream == parent)
            yield Finding("error", "parent_cycle", f"the parent streams form a cycle ({' → '.join(cycle)}): "
                          "a record's parent is written before it, so none of them could be",
                          self.at(("streams", child, "parents", index, "stream")), child)

    def check_connection(self) -> Iterator[Finding]:
        for key in self.profile.connection:
            if key not in self.connector.connection and key != "base_url":  # every CRM's address
                known = ", ".join(sorted(self.connector.connection)) or "none"
                yield Finding("error", "unknown_connection_setting",
                              f"{self.connector.name} has no connection setting {key!r} (it has: {known})",
                              self.at(("connection", key), key=True))

    def unknown_object(self, loc: Loc, name: str, stream: str | None, *, key: bool = False) -> Finding:
        hint = _did_you_mean(name, self.connector.objects)
        return Finding("error", "unknown_object", f"{self.connector.name} has no object {name!r}{hint}",
                       self.at(loc, key=key), stream)

    def check_stream(self, name: str, stream: StreamSpec) -> Iterator[Finding]:
        here: Loc = ("streams", name)
        obj = self.connector.objects.get(stream.object)
        if obj is None:
            yield self.unknown_object((*here, "object"), stream.object, name)
            return
        fields = effective_fields(self.connector, self.profile.custom_fields, self.live, stream.object)
        yield from self.check_identity(name, stream, obj)
        yield from self.check_parents(name, stream, obj)
        identity_fields = self.identity_fields(obj, stream.identity.key)
        unsafe = unsafe_fields(name, stream.unsafe_fields)
        yield from self.check_path(stream.id, (*here, "id"), name, None)
        for target, mapping in stream.fields.items():
            loc = (*here, "fields", target)
            yield from self.check_target(name, stream.object, target, mapping, fields, identity_fields, loc)
            yield from self.check_mapping_source(name, target, mapping, unsafe, loc)
        yield from self.check_required(name, stream, fields, identity_fields)
        yield from self.check_lookup_answer(name, stream, identity_fields)
        if stream.upsert_key is not None:
            yield from self.check_upsert_key(name, stream, obj, fields)
        yield from self.check_owner(name, stream, obj)
        yield from self.check_name(name, stream, fields, identity_fields)

    def check_name(self, name: str, stream: StreamSpec, fields: dict[str, FieldSpec],
                   identity_fields: set[str]) -> Iterator[Finding]:
        """The fields a record's name is made of: fields of the object that the stream writes."""
        for i, target in enumerate(stream.name):
            at = partial(self.at, ("streams", name, "name", *((i,) if len(stream.name) > 1 else ())))
            if target not in fields:
                yield Finding("error", "unknown_name_field", f"{stream.object} has no field {target!r}"
                              f"{_did_you_mean(target, fields)}", at(), name, target)
            elif target not in stream.fields and target not in identity_fields:
                yield Finding("warning", "name_field_unmapped", f"{stream.object}.{target} is not mapped by "
                              "this stream: records are named without it", at(), name, target)

    def check_owner(self, name: str, stream: StreamSpec, obj: ObjectSpec) -> Iterator[Finding]:
        """An account never gets an owner (not by `owner:`, nor by mapping its owner field); a contact's
        owner needs the connector to say where it goes and how to find a user by email."""
        owner_field = obj.owner.field if obj.owner else None
        mapped = owner_field if owner_field in stream.fields else None
        if (stream.owner is not None or mapped) and object_kind(self.connector, stream.object) == "account":
            loc: Loc = ("streams", name, *(("owner",) if stream.owner is not None else ("fields", mapped)))
            yield Finding("error", "owner_on_account", f"{stream.object} is an account: accounts never get "
                          "an owner in the CRM (the contact owner is the user who got the contact; an "
                          "account's stays whoever the CRM makes it); remove it", self.at(loc, key=True),
                          name, mapped)
        elif stream.owner is not None and (obj.owner is None or self.connector.users is None):
            missing = "where its records carry an owner (`owner:` of the object)" if obj.owner is None else \
                "how to find a CRM user by email (`users:`)"
            yield Finding("error", "owner_unavailable", f"the {self.connector.name} connector does not say "
                          f"{missing}", self.at(("streams", name, "owner"), key=True), name, None)
        if stream.owner is not None:
            yield from self.check_path(stream.owner.source, ("streams", name, "owner", "source"), name, None)

    def check_upsert_key(self, name: str, stream: StreamSpec, obj: ObjectSpec,
                         fields: dict[str, FieldSpec]) -> Iterator[Finding]:
        key = stream.upsert_key
        at = partial(self.at, ("streams", name, "upsert_key"))  # placed only for a finding
        if endpoint_for(self.connector, stream.object, "upsert") is None:
            yield Finding("error", "upsert_unavailable", f"{self.connector.name} has no native upsert for "
                          f"{stream.object}; remove upsert_key", at(), name, key)
            return
        mapping = stream.fields.get(key)  # type: ignore[arg-type]
        if mapping is None and key not in self.identity_fields(obj, stream.identity.key):
            yield Finding("error", "upsert_key_unmapped", f"the upsert key {key!r} is neither one of this "
                          "stream's fields nor of its identity; map it, so every new record carries its "
                          "value", at(), name, key)
        elif isinstance(mapping, ConstantMapping):
            yield Finding("error", "upsert_key_constant", f"the upsert key {key!r} is a constant: every "
                          "record would upsert the same CRM record", at(), name, key)
        spec = fields.get(key)  # type: ignore[arg-type]
        if spec is not None and not spec.unique and key not in obj.upsert_keys:
            yield Finding("error", "upsert_key_not_unique", f"{stream.object}.{key} is neither unique nor "
                          f"one of the object's upsert keys ({', '.join(obj.upsert_keys) or 'none'}); "
                          "declare it `unique: true` if the CRM knows it as an external id or alternate key",
                          at(), name, key)

    def identity_fields(self, obj: ObjectSpec, key_name: str) -> set[str]:
        key = obj.identity_keys.get(key_name)
        return {f for part in key.parts for f in (part.field, *part.also)} if key else set()

    def check_identity(self, name: str, stream: StreamSpec, obj: ObjectSpec) -> Iterator[Finding]:
        loc: Loc = ("streams", name, "identity")
        key = obj.identity_keys.get(stream.identity.key)
        if key is None:
            known = ", ".join(obj.identity_keys) or "none"
            yield Finding("error", "unknown_identity_key",
                          f"{stream.object} has no identity key {stream.identity.key!r} (it has: {known})",
                          self.at((*loc, "key")), name)
            return
        parts = [p.name for p in key.parts]
        for part in parts:
            if part not in stream.identity.source:
                yield Finding("error", "identity_part_unmapped",
                              f"identity key {stream.identity.key!r} needs a source for {part!r}",
                              self.at((*loc, "source")), name)
        for part, paths in stream.identity.source.items():
            if part not in parts:
                yield Finding("error", "unknown_identity_part", f"identity key {stream.identity.key!r} has "
                              f"parts {', '.join(parts)}, not {part!r}",
                              self.at((*loc, "source", part), key=True), name)
            for path in [paths] if isinstance(paths, str) else paths:
                yield from self.check_path(path, (*loc, "source", part), name, None)

    def check_parents(self, name: str, stream: StreamSpec, obj: ObjectSpec) -> Iterator[Finding]:
        for i, parent in enumerate(stream.parents):
            loc: Loc = ("streams", name, "parents", i)
            parent_stream = self.profile.streams.get(parent.stream)
            if parent_stream is None:
                hint = _did_you_mean(parent.stream, self.profile.streams)
                yield Finding("error", "unknown_stream", f"no stream {parent.stream!r} in this profile{hint}",
                              self.at((*loc, "stream")), name)
                continue
            relation = obj.relations.get(parent.relation)
            if relation is None:
                known = ", ".join(obj.relations) or "none"
                yield Finding("error", "unknown_relation",
                              f"{stream.object} has no relation {parent.relation!r} (it has: {known})",
                              self.at((*loc, "relation")), name)
                continue
            if relation.to != parent_stream.object:
                yield Finding("error", "relation_mismatch",
                              f"relation {parent.relation!r} points to {relation.to}, but stream "
                              f"{parent.stream!r} becomes {parent_stream.object}",
                              self.at((*loc, "relation")), name)
            if parent.stream == name:
                yield Finding("error", "self_parent", "a stream cannot be its own parent",
                              self.at((*loc, "stream")), name)
            yield from self.check_path(parent.source, (*loc, "source"), name, None)

    def check_target(self, stream: str, object_name: str, target: str, mapping: Mapping,
                     fields: dict[str, FieldSpec], identity_fields: set[str], loc: Loc) -> Iterator[Finding]:
        if getattr(self.live, "listed", None):  # what the CRM listed; its reader loads the HTTP client
            from engine.metadata import absent_from_crm

            if absent_from_crm(self.live, object_name, [target]):
                yield Finding("error", "not_in_crm", not_in_crm_message(object_name, target),
                              self.at(loc, key=True), stream, target)
                return
        spec = fields.get(target)
        if spec is None:
            hint = _did_you_mean(target, fields)
            yield Finding("error", "unknown_field", f"{object_name} has no field {target!r}{hint}",
                          self.at(loc, key=True), stream, target)
            return
        if target in identity_fields:
            yield Finding("error", "identity_field_mapped",
                          f"{object_name}.{target} is part of the identity key: it is matched on, and "
                          "written on create from identity.source; remove this mapping",
                          self.at(loc, key=True), stream, target)
        if spec.type in ("id", "reference"):
            what = "the record id" if spec.type == "id" else f"a reference to {spec.references}"
            yield Finding("error", "not_mappable", f"{object_name}.{target} is {what}; "
                          + ("it is set by the CRM" if spec.type == "id" else "link records with `parents`"),
                          self.at(loc, key=True), stream, target)
        elif spec.read_only:
            yield Finding("error", "read_only", f"{object_name}.{target} is read-only",
                          self.at(loc, key=True), stream, target)
        elif not spec.creatable:
            yield Finding("error", "not_creatable", f"{object_name}.{target} cannot be set on create "
                          "(only on update); new records would be refused",
                          self.at(loc, key=True), stream, target)
        yield from self.check_fit(stream, object_name, target, mapping, spec, loc)

    def check_fit(self, stream: str, object_name: str, target: str, mapping: Mapping, spec: FieldSpec,
                  loc: Loc) -> Iterator[Finding]:
        where = f"{object_name}.{target}"
        transform = mapping.transform.name if mapping.transform else None
        if transform is not None and transform not in TRANSFORMS:
            hint = _did_you_mean(transform, TRANSFORMS)
            yield Finding("error", "unknown_transform", f"no transform named {transform!r}{hint}",
                          self.at((*loc, "transform")), stream, target)
            return
        if mapping.transform is not None:
            try:  # a transform checks its arguments before it looks at the value
                TRANSFORMS[mapping.transform.name](None, **mapping.transform.args)
            except TransformError as exc:
                yield Finding("error", "transform_args", f"{exc}; every record would fail",
                              self.at((*loc, "transform")), stream, target)
        if isinstance(mapping, ConstantMapping) and transform is None:
            yield from self.check_constant(stream, where, target, mapping, spec, loc)
            return
        kind = TRANSFORM_OUTPUT.get(transform, "any") if transform else None
        if kind is not None and spec.type not in FITS.get(kind, set()):
            yield Finding("error", "type_mismatch", f"transform {transform!r} makes a "
                          f"{kind.replace('_', ' ')}, which cannot go into {where} ({spec.type})",
                          self.at((*loc, "transform")), stream, target)
        if transform is None and spec.type in ADVISED_TRANSFORM and isinstance(mapping, SourceMapping):
            advice = ADVISED_TRANSFORM[spec.type]
            yield Finding("warning", "transform_advised", f"{where} is a {spec.type.replace('_', ' ')} "
                          f"field; raw source values may be refused — consider `transform: {advice}`",
                          self.at(loc), stream, target)

    def check_constant(self, stream: str, where: str, target: str, mapping: ConstantMapping, spec: FieldSpec,
                       loc: Loc) -> Iterator[Finding]:
        value = mapping.value
        at = partial(self.at, (*loc, "value"))  # placed only for a finding: placing parses the YAML
        if value is None:
            return
        if spec.type in ("picklist", "multipicklist") and spec.restricted:
            allowed = spec.option_labels()
            values = str(value).split(";") if spec.type == "multipicklist" else [str(value)]
            for one in values:
                if spec.option_for(one) is None:
                    hint = _did_you_mean(one, allowed)
                    yield Finding("error", "constant_not_in_picklist",
                                  f"{one!r} is not a value of the restricted picklist {where}{hint}; every "
                                  f"record of every batch would fail (allowed: {', '.join(allowed)})",
                                  at(), stream, target)
            return
        kind = _constant_kind(value)
        if isinstance(value, float) and not math.isfinite(value):  # YAML's .nan, .inf
            yield Finding("error", "constant_not_finite", f"the constant {value!r} is not a finite number: "
                          f"JSON has no NaN nor infinity, so {where} cannot be sent it", at(), stream, target)
        elif spec.pattern and isinstance(value, str) and not compile_regex(spec.pattern).fullmatch(value):
            rule = spec.pattern_message or f"it must match {spec.pattern}"
            yield Finding("error", "constant_breaks_rule", f"the constant {value!r} breaks the rule of "
                          f"{where}: {rule}; every record would be refused", at(), stream, target)
        elif spec.type not in FITS.get(kind, set()):
            yield Finding("error", "type_mismatch", f"the constant {value!r} is a {kind}, which cannot go "
                          f"into {where} ({spec.type})", at(), stream, target)
        elif spec.max_length and len(str(value)) > spec.max_length:
            yield Finding("error", "too_long", f"the constant is {len(str(value))} characters; {where} "
                          f"takes at most {spec.max_length}", at(), stream, target)

    def check_mapping_source(self, stream: str, target: str, mapping: Mapping, unsafe: dict[str, str],
                             loc: Loc) -> Iterator[Finding]:
        names: set[str] = set()
        if isinstance(mapping, SourceMapping):
            yield from self.check_path(mapping.source, (*loc, "source"), stream, target)
            names = _path_names(mapping.source)
        elif isinstance(mapping, TemplateMapping):
            tree, problems = template_problems(mapping.template, _ENV)
            names = set(meta.find_undeclared_variables(tree)) if tree is not None else set()
            for code, message in problems:
                yield Finding("error", code, message, self.at((*loc, "template")), stream, target)
        for name in sorted(names & set(unsafe)):
            yield Finding("warning", "unsafe_source", f"maps source field {name!r}: {unsafe[name]}",
                          self.at(loc), stream, target)

    def check_path(self, path: str, loc: Loc, stream: str, target: str | None) -> Iterator[Finding]:
        try:
            parse_jsonpath(path)
        except (JsonPathParserError, Exception) as exc:  # jsonpath-ng raises several exception types
            yield Finding("error", "bad_jsonpath", f"{path!r} is not a valid JSONPath: {exc}",
                          self.at(loc), stream, target)

    def check_lookup_answer(self, name: str, stream: StreamSpec,
                            identity_fields: set[str]) -> Iterator[Finding]:
        """A mapped field the object's look-up answer does not carry (`response.carries`): its CRM value is
        never known, so with overwrite off it is written on create only."""
        lookup = endpoint_for(self.connector, stream.object, "lookup")
        carries = lookup.response.carries if lookup else None
        if carries is None:
            return
        for target, mapping in stream.fields.items():
            if not mapping.overwrite and target not in carries and target not in identity_fields:
                yield Finding("warning", "lookup_lacks_field", f"{stream.object}'s look-up answer does not "
                              f"carry {target} (it holds only {', '.join(carries)}): its value in the CRM is "
                              "never known, so an existing record never gets it (overwrite is off); set "
                              "`overwrite: true` if the provider owns it",
                              self.at(("streams", name, "fields", target), key=True), name, target)

    def check_required(self, name: str, stream: StreamSpec, fields: dict[str, FieldSpec],
                       identity_fields: set[str]) -> Iterator[Finding]:
        relation_fields = {r.field for r in self.connector.objects[stream.object].relations.values()
                           if not isinstance(r, AssociationRelation) and hasattr(r, "field")}
        for field_name, spec in fields.items():
            if spec.required and spec.creatable and field_name not in stream.fields \
                    and field_name not in identity_fields and field_name not in relation_fields:
                yield Finding("error", "required_unmapped", f"{stream.object}.{field_name} is required on "
                              "create and nothing maps it; every new record would be refused",
                              self.at(("streams", name, "fields")), name, field_name)


def not_in_crm_message(object_name: str, target: str) -> str:
    return (f"the CRM has no field {target!r} on {object_name} (its metadata does not list it: create it "
            "there, or give this user access to it, or remove the mapping); every value would be refused")


def _constant_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            dt.date.fromisoformat(value)
            return "date"
        except ValueError:
            return "string"
    return "string"


def _path_names(path: str) -> set[str]:
    return set(re.findall(r"[.\[]'?([A-Za-z_][A-Za-z0-9_]*)", path))


def _did_you_mean(name: str, choices: Any) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {str(c).lower(): str(c) for c in choices}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f"; did you mean {close[0]!r}?" if close else ""

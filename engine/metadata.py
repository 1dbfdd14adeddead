"""Live metadata: read what a customer's CRM really has (custom fields, its own picklist values) through
the connector's metadata endpoint, turn it into FieldSpecs with the connector's metadata map, and merge
it over the spec's standard fields. It can be saved to a file and used offline (`--metadata FILE`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.address import Given, resolve_address
from engine.catalog import ProfileBundle, connection_settings
from engine.client import Credentials, CrmClient, body_of, open_client
from engine.connector import (
    ConnectorSpec,
    EndpointName,
    FieldRuleEffect,
    FieldRulesMap,
    FieldSpec,
    MetadataMap,
)
from engine.errors import CrmsyncError, LoadError
from engine.render import base_context, build_request, endpoint_for, read_one, read_path
from engine.store import default_state_dir


class LiveFields(dict[str, dict[str, FieldSpec]]):
    """What the CRM says, per object: the fields crmsync writes, as FieldSpecs. `listed`: per object,
    the name of every field the CRM listed (of types crmsync does not read too), when known."""

    def __init__(self, fields: dict[str, dict[str, FieldSpec]] | None = None, *,
                 listed: dict[str, set[str]] | None = None) -> None:
        super().__init__(fields or {})
        self.listed = listed or {}


LISTED_KEY = "_listed"  # in a saved metadata file: every field name the CRM listed, per object


class MetadataError(CrmsyncError):
    pass


def parse_field(record: Any, mapping: MetadataMap) -> tuple[str, FieldSpec] | None:
    name = read_one(record, mapping.name)
    raw_type = read_one(record, mapping.type)
    if not name or raw_type is None:
        return None
    sub = read_one(record, mapping.subtype) if mapping.subtype else None
    field_type = mapping.type_map.get(f"{raw_type}:{sub}") or mapping.type_map.get(str(raw_type))
    if field_type is None:
        return None  # a type crmsync does not write (address, location...)
    options = [{"value": read_one(o, mapping.option_value), "label": read_one(o, mapping.option_label)}
               for o in read_path(record, mapping.options)] if mapping.options else []
    options = [o for o in options if o["value"] is not None]
    restricted = bool(read_one(record, mapping.restricted)) if mapping.restricted else False
    restricted = restricted or (mapping.restricted_when_options and bool(options))
    read_only = bool(read_one(record, mapping.read_only)) if mapping.read_only else False
    creatable = _flag(record, mapping.creatable, True) and not read_only
    updatable = _flag(record, mapping.updatable, True) and not read_only
    required = (str(read_one(record, mapping.required)) in mapping.required_values
                if mapping.required else False)
    required = required and not (mapping.defaulted and bool(read_one(record, mapping.defaulted)))
    max_length = read_one(record, mapping.max_length) if mapping.max_length else None
    spec = FieldSpec(type=(field_type if options or field_type not in ("picklist", "multipicklist")
                           else "string"),
                     label=read_one(record, mapping.label) if mapping.label else None,
                     max_length=(int(max_length) if isinstance(max_length, int | float) and max_length > 0
                                 else None),
                     options=options or None, restricted=restricted and bool(options),
                     creatable=creatable, updatable=updatable,
                     unique=bool(read_one(record, mapping.unique)) if mapping.unique else False,
                     **({"required": required} if mapping.required else {}))  # said only if the CRM says
    return str(name), spec


def _flag(record: Any, path: str | None, default: bool) -> bool:
    if not path:
        return default
    value = read_one(record, path)
    return default if value is None else bool(value)


def merge(standard: FieldSpec, live: FieldSpec) -> FieldSpec:
    """A standard field keeps the spec's curated type; the CRM says which values, lengths and rules apply,
    in both directions: a picklist an admin made unrestricted takes any value, whatever the connector or
    the profile declared, and one the CRM restricts takes only its values. What the CRM's metadata does
    not say (options of a field it lists without any, whether it is required) stays as declared."""
    return standard.model_copy(update={
        "options": live.options or standard.options,
        "restricted": live.restricted if live.options else standard.restricted,
        "max_length": live.max_length or standard.max_length,
        "pattern": live.pattern or standard.pattern,
        "pattern_message": live.pattern_message if live.pattern else standard.pattern_message,
        "required": live.required if "required" in live.model_fields_set else standard.required,
        "creatable": live.creatable and standard.creatable,
        "updatable": live.updatable and standard.updatable})


def absent_from_crm(live: LiveFields, object_name: str, targets: Iterable[str]) -> list[str]:
    """The fields of `targets` the CRM's metadata does not list for the object (a custom property the
    portal lacks, a field hidden from this user): every write of a value to one would be refused. Empty
    when the CRM's metadata for the object is not known."""
    known = getattr(live, "listed", {}).get(object_name)
    return [name for name in targets if name not in known] if known else []


def merged_live(connector: ConnectorSpec, object_name: str,
                parsed: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
    """What the CRM says, as read; the merge over the spec's and the profile's fields happens in
    validate.effective_fields, so a curated type is never lost."""
    return parsed


def objects_used(bundle: ProfileBundle) -> list[str]:
    return sorted({s.object for s in bundle.profile.model.streams.values()}
                  & set(bundle.connector.model.objects))


async def fetch_live_fields(bundle: ProfileBundle, client: CrmClient) -> LiveFields:
    connector = bundle.connector.model
    names = objects_used(bundle)
    results = await asyncio.gather(*(_fetch_object(connector, name, client) for name in names))
    return LiveFields({name: fields for name, (fields, _) in zip(names, results, strict=True)},
                      listed={name: listed for name, (_, listed) in zip(names, results, strict=True)})


async def _fetch_object(connector: ConnectorSpec, object_name: str,
                        client: CrmClient) -> tuple[dict[str, FieldSpec], set[str]]:
    endpoint = endpoint_for(connector, object_name, "metadata")
    assert endpoint is not None
    data = await _get(connector, object_name, "metadata", client)
    listed = list(read_path(data, endpoint.response.records))
    parsed = dict(p for rec in listed if (p := parse_field(rec, connector.metadata)))
    names = {str(name) for rec in listed if (name := read_one(rec, connector.metadata.name))}
    rules = connector.metadata.rules
    if rules is not None and endpoint_for(connector, object_name, "field_rules") is not None:
        for name, effect in (await _fetch_rules(connector, object_name, client, rules)).items():
            if name in parsed:
                parsed[name] = parsed[name].model_copy(update={"pattern": effect.pattern,
                                                               "pattern_message": effect.message})
    return merged_live(connector, object_name, parsed), names


async def _get(connector: ConnectorSpec, object_name: str, kind: EndpointName, client: CrmClient) -> Any:
    """The answer of the object's `metadata` or `field_rules` endpoint, or MetadataError."""
    endpoint = endpoint_for(connector, object_name, kind)
    assert endpoint is not None
    request = build_request(connector, kind, object_name, endpoint,
                            base_context(connector, connector.objects[object_name]), client.base_url)
    sent = await client.send(request.method, request.url, headers=request.headers, kind=kind,
                             safe_to_repeat=True)
    if sent.response is None or sent.response.status_code >= 400:
        detail = sent.error or (
            f"{sent.response.status_code} {str(body_of(sent.response))[:200]}")  # type: ignore[union-attr]
        what = "metadata" if kind == "metadata" else "field validation rules"
        raise MetadataError(f"cannot read {object_name} {what} from {client.base_url}: {detail}")
    return sent.response.json()


async def _fetch_rules(connector: ConnectorSpec, object_name: str, client: CrmClient,
                       rules: FieldRulesMap) -> dict[str, FieldRuleEffect]:
    """Each field's validation rule crmsync checks before sending (the first of a kind it knows)."""
    endpoint = endpoint_for(connector, object_name, "field_rules")
    assert endpoint is not None
    data = await _get(connector, object_name, "field_rules", client)
    out: dict[str, FieldRuleEffect] = {}
    for record in read_path(data, endpoint.response.records):
        name = read_one(record, rules.field)
        effects = [rules.kinds[str(kind)] for rule in read_path(record, rules.rules)
                   if (kind := read_one(rule, rules.kind)) is not None and str(kind) in rules.kinds]
        if name and effects:
            out[str(name)] = effects[0]
    return out


def save(live: LiveFields, path: Path) -> None:
    # unset, not default, values left out: a `required: false` the CRM said is kept
    data: dict[str, Any] = {obj: {name: spec.model_dump(exclude_unset=True) for name, spec in fields.items()}
                            for obj, fields in live.items()}
    if getattr(live, "listed", None):
        data[LISTED_KEY] = {obj: sorted(names) for obj, names in live.listed.items()}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load(path: Path) -> LiveFields:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LoadError(None, "file not found", path=path) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LoadError(None, f"not a metadata file saved by crmsync: {exc}", path=path) from None
    try:
        listed = {obj: set(names) for obj, names in data.pop(LISTED_KEY, {}).items()}
        return LiveFields({obj: {name: FieldSpec.model_validate(spec) for name, spec in fields.items()}
                           for obj, fields in data.items()}, listed=listed)
    except (AttributeError, ValueError, TypeError) as exc:
        raise LoadError(None, f"not a metadata file saved by crmsync: {exc}", path=path) from None


def live_fields(bundle: ProfileBundle, *, base_url: str | None, metadata_file: Path | None,
                credentials_file: Path | None = None, state_dir: Path | None = None) -> LiveFields:
    if metadata_file is not None:
        return load(metadata_file)
    assert base_url is not None
    credentials = Credentials.load(credentials_file, state_dir=state_dir or default_state_dir(),
                                   names=bundle.credential_names)
    base_url = resolve_address(bundle, credentials, Given(base_url, "--base-url"))

    # the token URL and scope are made of the connection settings (Entra's login host and tenant), as a push's
    connection = connection_settings(bundle.connector.model, bundle.profile.model.connection, base_url)

    async def fetch() -> LiveFields:
        async with open_client(bundle.connector.model, base_url, credentials,
                               connection=connection) as client:
            return await fetch_live_fields(bundle, client)

    return asyncio.run(fetch())

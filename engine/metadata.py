"""Live metadata: read what a customer's CRM really has (custom fields, its own picklist values) through
the connector's metadata endpoint, turn it into FieldSpecs with the connector's metadata map, and merge
it over the spec's standard fields. It can be saved to a file and used offline (`--metadata FILE`)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from engine.catalog import ProfileBundle, connection_settings
from engine.client import Credentials, CrmClient, body_of, open_client
from engine.connector import ConnectorSpec, FieldSpec, MetadataMap
from engine.errors import CrmsyncError, LoadError
from engine.render import base_context, build_request, endpoint_for, read_one, read_path
from engine.store import default_state_dir

LiveFields = dict[str, dict[str, FieldSpec]]


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
                     options=options or None, restricted=restricted and bool(options), required=required,
                     creatable=creatable, updatable=updatable,
                     unique=bool(read_one(record, mapping.unique)) if mapping.unique else False)
    return str(name), spec


def _flag(record: Any, path: str | None, default: bool) -> bool:
    if not path:
        return default
    value = read_one(record, path)
    return default if value is None else bool(value)


def merge(standard: FieldSpec, live: FieldSpec) -> FieldSpec:
    """A standard field keeps the spec's curated type; the CRM says which values, lengths and rules apply."""
    return standard.model_copy(update={
        "options": live.options or standard.options,
        "restricted": live.restricted or standard.restricted,
        "max_length": live.max_length or standard.max_length,
        "required": live.required or standard.required,
        "creatable": live.creatable and standard.creatable,
        "updatable": live.updatable and standard.updatable})


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
    results = await asyncio.gather(*(_fetch_object(connector, name, client)
                                     for name in objects_used(bundle)))
    return dict(zip(objects_used(bundle), results, strict=True))


async def _fetch_object(connector: ConnectorSpec, object_name: str,
                        client: CrmClient) -> dict[str, FieldSpec]:
    endpoint = endpoint_for(connector, object_name, "metadata")
    assert endpoint is not None
    request = build_request(connector, "metadata", object_name, endpoint,
                            base_context(connector, connector.objects[object_name]), client.base_url)
    sent = await client.send(request.method, request.url, headers=request.headers, kind="metadata",
                             safe_to_repeat=True)
    if sent.response is None or sent.response.status_code >= 400:
        detail = sent.error or (
            f"{sent.response.status_code} {str(body_of(sent.response))[:200]}")  # type: ignore[union-attr]
        raise MetadataError(f"cannot read {object_name} metadata from {client.base_url}: {detail}")
    data = sent.response.json()
    parsed = dict(p for rec in read_path(data, endpoint.response.records)
                  if (p := parse_field(rec, connector.metadata)))
    return merged_live(connector, object_name, parsed)


def save(live: LiveFields, path: Path) -> None:
    data = {obj: {name: spec.model_dump(exclude_defaults=True) for name, spec in fields.items()}
            for obj, fields in live.items()}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load(path: Path) -> LiveFields:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LoadError(None, "file not found", path=path) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LoadError(None, f"not a metadata file saved by crmsync: {exc}", path=path) from None
    try:
        return {obj: {name: FieldSpec.model_validate(spec) for name, spec in fields.items()}
                for obj, fields in data.items()}
    except (AttributeError, ValueError) as exc:
        raise LoadError(None, f"not a metadata file saved by crmsync: {exc}", path=path) from None


def live_fields(bundle: ProfileBundle, *, base_url: str | None, metadata_file: Path | None,
                credentials_file: Path | None = None, state_dir: Path | None = None) -> LiveFields:
    if metadata_file is not None:
        return load(metadata_file)
    assert base_url is not None
    credentials = Credentials.load(credentials_file, state_dir=state_dir or default_state_dir(),
                                   names=bundle.credential_names)

    # the token URL and scope are made of the connection settings (Entra's login host and tenant), as a push's
    connection = connection_settings(bundle.connector.model, bundle.profile.model.connection, base_url)

    async def fetch() -> LiveFields:
        async with open_client(bundle.connector.model, base_url, credentials,
                               connection=connection) as client:
            return await fetch_live_fields(bundle, client)

    return asyncio.run(fetch())

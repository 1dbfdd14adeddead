"""The profile language: one customer's mapping of source streams onto one connector's objects.

A profile (`profiles/<name>.yaml`) is loaded into `Profile`. A target field's mapping is one of four
kinds, told apart by the key it carries: `source` (a JSONPath into the source record), `value` (a
constant, the "custom value"), `template` (sandboxed Jinja2 over the source record), each optionally
followed by a named `transform`. A bare string is shorthand for `{source: <string>}`.
docs/profile.md is the reference for people.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from engine.connector import FieldSpec, IdentityKey, also_accept


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class TransformRef(Strict):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)


def _transform_shorthand(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class _Target(Strict):
    overwrite: bool = Field(default=False, description="true: replace a value already in the CRM; "
                            "false (default): write only where the CRM field is empty")
    transform: TransformRef | None = Field(
        default=None, description="a transform by name, or {name, args}",
        json_schema_extra=also_accept("value", {"type": "string", "description": "a transform name"}))

    @field_validator("transform", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return _transform_shorthand(value)


class SourceMapping(_Target):
    """A value read from the source record by JSONPath (`$.address.state`)."""

    source: str
    default: Any = Field(default=None, description="used when the path finds nothing")

    @property
    def kind(self) -> str:
        return "source"


class ConstantMapping(_Target):
    """The same value for every record (a "custom value")."""

    value: str | int | float | bool | None

    @property
    def kind(self) -> str:
        return "value"


class TemplateMapping(_Target):
    """Sandboxed Jinja2 over the source record, e.g. `{{ first_name }} {{ last_name }}`."""

    template: str

    @property
    def kind(self) -> str:
        return "template"


def _mapping_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((key for key in ("source", "value", "template") if key in value), None)
    return getattr(value, "kind", None)


Mapping = Annotated[
    Annotated[SourceMapping, Tag("source")] | Annotated[ConstantMapping, Tag("value")]
    | Annotated[TemplateMapping, Tag("template")],
    Discriminator(_mapping_kind, custom_error_type="mapping_kind",
                  custom_error_message="a mapping needs one of `source`, `value` or `template`"),
]


class IdentitySpec(Strict):
    """Which identity key of the object this stream matches on, and where its parts come from.
    A part may list several JSONPaths: the first is the record's current value, the others are
    historical values also matched (a contact's former emails)."""

    key: str = Field(description="the name of one of the object's identity_keys in the connector")
    source: dict[str, str | list[str]] = Field(description="key part name -> JSONPath(s)")


class ParentSpec(Strict):
    """This stream's records belong to a record of another stream (an office to its broker)."""

    stream: str = Field(description="the parent stream")
    source: str = Field(description="JSONPath of the parent's source id in this record")
    relation: str = Field(description="the connector relation used to link them")
    required: bool = Field(default=False, description="true: a record whose parent is unresolved is skipped")


class OwnerMapping(Strict):
    """Who owns the stream's records in the CRM: the CRM user whose email the source gives (the user
    who got the contact). Contacts only: an account never gets an owner."""

    source: str = Field(description="JSONPath of the email of the user who got the record")
    overwrite: bool = Field(default=False, description="true: an existing record's owner is changed to "
                            "this one too; false (default): the owner is written on create only")


class StreamSpec(Strict):
    object: str = Field(description="the connector object records of this stream become")
    file: str | None = Field(default=None, description="source file name; default <stream>.jsonl or .csv")
    id: str = Field(default="$.id", description="JSONPath of the record's source id")
    identity: IdentitySpec
    parents: list[ParentSpec] = Field(default_factory=list)
    fields: dict[str, Mapping] = Field(
        default_factory=dict,
        description="CRM field -> mapping; a bare string is a JSONPath, short for {source: ...}",
        json_schema_extra=also_accept("values", {"type": "string", "description": "a JSONPath"}))
    unsafe_fields: dict[str, str] = Field(default_factory=dict, description="source fields that must not "
                                          "be mapped, with the reason (added to the built-in list)")
    owner: OwnerMapping | None = Field(default=None, description="the source field giving the email of "
                                       "the CRM user who owns the record (contacts only)")
    name: list[str] = Field(
        default_factory=list, description="the CRM field(s) of this stream whose values, joined by a "
        "space, are a record's name in the review app and the report (`name: [firstname, lastname]`, "
        "`name: company_name`); default: the record's first identity value, else its source id",
        json_schema_extra=also_accept("value", {"type": "string", "description": "one CRM field"}))
    upsert_key: str | None = Field(
        default=None, description="a mapped field whose value names the record in the CRM (an external id, "
        "a unique property, an alternate key): new records are written through the connector's native "
        "upsert on it, so a write whose answer was lost is sent again, never creating a second record")

    @field_validator("name", mode="before")
    @classmethod
    def _one_name_field(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("fields", mode="before")
    @classmethod
    def _bare_paths(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"source": v} if isinstance(v, str) else v for k, v in value.items()}
        return value


class PullObject(Strict):
    """How the CRM's records of one object come back (`crmsync pull`, `link`, `import`)."""

    import_as: str | None = Field(default=None, description="the stream a CRM record of this object is "
                                  "imported as by default (the kind of local record it becomes); "
                                  "`import --as STREAM` overrides it")
    name: list[str] = Field(default_factory=list, description="the CRM fields whose values, joined by a "
                            "space, are a record's name, compared by similarity (companies: name; "
                            "contacts: first and last name)")
    fields: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="stream -> {source path: CRM field}: where a CRM field goes in "
        "the local record when the stream's mapping of it is not a plain source path (a template, a "
        "constant); plain source paths come back by themselves")


class Profile(Strict):
    name: str
    connector: str = Field(description="a built-in connector name, or a path to a connector YAML file")
    description: str | None = None
    connection: dict[str, str] = Field(default_factory=dict, description="the connector's non-secret "
                                       "per-customer settings (portal id, app URL); never credentials")
    custom_fields: dict[str, dict[str, FieldSpec]] = Field(
        default_factory=dict, description="object -> fields the customer's CRM has beyond the connector's "
        "standard ones (custom fields, their picklists); live metadata, when read, takes precedence")
    identity_keys: dict[str, dict[str, IdentityKey]] = Field(
        default_factory=dict, description="object -> identity keys of the customer's CRM beyond the "
        "connector's (a customer's own external id), used by streams exactly as the connector's are")
    upsert_keys: dict[str, list[str]] = Field(
        default_factory=dict, description="object -> more fields the native upsert can match on (a "
        "customer's unique external-id field), added to the connector's upsert_keys")
    streams: dict[str, StreamSpec] = Field(min_length=1)
    pull: dict[str, PullObject] = Field(default_factory=dict, description="object -> how its CRM records "
                                        "come back: the default stream to import them as, their name, "
                                        "fields that do not map back by themselves")

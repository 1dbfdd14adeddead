"""The connector spec language: what a CRM is, in one readable file.

A connector spec (`connectors/<crm>.yaml`) is loaded into `ConnectorSpec`. Every model forbids unknown
keys, unions are discriminated by a `kind` key, and cross-references (an object named by a relation, a
field named by an identity key, a placeholder in an endpoint template) are checked when the file is
loaded, never at run time. docs/connector-spec.md is the reference for people.

Templates in endpoint specs are *structural*: a request body is written as YAML, and a string that is
exactly `$name` is replaced by a value of any type (a list, a mapping), while `{name}` inside a string is
replaced by text. A mapping key `$merge` merges a mapping-valued placeholder into its parent. Which
placeholders exist is fixed per endpoint (see `PLACEHOLDERS`), so a misspelt one is a load error.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


@cache
def compile_regex(pattern: str) -> re.Pattern[str]:
    """A regex from a spec; a bad one is a load error (ValueError), not a crash."""
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None


# ----- fields ----------------------------------------------------------------------------------

FieldType = Literal[
    "id", "string", "text", "picklist", "multipicklist", "url", "email", "phone", "date", "datetime",
    "month_name", "state_code", "number", "integer", "boolean", "reference",
]


class PicklistOption(Strict):
    """One allowed value. `value` is what the API stores (an internal name, an integer for option sets);
    `label` is what a person sees. A profile may name an option by either; the value is what is sent."""

    value: str | int
    label: str | None = None
    active: bool = True


def also_accept(where: Literal["value", "items", "values"], *shorthands: dict[str, Any]) -> Any:
    """`json_schema_extra` for a field whose `before` validator also takes a shorthand (a plain string
    for an option or a mapping), so that the JSON Schema editors use accepts what the loader accepts.
    `where`: the field's value itself, the items of its list, or the values of its mapping."""

    def patch(schema: dict[str, Any]) -> None:
        node = schema
        if where != "value":
            kind, key = ("array", "items") if where == "items" else ("object", "additionalProperties")
            node = next(s for s in [schema, *schema.get("anyOf", [])] if s.get("type") == kind)[key]
        original = {k: v for k, v in node.items() if k not in ("default", "description", "title")}
        for k in original:
            del node[k]
        node["anyOf"] = [*shorthands, original]

    return patch


class FieldSpec(Strict):
    """One CRM field (property, attribute, column)."""

    type: FieldType
    label: str | None = None
    max_length: int | None = Field(default=None, ge=1)
    options: list[PicklistOption] | None = Field(
        default=None, description="picklist values; a plain string is shorthand for {value: s}",
        json_schema_extra=also_accept("items", {"type": "string"}, {"type": "integer"}))
    restricted: bool = Field(default=False, description="true: a value outside `options` is refused")
    required: bool = Field(default=False, description="must have a value on create")
    creatable: bool = True
    updatable: bool = True
    references: str | None = Field(default=None, description="for type reference: the object it points to")
    unique: bool = False
    pattern: str | None = Field(default=None, description="a regular expression the whole text value must "
                                "match, for a rule the type does not say (an ASCII-only email address)")
    pattern_message: str | None = Field(default=None, description="the rule `pattern` stands for, in words, "
                                        "shown when a value breaks it")
    description: str | None = None

    _option_tables: tuple[Any, ...] | None = PrivateAttr(default=None)  # see option_for

    @model_validator(mode="before")
    @classmethod
    def _options_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("options"), list):
            data = dict(data)
            data["options"] = [{"value": o} if isinstance(o, str | int) else o for o in data["options"]]
        return data

    @model_validator(mode="after")
    def _check(self) -> FieldSpec:
        if self.type in ("picklist", "multipicklist") and not self.options and self.restricted:
            raise ValueError("a restricted picklist needs `options`")
        if self.options and self.type not in ("picklist", "multipicklist"):
            raise ValueError(f"`options` are only for picklist and multipicklist fields, not {self.type}")
        if self.type == "reference" and not self.references:
            raise ValueError("a reference field names the object it points to in `references`")
        if self.pattern is not None:
            compile_regex(self.pattern)
        return self

    @property
    def read_only(self) -> bool:
        return not self.creatable and not self.updatable

    def option_labels(self) -> list[str]:
        """How people name the options: the label where there is one, else the value."""
        return [str(o.label if o.label is not None else o.value) for o in self.options or [] if o.active]

    def option_for(self, name: str) -> PicklistOption | None:
        """The active option whose value or label is exactly `name` (case matters, as in the CRMs): a
        value wins over a label. Looked up in tables built once per options list (every picklist value
        of every record comes here)."""
        options = self.options or []
        tables = self._option_tables
        if tables is None or tables[0] is not options or tables[1] != len(options):
            by_value: dict[str, PicklistOption] = {}
            by_label: dict[str, PicklistOption] = {}
            for o in options:
                if o.active:
                    by_value.setdefault(str(o.value), o)
                    if o.label is not None:
                        by_label.setdefault(o.label, o)
            tables = self._option_tables = (options, len(options), by_value, by_label)
        return tables[2].get(name) or tables[3].get(name)


# ----- identity --------------------------------------------------------------------------------

Normalizer = Literal["none", "domain", "email", "city", "state", "casefold"]


class KeyPart(Strict):
    """One component of an identity key: the CRM field that holds it and how it is normalised."""

    name: str = Field(description="the component's name, used by profiles (domain, city, state, email...)")
    field: str = Field(description="the CRM field holding it")
    normalize: Normalizer = "none"
    also: list[str] = Field(default_factory=list, description="more CRM fields that may hold it "
                            "(e.g. additional emails); matched, never written")


class IdentityKey(Strict):
    """The fields that make two records the same. The first part is looked up in the CRM; the others
    are compared after the look-up."""

    parts: list[KeyPart] = Field(min_length=1)
    match: Literal["exact", "contains"] = Field(
        default="exact", description="exact: the CRM stores the normalised value; contains: the CRM "
        "field holds it inside a longer value (a URL holding a domain) and is compared normalised")


# ----- relations -------------------------------------------------------------------------------

class FieldRelation(Strict):
    """The child carries the parent's id in one of its fields (Contact.AccountId)."""

    kind: Literal["field"]
    to: str
    field: str

    @property
    def written_as(self) -> str:
        """The key of a record's values (and changes) that sets the parent."""
        return self.field

    @property
    def read_as(self) -> str:
        """The field a look-up reads the current parent's id from."""
        return self.field


class BindRelation(Strict):
    """OData navigation property bound in the child's body: `"{property}@odata.bind": "{path}"`."""

    kind: Literal["bind"]
    to: str
    property: str
    path: str = Field(description="template of the bound path, with {id} and the target object's vars")
    read: str | None = Field(default=None, description="the field a look-up reads the bound record's id "
                             "from (Dataverse: `_{lookup}_value`); with it an existing record's parent is "
                             "compared, and filled when empty, as a field relation's is")

    @property
    def written_as(self) -> str:
        return f"{self.property}@odata.bind"

    @property
    def read_as(self) -> str | None:
        return self.read


class AssociationRelation(Strict):
    """A separate association request after both records exist (uses the `associate` endpoint)."""

    kind: Literal["association"]
    to: str
    type_id: int
    category: str = "HUBSPOT_DEFINED"

    @property
    def written_as(self) -> None:
        """Not written in the record: made by a request of its own."""
        return None

    @property
    def read_as(self) -> None:
        """Not read by look-ups."""
        return None


Relation = Annotated[FieldRelation | BindRelation | AssociationRelation, Field(discriminator="kind")]


# ----- objects ---------------------------------------------------------------------------------

class ObjectSpec(Strict):
    """One CRM record type."""

    label: str | None = None
    api_name: str = Field(description="how the API spells the object in paths and bodies")
    id_field: str = Field(description="the field holding the record id in responses")
    vars: dict[str, str] = Field(default_factory=dict, description="extra values endpoint templates "
                                 "may use as {vars.name} (a logical name, an object type id...)")
    record_url: str | None = Field(default=None, description="the 'View in CRM' URL, with {id}")
    fields: dict[str, FieldSpec]
    identity_keys: dict[str, IdentityKey] = Field(default_factory=dict)
    relations: dict[str, Relation] = Field(default_factory=dict)
    upsert_keys: list[str] = Field(default_factory=list, description="fields the native upsert can match "
                                   "on (external ids, unique properties, alternate keys)")
    endpoints: dict[EndpointName, Endpoint] = Field(default_factory=dict, description="this object's own "
                                                    "endpoints, replacing the connector-wide ones")
    notes: str | None = None

    # endpoint id -> (that endpoint, it with this object's vars); the endpoint is kept so its id stays its own
    _filled: dict[int, tuple[Endpoint, Endpoint]] = PrivateAttr(default_factory=dict)

    def with_vars(self, endpoint: Endpoint) -> Endpoint:
        """`endpoint` with its response paths' {vars.*} filled in for this object, made once."""
        known = self._filled.get(id(endpoint))
        if known is not None and known[0] is endpoint:
            return known[1]
        filled = endpoint
        if any(n.startswith("vars.") for names in endpoint.response.placeholders().values() for n in names):
            filled = endpoint.model_copy(update={"response": endpoint.response.with_vars(self.vars)})
        self._filled[id(endpoint)] = (endpoint, filled)
        return filled


# ----- auth ------------------------------------------------------------------------------------

class ErrorMatch(Strict):
    """Recognises an error response: its status and, optionally, a value found in the body."""

    status: int | list[int] | None = None
    path: str | None = Field(default=None, description="JSONPath into the body; every match is compared")
    equals: list[str] | None = None
    contains: list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> ErrorMatch:
        if (self.equals or self.contains) and not self.path:
            raise ValueError("`equals`/`contains` need a `path`")
        if self.status is None and not self.path:
            raise ValueError("an error match needs a `status` or a `path`")
        return self


class AuthFlow(Strict):
    kind: Literal["refresh_token", "client_credentials", "static_token"]
    token_url: str | None = Field(default=None, description="absolute, or relative to the base URL; may use "
                                  "the connection settings as {name} (a tenant id)")
    scope: str | None = Field(default=None, description="may use the connection settings as {name}")
    params: dict[str, str] = Field(default_factory=dict, description="extra form fields of the token request")
    refused_hint: str | None = Field(default=None, description="what to do when the CRM refuses the access "
                                     "token this flow gave (a 401 on an API call); default: "
                                     "auth.reconnect_hint")

    @model_validator(mode="after")
    def _check(self) -> AuthFlow:
        if self.kind != "static_token" and not self.token_url:
            raise ValueError(f"the {self.kind} flow needs a token_url")
        return self


class AuthSpec(Strict):
    flows: list[AuthFlow] = Field(min_length=1)
    instance_url_field: str | None = Field(default=None, description="token response key that holds "
                                           "the API base URL for this customer, if the CRM returns one")
    token_expired: list[ErrorMatch] = Field(description="an API error meaning: refresh and try again")
    refresh_refused: list[ErrorMatch] = Field(description="a token-endpoint error meaning: the grant is "
                                              "dead (user left, API disabled); stop and reconnect")
    reconnect_hint: str = "reconnect crmsync as an active integration user"


# ----- limits ----------------------------------------------------------------------------------

class RateLimit(Strict):
    requests: int = Field(ge=1)
    per_seconds: float = Field(gt=0)
    scope: str | None = Field(default=None, description="what the limit counts (per app, per user...)")
    applies_to: list[EndpointName] = Field(default_factory=list, description="endpoint names it is "
                                           "specific to; empty: all")
    paths: list[str] = Field(default_factory=list, description="regexes searched in the request path; the "
                             "limit counts only requests whose path matches one (a CRM that limits its "
                             "search API, whichever endpoint uses it); empty: all")

    @model_validator(mode="after")
    def _check(self) -> RateLimit:
        for pattern in self.paths:
            compile_regex(pattern)
        return self

    def applies(self, endpoint_kind: str, path: str) -> bool:
        """Whether a request of this endpoint kind to this URL path counts against the limit."""
        if self.applies_to and endpoint_kind not in self.applies_to:
            return False
        return not self.paths or any(re.search(p, path) for p in self.paths)

    def describe(self) -> str:
        scope = [*self.applies_to, *self.paths]
        return f"{self.requests} per {self.per_seconds:g} s" + (f" ({', '.join(scope)})" if scope else "")


class LimitHeaders(Strict):
    remaining: str | None = None
    limit: str | None = None
    interval_ms: str | None = None
    retry_after: str | None = "Retry-After"
    usage: str | None = Field(default=None, description="a header giving the daily allocation as "
                              "'used/limit' (its first such pair: Salesforce's api-usage=18/5000)")
    daily: str | None = Field(default=None, description="a header giving the daily allocation")
    daily_remaining: str | None = Field(default=None, description="a header giving what is left of it")


class LimitsSpec(Strict):
    rate: list[RateLimit] = Field(default_factory=list)
    daily: int | None = None
    concurrency: int | None = None
    headers: LimitHeaders = Field(default_factory=LimitHeaders)
    source: str | None = Field(default=None, description="where the published numbers come from")


# ----- query literals --------------------------------------------------------------------------

class LiteralSyntax(Strict):
    """How a string value is quoted in the CRM's query language (SOQL, OData...)."""

    quote: str = "'"
    escapes: dict[str, str] = Field(default_factory=dict, description="character -> replacement")
    like_escapes: dict[str, str] = Field(default_factory=dict, description="extra escapes inside LIKE")
    exact: str = Field(default="{field} = {literal}", description="a condition matching one value; "
                       "{field}, {literal} (quoted and escaped) and {escaped} (escaped, unquoted)")
    exact_many: str | None = Field(default=None, description="a condition matching several values at once, "
                                   "with {field} and {literals} (joined by list_separator)")
    contains: str = Field(default="{field} LIKE {like_literal}", description="a condition on a field that "
                          "holds the value inside a longer one; {like_escaped} is escaped for LIKE, unquoted")
    join: str = Field(default=" OR ", description="joins several conditions")
    list_separator: str = ","


# ----- endpoints -------------------------------------------------------------------------------

class Batch(Strict):
    max: int = Field(ge=1, description="most records in one request")
    items: str = Field(description="the body placeholder that receives the list of items: $items")
    all_or_none: bool = Field(default=False, description="true: one bad item fails the whole batch, "
                              "so a failed batch is split to find the bad items")


INLINE_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")


class ResponseSpec(Strict):
    """How to read a response. Its JSONPaths may use the object's {vars.*}."""

    records: str | None = Field(default=None, description="JSONPath to the list of records or results")
    id: str | None = Field(default=None, description="JSONPath, relative to one result, of the record id")
    id_header: str | None = Field(default=None, description="response header holding the new record's "
                                  "URL or id, when the body is empty")
    id_pattern: str | None = Field(default=None, description="regex with one group extracting the id "
                                   "from `id_header`")
    order: Literal["input", "key", "identity"] = Field(
        default="input", description="results in input order; matched back to inputs by the value at `key`; "
        "or, for a CRM that returns results in any order, by the identity-key values read from `fields`")
    key: str | None = Field(default=None, description="JSONPath, relative to one result, of the value "
                            "that matches it to its input (with order: key)")
    fields: str | None = Field(default=None, description="JSONPath, relative to one record, of its field "
                               "values (default: the record itself)")
    success: str | None = Field(default=None, description="JSONPath of a per-result boolean")
    errors: str | None = Field(default=None, description="JSONPath of per-result errors (a list)")
    created: str | None = Field(default=None, description="JSONPath of a per-result 'was created' flag")
    created_statuses: list[int] = Field(default_factory=list, description="answer statuses meaning the "
                                        "record was created; any other success: it was updated (an upsert "
                                        "answering 201 or 200)")
    empty_body: Literal["no_result", "all_succeeded"] = Field(
        default="no_result", description="what a success answer without a body means for the records sent: "
        "no_result (each failed, its result missing) or all_succeeded (every one was written: an "
        "all-or-nothing batch update answering 204 No Content)")
    next: str | None = Field(default=None, description="JSONPath of the next page URL or cursor")
    to: str | None = Field(default=None, description="associations read: JSONPath, relative to one result, "
                           "of the records it is associated with (its own id is at `id`)")
    to_id: str | None = Field(default=None, description="associations read: JSONPath, relative to one "
                              "associated record, of its id")
    type_ids: str | None = Field(default=None, description="associations read: JSONPath, relative to one "
                                 "associated record, of the association type ids it is associated by")
    next_kind: Literal["url", "cursor"] = "url"
    cursor_param: str = Field(default="after", description="with next_kind cursor: the body key (POST) or "
                              "query parameter (GET) that takes the cursor")
    carries: list[str] | None = Field(default=None, description="a look-up whose answer holds some fields "
                                      "only, whatever is asked: the fields it holds (default: every field "
                                      "asked for). A field it lacks is never known in the CRM, so with "
                                      "overwrite off it is never written; validate warns of each")

    def placeholders(self) -> dict[str, set[str]]:
        """Key -> the {names} its JSONPath uses: the object's {vars.*} (`$.{vars.id_field}`: one endpoint
        reads each object's id column), and in `key` the record's own values (`{key_field}`)."""
        return {key: set(INLINE_PLACEHOLDER.findall(value)) for key, value in self.model_dump().items()
                if isinstance(value, str) and INLINE_PLACEHOLDER.search(value)}

    def with_vars(self, values: dict[str, str]) -> ResponseSpec:
        """The JSONPaths with an object's vars filled in (the record's own values are filled per answer)."""
        def filled(match: re.Match[str]) -> str:
            name = match[1]
            return values[name[len("vars."):]] if name.startswith("vars.") else match[0]
        return self.model_copy(update={key: INLINE_PLACEHOLDER.sub(filled, getattr(self, key))
                                       for key, names in self.placeholders().items()
                                       if any(n.startswith("vars.") for n in names)})

    @model_validator(mode="after")
    def _check(self) -> ResponseSpec:
        if self.order == "key" and not self.key:
            raise ValueError("order: key needs `key`")
        if self.id_pattern:
            compile_regex(self.id_pattern)
        return self


class ErrorFields(Strict):
    """Where an error's code and message are, in a whole-response error body or a per-record error."""

    code: str = Field(description="JSONPath of the error code")
    message: str = Field(description="JSONPath of the message")
    fields: str | None = Field(default=None, description="JSONPath of the fields concerned")


class Endpoint(Strict):
    method: Literal["GET", "POST", "PATCH", "PUT", "DELETE"]
    path: str = Field(description="relative to the base URL; {placeholders} allowed")
    query: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = Field(default=None, description="structural template of the JSON body")
    item: Any = Field(default=None, description="template of one batch item (with batch)")
    value_item: Any = Field(default=None, description="look-ups: template of one looked-up value with "
                            "{value}; $values is then the list of rendered items instead of plain values")
    batch: Batch | None = None
    response: ResponseSpec = Field(default_factory=ResponseSpec)
    objects: list[str] = Field(default_factory=list, description="objects this endpoint serves; empty: all")
    max_url_length: int | None = Field(default=None, description="split look-ups so URLs stay below this")
    max_body_length: int | None = Field(default=None, description="split look-ups so JSON bodies stay below "
                                        "this many characters")
    max_values: int | None = Field(default=None, description="most look-up values in one request")
    escape: list[str] = Field(default_factory=list, description="placeholders whose values are escaped by "
                              "the connector's `literal.escapes` before they are filled in (a value written "
                              "inside a quoted literal of the path, such as an OData key)")
    page_size: int | None = Field(default=None, ge=1, description="list only: the most records one page "
                                  "may hold, asked for as {limit} (a pull asks for full pages)")
    since: Endpoint | None = Field(default=None, description="list only: the request that asks for the "
                                   "records modified since {since} (an ISO 8601 UTC time), where the CRM can "
                                   "filter by modification time; an incremental pull sends it instead")

    @model_validator(mode="after")
    def _check(self) -> Endpoint:
        if self.batch and self.item is None:
            raise ValueError("a batched endpoint needs an `item` template")
        return self


EndpointName = Literal["lookup", "create", "update", "upsert", "associate", "associations", "list",
                       "metadata", "field_rules"]


class EndpointsSpec(Strict):
    lookup: Endpoint = Field(description="find records by identity-key values")
    create: Endpoint
    update: Endpoint
    upsert: Endpoint | None = Field(default=None, description="native upsert by a unique field")
    associate: Endpoint | None = None
    associations: Endpoint | None = Field(default=None, description="read the associations existing "
                                          "records have, so an existing record is associated with an "
                                          "existing parent once, and never again")
    list: Endpoint = Field(description="page through an object's records (for pulling)")
    metadata: Endpoint = Field(description="the object's live field list (describe, properties...)")
    field_rules: Endpoint | None = Field(default=None, description="the object's per-field validation "
                                         "rules, where the CRM keeps them apart from the field list "
                                         "(HubSpot's property validations); read with `metadata.rules`")

    def named(self) -> dict[str, Endpoint]:
        return {name: ep for name in type(self).model_fields if (ep := getattr(self, name)) is not None}


# Which placeholders each endpoint's templates may use (besides {vars.*} and {object}).
PLACEHOLDERS: dict[str, set[str]] = {
    "lookup": {"object", "fields", "field", "values", "match", "api_version"},
    "create": {"object", "fields", "items", "ref", "api_version"},
    "update": {"object", "id", "fields", "items", "ref", "api_version"},
    "upsert": {"object", "key_field", "key_value", "fields", "items", "ref", "api_version"},
    "associate": {"object", "id", "to_object", "to_id", "type_id", "category", "items", "api_version"},
    "associations": {"object", "id", "to_object", "items", "api_version"},
    "list": {"object", "fields", "limit", "api_version"},
    "list.since": {"object", "fields", "limit", "api_version", "since"},
    "metadata": {"object", "api_version"},
    "field_rules": {"object", "api_version"},
}


class FieldRuleEffect(Strict):
    """What one kind of the CRM's validation rule asks of a value, as a pattern the whole text matches."""

    pattern: str = Field(description="a regular expression the whole text value must match")
    message: str = Field(description="the rule in words, shown when a value breaks it")


class FieldRulesMap(Strict):
    """How to read the `field_rules` endpoint's answer; JSONPaths relative to one record of it."""

    field: str = Field(description="JSONPath of the field's name")
    rules: str = Field(description="JSONPath of the field's list of rules")
    kind: str = Field(description="JSONPath, relative to one rule, of its kind")
    kinds: dict[str, FieldRuleEffect] = Field(description="rule kind -> what it asks of a value; a kind not "
                                              "listed is not checked before sending")


class MetadataMap(Strict):
    """How to read the metadata endpoint's answer into fields; each entry a JSONPath relative to one
    field description in `records`."""

    name: str
    type: str
    subtype: str | None = Field(default=None, description="JSONPath of a finer type; type_map is tried "
                                "with 'type:subtype' before 'type'")
    type_map: dict[str, FieldType] = Field(description="CRM type name -> crmsync field type")
    label: str | None = None
    max_length: str | None = None
    options: str | None = Field(default=None, description="JSONPath of the option list")
    option_value: str = "value"
    option_label: str = "label"
    restricted: str | None = None
    restricted_when_options: bool = Field(default=False, description="every option list is restrictive")
    required: str | None = None
    required_values: list[str] = Field(default_factory=lambda: ["True", "true"])
    defaulted: str | None = Field(default=None, description="JSONPath of a 'the CRM supplies a value on "
                                  "create' flag; a field so flagged is never required")
    creatable: str | None = None
    updatable: str | None = None
    read_only: str | None = None
    unique: str | None = None
    rules: FieldRulesMap | None = Field(default=None, description="how to read `endpoints.field_rules`")


class ErrorClass(Strict):
    kind: Literal["validation", "duplicate", "auth", "permission", "rate_limit", "transient", "not_found"]
    codes: list[str] = Field(default_factory=list)
    statuses: list[int] = Field(default_factory=list)
    retry: bool = False


class ErrorsSpec(Strict):
    body: ErrorFields = Field(description="a whole-response error body")
    item: ErrorFields | None = Field(default=None, description="a per-record error in a batch result")
    classes: list[ErrorClass]


class ConnectionSetting(Strict):
    """A non-secret value that differs per customer (a portal id, an app URL), set in the profile's
    `connection`; record URLs may use it as {name}."""

    description: str
    default: str | None = None
    follows_base_url: bool = Field(default=False, description="a URL on the CRM's own host (the app a record "
                                   "opens in): with a base URL other than the spec's, it takes that URL's "
                                   "root unless the profile sets it")


class AddressProbe(Strict):
    """An unauthenticated request this CRM answers in a way of its own. Sent before any credential, it
    tells an address of this CRM from one of another CRM, a web page or a typo."""

    path: str = Field(description="relative to the base URL, with its query (no placeholders)")
    answer: ErrorMatch = Field(description="the answer's status and, optionally, a value of its JSON body")
    header: str | None = Field(default=None, description="a header the answer carries")
    header_contains: str | None = Field(default=None, description="text that header holds")

    @model_validator(mode="after")
    def _check(self) -> AddressProbe:
        if not self.path.startswith("/"):
            raise ValueError("a probe path starts with /")
        if self.header_contains and not self.header:
            raise ValueError("`header_contains` needs a `header`")
        return self


class AddressSpec(Strict):
    """How people write this CRM's address (--base-url, `base_url` in a credentials file or in the
    profile's `connection`), and how crmsync tells it from another's."""

    hint: str | None = Field(default=None, description="what a customer's address looks like and where "
                             "to find it, for messages")
    placeholders: list[str] = Field(default_factory=list, description="hosts the CRM's documentation uses "
                                    "as placeholders: an address on one is refused before anything is "
                                    "sent, and when `base_url` is on one each customer must give theirs")
    other_hosts: dict[str, str] = Field(default_factory=dict, description="hosts of this CRM that do not "
                                        "serve its API, with what they are (a sign-in host, the web app): "
                                        "refused as an address, saying so")
    host_suffixes: dict[str, str] = Field(default_factory=dict, description="a host ending people copy "
                                          "(the web app's) -> the API host's ending that replaces it")
    api_path: str = Field(default="", description="the base URL's path on the CRM's host "
                          "(/api/data/v9.2); an address of the host alone gets it")
    also_paths: list[str] = Field(default_factory=list, description="regexes of other paths people copy "
                                  "that stand for the same API (/services/data/v60.0), matched against "
                                  "the whole path and replaced by `api_path`")
    probe: AddressProbe | None = None

    @model_validator(mode="after")
    def _check(self) -> AddressSpec:
        if self.api_path and (not self.api_path.startswith("/") or self.api_path.endswith("/")):
            raise ValueError("`api_path` starts with / and does not end with one")
        for pattern in self.also_paths:
            compile_regex(pattern)
        return self

    def is_placeholder(self, host: str) -> bool:
        return host.lower() in {p.lower() for p in self.placeholders}

    def not_the_api(self, host: str) -> str | None:
        """What a host of this CRM that serves no API is, or None."""
        return {h.lower(): what for h, what in self.other_hosts.items()}.get(host.lower())


class ConnectorSpec(Strict):
    """One CRM."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    docs: str | None = None
    base_url: str = Field(description="the production base URL; a customer's may differ (--base-url)")
    address: AddressSpec = Field(default_factory=AddressSpec, description="how people write the CRM's "
                                 "address and how crmsync tells it from another CRM's")
    api_version: str
    auth: AuthSpec
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    literal: LiteralSyntax = Field(default_factory=LiteralSyntax)
    default_headers: dict[str, str] = Field(default_factory=dict)
    connection: dict[str, ConnectionSetting] = Field(default_factory=dict)
    objects: dict[str, ObjectSpec]
    endpoints: EndpointsSpec
    metadata: MetadataMap
    errors: ErrorsSpec


def template_placeholders(template: Any) -> set[str]:
    """Every {name} and $name used in a structural template."""
    found: set[str] = set()
    if isinstance(template, str):
        if template.startswith("$") and re.fullmatch(r"\$[a-z_.]+", template):
            found.add(template[1:])
        found.update(re.findall(r"\{([a-z_][a-z0-9_.]*)\}", template))
    elif isinstance(template, dict):
        for key, value in template.items():
            if key != "$merge":  # a key is text: only {name} in it is a placeholder (`$filter` is not)
                found.update(re.findall(r"\{([a-z_][a-z0-9_.]*)\}", str(key)))
            found.update(template_placeholders(value))
    elif isinstance(template, list):
        for value in template:
            found.update(template_placeholders(value))
    return found


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
    for ep_name, ep in spec.endpoints.named().items():
        served = [spec.objects[o] for o in (ep.objects or spec.objects) if o in spec.objects
                  and ep_name not in spec.objects[o].endpoints]
        problems += _endpoint_problems(spec, ep_name, ep, ("endpoints", ep_name), served)
    return problems + _since_problems(spec)


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
        if isinstance(rel, AssociationRelation) and spec.endpoints.associate is None:
            problems.append((where, "an association relation needs endpoints.associate"))
        if isinstance(rel, AssociationRelation) and spec.endpoints.associations is None:
            problems.append((where, "an association relation needs endpoints.associations (to read which "
                                    "associations exist)"))
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


def _endpoint_problems(spec: ConnectorSpec, ep_name: str, ep: Endpoint, here: tuple[str, ...],
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


Endpoint.model_rebuild()
ObjectSpec.model_rebuild()
ConnectorSpec.model_rebuild()

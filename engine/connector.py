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
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from engine.paths import finder
from engine.templating import compile_template


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class JsonPathMark:
    """Marks a text field as a JSONPath: `jsonpath_problems` parses every such value when the file loads.
    A new key that holds a JSONPath is checked by declaring it `JsonPath`."""


JsonPath = Annotated[str, JsonPathMark()]


@cache
def compile_regex(pattern: str) -> re.Pattern[str]:
    """A regex from a spec; a bad one is a load error (ValueError), not a crash."""
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None


def check_jsonpath(expression: str | None) -> str | None:
    """A JSONPath from a spec; a bad one is a load error (ValueError), not a crash at run time."""
    message = jsonpath_error(expression) if expression is not None else None
    if message:
        raise ValueError(message)
    return expression


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
    read: JsonPath | None = Field(default=None, description="JSONPath, relative to one record's fields, "
                                  "of the "
                             "value in an answer (`$.emails[?(@.primary == true)].value`); several matches: "
                             "identity matches any, change detection compares the first. Default: `path`, "
                             "else the field's name")
    write: Any = Field(default=None, description="structural template of what is sent for the field, "
                       "`$value` standing for its value (`[{value: $value, primary: true}]`); default: "
                       "the value itself")
    path: str | None = Field(default=None, pattern=r"^[^.\s]+(\.[^.\s]+)*$",
                             description="dotted: where the field lives in a record's fields, read and "
                             "written (`custom_fields.a1b2c3`); default: the field's name")
    query_name: str | None = Field(default=None, description="how look-ups name the field: {field} of a "
                                   "look-up's condition and the names in $fields it asks for (a nested "
                                   "field's filter name); default: `path`, else the field's name")

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

    @field_validator("read")
    @classmethod
    def _read_parses(cls, read: str | None) -> str | None:
        return check_jsonpath(read)

    @field_validator("write")
    @classmethod
    def _write_has_value(cls, write: Any) -> Any:
        return checked_write(write)

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
    read: JsonPath | None = Field(default=None, description="JSONPath, relative to one record's fields, "
                                  "of the "
                             "current parent's id in an answer (written `org_id: 5`, answered "
                             "`org_id: {value: 5, name: Acme}`); default: the field's own `read`, else "
                             "the field")

    @field_validator("read")
    @classmethod
    def _read_parses(cls, read: str | None) -> str | None:
        return check_jsonpath(read)

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
    """A separate association request after both records exist (uses the `associate` endpoint: the
    relation's own, else the connector's)."""

    kind: Literal["association"]
    to: str
    type_id: int | None = Field(default=None, description="the association type, for a CRM that types "
                                "them ({type_id}); without it any association between the two counts")
    category: str | None = Field(default=None, description="the association type's category ({category})")
    associate: Endpoint | None = Field(default=None, description="this relation's own request making one "
                                       "association (a link record POSTed), instead of endpoints.associate")
    associations: Endpoint | None = Field(default=None, description="this relation's own read of the "
                                          "associations records have, instead of endpoints.associations")

    def unset(self) -> set[str]:
        """The placeholders this relation leaves without a value."""
        return {name for name in ("type_id", "category") if getattr(self, name) is None}

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

class OwnerSpec(Strict):
    """Where a record of this object carries its owner, a CRM user (a contact's is the user who got it;
    an account is never given one)."""

    field: str = Field(description="the field (or bind key) the owner is written to")
    read: str | None = Field(default=None, description="the field a look-up answer carries the owner's id "
                             "in; default: `field`")
    path: str | None = Field(default=None, description="written as a bound path: a template with {id} "
                             "(\"/systemusers({id})\"); default: the user's id itself")
    write: Any = Field(default=None, description="structural template of what is sent, `$value` standing "
                       "for the user's id (or its `path`): `{id: $value}` for a lookup written as an object; "
                       "default: the value itself")

    @property
    def read_as(self) -> str:
        return self.read or self.field

    def written(self, user_id: str) -> Any:
        value = self.path.replace("{id}", user_id) if self.path else user_id
        return compile_template(self.write)({"value": value}) if self.write is not None else value

    @field_validator("write")
    @classmethod
    def _write_has_value(cls, write: Any) -> Any:
        return checked_write(write)


class UserLookup(Strict):
    """How to find a CRM user by email (who owns a contact), one email a request."""

    endpoint: Endpoint = Field(description="a GET; its templates may use {email} (the address as is, "
                               "for a query parameter), {literal} (the address as a quoted literal of the "
                               "connector's query language, escaped) and {api_version}")
    email: JsonPath = Field(description="JSONPath, in one result, of the user's email")
    active: JsonPath | None = Field(default=None, description="JSONPath, in one result, of a flag that is "
                                    "true for an active user")
    inactive: JsonPath | None = Field(default=None, description="JSONPath, in one result, of a flag "
                                      "that is true for an inactive user (archived, disabled)")


class ObjectSpec(Strict):
    """One CRM record type."""

    label: str | None = None
    api_name: str = Field(description="how the API spells the object in paths and bodies")
    kind: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$", description="what the object "
                             "is to people, for a team's permissions: contact, account...; a Lead is of "
                             "kind contact; default: the object's name in lower case")
    id_field: str = Field(description="the field holding the record id in responses")
    vars: dict[str, str] = Field(default_factory=dict, description="extra values endpoint templates "
                                 "may use as {vars.name} (a logical name, an object type id...)")
    record_url: str | None = Field(default=None, description="the 'View in CRM' URL, with {id}")
    fields: dict[str, FieldSpec]
    identity_keys: dict[str, IdentityKey] = Field(default_factory=dict)
    relations: dict[str, Relation] = Field(default_factory=dict)
    owner: OwnerSpec | None = Field(default=None, description="where a record carries its owner (a CRM "
                                    "user); an object of kind account is never given one")
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
    path: JsonPath | None = Field(default=None, description="JSONPath into the body; every match is compared")
    equals: list[str] | None = None
    contains: list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> ErrorMatch:
        if (self.equals or self.contains) and not self.path:
            raise ValueError("`equals`/`contains` need a `path`")
        if self.status is None and not self.path:
            raise ValueError("an error match needs a `status` or a `path`")
        return self


HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP header name (RFC 9110 token)


class SendSpec(Strict):
    """Where a token goes on each API request: a header (with its prefix) or a query parameter."""

    header: str | None = Field(default=None, description="the header that carries the token")
    prefix: str = Field(default="", description="text before the token in the header (`Bearer `, "
                        "`Zoho-oauthtoken `); none by default")
    query: str | None = Field(default=None, description="the query parameter that carries the token, "
                              "instead of a header")

    @model_validator(mode="after")
    def _check(self) -> SendSpec:
        if (self.header is None) == (self.query is None):
            raise ValueError("`send` takes either `header` (with an optional `prefix`) or `query`")
        if self.query is not None and self.prefix:
            raise ValueError("`prefix` is only for a header; a query parameter carries the token alone")
        if self.header is not None and not HEADER_NAME.match(self.header):
            raise ValueError(f"{self.header!r} is not an HTTP header name")
        if self.query is not None and not self.query.strip():
            raise ValueError("`query` needs the parameter's name")
        return self


# built without validation (its values pass `_check`): validating would build the model's schema at import
BEARER = SendSpec.model_construct(header="Authorization", prefix="Bearer ")

ClientAuth = Literal["client_secret_post", "client_secret_basic"]


class AuthFlow(Strict):
    kind: Literal["refresh_token", "client_credentials", "static_token"]
    token_url: str | None = Field(default=None, description="absolute, or relative to the base URL; may use "
                                  "the connection settings as {name} (a tenant id, an accounts host)")
    scope: str | None = Field(default=None, description="may use the connection settings as {name}")
    params: dict[str, str] = Field(default_factory=dict, description="extra form fields of the token request")
    refused_hint: str | None = Field(default=None, description="what to do when the CRM refuses the access "
                                     "token this flow gave (a 401 on an API call); default: "
                                     "auth.reconnect_hint")
    client_auth: ClientAuth | None = Field(default=None, description="how the client id and secret go to "
                                           "the token endpoint: in the form body (client_secret_post, the "
                                           "default) or as HTTP Basic (client_secret_basic)")
    send: SendSpec | None = Field(default=None, description="where tokens of this flow go on API requests; "
                                  "default: auth.send")

    @model_validator(mode="after")
    def _check(self) -> AuthFlow:
        if self.kind != "static_token" and not self.token_url:
            raise ValueError(f"the {self.kind} flow needs a token_url")
        if self.kind == "static_token" and self.client_auth is not None:
            raise ValueError("`client_auth` is for flows with a token endpoint; a static token has none")
        return self

    @property
    def token_endpoint_auth(self) -> ClientAuth:
        return self.client_auth or "client_secret_post"


class AuthSpec(Strict):
    flows: list[AuthFlow] = Field(min_length=1)
    send: SendSpec = Field(default=BEARER, description="where the token goes on each API request; default: "
                           "header Authorization, prefix `Bearer `")
    instance_url_field: str | None = Field(default=None, description="token response key that holds "
                                           "this customer's API host (scheme://host[:port]); API requests go "
                                           "there, keeping the base URL's path")
    token_expired: list[ErrorMatch] = Field(description="an API error meaning: refresh and try again")
    refresh_refused: list[ErrorMatch] = Field(description="a token-endpoint error meaning: the grant is "
                                              "dead (user left, API disabled); stop and reconnect")
    reconnect_hint: str = "reconnect crmsync as an active integration user"

    def send_for(self, flow: AuthFlow | None) -> SendSpec:
        """Where a token of `flow` goes (None: a token given as is, the static-token flow's)."""
        if flow is None:
            flow = next((f for f in self.flows if f.kind == "static_token"), None)
        return flow.send if flow is not None and flow.send is not None else self.send


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
    window: Literal["sliding", "fixed"] = Field(
        default="sliding", description="sliding: at most `requests` in any `per_seconds`; fixed: the CRM's "
        "count resets at each multiple of `per_seconds` on the clock (a per-minute limit reset on the "
        "minute)")

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
        fixed = " (fixed window)" if self.window == "fixed" else ""
        return f"{self.requests} per {self.per_seconds:g} s{fixed}" + (f" ({', '.join(scope)})" if scope
                                                                       else "")


class LimitHeaders(Strict):
    remaining: str | None = None
    limit: str | None = None
    interval_ms: str | None = None
    retry_after: str | None = "Retry-After"
    usage: str | None = Field(default=None, description="a header giving the daily allocation as "
                              "'used/limit' (its first such pair: Salesforce's api-usage=18/5000)")
    daily: str | None = Field(default=None, description="a header giving the daily allocation")
    daily_remaining: str | None = Field(default=None, description="a header giving what is left of it; "
                                        "alone (no `daily` nor `usage` header), the budget is what it says "
                                        "is left, out of `limits.daily` when given")


class LimitsSpec(Strict):
    rate: list[RateLimit] = Field(default_factory=list)
    daily: int | None = Field(default=None, ge=1, description="the daily budget, in requests (credits when "
                              "endpoints declare a `cost`): what a `daily_remaining` header alone is out of")
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

    records: JsonPath | None = Field(default=None, description="JSONPath to the list of records or results")
    id: JsonPath | None = Field(default=None, description="JSONPath, relative to one result, of the record "
                                "id")
    id_header: str | None = Field(default=None, description="response header holding the new record's "
                                  "URL or id, when the body is empty")
    id_pattern: str | None = Field(default=None, description="regex with one group extracting the id "
                                   "from `id_header`")
    order: Literal["input", "key", "identity"] = Field(
        default="input", description="results in input order; matched back to inputs by the value at `key`; "
        "or, for a CRM that returns results in any order, by the identity-key values read from `fields`")
    key: JsonPath | None = Field(default=None, description="JSONPath, relative to one result, of the value "
                            "that matches it to its input (with order: key)")
    fields: JsonPath | None = Field(default=None, description="JSONPath, relative to one record, of its "
                                    "field values (default: the record itself)")
    success: JsonPath | None = Field(default=None, description="JSONPath of a per-result boolean (or, with "
                                     "`success_values`, of a word)")
    success_values: list[str] | None = Field(default=None, description="the words at `success` that mean "
                                             "the record was written; any other word, or none, fails it")
    errors: JsonPath | None = Field(default=None, description="JSONPath of per-result errors (a list)")
    created: JsonPath | None = Field(default=None, description="JSONPath of a per-result 'was created' flag "
                                     "(or, with `created_values`, of a word)")
    refused_with_results: bool = Field(default=False, description="a refused answer (4xx: no record "
                                       "written) still holds one result per record sent, at `records`: "
                                       "each is read for its own error (needs `records` and `success`)")
    created_values: list[str] | None = Field(default=None, description="the words at `created` that mean "
                                             "the record was created; any other: it was updated")
    created_statuses: list[int] = Field(default_factory=list, description="answer statuses meaning the "
                                        "record was created; any other success: it was updated (an upsert "
                                        "answering 201 or 200)")
    empty_body: Literal["no_result", "all_succeeded"] = Field(
        default="no_result", description="what a success answer without a body means for the records sent: "
        "no_result (each failed, its result missing) or all_succeeded (every one was written: an "
        "all-or-nothing batch update answering 204 No Content)")
    next: JsonPath | None = Field(default=None, description="JSONPath of the next page URL or cursor")
    to: JsonPath | None = Field(default=None, description="associations read: JSONPath, relative to one "
                                "result, of the records it is associated with (its own id is at `id`)")
    to_id: JsonPath | None = Field(default=None, description="associations read: JSONPath, relative to one "
                              "associated record, of its id")
    type_ids: JsonPath | None = Field(default=None, description="associations read: JSONPath, relative to "
                                      "one associated record, of the association type ids it is associated "
                                      "by")
    next_kind: Literal["url", "cursor", "page"] = Field(
        default="url", description="what `next` holds: the next page's URL (url), a cursor sent in "
        "`cursor_param` (cursor), or a flag that more pages follow, asked by number in `cursor_param` "
        "(page)")
    cursor_param: str = Field(default="after", description="with next_kind cursor or page: the body key "
                              "(POST) or query parameter (GET) that takes the cursor or page number")
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
        if self.success_values is not None and not self.success:
            raise ValueError("success_values needs `success`, the path of the word they list")
        if self.refused_with_results and not (self.records and self.success):
            raise ValueError("refused_with_results needs `records` and `success`: a result of a refused "
                             "answer is read as success without its word")
        if self.created_values is not None and not self.created:
            raise ValueError("created_values needs `created`, the path of the word they list")
        if self.id_pattern:
            compile_regex(self.id_pattern)
        return self


class ErrorFields(Strict):
    """Where an error's code and message are, in a whole-response error body or a per-record error."""

    code: JsonPath = Field(description="JSONPath of the error code")
    message: JsonPath = Field(description="JSONPath of the message")
    fields: JsonPath | None = Field(default=None, description="JSONPath of the fields concerned")


class Cost(Strict):
    """What one request takes from the daily budget when it depends on the records of a batch."""

    credits: int = Field(default=1, ge=0, description="credits per started `per_records` records of the "
                         "request")
    per_records: int = Field(default=1, ge=1, description="records one lot of `credits` pays for")

    def of(self, records: int) -> int:
        return self.credits * -(-max(records, 1) // self.per_records)


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
    cost: Cost = Field(
        default_factory=Cost, description="what one request takes from the daily budget (`limits.daily`): "
        "credits (default 1), or {credits, per_records} for credits per started lot of records of a batch",
        json_schema_extra=also_accept("value", {"type": "integer", "minimum": 0}))

    @model_validator(mode="before")
    @classmethod
    def _cost_shorthand(cls, data: Any) -> Any:
        cost = data.get("cost") if isinstance(data, dict) else None
        if isinstance(cost, int) and not isinstance(cost, bool):
            data = {**data, "cost": {"credits": data["cost"]}}
        return data

    @model_validator(mode="after")
    def _check(self) -> Endpoint:
        if self.batch and self.item is None:
            raise ValueError("a batched endpoint needs an `item` template")
        if self.cost.per_records > 1 and not self.batch:
            raise ValueError("`cost.per_records` counts the records of a batch; this endpoint has no `batch`")
        return self

    def credits(self, records: int = 1) -> int:
        """What a request of `records` records takes from the daily budget."""
        return self.cost.of(records)


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
    list: Endpoint | None = Field(default=None, description="page through an object's records (for "
                                  "pulling); without it the connector cannot pull")
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
    "users": {"email", "literal", "api_version"},
}


class FieldRuleEffect(Strict):
    """What one kind of the CRM's validation rule asks of a value, as a pattern the whole text matches."""

    pattern: str = Field(description="a regular expression the whole text value must match")
    message: str = Field(description="the rule in words, shown when a value breaks it")


class FieldRulesMap(Strict):
    """How to read the `field_rules` endpoint's answer; JSONPaths relative to one record of it."""

    field: JsonPath = Field(description="JSONPath of the field's name")
    rules: JsonPath = Field(description="JSONPath of the field's list of rules")
    kind: JsonPath = Field(description="JSONPath, relative to one rule, of its kind")
    kinds: dict[str, FieldRuleEffect] = Field(description="rule kind -> what it asks of a value; a kind not "
                                              "listed is not checked before sending")


class MetadataMap(Strict):
    """How to read the metadata endpoint's answer into fields; each entry a JSONPath relative to one
    field description in `records`."""

    name: JsonPath
    type: JsonPath
    subtype: JsonPath | None = Field(default=None, description="JSONPath of a finer type; type_map is tried "
                                "with 'type:subtype' before 'type'")
    type_map: dict[str, FieldType] = Field(description="CRM type name -> crmsync field type")
    label: JsonPath | None = None
    max_length: JsonPath | None = None
    options: JsonPath | None = Field(default=None, description="JSONPath of the option list")
    option_value: JsonPath = "value"
    option_label: JsonPath = "label"
    restricted: JsonPath | None = None
    restricted_when_options: bool = Field(default=False, description="every option list is restrictive")
    required: JsonPath | None = None
    required_values: list[str] = Field(default_factory=lambda: ["True", "true"])
    defaulted: JsonPath | None = Field(default=None, description="JSONPath of a 'the CRM supplies a value on "
                                  "create' flag; a field so flagged is never required")
    creatable: JsonPath | None = None
    updatable: JsonPath | None = None
    read_only: JsonPath | None = None
    unique: JsonPath | None = None
    rules: FieldRulesMap | None = Field(default=None, description="how to read `endpoints.field_rules`")


class ErrorClass(Strict):
    kind: Literal["validation", "duplicate", "auth", "permission", "rate_limit", "transient", "not_found"]
    codes: list[str] = Field(default_factory=list)
    statuses: list[int] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=list, description="with `codes`: the class holds only when the "
                              "error also names one of these fields (at errors.item/body `fields`), for a "
                              "code that means two things (an invalid `id`: the record is not there)")
    retry: bool = False

    @model_validator(mode="after")
    def _check(self) -> ErrorClass:
        if self.fields and not self.codes:
            raise ValueError("`fields` narrows `codes`: list the codes it narrows")
        return self


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
    default_by_host: dict[str, str] = Field(default_factory=dict, description="the default by the ending "
                                            "of the base URL's host (a data centre: `.tinycrm.eu` -> "
                                            "`https://accounts.tinycrm.eu`); the longest ending that matches "
                                            "wins, else `default`")

    @model_validator(mode="after")
    def _check(self) -> ConnectionSetting:
        if self.default_by_host and self.follows_base_url:
            raise ValueError("`default_by_host` and `follows_base_url` both say what the setting is on "
                             "another host: keep one")
        for ending in self.default_by_host:
            if not re.fullmatch(r"\.?[a-z0-9-]+(\.[a-z0-9-]+)*", ending):
                raise ValueError(f"default_by_host: {ending!r} is not a host ending (.crm.example)")
        return self

    def default_for(self, host: str) -> str | None:
        """The default on a base URL of `host`: by its data centre's ending where one matches."""
        endings = [e for e in self.default_by_host if f".{host}".endswith("." + e.lstrip("."))]
        return self.default_by_host[max(endings, key=len)] if endings else self.default


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


class AccountRequest(Strict):
    """The request that answers which account the credentials are for: a GET, sent once authenticated."""

    method: Literal["GET"] = "GET"
    path: str = Field(description="relative to the base URL, with its query; may use {api_version}")
    headers: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> AccountRequest:
        if not self.path.startswith("/"):
            raise ValueError("an account request path starts with /")
        unknown = set(re.findall(r"\{([a-z_][a-z0-9_.]*)\}", self.path)) - {"api_version"}
        if unknown:
            raise ValueError(f"an account request path may use {{api_version}} only, not "
                             f"{', '.join(sorted('{' + u + '}' for u in unknown))}")
        return self


class AccountSpec(Strict):
    """How to learn which account (org, portal) of the CRM the credentials are for: the org a profile's
    state, its push lock and its shared rate budget are keyed by (`<connector>:<id>`). Without it the
    org is known by its address, which many accounts may share."""

    request: AccountRequest
    id: JsonPath = Field(description="JSONPath, in the answer, of the account id")
    pattern: str | None = Field(default=None, description="a regex with one group taking the id out of the "
                                "value at `id` (an identity URL)")
    facts: dict[str, JsonPath] = Field(default_factory=dict, description="more values shown with the id "
                                       "(a data hosting location), name -> JSONPath in the answer")
    source: str | None = Field(default=None, description="the CRM documentation the request comes from")

    @model_validator(mode="after")
    def _check(self) -> AccountSpec:
        if self.pattern is not None and compile_regex(self.pattern).groups != 1:
            raise ValueError("`pattern` takes the id out with exactly one group: (...)")
        return self


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
    users: UserLookup | None = Field(default=None, description="how to find a CRM user by email: the "
                                     "owner of the contacts a profile gives one")
    endpoints: EndpointsSpec
    metadata: MetadataMap
    errors: ErrorsSpec
    account: AccountSpec | None = Field(default=None, description="how to learn the account id once "
                                        "authenticated; without it the org is known by its address")
    plugin: str | None = Field(default=None, description="a Python file of pluggy hook implementations for "
                               "what YAML cannot say, relative to this file (./tinycrm_quirks.py); loaded "
                               "with the connector, it serves this connector only")
    plugins: list[str] = Field(default_factory=list, description="plugins this connector needs, by name (a "
                               "module of the plugins package, or an installed plugin's name): a connector "
                               "whose plugin is not there fails at load")

    _plugin_file: Path | None = PrivateAttr(default=None)  # the loaded `plugin`, which answers for it

    @property
    def plugin_file(self) -> Path | None:
        return self._plugin_file


def checked_write(write: Any) -> Any:
    """A `write` template (of a field or an owner): $value, and only it."""
    if write is None:
        return None
    used = template_placeholders(write)
    if "value" not in used:
        raise ValueError("a `write` template says where the value goes with $value")
    if used - {"value"}:
        raise ValueError(f"a `write` template has only $value, not {', '.join(sorted(used - {'value'}))}")
    return write


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


def jsonpath_error(expression: str) -> str | None:
    """Why `expression` is not a JSONPath the engine can read, or None."""
    try:
        finder(INLINE_PLACEHOLDER.sub("x", expression))
    except Exception as exc:  # noqa: BLE001 - jsonpath-ng raises bare Exceptions of several kinds
        return f"{expression!r} is not a valid JSONPath: {exc}"
    return None


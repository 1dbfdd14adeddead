"""Local emulator of the Salesforce REST API: OAuth token endpoint, versions and resources, sObject
describe and rows, upsert by external id, sObject Collections, Composite, SOQL query/queryAll with paging,
limits, duplicate rules, and Salesforce's error bodies.

Written from Salesforce's REST API Developer Guide, SOQL and SOSL Reference and Object Reference
(see /work/shared/reference/crm-api-facts.md section 1). Imports nothing from the engine but
`engine.sandbox.*` (DESIGN.md rule 3).
"""

from __future__ import annotations

import html
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from engine.sandbox.common import AuthConfig, FaultSpec, Sandbox, SandboxConfigError
from engine.sandbox.salesforce_collections import CollectionsMixin, all_or_none
from engine.sandbox.salesforce_composite import CompositeMixin
from engine.sandbox.salesforce_ids import make_id, normalize, object_of
from engine.sandbox.salesforce_org import ConcurrencyLimit, OrgMixin
from engine.sandbox.salesforce_query import QueryMixin
from engine.sandbox.salesforce_records import USER_ID, RecordsMixin, WriteOptions
from engine.sandbox.salesforce_rules import SalesforceError, check_value, not_found
from engine.sandbox.salesforce_schema import default_schema, extend
from engine.sandbox.salesforce_sobjects import SObjectRoutesMixin, method_not_allowed
from engine.sandbox.salesforce_users import UsersMixin

OBJECTS = ("Account", "Contact", "Lead")
DUPLICATE_PRESETS = {
    # a new org ships the standard Account, Contact and Lead duplicate rules active, with "Allow" and
    # an alert on create and only a report on edit (Salesforce Help, "Standard Account Duplicate
    # Rule"); through the API an alert blocks the save unless the Duplicate Rule Header says
    # allowSave=true ("Duplicate Rule Header", REST API Developer Guide)
    "standard": dict.fromkeys(OBJECTS, "alert"),
    "block": dict.fromkeys(OBJECTS, "block"),
    "off": dict.fromkeys(OBJECTS, "off"),
}
FIRST_NUMBER = 1_000_000_000  # record numbers start where base 62 mixes cases, as real ids do
DEFAULT_MATCH = {"Account": ("Name", "Website"), "Contact": ("Email",), "Lead": ("Email",)}


class SalesforceSandbox(
    OrgMixin, SObjectRoutesMixin, CompositeMixin, CollectionsMixin, QueryMixin, RecordsMixin, UsersMixin,
    Sandbox,
):
    """Salesforce REST API emulator. Options (all keyword):

    token_ttl_s: access token lifetime, the org's session timeout (7200 = 2 hours, the default).
    api_versions: (lowest, highest) API version served (("31.0", "64.0")); others answer 404 NOT_FOUND.
    api_enabled: False answers every API call with 403 API_DISABLED_FOR_ORG (an edition without API).
    daily_api_requests: the rolling 24-hour allocation (100,000: Enterprise Edition's base before the
      per-licence additions); past it 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded.".
    concurrent_long_requests / long_request_s: at most this many requests running longer than
      long_request_s at once (25 and 20 s, production orgs); more answer 403 REQUEST_LIMIT_EXCEEDED.
    duplicate_rules: "standard" (as a new org ships: alert on create, which the API treats as a
      block unless Sforce-Duplicate-Rule-Header allowSave=true), "block" (block on create and edit),
      "off", or {object: "alert"|"block"|"off"}.
    duplicate_match: fields compared by the duplicate rules ({"Account": ("Name", "Website"),
      "Contact": ("Email",), "Lead": ("Email",)}: a simplification of the standard matching rules).
    extra_fields: {object: [partial describe field]} added to the schema (also `_fields` in a seed
      file: [{"object": "Account", "name": ..., "type": ...}]).
    upsert_ext_id_in_body: "error" (the REST guide: don't send the external id field in the body of
      an upsert on it) or "ignore" (take the URL's value).
    open_query_cursors: query locators kept open per sandbox (10, as per user in Salesforce); the
      oldest is dropped and answers INVALID_QUERY_LOCATOR.
    client_credentials_user: who a client_credentials token acts as ("integration@sandbox").
    unreadable_objects: objects the user's profile has no Read permission on (e.g. {"Contact"}): SOQL
      on them answers 400 INVALID_TYPE "sObject type 'Contact' is not supported", as for an object the
      user cannot see ({"User"}: an integration user without read access to users).
    org_id: the org's id (00D...), in the token answer's identity URL and the UserInfo endpoint's
      organization_id; by default an id of this emulator's own, so two emulators are two orgs.
    A seed's `User` records are the org's users (Email, IsActive...): see salesforce_users.
    """

    name = "salesforce"
    objects = OBJECTS

    def __init__(
        self,
        *,
        latency_ms: int = 0,
        faults: FaultSpec | str | None = None,
        seed: dict[str, list[dict[str, Any]]] | str | Path | None = None,
        auth: AuthConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        base_url: str = "http://127.0.0.1",
        token_ttl_s: float = 7200.0,
        api_versions: tuple[str, str] = ("31.0", "64.0"),
        api_enabled: bool = True,
        daily_api_requests: int = 100_000,
        concurrent_long_requests: int = 25,
        long_request_s: float = 20.0,
        duplicate_rules: str | Mapping[str, str] = "standard",
        duplicate_match: Mapping[str, tuple[str, ...]] | None = None,
        extra_fields: Mapping[str, list[dict[str, Any]]] | None = None,
        upsert_ext_id_in_body: str = "error",
        open_query_cursors: int = 10,
        client_credentials_user: str = "integration@sandbox",
        unreadable_objects: Collection[str] = (),
        org_id: str | None = None,
    ) -> None:
        self.org_id = org_id or make_id("Organization", 1 + secrets.randbelow(62**6))
        self.token_ttl_s = token_ttl_s
        self.api_versions = (float(api_versions[0]), float(api_versions[1]))
        self.api_enabled = api_enabled
        self.daily_api_requests = daily_api_requests
        self.concurrent_long_requests = concurrent_long_requests
        self.long_request_s = long_request_s
        preset = DUPLICATE_PRESETS.get(duplicate_rules) if isinstance(duplicate_rules, str) else None
        if isinstance(duplicate_rules, str) and preset is None:
            raise SandboxConfigError(
                f"duplicate_rules: {duplicate_rules!r}; use standard, block, off or a dict"
            )
        self.duplicate_actions = dict(preset or {**DUPLICATE_PRESETS["off"], **dict(duplicate_rules)})
        self.duplicate_match = dict(duplicate_match or DEFAULT_MATCH)
        self.extra_fields = dict(extra_fields or {})
        self.upsert_ext_id_in_body = upsert_ext_id_in_body
        self.open_query_cursors = open_query_cursors
        self.client_credentials_user = client_credentials_user
        self.unreadable_objects = set(unreadable_objects)
        self.seed_fields: list[dict[str, Any]] = []
        self.in_flight: dict[int, float] = {}
        self.clock = clock
        super().__init__(
            latency_ms=latency_ms, faults=faults, seed=seed, auth=auth, clock=clock, base_url=base_url
        )

    # ----- Sandbox hooks ---------------------------------------------------------------------------
    def default_auth(self) -> AuthConfig:
        return AuthConfig(token_ttl_s=self.token_ttl_s)

    def _load_seed(self, seed: Any) -> dict[str, list[dict[str, Any]]]:
        data = Sandbox._load_seed(seed)
        self.seed_fields = data.pop("_fields", [])
        return data

    def reset_state(self) -> None:
        self.indexes = {}
        self.field_indexes = {}
        self.schema = default_schema()
        try:
            extend(self.schema, self.extra_fields)
            by_object: dict[str, list[dict[str, Any]]] = {}
            for spec in self.seed_fields:
                by_object.setdefault(spec["object"], []).append(
                    {k: v for k, v in spec.items() if k != "object"}
                )
            extend(self.schema, by_object)
        except (KeyError, ValueError, TypeError) as exc:
            raise SandboxConfigError(f"extra fields: {exc}") from None
        self.records = {name: {} for name in self.objects}
        self.reset_users(USER_ID)
        self.cursors = OrderedDict()
        # an org never gives a deleted record's Id to another: Ids go on across a reset, so a link to a
        # record the reset removed points at nothing, never at another record
        self.next_number = getattr(self, "next_number", FIRST_NUMBER)
        self.daily_used = 0
        self.current_version = f"{self.api_versions[1]:.1f}"

    def server_error_response(self) -> Response:
        # REST API Developer Guide, status 503: "The server is unavailable to handle the request."
        body = [
            {
                "message": "The server is unavailable to handle the request. Try again later.",
                "errorCode": "SERVER_UNAVAILABLE",
            }
        ]
        return JSONResponse(body, status_code=503)

    def seed_record(self, object_name: str, record: dict[str, Any]) -> None:
        """Store a seeded record as given (duplicates and all), with an id the Salesforce way."""
        if object_name == "User":
            self.seed_user(record)
            return
        raw_id = record.pop("Id", None) or record.pop("id", None)
        record_id = normalize(str(raw_id)) if raw_id else self.new_id(object_name)
        if record_id is None or object_of(record_id) != object_name:
            raise SandboxConfigError(f"seed: {raw_id!r} is not an 18- or 15-character {object_name} id")
        stored = self.blank_record(object_name, record_id)
        try:
            fields = self.parse_fields(object_name, record)
        except SalesforceError as exc:
            raise SandboxConfigError(f"seed {object_name}: {exc}") from None
        for name, value in fields.items():
            if value is None or name not in self.schema[object_name]:
                continue
            stored_value, error = check_value(self.schema[object_name][name], value, lambda _o, _i: True)
            if error:
                raise SandboxConfigError(f"seed {object_name}: {error.message}")
            stored[name] = stored_value
        self.derive(object_name, stored)
        self.records[object_name][record_id] = stored
        self.records_changed(object_name)

    def new_id(self, object_name: str) -> str:
        record_id = super().new_id(object_name)
        while record_id in self.records[object_name]:
            record_id = super().new_id(object_name)
        return record_id

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        return {
            name: [{k: v for k, v in r.items() if v is not None} for r in self.live(name)]
            for name in self.objects
        }

    def app(self) -> ASGIApp:
        return ConcurrencyLimit(super().app(), self)

    @staticmethod
    def segments(request: Request) -> list[str]:
        raw = request.scope.get("raw_path") or request.scope["path"].encode()
        path = raw.decode("latin-1").split("?", 1)[0]
        parts = [unquote(p) for p in path.split("/")][3:]  # after "", "services", "data"
        return parts[:-1] if parts and parts[-1] == "" else parts

    async def data_endpoint(self, request: Request) -> Response:
        parts = self.segments(request)
        if not parts:
            return self.versions() if request.method == "GET" else method_not_allowed(request.method, "GET")
        denied = self.gate(request, self.parse_version(parts[0]))
        if denied:
            return denied
        raw = await request.body()
        try:
            response = self.route(request, parts[1:], raw)
        except SalesforceError as exc:
            response = exc.response()
        return self.limit_header(response)

    @staticmethod
    def parse_body(raw: bytes) -> Any:
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            line, column = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
            text = raw.decode("utf-8", "replace")
            position = getattr(exc, "pos", 0)
            char = text[position] if position < len(text) else "<EOF>"
            raise SalesforceError(
                400,
                "JSON_PARSER_ERROR",
                f"Unexpected character ('{char}' (code {ord(char[0])})): "
                f"was expecting a valid JSON value at [line:{line}, column:{column}]",
            ) from None

    def route(self, request: Request, parts: list[str], raw: bytes) -> Response:
        method = request.method
        options = WriteOptions.from_header(request.headers.get("sforce-duplicate-rule-header"))
        head, rest = (parts[0], parts[1:]) if parts else ("", [])
        if not parts:
            return self.resources() if method == "GET" else method_not_allowed(method, "GET")
        body = self.parse_body(raw) if method in ("POST", "PATCH", "PUT") else None
        if head == "sobjects":
            return self.route_sobjects(request, rest, body, options)
        if head in ("query", "queryAll"):
            return self.route_query(request, head == "queryAll", rest)
        if head == "limits" and not rest:
            return self.limits() if method == "GET" else method_not_allowed(method, "GET")
        if head == "composite" and not rest:
            return self.composite(request, body) if method == "POST" else method_not_allowed(method, "POST")
        if head == "composite" and rest[:1] == ["sobjects"]:
            return self.route_collections(request, rest[1:], body, options)
        raise not_found()

    def route_query(self, request: Request, include_deleted: bool, rest: list[str]) -> Response:
        if request.method != "GET":
            return method_not_allowed(request.method, "GET")
        batch = self.batch_size(request.headers.get("sforce-query-options", ""))
        if rest:
            return JSONResponse(self.query_more(rest[0], batch))
        text = request.query_params.get("q")
        if not text:
            raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
        return JSONResponse(self.run_query(text, include_deleted, batch))

    @staticmethod
    def batch_size(header: str) -> int:
        """Sforce-Query-Options: batchSize=N; default and maximum 2,000, minimum 200."""
        for part in header.split(","):
            key, _, value = part.strip().partition("=")
            if key.strip() == "batchSize" and value.strip().isdigit():
                return max(200, min(2000, int(value)))
        return 2000

    def route_collections(
        self, request: Request, rest: list[str], body: Any, options: WriteOptions
    ) -> Response:
        method = request.method
        if not rest:
            if method == "POST":
                return JSONResponse(self.collection_create(body, options))
            if method == "PATCH":
                return JSONResponse(self.collection_update(body, options))
            if method == "DELETE":
                ids = [i for i in request.query_params.get("ids", "").split(",") if i]
                atomic = all_or_none({"allOrNone": request.query_params.get("allOrNone", "false")})
                return JSONResponse(self.collection_delete(ids, atomic))
            return method_not_allowed(method, "POST,PATCH,DELETE")
        object_name = self.object_name(rest[0])
        if len(rest) == 1 and method in ("GET", "POST"):
            source = request.query_params if method == "GET" else None
            ids = source.get("ids", "").split(",") if source is not None else (body or {}).get("ids", [])
            fields = (
                source.get("fields", "").split(",") if source is not None else (body or {}).get("fields", [])
            )
            return JSONResponse(
                self.collection_retrieve(object_name, [i for i in ids if i], [f for f in fields if f])
            )
        if len(rest) == 2 and method == "PATCH":
            return JSONResponse(self.collection_upsert(object_name, rest[1], body, options))
        raise not_found()

    # ----- "View in CRM" ------------------------------------------------------------------------------
    async def record_page(self, request: Request) -> Response:
        object_name = {n.lower(): n for n in self.objects}.get(request.path_params["object_name"].lower())
        record = self.get_record(object_name, request.path_params["record_id"]) if object_name else None
        if record is None:
            return HTMLResponse(
                "<!doctype html><title>Not found</title><h1>Record not found</h1>", status_code=404
            )
        rows = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in record.items()
            if v is not None
        )
        title = html.escape(str(record.get("Name") or record["Id"]))
        return HTMLResponse(
            f'<!doctype html><html><head><meta charset="utf-8"><title>{title} | {object_name} | '
            f"Salesforce sandbox</title></head><body><h1>{title}</h1><p>{object_name} {record['Id']}</p>"
            f"<table>{rows}</table></body></html>"
        )

    def record_url(self, object_name: str, record_id: str) -> str:
        return f"{self.base_url}/lightning/r/{object_name}/{record_id}/view"

    def api_routes(self) -> list[BaseRoute]:
        methods = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"]
        return [
            Route("/services/oauth2/token", self.token_endpoint, methods=["POST"]),
            Route("/services/oauth2/userinfo", self.userinfo_endpoint, methods=["GET", "POST"]),
            Route("/services/data", self.data_endpoint, methods=methods),
            Route("/services/data/{rest:path}", self.data_endpoint, methods=methods),
            Route("/lightning/r/{object_name}/{record_id}/view", self.record_page, methods=["GET"]),
        ]


__all__ = ["SalesforceSandbox"]

"""Local emulator of Microsoft Dynamics 365 / Dataverse: the Web API under `/api/data/v9.2/` (v9.0
and v9.1 too) for accounts, contacts and leads, table definitions, `$batch`, bulk actions, service
protection limits, Microsoft Entra ID's token endpoint at the sandbox's root, and the model-driven
app's record page `/main.aspx?pagetype=entityrecord&etn=account&id=<guid>`.

Written from Microsoft's documentation (see /work/shared/reference/crm-api-facts.md section 3 and the
modules' docstrings for the pages). Imports nothing from the engine but `engine.sandbox.*` (rule 3).
"""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.sandbox.common import AuthConfig, FaultSpec, Sandbox, SandboxConfigError
from engine.sandbox.dynamics_auth import (
    EntraOptions,
    EntraTokenEndpoint,
    ServiceProtection,
    app_user,
    unauthorized,
)
from engine.sandbox.dynamics_batch import BatchMixin
from engine.sandbox.dynamics_errors import (
    DataverseError,
    DvResponse,
    json_answer,
    no_resource,
    segment_not_found,
    user_disabled,
)
from engine.sandbox.dynamics_handlers import ApiRequest, EntitySetMixin
from engine.sandbox.dynamics_metadata import MetadataMixin, csdl
from engine.sandbox.dynamics_records import annotation_filter
from engine.sandbox.dynamics_schema import Column, build_schema
from engine.sandbox.dynamics_users import UsersMixin

VERSIONS = ("v9.0", "v9.1", "v9.2")
DEFAULT_DUPLICATE_RULES = {
    "account": [["name"], ["websiteurl"], ["emailaddress1"]],
    "contact": [["emailaddress1"]],
    "lead": [["emailaddress1"]],
}
URL_TOO_LONG = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN"><HTML><HEAD><TITLE>Request URL Too Long</TITLE>'
    "</HEAD><BODY><h2>Request URL Too Long</h2><hr><p>HTTP Error 414. The request URL is too long.</p>"
    "</BODY></HTML>"
)


class DynamicsSandbox(EntitySetMixin, MetadataMixin, BatchMixin, UsersMixin, Sandbox):
    """Dataverse Web API emulator. Options (all keyword):

    tenant_id: the Entra tenant in tokens' authority and the 401 challenge (a fixed GUID).
    token_ttl_s: access token lifetime, Entra's `expires_in` (3599).
    user_id / organization_id: the application user's systemuserid and the organization id (fixed GUIDs).
    application_user_disabled: the application user (client credentials) is disabled: 403 0x80040225.
    missing_read_privileges: tables (logical names, e.g. {"contact"}) the user's security roles may not
      read: a GET of their records answers 403 0x80040220 "... is missing prvReadContact privilege".
    revoked_refresh_tokens / expired_refresh_tokens: refresh tokens Entra refuses with AADSTS50173 / 700082
      (a user in `auth.inactive_users` gets AADSTS50057).
    requests_per_window (6,000), execution_time_limit_s (1,200), concurrency_limit (52), window_s (300):
      service protection limits per user; None switches one off.
    throttle_extension_s (1.0): how much later the Retry-After wait ends for each request sent before it has
      (Dataverse extends the wait of a client that keeps sending).
    duplicate_rules: table -> column groups that make two records duplicates when the request asks for
      duplicate detection (default: account name, websiteurl or emailaddress1; contact and lead
      emailaddress1); {} switches duplicate detection off.
    extra_columns: table (account/contact/lead or its entity set) -> more columns, `Column` or dicts
      {"logical", "type", "max_length", "required", "options", "label", ...}.
    payload_style: "current" (0x80048d19 payload errors) or "legacy" (older services' 0x0 texts).
    upsert_entity_id: "key" (OData-EntityId of an upsert by alternate key names the key, as the upsert
      docs show) or "guid".
    max_url_length: longest GET URL accepted (32,768) before 414.
    server_error_status: status of injected 5xx faults (503).
    A seed's `systemusers` are the org's users (internalemailaddress, isdisabled...): see dynamics_users.
    """

    name = "dynamics"
    objects = ("accounts", "contacts", "leads")

    def __init__(
        self,
        *,
        latency_ms: int = 0,
        faults: FaultSpec | str | None = None,
        seed: dict[str, list[dict[str, Any]]] | str | Path | None = None,
        auth: AuthConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        base_url: str = "http://127.0.0.1",
        tenant_id: str = "8a2b6c1d-5e4f-4a3b-9c2d-1e0f0a0b0c0d",
        token_ttl_s: float = 3599.0,
        user_id: str = "b1e4d2c3-0000-4000-8000-00000000a001",
        organization_id: str | None = None,
        application_user_disabled: bool = False,
        missing_read_privileges: Collection[str] = (),
        revoked_refresh_tokens: Collection[str] = (),
        expired_refresh_tokens: Collection[str] = (),
        requests_per_window: int | None = 6000,
        execution_time_limit_s: float | None = 1200.0,
        concurrency_limit: int | None = 52,
        window_s: float = 300.0,
        throttle_extension_s: float = 1.0,
        duplicate_rules: dict[str, list[list[str]]] | None = None,
        extra_columns: dict[str, list[Column | dict[str, Any]]] | None = None,
        payload_style: str = "current",
        upsert_entity_id: str = "key",
        max_url_length: int = 32_768,
        server_error_status: int = 503,
    ) -> None:
        if payload_style not in ("current", "legacy") or upsert_entity_id not in ("key", "guid"):
            raise SandboxConfigError("payload_style is current|legacy and upsert_entity_id is key|guid")
        self.tenant_id = tenant_id
        self.token_ttl_s = token_ttl_s
        self.user_id = user_id.lower()
        self.organization_id = organization_id or str(uuid.uuid4())  # each emulator an org of its own
        self.application_user_disabled = application_user_disabled
        self.missing_read_privileges = set(missing_read_privileges)
        self.entra_options = EntraOptions(tenant_id, set(revoked_refresh_tokens), set(expired_refresh_tokens))
        self.limits = (requests_per_window, execution_time_limit_s, concurrency_limit, window_s)
        self.throttle_extension_s = throttle_extension_s
        self.duplicate_rules = DEFAULT_DUPLICATE_RULES if duplicate_rules is None else duplicate_rules
        self.extra_columns = extra_columns
        self.payload_style = payload_style
        self.upsert_entity_id = upsert_entity_id
        self.max_url_length = max_url_length
        self.server_error_status = server_error_status
        self.clock = clock
        try:
            self.schema = build_schema(extra_columns)
        except (TypeError, ValueError) as exc:
            raise SandboxConfigError(str(exc)) from None
        super().__init__(
            latency_ms=latency_ms, faults=faults, seed=seed, auth=auth, clock=clock, base_url=base_url
        )

    # ----- Sandbox hooks -----------------------------------------------------------------------------
    def default_auth(self) -> AuthConfig:
        return AuthConfig(token_ttl_s=self.token_ttl_s)

    def _load_seed(self, seed: Any) -> dict[str, list[dict[str, Any]]]:
        data = Sandbox._load_seed(seed)
        self.seed_users = data.pop("systemusers", [])
        return data

    def reset_state(self) -> None:
        self.reset_users()
        self.schema = build_schema(self.extra_columns)
        self.version_counter = 1_000_000
        self.key_indexes = {}
        requests, execution, concurrency, window = self.limits
        self.protection = ServiceProtection(
            requests, execution, concurrency, window, self.clock, self.throttle_extension_s
        )
        self.entra = EntraTokenEndpoint(self.auth, self.tokens, self.entra_options)

    def server_error_response(self) -> Response:
        return to_starlette(
            json_answer(
                self.server_error_status,
                {"error": {"code": "0x80040216", "message": "An unexpected error occurred."}},
            )
        )

    def seed_record(self, object_name: str, record: dict[str, Any]) -> None:
        table = self.schema[object_name]
        values: dict[str, Any] = {}
        record_id = str(record.get(table.primary_id) or uuid.uuid4()).lower()
        for key, value in record.items():
            match = re.fullmatch(r"_(\w+)_value", key)
            name = match.group(1) if match else key
            base = name[:-4] if name.endswith("type") else None
            if base and base in table.columns and table.columns[base].is_lookup:
                values[name] = value
                continue
            column = table.columns.get(name)
            if column is None:
                raise SandboxConfigError(f"seed: {object_name} has no column {key!r}")
            values[name] = value
            if column.is_lookup and value is not None:
                values.setdefault(name + "type", column.targets[0])
        values.pop(table.primary_id, None)
        try:
            self.create(table, values, dedupe=False, record_id=record_id)
        except DataverseError as exc:
            raise SandboxConfigError(f"seed: {object_name} {record_id}: {exc.message}") from None

    def app(self) -> ASGIApp:
        return _ConcurrencyGate(super().app(), self)

    # ----- the Web API ---------------------------------------------------------------------------------
    async def api_endpoint(self, request: Request) -> Response:
        body = await request.body()
        version = request.path_params["version"]
        org = f"{request.url.scheme}://{request.url.netloc}"
        query = parse_qsl(request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        headers = {k.lower(): v for k, v in request.headers.items()}
        req = ApiRequest(
            request.method, request.path_params.get("rest", ""), query, headers, body, org, version
        )
        if request.method == "GET" and len(str(request.url)) > self.max_url_length:
            return HTMLResponse(URL_TOO_LONG, status_code=414)
        return to_starlette(self.serve(req))

    def serve(self, req: ApiRequest) -> DvResponse:
        """Auth, the disabled application user, service protection, then the request itself."""
        token = bearer(req.header("authorization"))
        if self.check_token(token) != "ok":
            return unauthorized(req.org, req.org, self.tenant_id)
        user = self.tokens.user_of(token or "") or "unknown"
        started = time.perf_counter()
        try:
            if self.application_user_disabled and user.startswith("app:"):
                raise user_disabled(self.user_id, self.organization_id)
            self.protection.admit(user)
        except DataverseError as exc:
            return exc.answer()
        response = self.dispatch(req)
        self.protection.record(user, time.perf_counter() - started)
        response.headers.update(self.protection.headers(user))
        return response

    def dispatch(self, req: ApiRequest) -> DvResponse:
        try:
            if req.version not in VERSIONS:
                raise segment_not_found(req.version)
            path = req.path
            if path in ("", "/"):
                return self.service_document(req)
            if path == "$metadata":
                return DvResponse(
                    200,
                    {"Content-Type": "application/xml", "OData-Version": "4.0"},
                    csdl(self.schema).encode("utf-8"),
                )
            if path == "$batch":
                return self.batch_request(req)
            if path.startswith("EntityDefinitions"):
                return self.metadata_request(req)
            if path in ("WhoAmI", "WhoAmI()") and req.method != "GET":
                raise no_resource(f"{req.api}/{path}")
            if path in ("WhoAmI", "WhoAmI()"):
                return json_answer(
                    200,
                    {
                        "@odata.context": f"{req.api}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                        "BusinessUnitId": str(uuid.uuid5(uuid.NAMESPACE_URL, self.organization_id)),
                        "UserId": self.user_id,
                        "OrganizationId": self.organization_id,
                    },
                )
            if req.method == "GET" and (path == "systemusers" or path.startswith("systemusers(")):
                return self.systemusers_request(path, req.query, req.api)
            return self.entity_request(req)
        except DataverseError as exc:
            return exc.answer(annotation_filter(req.prefer))

    def service_document(self, req: ApiRequest) -> DvResponse:
        sets = sorted([*self.schema, "EntityDefinitions"])
        value = [{"name": name, "kind": "EntitySet", "url": name} for name in sets]
        return json_answer(200, {"@odata.context": f"{req.api}/$metadata", "value": value})

    async def openid_configuration(self, request: Request) -> Response:
        """Entra's OpenID Connect discovery document, so MSAL-based credentials find the token endpoint."""
        org = f"{request.url.scheme}://{request.url.netloc}"
        tenant = request.path_params["tenant"]
        issuer_tenant = self.tenant_id if tenant in ("common", "organizations", "consumers") else tenant
        return to_starlette(
            json_answer(
                200,
                {
                    "token_endpoint": f"{org}/{tenant}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{org}/{tenant}/oauth2/v2.0/authorize",
                    "issuer": f"{org}/{issuer_tenant}/v2.0",
                    "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                    "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                    "scopes_supported": ["openid", "profile", "email", "offline_access"],
                    "tenant_region_scope": "NA",
                },
            )
        )

    async def token_endpoint(self, request: Request) -> Response:
        return to_starlette(self.entra.handle(request.path_params["tenant"], await request.body()))

    # ----- "View in CRM" ---------------------------------------------------------------------------------
    async def record_page(self, request: Request) -> Response:
        params = request.query_params
        table = next((t for t in self.schema.values() if t.logical == params.get("etn")), None)
        record_id = (params.get("id") or "").strip("{}").lower()
        row = self.records[table.entity_set].get(record_id) if table else None
        if table is None or row is None or params.get("pagetype") != "entityrecord":
            return HTMLResponse(
                "<!doctype html><title>Record not found</title><h1>Record not found</h1>", status_code=404
            )
        title = html.escape(str(row.get(table.primary_name) or record_id))
        cells = "".join(
            f"<tr><th>{html.escape(c.display_label)}</th><td>{html.escape(str(row[c.logical]))}</td></tr>"
            for c in table.columns.values()
            if row.get(c.logical) not in (None, "")
        )
        return HTMLResponse(
            f'<!doctype html><html><head><meta charset="utf-8"><title>{title} - {table.display} | Dynamics '
            "365 "
            f"sandbox</title></head><body><h1>{title}</h1><p>{table.display} "
            f"{record_id}</p><table>{cells}</table>"
            "</body></html>"
        )

    def record_url(self, entity_set: str, record_id: str) -> str:
        logical = self.schema[entity_set].logical
        return f"{self.base_url}/main.aspx?pagetype=entityrecord&etn={logical}&id={record_id}"

    def api_routes(self) -> list[BaseRoute]:
        methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
        return [
            Route("/{tenant}/oauth2/v2.0/token", self.token_endpoint, methods=["POST"]),
            Route("/{tenant}/v2.0/.well-known/openid-configuration", self.openid_configuration),
            Route("/api/data/{version}", self.api_endpoint, methods=methods),
            Route("/api/data/{version}/{rest:path}", self.api_endpoint, methods=methods),
            Route("/main.aspx", self.record_page, methods=["GET"]),
        ]


def bearer(header: str | None) -> str | None:
    scheme, _, value = (header or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def to_starlette(response: DvResponse) -> Response:
    return Response(content=response.body or b"", status_code=response.status, headers=response.headers)


class _ConcurrencyGate:
    """Counts a user's Web API requests in flight, latency included, and refuses the one over the limit."""

    def __init__(self, app: ASGIApp, sandbox: DynamicsSandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/data/"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        token = bearer(headers.get("authorization"))
        user = self.sandbox.tokens.user_of(token) if token else None
        protection = self.sandbox.protection
        refused = protection.enter(user) if user else None
        if refused is not None:
            self.sandbox.requests.append({"method": scope["method"], "path": scope["path"], "status": 429})
            await to_starlette(refused.answer())(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            if user:
                protection.leave(user)


__all__ = ["Column", "DynamicsSandbox", "app_user"]

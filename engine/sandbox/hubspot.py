"""Local emulator of the HubSpot CRM API: objects v3 (companies, contacts), search, properties,
associations v4, OAuth token endpoint, rate limits and HubSpot's error bodies.

Written from HubSpot's developer docs and public API spec collection (see
/work/shared/reference/crm-api-facts.md section 2). Imports nothing from the engine but
`engine.sandbox.common` (DESIGN.md rule 3).
"""

from __future__ import annotations

import html
import json
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from engine.sandbox.common import AuthConfig, FaultSpec, Sandbox, SlidingWindow
from engine.sandbox.hubspot_assoc import TYPE_IDS, AssociationsMixin, EdgeStore
from engine.sandbox.hubspot_owners import OwnersMixin
from engine.sandbox.hubspot_records import RecordsMixin, now_iso
from engine.sandbox.hubspot_rules import BadRequest, as_text, correlation_id, error, iso_ms
from engine.sandbox.hubspot_schema import DEFAULT_PROPERTIES, default_schema, public_definition
from engine.sandbox.hubspot_search import SearchLimits, matches, matches_query, parse_groups, sort_key

OBJECT_NAMES = {
    "contacts": "contacts",
    "contact": "contacts",
    "0-1": "contacts",
    "companies": "companies",
    "company": "companies",
    "0-2": "companies",
}
INVALID_AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
SCOPES = [
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.companies.read",
    "crm.schemas.contacts.read",
    "oauth",
]

Handler = Callable[[Request, Any], Response]


def object_type(name: str) -> str:
    try:
        return OBJECT_NAMES[name.lower()]
    except KeyError:
        raise BadRequest(f"Unable to infer object type from: {name}") from None


class HubSpotSandbox(RecordsMixin, AssociationsMixin, OwnersMixin, Sandbox):
    """HubSpot CRM API emulator. Options (all keyword):

    portal_id: hub id in record URLs and token responses (123456).
    account_id: the portalId the account information API answers (GET /account-info/v3/details); by
      default a number of this emulator's own, so two emulators are two portals.
    portals: access token -> portalId, for tokens of other portals served at the same address (two
      customers' private apps on api.hubapi.com); a token not listed is of `account_id`.
    token_ttl_s: access token lifetime, HubSpot's `expires_in` (1800).
    duplicate_rules: 409 CONFLICT on a second contact with the same email (True, as HubSpot always does).
    company_domain_unique: refuse a second company with the same domain (False: HubSpot's API does not).
    upsert_domain: accept idProperty=domain for company upsert/read (False; unverified in HubSpot).
    rate_limit_per_10s: burst limit per 10 s (190, Professional/Enterprise private app); None disables.
    daily_limit: requests per day (650,000, Professional); None disables.
    search_rate_limit_per_s: search requests per second (5); None disables.
    search_limits: SearchLimits (5 groups, 6 filters per group, 18 in total, limit 10/200, 10,000 results,
      3,000-character body).
    search_lag_s: records created less than this many seconds ago are not yet searchable (0).
    missing_scopes: scopes the token lacks, e.g. {"crm.objects.contacts.write"} -> 403 MISSING_SCOPES
      (a search, a list, a read and batch/read need the object's read scope; other batches its write one).
    server_error_status: status of injected 5xx faults (503).
    A seed's `owners` are the portal's owners (/crm/v3/owners, scope crm.objects.owners.read;
      `archived: true` for a deactivated user's): see hubspot_owners.
    """

    name = "hubspot"
    objects = ("companies", "contacts")

    def __init__(
        self,
        *,
        latency_ms: int = 0,
        faults: FaultSpec | str | None = None,
        seed: dict[str, list[dict[str, Any]]] | str | Path | None = None,
        auth: AuthConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        base_url: str = "http://127.0.0.1",
        portal_id: int = 123456,
        account_id: int | None = None,
        portals: dict[str, int] | None = None,
        token_ttl_s: float = 1800.0,
        duplicate_rules: bool = True,
        company_domain_unique: bool = False,
        upsert_domain: bool = False,
        rate_limit_per_10s: int | None = 190,
        daily_limit: int | None = 650_000,
        search_rate_limit_per_s: int | None = 5,
        search_limits: SearchLimits | None = None,
        search_lag_s: float = 0.0,
        missing_scopes: Collection[str] = (),
        server_error_status: int = 503,
    ) -> None:
        self.portal_id = portal_id
        self.account_id = account_id if account_id is not None else 10_000_000 + secrets.randbelow(89_999_999)
        self.portals = dict(portals or {})
        self.token_ttl_s = token_ttl_s
        self.duplicate_rules = duplicate_rules
        self.company_domain_unique = company_domain_unique
        self.upsert_domain = upsert_domain
        self.rate_limit_per_10s = rate_limit_per_10s
        self.daily_limit = daily_limit
        self.search_rate_limit_per_s = search_rate_limit_per_s
        self.search_limits = search_limits or SearchLimits()
        self.search_lag_s = search_lag_s
        self.missing_scopes = set(missing_scopes)
        self.server_error_status = server_error_status
        self.clock = clock
        super().__init__(
            latency_ms=latency_ms, faults=faults, seed=seed, auth=auth, clock=clock, base_url=base_url
        )

    # ----- Sandbox hooks ---------------------------------------------------------------------------
    def default_auth(self) -> AuthConfig:
        return AuthConfig(
            static_tokens={"sandbox-token": "private-app@sandbox"}, token_ttl_s=self.token_ttl_s
        )

    def _load_seed(self, seed: Any) -> dict[str, list[dict[str, Any]]]:
        data = Sandbox._load_seed(seed)
        self.seed_owners = data.pop("owners", [])
        return data

    def reset_state(self) -> None:
        self.schema = default_schema()
        self.reset_owners()
        if self.company_domain_unique:
            self.schema["companies"]["domain"]["hasUniqueValue"] = True
        self.associations = EdgeStore()
        self.indexes = {}
        self.created_at_clock = {}
        # HubSpot never gives a deleted record's id to another: ids go on across a reset, so a link to a
        # record the reset removed points at nothing (as in a portal), never at another record
        self.next_id = getattr(self, "next_id", 1000)
        self.burst = (
            SlidingWindow(self.rate_limit_per_10s, 10.0, self.clock) if self.rate_limit_per_10s else None
        )
        self.search_window = (
            SlidingWindow(self.search_rate_limit_per_s, 1.0, self.clock)
            if self.search_rate_limit_per_s
            else None
        )
        self.daily_used = 0

    def server_error_response(self) -> Response:
        status = self.server_error_status
        messages = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
        return error(
            status,
            None,
            f"{messages.get(status, 'Internal Server Error')}: the request could not be "
            "completed. Please try again.",
        )

    def seed_record(self, object_name: str, record: dict[str, Any]) -> None:
        raw = record.get("properties", {k: v for k, v in record.items() if k != "id"})
        props = {k: text for k, v in raw.items() if (text := as_text(v)) not in (None, "")}
        record_id = str(record["id"]) if record.get("id") is not None else None
        if record_id and record_id.isdigit():
            self.next_id = max(self.next_id, int(record_id))
        self.write_new(object_name, props, record_id)

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        data = super().snapshot()
        data["associations"] = self.association_rows()
        return data

    # ----- auth, scopes, rate limits -------------------------------------------------------------
    def _auth_failure(self, token: str | None) -> Response | None:
        state = self.check_token(token)
        if state == "ok":
            return None
        if state == "expired" and token in self.tokens.tokens:
            ago = max(0.0, self.clock() - self.tokens.tokens[token].expires_at)
            expired_at = datetime.now(UTC) - timedelta(seconds=ago)
            return error(
                401,
                "EXPIRED_AUTHENTICATION",
                f"The OAuth token used to make this call expired {int(ago)} second(s) ago.",
                context={"expire time": [iso_ms(expired_at)]},
            )
        return error(401, "INVALID_AUTHENTICATION", INVALID_AUTH_MESSAGE)

    def _scope_failure(self, scope: str | None) -> Response | None:
        if not scope or scope not in self.missing_scopes:
            return None
        return error(
            403,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call. Read more about "
            "required scopes here: https://developers.hubspot.com/scopes.",
            errors=[
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": [scope]},
                }
            ],
            links={"scopes": "https://developers.hubspot.com/scopes"},
        )

    @staticmethod
    def _limited(policy: str, window: str, retry_after_s: float) -> Response:
        body = {
            "status": "error",
            "message": f"You have reached your {window} limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(),
            "policyName": policy,
        }
        return JSONResponse(
            body, status_code=429, headers={"Retry-After": str(max(1, math.ceil(retry_after_s)))}
        )

    def _take_rate(self, search: bool) -> Response | None:
        if search:
            if self.search_window and not self.search_window.take():
                return self._limited("SECONDLY", "secondly", self.search_window.retry_after_s())
            return None
        if self.daily_limit is not None and self.daily_used >= self.daily_limit:
            return self._limited("DAILY", "daily", 3600)
        if self.burst and not self.burst.take():
            return self._limited("TEN_SECONDLY_ROLLING", "ten_secondly_rolling", self.burst.retry_after_s())
        self.daily_used += 1
        return None

    def _rate_headers(self, response: Response, token: str | None) -> None:
        if self.burst:
            response.headers["X-HubSpot-RateLimit-Max"] = str(self.burst.limit)
            response.headers["X-HubSpot-RateLimit-Remaining"] = str(self.burst.remaining())
            response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = "10000"
        if self.daily_limit is not None and token in self.auth.static_tokens:
            response.headers["X-HubSpot-RateLimit-Daily"] = str(self.daily_limit)
            response.headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(
                max(0, self.daily_limit - self.daily_used)
            )

    # ----- the wrapper around every API handler --------------------------------------------------
    def api(
        self, handler: Handler, access: str | None, search: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """Auth -> scopes -> rate limit -> body -> handler (synchronous, so each write is atomic)."""

        async def endpoint(request: Request) -> Response:
            token = self.bearer(request)
            denied = self._auth_failure(token)
            if denied:
                return denied
            raw = await request.body()
            try:
                scope = self._scope_for(request, access)
                # a refusal (403, 429) carries the rate-limit headers like any other answer
                denied = self._scope_failure(scope) or self._take_rate(search)
                response = denied or handler(request, self._parse_body(raw, search))
            except BadRequest as exc:
                response = exc.response()
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                response = error(400, "VALIDATION_ERROR", f"Invalid input JSON: {type(exc).__name__}: {exc}")
            if not search:
                self._rate_headers(response, token)
            return response

        return endpoint

    @staticmethod
    def _scope_for(request: Request, access: str | None) -> str | None:
        if access is None:
            return None
        name = request.path_params.get("object_type") or request.path_params.get("from_type") or ""
        kind = "schemas" if access == "schema" else "objects"
        if access == "batch":  # batch/read needs the read scope, the other batch operations the write one
            access = "read" if request.path_params.get("op") == "read" else "write"
        verb = "read" if access in ("read", "schema") else "write"
        return f"crm.{kind}.{object_type(name)}.{verb}"

    def _parse_body(self, raw: bytes, search: bool) -> Any:
        if search and len(raw.decode("utf-8", "replace")) > self.search_limits.max_body_chars:
            raise BadRequest(
                f"Request body is too long: {len(raw)} characters; the maximum is "
                f"{self.search_limits.max_body_chars}."
            )
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadRequest(
                f"Invalid input JSON on line {getattr(exc, 'lineno', 1)}, column "
                f"{getattr(exc, 'colno', 1)}: {exc}"
            ) from None

    # ----- OAuth token endpoint ------------------------------------------------------------------
    async def token_endpoint(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        grant = form.get("grant_type")
        if grant not in ("refresh_token", "client_credentials", "authorization_code"):
            return self._oauth_error(
                "BAD_GRANT_TYPE", "missing or unknown grant type", "unsupported_grant_type"
            )
        if form.get("client_id") != self.auth.client_id:
            return self._oauth_error("BAD_CLIENT_ID", "missing or unknown client id", "invalid_client")
        if form.get("client_secret") != self.auth.client_secret:
            return self._oauth_error(
                "BAD_CLIENT_SECRET", "missing or unknown client secret", "invalid_client"
            )
        if grant == "client_credentials":
            token = self.tokens.issue("client-credentials@sandbox")
            return JSONResponse(
                {
                    "access_token": token.value,
                    "expires_in": int(self.auth.token_ttl_s),
                    "token_type": "bearer",
                    "token_use": "client_credentials",
                    "hub_id": self.portal_id,
                    "scopes": SCOPES,
                }
            )
        if grant == "authorization_code":
            return self._oauth_error("BAD_AUTH_CODE", "missing or unknown auth code", "invalid_grant")
        refresh = form.get("refresh_token", "")
        user = self.auth.refresh_tokens.get(refresh)
        if user is None or user in self.auth.inactive_users:
            return self._oauth_error(
                "BAD_REFRESH_TOKEN",
                "missing or unknown refresh token",
                "invalid_grant",
                "refresh token is invalid, expired or revoked",
            )
        token = self.tokens.issue(user, refresh)
        return JSONResponse(
            {
                "access_token": token.value,
                "refresh_token": refresh,
                "expires_in": int(self.auth.token_ttl_s),
                "token_type": "bearer",
                "token_use": "access_token",
                "hub_id": self.portal_id,
                "user_id": 1,
                "user": user,
                "scopes": SCOPES,
            }
        )

    @staticmethod
    def _oauth_error(status: str, message: str, code: str, description: str | None = None) -> Response:
        return JSONResponse(
            {
                "status": status,
                "message": message,
                "correlationId": correlation_id(),
                "error": code,
                "error_description": description or message,
            },
            status_code=400,
        )

    # ----- route handlers -------------------------------------------------------------------------
    def _records_routes(self) -> list[BaseRoute]:
        def t(request: Request) -> str:
            return object_type(request.path_params["object_type"])

        def create(request: Request, body: Any) -> Response:
            return self.create_one(t(request), body)

        def get(request: Request, _: Any) -> Response:
            return self.get_one(t(request), request.path_params["object_id"], request)

        def patch(request: Request, body: Any) -> Response:
            return self.update_one(t(request), request.path_params["object_id"], body, request)

        def delete(request: Request, _: Any) -> Response:
            self.archive(t(request), request.path_params["object_id"])
            return Response(status_code=204)

        def listing(request: Request, _: Any) -> Response:
            return self.list_page(t(request), request)

        def batch(request: Request, body: Any) -> Response:
            op, kind = request.path_params["op"], t(request)
            actions: dict[str, Callable[[], Response]] = {
                "create": lambda: self.batch_create(kind, body),
                "read": lambda: self.batch_read(kind, body, request),
                "update": lambda: self.batch_update(kind, body),
                "upsert": lambda: self.batch_upsert(kind, body),
                "archive": lambda: self.batch_archive(kind, body),
            }
            if op not in actions:
                return error(404, None, f"Unknown batch operation: {op}")
            return actions[op]()

        base = "/crm/v3/objects/{object_type}"
        return [
            Route(base + "/search", self.api(self.search, "read", search=True), methods=["POST"]),
            Route(base + "/batch/{op}", self.api(batch, "batch"), methods=["POST"]),
            Route(base, self.api(listing, "read"), methods=["GET"]),
            Route(base, self.api(create, "write"), methods=["POST"]),
            Route(base + "/{object_id}", self.api(get, "read"), methods=["GET"]),
            Route(base + "/{object_id}", self.api(patch, "write"), methods=["PATCH"]),
            Route(base + "/{object_id}", self.api(delete, "write"), methods=["DELETE"]),
        ]

    def _association_routes(self) -> list[BaseRoute]:
        def ids(request: Request) -> tuple[str, str, str, str]:
            p = request.path_params
            return (
                object_type(p["from_type"]),
                str(p.get("from_id", "")),
                object_type(p["to_type"]),
                str(p.get("to_id", "")),
            )

        def put_default(request: Request, _: Any) -> Response:
            return self.put_default(*ids(request))

        def put_labelled(request: Request, body: Any) -> Response:
            return self.put_labelled(*ids(request), body)

        def delete(request: Request, _: Any) -> Response:
            return self.delete_between(*ids(request))

        def listing(request: Request, _: Any) -> Response:
            from_type, from_id, to_type, _unused = ids(request)
            limit = self.int_param(request.query_params.get("limit"), 500, "limit")
            after = self.int_param(request.query_params.get("after"), 0, "after")
            return self.get_associations(from_type, from_id, to_type, max(1, min(limit, 500)), after)

        def batch(request: Request, body: Any) -> Response:
            from_type, _f, to_type, _t = ids(request)
            op = request.path_params["op"]
            actions: dict[str, Callable[[], Response]] = {
                "associate/default": lambda: self.batch_default(from_type, to_type, body),
                "create": lambda: self.batch_create_associations(from_type, to_type, body),
                "archive": lambda: self.batch_archive_associations(from_type, to_type, body),
                "labels/archive": lambda: self.batch_archive_labels(from_type, to_type, body),
            }
            if op not in actions:
                return error(404, None, f"Unknown batch operation: {op}")
            return actions[op]()

        def batch_read(request: Request, body: Any) -> Response:
            from_type, _f, to_type, _t = ids(request)
            return self.batch_read_associations(from_type, to_type, body)

        obj = "/crm/v4/objects/{from_type}/{from_id}/associations"
        return [
            Route(obj + "/default/{to_type}/{to_id}", self.api(put_default, "write"), methods=["PUT"]),
            Route(obj + "/{to_type}/{to_id}", self.api(put_labelled, "write"), methods=["PUT"]),
            Route(obj + "/{to_type}/{to_id}", self.api(delete, "write"), methods=["DELETE"]),
            Route(obj + "/{to_type}", self.api(listing, "read"), methods=["GET"]),
            Route(  # a read needs only the read scope (associations v4 spec: batch/read)
                "/crm/v4/associations/{from_type}/{to_type}/batch/read",
                self.api(batch_read, "read"),
                methods=["POST"],
            ),
            Route(
                "/crm/v4/associations/{from_type}/{to_type}/batch/{op:path}",
                self.api(batch, "write"),
                methods=["POST"],
            ),
        ]

    def _property_routes(self) -> list[BaseRoute]:
        def listing(request: Request, _: Any) -> Response:
            kind = object_type(request.path_params["object_type"])
            return JSONResponse({"results": [public_definition(d) for d in self.schema[kind].values()]})

        def one(request: Request, _: Any) -> Response:
            kind = object_type(request.path_params["object_type"])
            definition = self.schema[kind].get(request.path_params["name"])
            if definition is None:
                return error(
                    404,
                    "OBJECT_NOT_FOUND",
                    f"Unable to find property {request.path_params['name']} on object type {kind}",
                )
            return JSONResponse(public_definition(definition))

        def validations(request: Request, _: Any) -> Response:
            kind = object_type(request.path_params["object_type"])
            rows = [
                {"propertyName": d["name"], "propertyValidationRules": d["validationRules"]}
                for d in self.schema[kind].values()
                if d["validationRules"]
            ]
            return JSONResponse({"results": rows})

        return [
            Route("/crm/v3/properties/{object_type}", self.api(listing, "schema"), methods=["GET"]),
            Route("/crm/v3/properties/{object_type}/{name}", self.api(one, "schema"), methods=["GET"]),
            Route(
                "/crm/v3/property-validations/{object_type}", self.api(validations, "schema"), methods=["GET"]
            ),
        ]

    # ----- search -----------------------------------------------------------------------------------
    def search(self, request: Request, body: Any) -> Response:
        kind = object_type(request.path_params["object_type"])
        body = body or {}
        if not isinstance(body, dict):
            raise BadRequest("Invalid input JSON: the body must be an object")
        limits, known = self.search_limits, self.schema[kind]
        groups = parse_groups(body, known, limits)
        limit = self.int_param(body.get("limit"), limits.default_limit, "limit")
        after = self.int_param(body.get("after"), 0, "after")
        if not 1 <= limit <= limits.max_limit:
            raise BadRequest(f"limit must be between 1 and {limits.max_limit}, got {limit}")
        if after + limit > limits.max_results:
            raise BadRequest(
                f"Search results are limited to {limits.max_results} records; after={after} with "
                f"limit={limit} goes past that."
            )
        query = body.get("query")
        visible_before = self.clock() - self.search_lag_s
        hits = [
            r
            for r in self.active(kind)
            if self.created_at_clock.get((kind, r["id"]), 0.0) <= visible_before
            and matches(r["properties"], groups, known)
            and (not query or matches_query(r["properties"], str(query), kind))
        ]
        hits = sort_key(hits, body.get("sorts"), known)
        wanted = body.get("properties")
        names = (
            sorted(set(DEFAULT_PROPERTIES[kind]) | set(wanted))
            if isinstance(wanted, list) and wanted
            else None
        )
        page = hits[after : after + limit]
        out: dict[str, Any] = {"total": len(hits), "results": [self.public(kind, r, names) for r in page]}
        if after + limit < len(hits):
            out["paging"] = {"next": {"after": str(after + limit), "link": ""}}
        return JSONResponse(out)

    # ----- "View in CRM" ---------------------------------------------------------------------------------
    async def record_page(self, request: Request) -> Response:
        p = request.path_params
        kinds = {v: k for k, v in TYPE_IDS.items()}
        kind = kinds.get(p["type_id"])
        record = self.records[kind].get(p["record_id"]) if kind else None
        if str(p["portal_id"]) != str(self.portal_id) or record is None:
            return HTMLResponse(
                "<!doctype html><title>Not found</title><h1>Record not found</h1>", status_code=404
            )
        rows = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in sorted(record["properties"].items())
        )
        title = html.escape(
            record["properties"].get("name")
            or " ".join(
                filter(None, [record["properties"].get("firstname"), record["properties"].get("lastname")])
            )
            or record["properties"].get("email")
            or record["id"]
        )
        return HTMLResponse(
            f'<!doctype html><html><head><meta charset="utf-8"><title>{title} | HubSpot sandbox'
            f"</title></head><body><h1>{title}</h1><p>{html.escape(kind or '')} {record['id']}</p>"
            f"<table>{rows}</table></body></html>"
        )

    def account_details(self, request: Request, _: Any) -> Response:
        """GET /account-info/v3/details (Account information API; every token has its `oauth` scope
        unless the emulator is told it lacks it)."""
        denied = self._scope_failure("oauth")
        if denied:
            return denied
        portal = self.portals.get(self.bearer(request) or "", self.account_id)
        return JSONResponse({
            "portalId": portal, "accountType": "STANDARD", "timeZone": "US/Eastern", "companyCurrency": "USD",
            "additionalCurrencies": [], "utcOffset": "-05:00", "utcOffsetMilliseconds": -18000000,
            "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1",
        })

    def record_url(self, kind: str, record_id: str) -> str:
        return f"{self.base_url}/contacts/{self.portal_id}/record/{TYPE_IDS[kind]}/{record_id}"

    def api_routes(self) -> list[BaseRoute]:
        return [
            Route("/oauth/v1/token", self.token_endpoint, methods=["POST"]),
            Route("/oauth/v3/token", self.token_endpoint, methods=["POST"]),
            *self._records_routes(),
            *self._association_routes(),
            *self._property_routes(),
            *self._owners_routes(),
            Route("/account-info/v3/details", self.api(self.account_details, None), methods=["GET"]),
            Route("/contacts/{portal_id}/record/{type_id}/{record_id}", self.record_page, methods=["GET"]),
        ]


__all__ = ["HubSpotSandbox", "SearchLimits", "now_iso"]

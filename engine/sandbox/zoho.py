"""Local emulator of Zoho CRM's REST API v7 (Accounts, Contacts, Leads) and of the Zoho Accounts
OAuth token endpoint.

The real token endpoint is on the data centre's accounts host (accounts.zoho.com, .eu, .in, .com.au,
.jp, zohocloud.ca) and the API on another (www.zohoapis.com, ...), named by `api_domain` in the token
answer. The emulator serves both on one port: the token endpoint at /oauth/v2/token, the API under
/crm/v7, and its token answer's `api_domain` is its own base URL.

Written from Zoho's developer documentation and Zoho's published OpenAPI (github.com/zoho/crm-oas);
every fact with its source in docs/zoho-api-facts.md. Imports nothing from the engine but
`engine.sandbox.*` (DESIGN.md rule 3).
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import secrets
import time
from collections import deque
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.sandbox import zoho_coql
from engine.sandbox.common import AuthConfig, FaultSpec, Sandbox, SandboxConfigError
from engine.sandbox.zoho_pages import record_page
from engine.sandbox.zoho_records import MAX_PAGE_WITHOUT_TOKEN, MAX_PER_PAGE, ApiError, RecordsMixin, now_iso
from engine.sandbox.zoho_schema import MODULES, default_schema
from engine.sandbox.zoho_search import CriteriaError, parse_criteria
from engine.sandbox.zoho_since import modified_since, parse_time
from engine.sandbox.zoho_users import UsersMixin

API = "/crm/v7"
DAY_S = 86_400.0
# credits in a rolling 24 hours = 50,000 + users x per-user credits, up to a maximum (API Limits page)
EDITIONS = {
    "free": (5_000, 0, 5_000),
    "standard": (50_000, 250, 100_000),
    "professional": (50_000, 500, 3_000_000),
    "enterprise": (50_000, 1_000, 5_000_000),
    "ultimate": (50_000, 2_000, 10**12),
}
# calls of one org's app running at once, by edition (API Limits page, "Concurrency")
CONCURRENCY = {"free": 5, "standard": 10, "professional": 15, "enterprise": 20, "ultimate": 25}
FIRST_ID = 5_550_000_000_000_000_001  # Zoho record ids are 19-digit numbers, sent as strings


def error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse(
        {"code": code, "details": details or {}, "message": message, "status": "error"}, status_code=status
    )


class ZohoSandbox(UsersMixin, RecordsMixin, Sandbox):
    """Zoho CRM v7 emulator. Options (all keyword):

    edition: free, standard, professional, enterprise (default) or ultimate: sets the daily credits and
      the concurrency limit; users: the org's user licences (10), adding per-user credits.
    daily_credits: overrides the rolling 24-hour credit allowance the edition gives.
    concurrency: overrides how many calls may run at once (beyond: 429 TOO_MANY_REQUESTS).
    token_ttl_s: access token lifetime (3600: one hour).
    restricted_picklists: a picklist value not among the field's values is refused with INVALID_DATA
      (True) or stored (False).
    unknown_fields: "error" (a field api name the module lacks is refused with INVALID_DATA) or "ignore".
    token_error_status: the HTTP status of a refused token request (200: Zoho Accounts answers its
      {"error": ...} bodies with 200).
    missing_scopes: OAuth scopes the token lacks, e.g. {"ZohoCRM.users.READ"}: see zoho_users, as for a
      seed's `users`.
    org_id: the organization's id the Organization API answers (GET /crm/v7/org, scope
      ZohoCRM.org.READ); by default an id of this emulator's own, so two emulators are two orgs.
    """

    name = "zoho"
    objects = MODULES

    def __init__(
        self,
        *,
        latency_ms: int = 0,
        faults: FaultSpec | str | None = None,
        seed: dict[str, list[dict[str, Any]]] | str | Path | None = None,
        auth: AuthConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        base_url: str = "http://127.0.0.1",
        edition: str = "enterprise",
        users: int = 10,
        daily_credits: int | None = None,
        concurrency: int | None = None,
        token_ttl_s: float = 3600.0,
        restricted_picklists: bool = True,
        unknown_fields: str = "error",
        token_error_status: int = 200,
        missing_scopes: Collection[str] = (),
        org_id: str | None = None,
    ) -> None:
        self.org_id = org_id or str(5_550_000_000_000_000 + secrets.randbelow(10**15))
        if edition not in EDITIONS:
            raise SandboxConfigError(f"edition: {edition!r}; use one of {', '.join(EDITIONS)}")
        if unknown_fields not in ("error", "ignore"):
            raise SandboxConfigError(f"unknown_fields: {unknown_fields!r}; use error or ignore")
        base, per_user, maximum = EDITIONS[edition]
        self.daily_credits = (
            daily_credits if daily_credits is not None else min(base + users * per_user, maximum)
        )
        self.concurrency = concurrency if concurrency is not None else CONCURRENCY[edition]
        self.token_ttl_s = token_ttl_s
        self.restricted_picklists = restricted_picklists
        self.unknown_fields = unknown_fields
        self.token_error_status = token_error_status
        self.missing_scopes = set(missing_scopes)
        self.schema = default_schema()
        self.spent: deque[tuple[float, int]] = deque()
        self.in_flight = 0
        self.ids = itertools.count(FIRST_ID)
        super().__init__(
            latency_ms=latency_ms, faults=faults, seed=seed, auth=auth, clock=clock, base_url=base_url
        )

    # ----- Sandbox hooks -----------------------------------------------------------------
    def default_auth(self) -> AuthConfig:
        return AuthConfig(token_ttl_s=self.token_ttl_s)

    def reset_state(self) -> None:
        self.spent = deque()
        self.in_flight = 0
        # ids go on after a reset: Zoho never gives a deleted record's id to another one

    def next_id(self) -> str:
        return str(next(self.ids))

    def server_error_response(self) -> Response:
        return error(500, "INTERNAL_ERROR", "Internal Server Error")

    def seed_record(self, object_name: str, record: dict[str, Any]) -> None:
        stamp = now_iso()
        record.setdefault("id", self.next_id())
        record["id"] = str(record["id"])
        for key in ("Created_Time", "Modified_Time"):
            record.setdefault(key, stamp)
        for key in ("Owner", "Created_By", "Modified_By"):
            record.setdefault(key, {"name": "Sandbox Integration", "id": "5550000000000777"})
        self.records[object_name][record["id"]] = record

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        return {m: [self.public(m, r) for r in rows.values()] for m, rows in self.records.items()}

    def app(self) -> ASGIApp:
        return _Concurrency(super().app(), self)

    # ----- credits -----------------------------------------------------------------------
    def credits_used(self) -> int:
        horizon = self.clock() - DAY_S
        while self.spent and self.spent[0][0] <= horizon:
            self.spent.popleft()
        return sum(n for _, n in self.spent)

    def charge(self, credits: int) -> JSONResponse | None:
        if self.credits_used() + credits > self.daily_credits:
            return error(
                429,
                "TOO_MANY_REQUESTS",
                "The API credits of the last 24 hours are exhausted",
                {"credits_allowed": self.daily_credits},
            )
        self.spent.append((self.clock(), credits))
        return None

    # ----- OAuth (Zoho Accounts) ---------------------------------------------------------
    async def token_endpoint(self, request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        params = {k: v[0] for k, v in parse_qs(request.url.query).items()}
        params.update({k: v[0] for k, v in parse_qs(raw).items()})
        client_id, client_secret = self._basic(request, params)
        grant = params.get("grant_type")
        if grant not in ("refresh_token", "authorization_code"):
            return self._oauth_error("unsupported_grant_type")
        if client_id != self.auth.client_id:
            return self._oauth_error("invalid_client")
        if client_secret != self.auth.client_secret:
            return self._oauth_error("invalid_client_secret")
        user = (
            self.auth.refresh_tokens.get(params.get("refresh_token", ""))
            if grant == "refresh_token"
            else None
        )
        if user is None or user in self.auth.inactive_users:
            return self._oauth_error("invalid_code")
        token = self.tokens.issue(user, params.get("refresh_token"))
        return JSONResponse(
            {
                "access_token": token.value,
                "scope": "ZohoCRM.modules.ALL ZohoCRM.settings.ALL",
                "api_domain": self.base_url,
                "token_type": "Bearer",
                "expires_in": int(self.auth.token_ttl_s),
            }
        )

    @staticmethod
    def _basic(request: Request, params: dict[str, str]) -> tuple[str | None, str | None]:
        """client_secret_post (form or query parameters) or client_secret_basic."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(value).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return None, None
            return client_id, secret
        return params.get("client_id"), params.get("client_secret")

    def _oauth_error(self, code: str) -> Response:
        return JSONResponse({"error": code}, status_code=self.token_error_status)

    # ----- the API's gate ----------------------------------------------------------------
    def access(self, request: Request) -> JSONResponse | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme != "Zoho-oauthtoken" or not value.strip():
            return error(401, "AUTHENTICATION_FAILURE", "Authentication failed")
        if self.check_token(value.strip()) != "ok":
            return error(401, "INVALID_TOKEN", "invalid oauth token")
        return None

    def api(
        self,
        handler: Callable[[Request, Any], tuple[int, Any]],
        credits: Callable[[Request, Any], int],
        has_body: bool = False,
    ) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            refused = self.access(request)
            if refused:
                return refused
            module = request.path_params.get("module")
            if module is not None and module not in self.records:
                return error(
                    400,
                    "INVALID_MODULE",
                    "the module name given seems to be invalid",
                    {"resource_path_index": 0},
                )
            try:
                body = await self._json(request) if has_body else None
                over = self.charge(credits(request, body))
                if over:
                    return over
                status, answer = handler(request, body)
            except (ApiError, zoho_coql.CoqlError, CriteriaError) as exc:
                return JSONResponse(exc.body(), status_code=getattr(exc, "status", 400))
            if status in (204, 304):
                return Response(status_code=status)
            return JSONResponse(answer, status_code=status)

        return endpoint

    @staticmethod
    async def _json(request: Request) -> Any:
        raw = await request.body()
        try:
            return json.loads(raw) if raw.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(400, "INVALID_DATA", "the body is not in JSON format", {}) from None

    # ----- handlers ------------------------------------------------------------------------
    def list_records(self, request: Request, _: Any) -> tuple[int, Any]:
        module = request.path_params["module"]
        names = self.wanted_fields(module, request.query_params.get("fields"))
        per_page = self._int(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
        token = request.query_params.get("page_token")
        if token:
            start = self._token_start(token)
            page_number = start // per_page + 1
        else:
            page_number = self._int(request, "page", 1, 1, 10**6)
            start = (page_number - 1) * per_page
            if start + per_page > MAX_PAGE_WITHOUT_TOKEN:
                raise ApiError(
                    400,
                    "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                    f"cannot get records beyond {MAX_PAGE_WITHOUT_TOKEN} without page_token",
                    {"limit": MAX_PAGE_WITHOUT_TOKEN},
                )
        rows = sorted(self.records[module].values(), key=lambda r: int(r["id"]))
        since = modified_since(request.headers.get("if-modified-since"))
        if since is not None:
            rows = [r for r in rows if parse_time(r["Modified_Time"]) > since]
            if not rows:
                return 304, None
        page, more = self.page_of(rows, per_page, start)
        if not page:
            return 204, None
        info = {
            "per_page": per_page,
            "count": len(page),
            "page": page_number,
            "sort_by": "id",
            "sort_order": "asc",
            "more_records": more,
            "next_page_token": self._make_token(start + per_page) if more else None,
            "previous_page_token": None,
            "page_token_expiry": None,
        }
        return 200, {"data": [self.public(module, r, names) for r in page], "info": info}

    @staticmethod
    def _make_token(start: int) -> str:
        return base64.urlsafe_b64encode(f"zoho-sandbox:{start}".encode()).decode()

    @staticmethod
    def _token_start(token: str) -> int:
        try:
            prefix, _, start = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
            if prefix == "zoho-sandbox":
                return int(start)
        except (ValueError, UnicodeDecodeError):
            pass
        raise ApiError(400, "INVALID_DATA", "invalid data", {"param_name": "page_token"})

    @staticmethod
    def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ApiError(400, "INVALID_DATA", "invalid data", {"param_name": name, "maximum": high})
        return int(raw)

    def get_record(self, request: Request, _: Any) -> tuple[int, Any]:
        module = request.path_params["module"]
        record = self.records[module].get(request.path_params["record_id"])
        if record is None:
            raise ApiError(
                400,
                "INVALID_DATA",
                "the related id given seems to be invalid",
                {"id": request.path_params["record_id"]},
            )
        raw = request.query_params.get("fields")
        names = self.wanted_fields(module, raw) if raw else None
        return 200, {"data": [self.public(module, record, names)]}

    def search(self, request: Request, _: Any) -> tuple[int, Any]:
        module = request.path_params["module"]
        q = request.query_params
        fields = self.schema[module]
        if q.get("criteria"):
            predicate = parse_criteria(q["criteria"], lambda n: n in fields)
        elif q.get("email") or q.get("phone") or q.get("word"):
            predicate = self._simple_search(module, q.get("email"), q.get("phone"), q.get("word"))
        else:
            raise ApiError(
                400,
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param_name": "criteria", "param": "criteria"},
            )
        per_page = self._int(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
        page_number = self._int(request, "page", 1, 1, 10)  # search reaches 2000 records
        hits = [r for r in sorted(self.records[module].values(), key=lambda r: int(r["id"])) if predicate(r)]
        page, more = self.page_of(hits, per_page, (page_number - 1) * per_page)
        if not page:
            return 204, None
        names = self.wanted_fields(module, q["fields"]) if q.get("fields") else None
        info = {"per_page": per_page, "count": len(page), "page": page_number, "more_records": more}
        return 200, {"data": [self.public(module, r, names) for r in page], "info": info}

    def _simple_search(
        self, module: str, email: str | None, phone: str | None, word: str | None
    ) -> Callable[[dict[str, Any]], bool]:
        kinds = {
            "email": [f.api_name for f in self.schema[module].values() if f.data_type == "email"],
            "phone": [f.api_name for f in self.schema[module].values() if f.data_type == "phone"],
        }

        def matches(record: dict[str, Any]) -> bool:
            if email and not any(str(record.get(n) or "").lower() == email.lower() for n in kinds["email"]):
                return False
            if phone and not any(str(record.get(n) or "") == phone for n in kinds["phone"]):
                return False
            if word:
                text = " ".join(str(v) for v in record.values() if isinstance(v, str)).lower()
                return word.lower() in text
            return True

        return matches

    def coql(self, _: Request, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            raise ApiError(
                400, "REQUIRED_PARAM_MISSING", "select_query is missing", {"param_name": "select_query"}
            )
        query = zoho_coql.parse(body.get("select_query"), self._known)
        rows, more = zoho_coql.run(query, list(self.records[query.module].values()))
        if not rows:
            return 204, None
        data = [self._coql_row(query.fields, r) for r in rows]
        return 200, {"data": data, "info": {"count": len(data), "more_records": more}}

    @staticmethod
    def _coql_row(names: list[str], record: dict[str, Any]) -> dict[str, Any]:
        """COQL answers a lookup as {"id": ...} and `Lookup.id` flat under its dotted name."""
        row: dict[str, Any] = {}
        for name in names:
            base, _, rest = name.partition(".")
            value = record.get(base)
            if rest:
                row[name] = value.get("id") if isinstance(value, dict) else None
            else:
                row[name] = {"id": value["id"]} if isinstance(value, dict) and "id" in value else value
        row["id"] = record["id"]
        return row

    def _known(self, module: str, name: str) -> bool:
        if module not in self.schema:
            return False
        return name == "" or name in self.schema[module]

    @staticmethod
    def coql_credits(_: Request, body: Any) -> int:
        """1, 2 or 3 credits by LIMIT: 1-200, 201-1000, 1001-2000 (Query API overview)."""
        text = body.get("select_query", "") if isinstance(body, dict) else ""
        words = str(text).lower().replace(",", " , ").split()
        limit = zoho_coql.DEFAULT_LIMIT
        if "limit" in words and words.index("limit") + 1 < len(words):
            after = words[words.index("limit") + 1 :]
            numbers = [int(w) for w in after if w.isdigit()]
            if numbers:
                limit = numbers[-1] if "," in after[:3] else numbers[0]
        return 1 if limit <= 200 else 2 if limit <= 1000 else 3

    @staticmethod
    def write_credits(_: Request, body: Any) -> int:
        """1 credit for each started 10 records of an insert, update or upsert."""
        rows = body.get("data") if isinstance(body, dict) else None
        return max(1, math.ceil(len(rows) / 10)) if isinstance(rows, list) else 1

    def field_metadata(self, request: Request, _: Any) -> tuple[int, Any]:
        module = request.query_params.get("module")
        if not module:
            raise ApiError(
                400,
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param_name": "module", "param": "module"},
            )
        if module not in self.schema:
            raise ApiError(
                400, "INVALID_MODULE", "the module name given seems to be invalid", {"param_name": "module"}
            )
        fields = [f.public(i) for i, f in enumerate(self.schema[module].values())]
        return 200, {"fields": fields}

    # ----- routes --------------------------------------------------------------------------
    def api_routes(self) -> list[BaseRoute]:
        one: Callable[[Request, Any], int] = lambda _r, _b: 1  # noqa: E731 - a credit price
        mod = API + "/{module}"
        return [
            Route("/oauth/v2/token", self.token_endpoint, methods=["POST"]),
            Route(API + "/coql", self.api(self.coql, self.coql_credits, has_body=True), methods=["POST"]),
            Route(API + "/settings/fields", self.api(self.field_metadata, one), methods=["GET"]),
            Route(
                mod + "/upsert",
                self.api(
                    lambda _r, b: self.upsert(_r.path_params["module"], b), self.write_credits, has_body=True
                ),
                methods=["POST"],
            ),
            Route(API + "/users", self.api(self.list_users, one), methods=["GET"]),
            Route(API + "/org", self.api(self.org_details, one), methods=["GET"]),
            Route(API + "/users/{user_id}", self.api(self.get_user, one), methods=["GET"]),
            Route(mod + "/search", self.api(self.search, one), methods=["GET"]),
            Route(mod, self.api(self.list_records, one), methods=["GET"]),
            Route(
                mod,
                self.api(
                    lambda r, b: self.insert(r.path_params["module"], b), self.write_credits, has_body=True
                ),
                methods=["POST"],
            ),
            Route(
                mod,
                self.api(
                    lambda r, b: self.update(r.path_params["module"], b), self.write_credits, has_body=True
                ),
                methods=["PUT"],
            ),
            Route(mod + "/{record_id}", self.api(self.get_record, one), methods=["GET"]),
            Route(
                mod + "/{record_id}",
                self.api(
                    lambda r, b: self.update(r.path_params["module"], b, r.path_params["record_id"]),
                    self.write_credits,
                    has_body=True,
                ),
                methods=["PUT"],
            ),
            Route("/crm/{org}/tab/{module}/{record_id}", lambda r: record_page(self.records, r),
                  methods=["GET"]),  # the web app's record page (View in CRM)
            Route("/crm/{rest:path}", self.invalid_url, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]

    async def invalid_url(self, _: Request) -> Response:
        return error(404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")


class _Concurrency:
    """Zoho's concurrency limit: calls beyond `concurrency` running at once answer 429."""

    def __init__(self, app: ASGIApp, sandbox: ZohoSandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sb = self.sandbox
        counted = scope["type"] == "http" and scope["path"].startswith(API)
        if not counted:
            await self.app(scope, receive, send)
            return
        if sb.in_flight >= sb.concurrency:
            sb.requests.append(
                {"method": scope["method"], "path": scope["path"], "status": 429, "fault": "concurrency"}
            )
            response = error(
                429, "TOO_MANY_REQUESTS", "Concurrency limit exceeded", {"concurrency_limit": sb.concurrency}
            )
            await response(scope, receive, send)
            return
        sb.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            sb.in_flight -= 1


__all__ = ["ZohoSandbox"]

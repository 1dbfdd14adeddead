"""The org-level side of the Salesforce emulator: the OAuth 2.0 token endpoint, the gate every
/services/data call passes (session, API enabled, daily allocation, version), versions, resources,
limits, and the concurrent long-running request limit.

Sources: REST API Developer Guide ("Versions", "Resources by Version", "Limits", "Status Codes and
Error Responses"), Salesforce Help ("OAuth 2.0 Refresh Token Flow", "OAuth 2.0 Client Credentials
Flow"), Salesforce Developer Limits ("API Request Limits and Allocations").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.sandbox.salesforce_records import USER_ID
from engine.sandbox.salesforce_rules import not_found

SESSION_EXPIRED = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def version_label(version: float) -> str:
    """Release name of an API version: 62.0 is Winter '25, 61.0 Summer '24, 60.0 Spring '24."""
    steps = 62 - int(version)
    season = ("Winter", "Summer", "Spring")[steps % 3]
    year = 25 - steps // 3 - (0 if season == "Winter" else 1)
    return f"{season} '{year:02d}"


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


class OrgMixin:
    """Needs from the host: auth, tokens, base_url, api_versions, api_enabled, daily counters."""

    auth: Any
    tokens: Any
    base_url: str
    api_versions: tuple[float, float]
    api_enabled: bool
    daily_api_requests: int
    daily_used: int
    current_version: str
    client_credentials_user: str
    org_id: str
    bearer: Any

    # ----- OAuth 2.0 token endpoint ------------------------------------------------------------------
    def client_credentials(self, request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic" and encoded:
            try:
                pair = base64.b64decode(encoded).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                pair = ""
            user, _, password = pair.partition(":")
            client_id, secret = client_id or unquote(user), secret or unquote(password)
        return client_id, secret

    async def userinfo_endpoint(self, request: Request) -> Response:
        """The OpenID Connect UserInfo endpoint on the org's host (Salesforce Help, "Query for User
        Information"): the token's user and its org; a bad token answers 403 Bad_OAuth_Token."""
        token = self.bearer(request)
        # the identity service, not the data API: the `expire_every` fault (sessions of /services/data)
        # does not apply to it
        if self.tokens.check(token) != "ok":
            return Response("Bad_OAuth_Token", status_code=403, media_type="text/plain")
        user = self.tokens.tokens[token].user  # type: ignore[index]
        base = f"{self.base_url}/id/{self.org_id}/{USER_ID}"
        return JSONResponse({
            "sub": base, "user_id": USER_ID, "organization_id": self.org_id,
            "preferred_username": user, "nickname": user.partition("@")[0], "name": user,
            "email": user, "email_verified": True, "zoneinfo": "America/Los_Angeles", "locale": "en_US",
            "user_type": "STANDARD", "active": True, "is_app_installed": True,
            "urls": {"rest": f"{self.base_url}/services/data/v{{version}}/",
                     "sobjects": f"{self.base_url}/services/data/v{{version}}/sobjects/"},
        })

    async def token_endpoint(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        grant = form.get("grant_type")
        if grant not in ("refresh_token", "client_credentials"):
            return oauth_error("unsupported_grant_type", "grant type not supported")
        client_id, secret = self.client_credentials(request, form)
        if client_id != self.auth.client_id:
            return oauth_error("invalid_client_id", "client identifier invalid")
        if secret != self.auth.client_secret:
            return oauth_error("invalid_client", "invalid client credentials")
        refresh = form.get("refresh_token") if grant == "refresh_token" else None
        user = (
            self.auth.refresh_tokens.get(refresh or "")
            if refresh is not None
            else self.client_credentials_user
        )
        if user is None:
            return oauth_error("invalid_grant", "expired access/refresh token")
        if user in self.auth.inactive_users:
            return oauth_error("invalid_grant", "inactive user")
        rotated = None
        if refresh is not None and self.auth.rotate_refresh_tokens:
            rotated = secrets.token_urlsafe(32)
            self.auth.refresh_tokens[rotated] = self.auth.refresh_tokens.pop(refresh)
        token = self.tokens.issue(user, rotated or refresh)
        issued_at = str(int(time.time() * 1000))
        identity = f"{self.base_url}/id/{self.org_id}/{USER_ID}"
        signature = base64.b64encode(
            hmac.new(
                self.auth.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
            ).digest()
        ).decode()
        body = {
            "access_token": token.value,
            "signature": signature,
            "scope": "api refresh_token" if refresh else "api",
            "instance_url": self.base_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
        return JSONResponse({**body, "refresh_token": rotated} if rotated else body)

    # ----- the gate before every /services/data call -----------------------------------------------
    def limit_header(self, response: Response) -> Response:
        response.headers["Sforce-Limit-Info"] = f"api-usage={self.daily_used}/{self.daily_api_requests}"
        return response

    def gate(self, request: Request, version: str | None) -> Response | None:
        """Auth, org settings, the daily allocation and the version, in that order."""
        state = self.check_token(self.bearer(request))
        if state != "ok":
            return JSONResponse(SESSION_EXPIRED, status_code=401)
        if not self.api_enabled:
            body = [
                {
                    "message": "The REST API is not enabled for this Organization.",
                    "errorCode": "API_DISABLED_FOR_ORG",
                }
            ]
            return JSONResponse(body, status_code=403)
        if self.daily_used >= self.daily_api_requests:
            body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
            return self.limit_header(JSONResponse(body, status_code=403))
        self.daily_used += 1
        if version is None:
            return self.limit_header(not_found().response())
        self.current_version = version
        return None

    def parse_version(self, segment: str) -> str | None:
        if not segment.startswith("v"):
            return None
        try:
            number = float(segment[1:])
        except ValueError:
            return None
        low, high = self.api_versions
        return f"{number:.1f}" if low <= number <= high and number == int(number) else None

    # ----- org-level resources ----------------------------------------------------------------------
    def versions(self) -> Response:
        low, high = self.api_versions
        out = []
        number = low
        while number <= high:
            out.append(
                {
                    "label": version_label(number),
                    "url": f"/services/data/v{number:.1f}",
                    "version": f"{number:.1f}",
                }
            )
            number += 1
        return JSONResponse(out)

    def resources(self) -> Response:
        base = f"/services/data/v{self.current_version}"
        names = [
            "sobjects",
            "query",
            "queryAll",
            "limits",
            "composite",
            "search",
            "recent",
            "tooling",
            "jobs",
            "parameterizedSearch",
            "actions",
            "tabs",
            "theme",
            "process",
        ]
        return JSONResponse({name: f"{base}/{name}" for name in names})

    def limits(self) -> Response:
        used = self.daily_used
        return JSONResponse(
            {
                "DailyApiRequests": {
                    "Max": self.daily_api_requests,
                    "Remaining": max(0, self.daily_api_requests - used),
                },
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DataStorageMB": {"Max": 5, "Remaining": 5},
                "FileStorageMB": {"Max": 20, "Remaining": 20},
                "SingleEmail": {"Max": 5000, "Remaining": 5000},
            }
        )


class ConcurrencyLimit:
    """Salesforce's concurrent long-running request limit: when `concurrent_long_requests` calls
    have been running for `long_request_s` or more, a new call answers 403 REQUEST_LIMIT_EXCEEDED
    (Salesforce Developer Limits, "API Request Limits and Allocations")."""

    def __init__(self, app: ASGIApp, sandbox: Any) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sb = self.sandbox
        if scope["type"] != "http" or not scope["path"].startswith("/services/data/"):
            await self.app(scope, receive, send)
            return
        now = sb.clock()
        long_running = sum(1 for start in sb.in_flight.values() if now - start >= sb.long_request_s)
        if long_running >= sb.concurrent_long_requests:
            sb.requests.append({"method": scope["method"], "path": scope["path"], "status": 403})
            body = [
                {
                    "message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
                    "errorCode": "REQUEST_LIMIT_EXCEEDED",
                }
            ]
            await JSONResponse(body, status_code=403)(scope, receive, send)
            return
        key = id(scope)
        sb.in_flight[key] = now
        try:
            await self.app(scope, receive, send)
        finally:
            sb.in_flight.pop(key, None)

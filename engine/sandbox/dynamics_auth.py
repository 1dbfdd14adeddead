"""Microsoft Entra ID's v2 token endpoint as the Dynamics emulator plays it at its own root, the
Web API's answer to a missing or expired token, and Dataverse's service protection limits.

Entra (authenticate-oauth.md; learn.microsoft.com/entra/identity-platform/reference-error-codes):
`POST /{tenant}/oauth2/v2.0/token`, tenant a GUID, a domain, `common`, `organizations` or `consumers`;
grants `client_credentials` (scope `<env URL>/.default`) and `refresh_token`; answers `{token_type,
expires_in, ext_expires_in, access_token}` (+ `scope`, `refresh_token` for the refresh grant). Refusals:
AADSTS7000215 (bad secret, 401 invalid_client), AADSTS700016 (unknown app), AADSTS1002012 (client
credentials without /.default), AADSTS9002313 (unknown refresh token), AADSTS50173 (revoked grant),
AADSTS700082 (refresh token expired), AADSTS50057 (user disabled).

Dataverse without a valid token: 401 with `WWW-Authenticate: Bearer authorization_uri=<authority>/
<tenant>/oauth2/authorize, resource_id=<env URL>/` and an empty body (observed; the body is not
documented). The authority is the sandbox itself, which plays Entra.

Service protection (api-limits.md): per user, 6,000 requests and 1,200 s of execution time per 300 s
sliding window, 52 concurrent requests; 429 with `Retry-After` and 0x80072322 / 0x80072321 / 0x80072326;
`x-ms-ratelimit-burst-remaining-xrm-requests` and `x-ms-ratelimit-time-remaining-xrm-requests` headers.
Once the request or execution-time limit is exceeded, "a service protection API Limit error will be
returned on subsequent requests ... until the Retry-After duration has ended", and "if the application
continues to send such demanding requests, the duration will be extended" (same page): each request a
user sends before its Retry-After has passed is refused and pushes the end of the wait back by
`extension_s` (how much Dataverse extends it is not documented; this is the emulator's rule).
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from engine.sandbox.common import AuthConfig, SlidingWindow, TokenStore
from engine.sandbox.dynamics_errors import DataverseError, DvResponse, entra_error, json_answer, throttled
from engine.sandbox.dynamics_odata import GUID_RE

TENANT_RE = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
TENANT_ALIASES = ("common", "organizations", "consumers")


@dataclass
class EntraOptions:
    tenant_id: str
    revoked_refresh_tokens: set[str] = field(default_factory=set)
    expired_refresh_tokens: set[str] = field(default_factory=set)


class EntraTokenEndpoint:
    """The `/{tenant}/oauth2/v2.0/token` answers; issues tokens into the sandbox's TokenStore."""

    def __init__(self, auth: AuthConfig, tokens: TokenStore, options: EntraOptions) -> None:
        self.auth = auth
        self.tokens = tokens
        self.options = options

    def handle(self, tenant: str, raw_body: bytes) -> DvResponse:
        form = dict(parse_qsl(raw_body.decode("utf-8", "replace"), keep_blank_values=True))
        if not (GUID_RE.fullmatch(tenant) or TENANT_RE.match(tenant) or tenant in TENANT_ALIASES):
            return entra_error(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
                "signing into the correct cloud. Check with your subscription administrator, this may "
                "happen if there are no active subscriptions for the tenant.",
            )
        for name in ("grant_type", "client_id"):
            if not form.get(name):
                return missing_parameter(name)
        grant = form["grant_type"]
        if grant not in ("client_credentials", "refresh_token"):
            return entra_error(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'.",
            )
        if form["client_id"] != self.auth.client_id:
            return entra_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form['client_id']}' was not found in the directory "
                f"'{tenant}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You may have "
                "sent your authentication request to the wrong tenant.",
            )
        if not form.get("client_secret"):
            return entra_error(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
            )
        if form["client_secret"] != self.auth.client_secret:
            return entra_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the "
                "client secret value, not the client secret ID, for a secret added to app "
                f"'{self.auth.client_id}'.",
            )
        if not form.get("scope"):
            return missing_parameter("scope")
        if grant == "client_credentials":
            return self.client_credentials(form)
        return self.refresh(form)

    def client_credentials(self, form: dict[str, str]) -> DvResponse:
        scope = form["scope"]
        if not all(s.endswith("/.default") for s in scope.split()):
            return entra_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows must have "
                "a scope value with /.default suffixed to the resource identifier (application ID URI).",
            )
        token = self.tokens.issue(app_user(self.auth.client_id))
        ttl = int(self.auth.token_ttl_s)
        return json_token(
            {"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl, "access_token": token.value}
        )

    def refresh(self, form: dict[str, str]) -> DvResponse:
        refresh = form.get("refresh_token", "")
        if not refresh:
            return missing_parameter("refresh_token")
        user = self.auth.refresh_tokens.get(refresh)
        if user is None:
            return entra_error(
                400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."
            )
        if refresh in self.options.revoked_refresh_tokens:
            return entra_error(
                400,
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked, a fresh auth token is needed. "
                "The user might have changed or reset their password.",
            )
        if refresh in self.options.expired_refresh_tokens:
            return entra_error(
                400,
                "invalid_grant",
                700082,
                "The refresh token has expired due to inactivity. The token was issued on "
                "2024-01-01T00:00:00.0000000Z and was inactive for 90.00:00:00.",
            )
        if user in self.auth.inactive_users:
            return entra_error(400, "invalid_grant", 50057, "The user account is disabled.")
        scopes = [s for s in form["scope"].split() if s not in ("offline_access", "openid", "profile")]
        rotated = "rt-" + secrets.token_urlsafe(24)
        self.auth.refresh_tokens[rotated] = user
        token = self.tokens.issue(user, rotated)
        ttl = int(self.auth.token_ttl_s)
        return json_token(
            {
                "token_type": "Bearer",
                "scope": " ".join(scopes),
                "expires_in": ttl,
                "ext_expires_in": ttl,
                "access_token": token.value,
                "refresh_token": rotated,
            }
        )


def app_user(client_id: str) -> str:
    return f"app:{client_id}"


def missing_parameter(name: str) -> DvResponse:
    return entra_error(
        400, "invalid_request", 900144, f"The request body must contain the following parameter: '{name}'."
    )


def json_token(payload: dict[str, Any]) -> DvResponse:
    response = json_answer(200, payload)
    response.headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Cache-Control": "no-store, no-cache",
        "Pragma": "no-cache",
    }
    return response


def unauthorized(org: str, authority: str, tenant: str) -> DvResponse:
    challenge = f"Bearer authorization_uri={authority}/{tenant}/oauth2/authorize, resource_id={org}/"
    return DvResponse(401, {"WWW-Authenticate": challenge, "Content-Length": "0"}, None)


class ServiceProtection:
    """Per-user request window, execution-time window and in-flight count."""

    def __init__(
        self,
        requests: int | None,
        execution_s: float | None,
        concurrency: int | None,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        extension_s: float = 1.0,
    ) -> None:
        self.requests_limit = requests
        self.execution_limit_s = execution_s
        self.concurrency_limit = concurrency
        self.window_s = window_s
        self.clock = clock
        self.extension_s = extension_s
        self.blocked: dict[str, tuple[float, str, float]] = {}  # user -> (wait ends, which limit, the limit)
        self.windows: dict[str, SlidingWindow] = {}
        self.durations: dict[str, deque[tuple[float, float]]] = defaultdict(deque)
        self.totals: dict[str, float] = defaultdict(float)
        self.in_flight: dict[str, int] = defaultdict(int)

    def admit(self, user: str) -> None:
        """Raise Dataverse's 429 when this user is over the request or execution-time limit, or still
        within the Retry-After of an earlier refusal (which this request then extends)."""
        now = self.clock()
        if user in self.blocked and now < self.blocked[user][0]:
            ends, kind, limit = self.blocked[user]
            self.blocked[user] = (ends + self.extension_s, kind, limit)
            raise throttled(kind, math.ceil(ends + self.extension_s - now), limit)
        if self.execution_limit_s is not None:
            used = self.used_seconds(user)
            if used > self.execution_limit_s:
                oldest = self.durations[user][0][0]
                self.refuse(user, "time", oldest + self.window_s - now, self.execution_limit_s * 1000)
        if self.requests_limit is not None:
            window = self.windows.setdefault(
                user, SlidingWindow(self.requests_limit, self.window_s, self.clock)
            )
            if not window.take():
                self.refuse(user, "requests", window.retry_after_s(), self.requests_limit)

    def refuse(self, user: str, kind: str, wait_s: float, limit: float) -> None:
        """Refuse this and every request of the user until the Retry-After given has passed."""
        retry_after = max(1, math.ceil(wait_s))
        self.blocked[user] = (self.clock() + retry_after, kind, limit)
        raise throttled(kind, retry_after, limit)

    def used_seconds(self, user: str) -> float:
        spans = self.durations[user]
        while spans and spans[0][0] <= self.clock() - self.window_s:
            self.totals[user] -= spans.popleft()[1]
        return max(0.0, self.totals[user]) if spans else 0.0

    def record(self, user: str, seconds: float) -> None:
        if self.execution_limit_s is not None:
            self.durations[user].append((self.clock(), seconds))
            self.totals[user] += seconds

    def enter(self, user: str) -> DataverseError | None:
        if self.concurrency_limit is not None and self.in_flight[user] >= self.concurrency_limit:
            return throttled("concurrency", 1, self.concurrency_limit)
        self.in_flight[user] += 1
        return None

    def leave(self, user: str) -> None:
        self.in_flight[user] = max(0, self.in_flight[user] - 1)

    def headers(self, user: str) -> dict[str, str]:
        out = {}
        if self.requests_limit is not None and user in self.windows:
            out["x-ms-ratelimit-burst-remaining-xrm-requests"] = str(self.windows[user].remaining())
        if self.execution_limit_s is not None:
            remaining = max(0.0, self.execution_limit_s - self.used_seconds(user))
            out["x-ms-ratelimit-time-remaining-xrm-requests"] = f"{remaining:,.2f}"
        return out

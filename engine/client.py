"""The layered HTTP client: credentials, OAuth (authlib) with one refresh on an expired token, a rate
limiter that follows the connector's published limits and the CRM's limit headers, retries with
backoff and jitter honouring Retry-After, and a concurrency bound. Each layer is a separate part.

Nothing here prints or raises a secret: tokens live only in headers of outgoing requests.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import warnings
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from engine.connector import ConnectorSpec, ErrorMatch, LimitsSpec
from engine.errors import CrmsyncError
from engine.render import read_path
from engine.templating import fill

SECRET_KEYS = ("client_secret", "refresh_token", "access_token", "token", "password", "authorization")


class AuthStopped(CrmsyncError):
    """The CRM refused to refresh the grant: nothing more can be sent until someone reconnects."""


class CredentialsMissing(CrmsyncError):
    exit_code = 2


@dataclass(frozen=True)
class Credentials:
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    access_token: str | None = None

    def __repr__(self) -> str:  # never show a secret, even in a traceback
        shown = {k: ("***" if getattr(self, k) else None) for k in self.__dataclass_fields__}
        return f"Credentials({shown})"

    @classmethod
    def load(cls, file: Path | None = None) -> Credentials:
        """From --credentials FILE (JSON), else the environment (CRMSYNC_*)."""
        if file is not None:
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise CredentialsMissing(f"{file}: cannot read credentials: {type(exc).__name__}") from None
            if not isinstance(data, dict):
                raise CredentialsMissing(f"{file}: a credentials file is a JSON object")
            return cls(**{k: data.get(k) or None for k in ("client_id", "client_secret", "refresh_token",
                                                            "access_token")})
        env = os.environ
        return cls(env.get("CRMSYNC_CLIENT_ID") or None, env.get("CRMSYNC_CLIENT_SECRET") or None,
                   env.get("CRMSYNC_REFRESH_TOKEN") or None, env.get("CRMSYNC_ACCESS_TOKEN") or None)


def redact(headers: dict[str, str]) -> dict[str, str]:
    return {k: ("<redacted>" if k.lower() in ("authorization", "cookie", "x-api-key") else v)
            for k, v in headers.items()}


def matches(rules: list[ErrorMatch], status: int, body: Any) -> bool:
    for rule in rules:
        statuses = [rule.status] if isinstance(rule.status, int) else (rule.status or [])
        if statuses and status not in statuses:
            continue
        if rule.path is None:
            return True
        found = [str(v) for v in read_path(body, rule.path)]
        if rule.equals is not None and not any(v in rule.equals for v in found):
            continue
        if rule.contains is not None and not any(c in v for v in found for c in rule.contains):
            continue
        if rule.equals is None and rule.contains is None and not found:
            continue
        return True
    return False


def body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


class TokenAuth(httpx.Auth):
    """Bearer tokens from the connector's auth flows; on an answer meaning 'token expired', refresh
    once and send again. A refusal to refresh stops with the connector's reconnect hint."""

    requires_response_body = True

    def __init__(self, connector: ConnectorSpec, credentials: Credentials, base_url: str,
                 connection: dict[str, str] | None = None) -> None:
        self.connector = connector
        self.connection = connection or {}
        self.credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.access_token = credentials.access_token
        self.instance_url: str | None = None
        self.lock = asyncio.Lock()
        self.refreshes = 0

    def flow_kinds(self) -> list[str]:
        return [f.kind for f in self.connector.auth.flows]

    async def async_auth_flow(self, request: httpx.Request) -> AsyncIterator[httpx.Request]:  # type: ignore[override]
        if self.access_token is None:
            await self.refresh(None)
        for _ in range(3):  # a fresh token is tried again; a token expiring at once is refreshed again
            used = self.access_token
            request.headers["Authorization"] = f"Bearer {used}"
            response = yield request
            if response.status_code not in (400, 401, 403):
                return
            await response.aread()
            if not matches(self.connector.auth.token_expired, response.status_code, body_of(response)):
                return
            await self.refresh(used)

    async def refresh(self, stale: str | None) -> None:
        async with self.lock:
            if stale is not None and self.access_token != stale:
                return  # another request refreshed it meanwhile
            self.access_token = await self.fetch_token()
            self.refreshes += 1

    async def fetch_token(self) -> str:
        from authlib.integrations.base_client.errors import OAuthError

        with warnings.catch_warnings():  # authlib 1.9 warns about its own httpx module on import; not ours
            warnings.simplefilter("ignore", DeprecationWarning)
            from authlib.integrations.httpx_client import AsyncOAuth2Client

        creds = self.credentials
        flow = self._usable_flow()
        token_url = fill(flow.token_url or "", self.connection)
        url = token_url if token_url.startswith("http") else self.base_url + token_url
        scope = fill(flow.scope, self.connection) if flow.scope else None
        async with AsyncOAuth2Client(creds.client_id, creds.client_secret, scope=scope,
                                     token_endpoint_auth_method="client_secret_post", timeout=30) as oauth:
            try:
                if flow.kind == "refresh_token":
                    token = await oauth.refresh_token(url, refresh_token=creds.refresh_token, **flow.params)
                else:
                    token = await oauth.fetch_token(url, grant_type="client_credentials", **flow.params)
            except OAuthError as exc:
                self._refused({"error": exc.error, "error_description": exc.description}, 400)
            except httpx.HTTPError as exc:
                raise CrmsyncError(f"cannot reach the token endpoint {url}: {type(exc).__name__}") from None
        if not token.get("access_token"):
            self._refused(dict(token), 400)
        if self.connector.auth.instance_url_field and token.get(self.connector.auth.instance_url_field):
            self.instance_url = token[self.connector.auth.instance_url_field]
        return str(token["access_token"])

    def _usable_flow(self) -> Any:
        creds = self.credentials
        for flow in self.connector.auth.flows:
            if flow.kind == "refresh_token" and creds.refresh_token:
                return flow
            if flow.kind == "client_credentials" and creds.client_id and creds.client_secret:
                return flow
        raise CredentialsMissing(
            f"no credentials for {self.connector.label}: set CRMSYNC_ACCESS_TOKEN, or CRMSYNC_CLIENT_ID and "
            f"CRMSYNC_CLIENT_SECRET (with CRMSYNC_REFRESH_TOKEN for the refresh-token flow), or --credentials FILE")

    def _refused(self, body: dict[str, Any], status: int) -> None:
        safe = {k: v for k, v in body.items() if k.lower() not in SECRET_KEYS}
        reason = safe.get("error_description") or safe.get("message") or safe.get("error") or "refused"
        if matches(self.connector.auth.refresh_refused, status, body):
            raise AuthStopped(f"{self.connector.label} refused to refresh the access token ({reason}): "
                              f"{self.connector.auth.reconnect_hint}")
        raise AuthStopped(f"{self.connector.label} token request failed ({reason})")


class RateLimiter:
    """Spaces requests to stay within every published rate limit that applies to them, and waits
    when the CRM's headers say the budget is spent."""

    def __init__(self, limits: LimitsSpec) -> None:
        self.limits = limits
        self.windows: dict[int, deque[float]] = {i: deque() for i in range(len(limits.rate))}
        self.lock = asyncio.Lock()
        self.pause_until = 0.0

    async def acquire(self, endpoint_kind: str, path: str) -> None:
        rules = [i for i, rule in enumerate(self.limits.rate) if rule.applies(endpoint_kind, path)]
        async with self.lock:
            while True:
                now = time.monotonic()
                wait = max(0.0, self.pause_until - now)
                for i in rules:
                    rule, window = self.limits.rate[i], self.windows[i]
                    while window and window[0] <= now - rule.per_seconds:
                        window.popleft()
                    if len(window) >= rule.requests:
                        wait = max(wait, window[0] + rule.per_seconds - now)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            for i in rules:
                self.windows[i].append(now)

    def observe(self, response: httpx.Response) -> None:
        headers = self.limits.headers
        remaining = response.headers.get(headers.remaining) if headers.remaining else None
        interval = response.headers.get(headers.interval_ms) if headers.interval_ms else None
        if remaining is not None and remaining.strip() == "0" and interval:
            self.pause_until = max(self.pause_until, time.monotonic() + float(interval) / 1000)


def retry_after(response: httpx.Response, header: str | None) -> float | None:
    value = response.headers.get(header or "Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@dataclass
class Sent:
    response: httpx.Response | None
    error: str | None = None  # a transport failure after all retries
    attempts: int = 1
    maybe_applied: bool = False  # the request may have reached the CRM (response lost)


class CrmClient:
    """Sends requests with auth, limits, retries and bounded concurrency."""

    RETRY_STATUSES = (429, 500, 502, 503, 504)

    def __init__(self, connector: ConnectorSpec, base_url: str, credentials: Credentials,
                 *, concurrency: int = 8, max_attempts: int = 6, transport: httpx.AsyncBaseTransport | None = None,
                 backoff_s: float = 0.5, connection: dict[str, str] | None = None) -> None:
        self.connector = connector
        self.base_url = base_url.rstrip("/")
        self.auth = TokenAuth(connector, credentials, base_url, connection)
        self.limiter = RateLimiter(connector.limits)
        self.semaphore = asyncio.Semaphore(min(concurrency, connector.limits.concurrency or concurrency))
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.http = httpx.AsyncClient(auth=self.auth, timeout=httpx.Timeout(60, connect=10), transport=transport,
                                      limits=httpx.Limits(max_connections=concurrency * 2))
        self.sent = 0

    @property
    def base_url_root(self) -> str:
        """scheme://host[:port] of the base URL, for paths the CRM returns relative to its host."""
        url = httpx.URL(self.base_url)
        return f"{url.scheme}://{url.netloc.decode()}"

    async def close(self) -> None:
        await self.http.aclose()

    async def send(self, method: str, url: str, *, headers: dict[str, str] | None = None, body: Any = None,
                   kind: str = "other", safe_to_repeat: bool | None = None) -> Sent:
        """Send one request. Writes that may create a record are only retried when the CRM surely did
        not apply them (a 429, a connect failure); a lost response is reported as `maybe_applied`."""
        repeatable = safe_to_repeat if safe_to_repeat is not None else method in ("GET", "PUT", "DELETE")
        attempt = 0
        while True:
            attempt += 1
            await self.limiter.acquire(kind, httpx.URL(url).path)
            try:
                async with self.semaphore:
                    self.sent += 1
                    response = await self.http.request(method, url, headers=headers,
                                                       json=body if body is not None else None)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                if attempt < self.max_attempts:
                    await asyncio.sleep(self._backoff(attempt, None))
                    continue
                return Sent(None, f"cannot connect: {type(exc).__name__}", attempt)
            except httpx.TransportError as exc:  # the request went out; its answer was lost
                if repeatable and attempt < self.max_attempts:
                    await asyncio.sleep(self._backoff(attempt, None))
                    continue
                return Sent(None, f"connection lost: {type(exc).__name__}", attempt, maybe_applied=True)
            self.limiter.observe(response)
            status = response.status_code
            # a 429 was surely not applied; any other 5xx on a create might have been, so it is not
            # repeated here: the caller reconciles by looking the records up first
            if status in self.RETRY_STATUSES and attempt < self.max_attempts and (repeatable or status == 429):
                header = self.connector.limits.headers.retry_after
                await asyncio.sleep(self._backoff(attempt, retry_after(response, header)))
                continue
            return Sent(response, None, attempt, maybe_applied=not repeatable and status >= 500)

    def _backoff(self, attempt: int, server_says: float | None) -> float:
        if server_says is not None:
            return server_says
        return min(30.0, self.backoff_s * 2 ** (attempt - 1)) * (0.5 + random.random())


@asynccontextmanager
async def open_client(connector: ConnectorSpec, base_url: str, credentials: Credentials,
                      **options: Any) -> AsyncIterator[CrmClient]:
    client = CrmClient(connector, base_url, credentials, **options)
    try:
        yield client
    finally:
        await client.close()

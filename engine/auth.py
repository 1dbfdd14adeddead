"""Credentials and auth: where the credentials come from, OAuth (authlib) with one refresh on an
expired token, and where the token goes on each request.

Nothing here prints or raises a secret: tokens live only in the outgoing requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import warnings
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from engine.connector import BEARER, AuthFlow, AuthSpec, ConnectorSpec, ErrorMatch, SendSpec
from engine.credfile import CredentialsMissing, clean_value, read_credentials_file, write_private_json
from engine.errors import CrmsyncError, RunStopped
from engine.httpurl import on_origin
from engine.render import read_one, read_path
from engine.templating import TemplateContextError, fill
from engine.tls import tls_context

SECRET_KEYS = ("client_secret", "refresh_token", "access_token", "token", "password", "authorization")


class AuthStopped(RunStopped):
    """The CRM refused to refresh the grant: nothing more can be sent until someone reconnects."""


TOKEN_TRIES = 3  # access tokens tried for one request, each fetched when the CRM said the last had expired


CREDENTIAL_KEYS = ("client_id", "client_secret", "refresh_token", "access_token")
KEPT_MARKER = "replaces_environment_token"  # a kept file's: the digest of the token it supersedes
FILE_KEYS = (*CREDENTIAL_KEYS, "base_url", KEPT_MARKER)


@dataclass(frozen=True)
class Credentials:
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    access_token: str | None = None
    file: Path | None = field(default=None, compare=False)  # read from; a rotated refresh token goes back
    base_url: str | None = field(default=None, compare=False)  # the CRM's address, when the file gives it
    base_url_at: str | None = field(default=None, compare=False)  # where the file gives it (path:line:col)
    keep_at: Path | None = field(default=None, compare=False)  # from the environment: where a rotated
    # refresh token is kept for the runs after this one
    note: str | None = field(default=None, compare=False)  # for the run's user: where they came from

    def __repr__(self) -> str:  # never show a secret, even in a traceback
        shown = {k: ("***" if getattr(self, k) else None) for k in CREDENTIAL_KEYS}
        return f"Credentials({shown}, file={self.file})"

    @classmethod
    def load(cls, file: Path | None = None, *, state_dir: Path | None = None,
             names: Iterable[str] = ()) -> Credentials:
        """From --credentials FILE (JSON), else the environment (CRMSYNC_*), else the state dir's
        `credentials/<name>.json` for the first of `names` (the profile's, then the connector's) there.
        A refresh token the CRM rotated while it came from the environment was kept in the profile's
        file: it is used in place of the environment's, for as long as the environment holds that one."""
        if file is not None:
            return cls.read(file)
        names = list(names)
        env = os.environ
        from_env = cls(*(clean_value(env.get(f"CRMSYNC_{key.upper()}") or "", f"CRMSYNC_{key.upper()}")
                         or None for key in CREDENTIAL_KEYS))
        if any(getattr(from_env, key) for key in CREDENTIAL_KEYS):
            return from_env.kept_over(state_dir / "credentials" / f"{names[0]}.json") \
                if state_dir is not None and names else from_env
        if state_dir is None:
            return from_env
        for name in names:
            path = state_dir / "credentials" / f"{name}.json"
            if path.exists():
                return cls.read(path)
        return from_env

    def kept_over(self, path: Path) -> Credentials:
        """The environment's credentials, with the refresh token kept at `path` when it replaces the
        environment's; else told to keep one the CRM rotates there (never over a file a person wrote)."""
        if not path.exists():
            return replace(self, keep_at=path) if self.refresh_token else self
        kept = read_credentials_file(path, FILE_KEYS).values
        if KEPT_MARKER not in kept:
            return self
        if self.refresh_token and kept[KEPT_MARKER] == token_digest(self.refresh_token) \
                and kept.get("refresh_token"):
            return replace(self, refresh_token=kept["refresh_token"], file=path,
                           note=f"the CRM replaced the refresh token in CRMSYNC_REFRESH_TOKEN: crmsync uses "
                                f"the newer one it keeps in {path}")
        return replace(self, keep_at=path) if self.refresh_token else self

    @classmethod
    def read(cls, path: Path) -> Credentials:
        """A JSON object with the keys of CREDENTIAL_KEYS (and the CRM's `base_url`), readable by its
        owner only, wherever it is (--credentials FILE or the state dir)."""
        found = read_credentials_file(path, FILE_KEYS)
        return cls(*(found.values.get(key) for key in CREDENTIAL_KEYS), file=path,
                   base_url=found.values.get("base_url"), base_url_at=found.where["base_url"])


def token_digest(token: str) -> str:
    """What a kept file says of the environment's token it replaces (never the token itself)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def store_refresh_token(path: Path, token: str) -> None:
    """Put the CRM's new refresh token in the credentials file it replaces, atomically and readable by
    the owner only (a file half written would lose the only valid token)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["refresh_token"] = token
    write_private_json(path, data)


def keep_refresh_token(path: Path, credentials: Credentials, token: str) -> None:
    """A refresh token rotated from the environment's, kept in the state dir's private file for the
    profile with the digest of the environment's token it replaces (the client id says whose it is)."""
    data = {"client_id": credentials.client_id, "refresh_token": token,
            KEPT_MARKER: token_digest(credentials.refresh_token or "")}
    write_private_json(path, {k: v for k, v in data.items() if v})


REDACTED = "<redacted>"
SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-api-key")


def redact(headers: dict[str, str]) -> dict[str, str]:
    return Redactor().headers(headers)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret in it replaced (longest first: one may hold another)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def with_param(url: str, name: str, value: str) -> str:
    """`url` with the query parameter `name` set to `value` as it is (the others kept as written)."""
    path, _, query = url.partition("?")
    kept = [pair for pair in query.split("&") if pair and pair.split("=", 1)[0] != name]
    return f"{path}?{'&'.join([*kept, f'{name}={value}'])}"


@dataclass(frozen=True)
class Redactor:
    """Hides a run's credentials in what it shows: by placement (the headers and query parameters its
    connector puts tokens in, and the usual auth headers) and by value (every secret the run holds,
    wherever a plugin or a CRM put it)."""

    send: SendSpec = field(default_factory=lambda: BEARER)  # where the token goes: <redacted> in a plan
    header_names: frozenset[str] = frozenset(SECRET_HEADERS)
    query_names: frozenset[str] = frozenset()
    secrets: tuple[str, ...] = ()

    @classmethod
    def of(cls, auth: AuthSpec, secrets: Iterable[str] = (), flow: AuthFlow | None = None) -> Redactor:
        sends = [auth.send, *(f.send for f in auth.flows if f.send is not None)]
        return cls(send=auth.send_for(flow),
                   header_names=frozenset([*SECRET_HEADERS, *(s.header.lower() for s in sends if s.header)]),
                   query_names=frozenset(s.query for s in sends if s.query),
                   secrets=tuple(sorted({s for s in secrets if s}, key=len, reverse=True)))

    def text(self, text: str) -> str:
        return scrub(text, self.secrets) if self.secrets else text

    def headers(self, headers: dict[str, str]) -> dict[str, str]:
        return {k: REDACTED if k.lower() in self.header_names or self.text(v) != v else v
                for k, v in headers.items()}

    def url(self, url: str) -> str:
        for name in self.query_names:
            if f"{name}=" in url:
                url = with_param(url, name, REDACTED)
        return self.text(url)

    def value(self, value: Any) -> Any:
        """A request body (or any JSON value) with every secret in its strings replaced."""
        if not self.secrets or not any(s in json.dumps(value, default=str) for s in self.secrets):
            return value
        return json.loads(self.text(json.dumps(value, default=str)))

    def planned(self, request: dict[str, Any]) -> dict[str, Any]:
        """A planned request as a plan shows it: with the credential where it will go, hidden."""
        headers, url = dict(request["headers"]), request["url"]
        if self.send.query is not None:
            url = with_param(url, self.send.query, REDACTED)
        else:
            headers[self.send.header or "Authorization"] = REDACTED
        return {**request, "url": self.url(url), "headers": self.headers(headers),
                "body": self.value(request["body"])}


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
    """Tokens from the connector's auth flows, placed where `auth.send` says (a header with its prefix,
    or a query parameter); on an answer meaning 'token expired', refresh once and send again. A refusal
    to refresh stops with the connector's reconnect hint. With `auth.instance_url_field`, API requests
    go to the host the token answer names, on the base URL's path."""

    requires_response_body = True

    def __init__(self, connector: ConnectorSpec, credentials: Credentials, base_url: str,
                 connection: dict[str, str] | None = None) -> None:
        self.connector = connector
        self.connection = connection or {}
        self.credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.access_token = credentials.access_token
        self.refresh_token = credentials.refresh_token  # the latest: a CRM may rotate it at each refresh
        self.instance_url: str | None = None
        self.flow: AuthFlow | None = None  # the flow that gave the token; None: given as is
        self.issued: list[str] = []  # every access token of the run, redacted wherever it shows
        self.lock = asyncio.Lock()
        self.refreshes = 0
        self.notices: list[str] = [credentials.note] if credentials.note else []  # for the user; no secret

    def flow_kinds(self) -> list[str]:
        return [f.kind for f in self.connector.auth.flows]

    async def async_auth_flow(self, request: httpx.Request) -> AsyncIterator[httpx.Request]:  # type: ignore[override]
        if self.access_token is None:
            await self.refresh(None)
        for _ in range(TOKEN_TRIES):  # a token expiring at once is refreshed and tried again
            used = self.access_token
            self.place(request, used or "")
            response = yield request
            if response.status_code not in (400, 401, 403):
                return
            await response.aread()
            if not matches(self.connector.auth.token_expired, response.status_code, body_of(response)):
                return
            await self.refresh(used)
        # sent as it is, the refusal would read as the CRM refusing the request (a look-up failed, a
        # record failed) and the run would go on asking for tokens that do not last
        raise AuthStopped(f"{self.connector.label} said the access token had expired {TOKEN_TRIES} times "
                          "in a row for one request, each time just after crmsync got a new one: its "
                          "tokens do not last long enough to send a request (a session timeout set very "
                          "short, or a clock far off). Nothing more was sent; what was sent stands, and "
                          "the same command run again goes on from there")

    def place(self, request: httpx.Request, token: str) -> None:
        """The token where the flow that gave it says, and the request on the customer's API host."""
        if self.instance_url:
            self.move_to_instance(request)
        send = self.connector.auth.send_for(self.flow)
        if send.query is not None:
            request.url = request.url.copy_set_param(send.query, token)
        else:
            request.headers[send.header or "Authorization"] = f"{send.prefix}{token}"

    def move_to_instance(self, request: httpx.Request) -> None:
        """A request to the base URL's host goes to the instance's host, its path kept (/crm/v7/...)."""
        base, instance = httpx.URL(self.base_url), httpx.URL(self.instance_url or "")
        url = request.url
        if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port) or not instance.host:
            return
        request.url = on_origin(url, instance)  # its path and query not parsed again (engine.httpurl)
        request.headers["Host"] = request.url.netloc.decode("ascii")

    def secrets(self) -> list[str]:
        """Every secret this run holds (tokens issued, the refresh token before and after rotation, the
        client secret): redacted by value wherever text leaves crmsync."""
        held = [self.access_token, self.refresh_token, self.credentials.access_token,
                self.credentials.refresh_token, self.credentials.client_secret, *self.issued]
        return sorted({s for s in held if s}, key=len, reverse=True)

    def hide(self, text: str) -> str:
        """`text` (a CRM's message) with every secret of the run in it redacted."""
        return scrub(text, self.secrets())

    async def refresh(self, stale: str | None) -> None:
        """A new token, unless another request got one while this one waited (`stale`: the token the
        CRM refused; None: there was none yet)."""
        async with self.lock:
            if self.access_token is not None and self.access_token != stale:
                return  # another request refreshed it meanwhile
            self.access_token = await self.fetch_token()
            self.issued.append(self.access_token)
            self.refreshes += 1

    async def fetch_token(self) -> str:
        from authlib.integrations.base_client.errors import OAuthError


        with warnings.catch_warnings():  # authlib 1.9 warns about its own httpx module on import; not ours
            warnings.simplefilter("ignore", DeprecationWarning)
            from authlib.integrations.httpx_client import AsyncOAuth2Client

        creds = self.credentials
        flow = self._usable_flow()
        try:
            token_url = fill(flow.token_url or "", self.connection)
            scope = fill(flow.scope, self.connection) if flow.scope else None
        except TemplateContextError as exc:  # a caller that did not pass the profile's connection settings
            raise CrmsyncError(f"{self.connector.label}: the token request needs the connection settings "
                               f"{sorted(self.connector.connection)}: {exc.args[0]}") from None
        url = token_url if token_url.startswith("http") else self.base_url + token_url
        async with AsyncOAuth2Client(creds.client_id, creds.client_secret, scope=scope,
                                     token_endpoint_auth_method=flow.token_endpoint_auth, timeout=30,
                                     verify=tls_context()) as oauth:
            try:
                if flow.kind == "refresh_token":
                    token = await oauth.refresh_token(url, refresh_token=self.refresh_token, **flow.params)
                else:
                    token = await oauth.fetch_token(url, grant_type="client_credentials", **flow.params)
            except OAuthError as exc:
                self._refused({"error": exc.error, "error_description": exc.description}, 400)
            except httpx.HTTPError as exc:
                raise CrmsyncError(f"cannot reach the token endpoint {url}: {type(exc).__name__}") from None
        if not token.get("access_token"):
            self._refused(dict(token), 400)
        if flow.kind == "refresh_token" and token.get("refresh_token") not in (None, self.refresh_token):
            self.rotated(str(token["refresh_token"]))
        if self.connector.auth.instance_url_field and token.get(self.connector.auth.instance_url_field):
            self.instance_url = str(token[self.connector.auth.instance_url_field])
        self.flow = flow
        return str(token["access_token"])

    def rotated(self, new: str) -> None:
        """The CRM issued a new refresh token (Salesforce with rotation on invalidates the old one at
        once; Entra's old ones live on for a while): used from now on, and kept where it came from."""
        self.refresh_token = new
        file, keep_at = self.credentials.file, self.credentials.keep_at
        if file is not None:
            store_refresh_token(file, new)
            return
        if keep_at is not None:
            keep_refresh_token(keep_at, self.credentials, new)
            notice = (f"{self.connector.label} issued a new refresh token and may no longer accept the one "
                      f"in CRMSYNC_REFRESH_TOKEN: crmsync keeps the new one in {keep_at} (readable by you "
                      "only), and later runs use it in place of CRMSYNC_REFRESH_TOKEN for as long as that "
                      "variable holds the old one")
        else:
            notice = (f"{self.connector.label} issued a new refresh token and may no longer accept the one "
                      "in CRMSYNC_REFRESH_TOKEN; keep the credentials in the state dir "
                      "(credentials/<profile>.json, chmod 600) so crmsync can store each new one")
        if notice not in self.notices:
            self.notices.append(notice)

    def refusal(self, response: httpx.Response) -> AuthStopped | None:
        """An API answer with a status the connector classes as auth (401), once refreshing could not
        help: what the CRM said, whole and without a secret, and what to do about it."""
        classes = self.connector.errors.classes
        if response.status_code not in {s for cls in classes if cls.kind == "auth" for s in cls.statuses}:
            return None
        body = body_of(response)
        said = read_one(body, self.connector.errors.body.message) if isinstance(body, dict) else None
        code = read_one(body, self.connector.errors.body.code) if isinstance(body, dict) else None
        folded = str(code).casefold()
        if code is not None and any(cls.kind != "auth" and folded in {c.casefold() for c in cls.codes}
                                    for cls in classes):
            return None  # another class's code (a missing scope answered 401): the caller says what it means
        reason = " ".join(str(part) for part in (response.status_code, code) if part not in (None, ""))
        reason += f": {said}" if said not in (None, "") else ""
        reason = scrub(reason, self.secrets())
        label = self.connector.label
        return AuthStopped(f"{label} refused the access token ({reason}): {self.refused_hint()}")

    def refused_hint(self) -> str:
        """What to do, for the flow that gave the token (one given as is: the static-token flow)."""
        given = bool(self.refreshes == 0 and self.credentials.access_token)
        hints = [flow.refused_hint for flow in self.connector.auth.flows
                 if flow.refused_hint and (flow.kind == "static_token") == given]
        return hints[0] if hints else self.connector.auth.reconnect_hint

    def _usable_flow(self) -> AuthFlow:
        creds = self.credentials
        for flow in self.connector.auth.flows:
            if flow.kind == "refresh_token" and self.refresh_token:
                return flow
            if flow.kind == "client_credentials" and creds.client_id and creds.client_secret:
                return flow
        raise CredentialsMissing(
            f"no credentials for {self.connector.label}: set CRMSYNC_ACCESS_TOKEN, or CRMSYNC_CLIENT_ID and "
            f"CRMSYNC_CLIENT_SECRET (with CRMSYNC_REFRESH_TOKEN for the refresh-token flow), "
            f"--credentials FILE, or a file credentials/<profile>.json in the state dir")

    def _refused(self, body: dict[str, Any], status: int) -> None:
        safe = {k: v for k, v in body.items() if k.lower() not in SECRET_KEYS}
        reason = scrub(str(safe.get("error_description") or safe.get("message") or safe.get("error")
                           or "refused"), self.secrets())
        if matches(self.connector.auth.refresh_refused, status, body):
            raise AuthStopped(f"{self.connector.label} refused to refresh the access token ({reason}): "
                              f"{self.connector.auth.reconnect_hint}")
        raise AuthStopped(f"{self.connector.label} token request failed ({reason})")

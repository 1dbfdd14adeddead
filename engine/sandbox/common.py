"""What every CRM emulator shares: records in memory, a request log, latency, fault injection,
OAuth tokens that expire, the `/_sandbox/*` inspection routes, and serving over HTTP(S).

Rule 3 of DESIGN.md: nothing here (nor in any emulator) imports the rest of the engine or reads
connectors/. Each emulator subclasses `Sandbox`, adds its CRM's routes and its CRM's error bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import os
import random
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class SandboxConfigError(ValueError):
    """A bad --faults spec or seed file."""


@dataclass
class FaultSpec:
    """Faults injected on the CRM's API routes (never on `/_sandbox/*` or the token endpoint).

    Text form, as given to `--faults`: comma-separated `key=value`, e.g.
    `5xx=0.05,drop=0.02,slow=0.01,slow_ms=3000,expire_every=100,seed=7`.
    - `5xx`: share of requests answered with the CRM's 503 before anything is done;
    - `drop`: share of requests processed (the write happens) whose connection is then cut before
      the response is complete — the "response lost" case a client must not retry blindly;
    - `drop_before`: share of requests whose connection is cut before anything is done;
    - `slow` / `slow_ms`: share of requests delayed by `slow_ms` extra milliseconds;
    - `expire_every`: every Nth authenticated request finds its access token expired;
    - `seed`: the random seed, so a failure is reproducible.
    """

    error_5xx: float = 0.0
    drop: float = 0.0
    drop_before: float = 0.0
    slow: float = 0.0
    slow_ms: int = 3000
    expire_every: int = 0
    seed: int = 0

    _KEYS = {"5xx": "error_5xx", "drop": "drop", "drop_before": "drop_before", "slow": "slow",
             "slow_ms": "slow_ms", "expire_every": "expire_every", "seed": "seed"}

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        spec = cls()
        if not text:
            return spec
        for part in text.split(","):
            key, sep, value = part.strip().partition("=")
            if not sep or key not in cls._KEYS:
                known = ", ".join(cls._KEYS)
                raise SandboxConfigError(f"--faults: bad item {part.strip()!r}; "
                                         f"expected key=value with key in {known}")
            attr = cls._KEYS[key]
            try:
                parsed: float | int = (int(value) if attr in ("slow_ms", "expire_every", "seed")
                                       else float(value))
            except ValueError:
                raise SandboxConfigError(f"--faults: {key} needs a number, got {value!r}") from None
            if isinstance(parsed, float) and not 0.0 <= parsed <= 1.0:
                raise SandboxConfigError(f"--faults: {key} is a share between 0 and 1, got {value}")
            setattr(spec, attr, parsed)
        return spec


@dataclass
class Token:
    value: str
    user: str
    expires_at: float
    refresh_token: str | None = None


@dataclass
class AuthConfig:
    """Who the sandbox accepts. Defaults are the contract's: sandbox-client / sandbox-secret /
    sandbox-refresh (and HubSpot's private-app token sandbox-token, which its emulator adds)."""

    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"
    refresh_tokens: dict[str, str] = field(default_factory=lambda: {"sandbox-refresh": "integration@sandbox"})
    static_tokens: dict[str, str] = field(default_factory=dict)  # token -> user; never expire
    inactive_users: set[str] = field(default_factory=set)
    token_ttl_s: float = 7200.0
    # Salesforce's connected-app "refresh token rotation": each refresh answers a new refresh token and
    # invalidates the one used (help: remoteaccess_oauth_refresh_token_flow). Entra always rotates.
    rotate_refresh_tokens: bool = False


class TokenStore:
    """Issues access tokens and says whether one is valid, expired or unknown."""

    def __init__(self, config: AuthConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.tokens: dict[str, Token] = {}

    def issue(self, user: str, refresh_token: str | None = None) -> Token:
        token = Token(secrets.token_urlsafe(24), user, self.clock() + self.config.token_ttl_s, refresh_token)
        self.tokens[token.value] = token
        return token

    def check(self, value: str | None) -> str:
        """'ok', 'expired' or 'invalid'."""
        if value is None:
            return "invalid"
        if value in self.config.static_tokens:
            return "ok"
        token = self.tokens.get(value)
        if token is None:
            return "invalid"
        if self.clock() >= token.expires_at:
            return "expired"
        return "ok"

    def expire(self, value: str) -> None:
        if value in self.tokens:
            self.tokens[value].expires_at = self.clock() - 1

    def expire_all(self) -> None:
        for token in self.tokens.values():
            token.expires_at = self.clock() - 1

    def user_of(self, value: str) -> str | None:
        if value in self.config.static_tokens:
            return self.config.static_tokens[value]
        token = self.tokens.get(value)
        return token.user if token else None


class SlidingWindow:
    """At most `limit` events in any `window_s` seconds."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.events: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self.events and self.events[0] <= now - self.window_s:
            self.events.popleft()

    def take(self) -> bool:
        """Record one event if the window allows it; False when over the limit."""
        now = self.clock()
        self._trim(now)
        if len(self.events) >= self.limit:
            return False
        self.events.append(now)
        return True

    def remaining(self) -> int:
        self._trim(self.clock())
        return max(0, self.limit - len(self.events))

    def retry_after_s(self) -> float:
        now = self.clock()
        self._trim(now)
        if len(self.events) < self.limit:
            return 0.0
        return max(0.0, self.events[0] + self.window_s - now)


class DropConnection(Exception):
    """Raised inside the app to make the server cut the connection mid-response."""


class Sandbox:
    """Base of the three emulators. A subclass sets `name`, `objects` (the object names as the CRM
    spells them), implements `api_routes()`, and the CRM-specific bodies below."""

    name = "sandbox"
    objects: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        latency_ms: int = 0,
        faults: FaultSpec | str | None = None,
        seed: dict[str, list[dict[str, Any]]] | str | Path | None = None,
        auth: AuthConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        base_url: str = "http://127.0.0.1",
    ) -> None:
        self.latency_ms = latency_ms
        self.faults = faults if isinstance(faults, FaultSpec) else FaultSpec.parse(faults)
        self.random = random.Random(self.faults.seed)
        self.clock = clock
        self.base_url = base_url.rstrip("/")
        self.auth = auth or self.default_auth()
        self.tokens = TokenStore(self.auth, clock)
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.objects}
        self.requests: list[dict[str, Any]] = []
        self.authenticated_requests = 0
        self._seed_data = self._load_seed(seed)
        self.reset()

    # ----- to be provided by each CRM -------------------------------------------------------
    def default_auth(self) -> AuthConfig:
        return AuthConfig()

    def api_routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    def server_error_response(self) -> Response:
        """The CRM's own 503 body, for injected 5xx faults."""
        return JSONResponse({"message": "Service Unavailable"}, status_code=503)

    def seed_record(self, object_name: str, record: dict[str, Any]) -> None:
        """Store one seeded record, giving it an id the CRM's way when it has none."""
        raise NotImplementedError

    def reset_state(self) -> None:
        """Hook for a subclass to clear its own extra state (rate windows, associations...)."""

    # ----- shared behaviour -----------------------------------------------------------------
    @staticmethod
    def _load_seed(
        seed: dict[str, list[dict[str, Any]]] | str | Path | None,
    ) -> dict[str, list[dict[str, Any]]]:
        if seed is None:
            return {}
        if isinstance(seed, dict):
            return copy.deepcopy(seed)
        path = Path(seed)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SandboxConfigError(f"{path}: cannot read seed file: {exc}") from None
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise SandboxConfigError(f"{path}: a seed file is an object of {{\"<object>\": [records]}}")
        return data

    def reset(self) -> None:
        self.records = {name: {} for name in self.objects}
        self.requests = []
        self.authenticated_requests = 0
        self.random = random.Random(self.faults.seed)
        self.reset_state()
        for object_name, rows in self._seed_data.items():
            if object_name not in self.records:
                raise SandboxConfigError(
                    f"seed: unknown object {object_name!r}; {self.name} has {', '.join(self.objects)}")
            for row in rows:
                self.seed_record(object_name, copy.deepcopy(row))

    def check_token(self, value: str | None) -> str:
        """'ok', 'expired' or 'invalid'; applies the `expire_every` fault."""
        state = self.tokens.check(value)
        if state != "ok":
            return state
        self.authenticated_requests += 1
        every = self.faults.expire_every
        if every and self.authenticated_requests % every == 0 and value not in self.auth.static_tokens:
            self.tokens.expire(value or "")
            return "expired"
        return "ok"

    @staticmethod
    def bearer(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        return {name: list(rows.values()) for name, rows in self.records.items()}

    def inspection_routes(self) -> list[BaseRoute]:
        async def records(_: Request) -> Response:
            return JSONResponse(self.snapshot())

        async def requests(_: Request) -> Response:
            return JSONResponse(self.requests)

        async def reset(_: Request) -> Response:
            self.reset()
            return JSONResponse({"reset": True})

        async def expire_tokens(_: Request) -> Response:
            self.tokens.expire_all()
            return JSONResponse({"expired": True})

        return [
            Route("/_sandbox/records", records, methods=["GET"]),
            Route("/_sandbox/requests", requests, methods=["GET"]),
            Route("/_sandbox/reset", reset, methods=["POST"]),
            Route("/_sandbox/expire-tokens", expire_tokens, methods=["POST"]),
        ]

    def is_fault_exempt(self, path: str) -> bool:
        """Inspection routes and token endpoints never get injected faults."""
        return path.startswith("/_sandbox") or "token" in path

    def app(self) -> ASGIApp:
        inner = Starlette(routes=self.inspection_routes() + self.api_routes())
        return _SandboxMiddleware(inner, self)


class _SandboxMiddleware:
    """Request log, latency and faults around the emulator's routes."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sb = self.sandbox
        path: str = scope["path"]
        entry: dict[str, Any] = {"method": scope["method"], "path": path, "status": None}
        if scope.get("query_string"):
            entry["query"] = scope["query_string"].decode("latin-1")
        sb.requests.append(entry)
        exempt = sb.is_fault_exempt(path)

        if sb.latency_ms and not path.startswith("/_sandbox"):
            await asyncio.sleep(sb.latency_ms / 1000)
        faults = sb.faults
        if not exempt:
            if faults.slow and sb.random.random() < faults.slow:
                await asyncio.sleep(faults.slow_ms / 1000)
            if faults.drop_before and sb.random.random() < faults.drop_before:
                entry["status"] = "dropped"
                entry["fault"] = "drop_before"
                # a server that raises before starting a response answers 500; to cut the connection
                # instead, promise a body, send a byte of it, then fail
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", b"100000")]})
                await send({"type": "http.response.body", "body": b"{", "more_body": True})
                raise DropConnection(f"injected: connection dropped before {scope['method']} {path}")
            if faults.error_5xx and sb.random.random() < faults.error_5xx:
                response = sb.server_error_response()
                entry["status"] = response.status_code
                entry["fault"] = "5xx"
                await response(scope, receive, send)
                return
        drop_after = not exempt and faults.drop and sb.random.random() < faults.drop

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                if drop_after:
                    entry["fault"] = "drop"
                    # promise a body longer than we send, then cut the connection
                    headers = [(k, v) for k, v in message.get("headers", [])
                               if k.lower() != b"content-length"]
                    headers.append((b"content-length", b"100000"))
                    # 204/304 may not carry a body, so the cut would not show: answer as 200 instead
                    status = 200 if message["status"] in (204, 304) else message["status"]
                    message = {**message, "status": status, "headers": headers}
            elif message["type"] == "http.response.body" and drop_after:
                await send({"type": "http.response.body", "body": b"{", "more_body": True})
                raise DropConnection(f"injected: connection dropped after {scope['method']} {path}")
            await send(message)

        await self.app(scope, receive, send_logged)


# ----- serving ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class TLSFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_tls_files(directory: Path) -> TLSFiles:
    """A throwaway local certificate authority and a server certificate for 127.0.0.1/localhost."""
    import trustme

    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    directory.mkdir(parents=True, exist_ok=True)
    files = TLSFiles(directory / "sandbox-ca.pem", directory / "sandbox-cert.pem",
                     directory / "sandbox-key.pem")
    ca.cert_pem.write_to_path(str(files.ca_cert))
    server.cert_chain_pems[0].write_to_path(str(files.server_cert))
    for extra in server.cert_chain_pems[1:]:
        with open(files.server_cert, "ab") as handle:
            handle.write(extra.bytes())
    # a private key, readable by its owner only from the start (as ssh wants of one)
    descriptor = os.open(files.server_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(server.private_key_pem.bytes())
    return files


class _HideInjectedDrops(logging.Filter):
    """Injected drops, and clients that hang up mid-request (a push cut off by Ctrl-C): no tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        from starlette.requests import ClientDisconnect

        return not (record.exc_info and isinstance(record.exc_info[1], DropConnection | ClientDisconnect))


def _uvicorn_server(app: ASGIApp, port: int, tls: TLSFiles | None) -> Any:
    import uvicorn

    logging.getLogger("uvicorn.error").addFilter(_HideInjectedDrops())

    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
        ssl_certfile=str(tls.server_cert) if tls else None,
        ssl_keyfile=str(tls.server_key) if tls else None,
        timeout_keep_alive=30, backlog=2048,
    )
    return uvicorn.Server(config)


def serve_forever(sandbox: Sandbox, port: int = 0, tls_dir: Path | None = None,
                  announce: Callable[[str], None] = print) -> None:
    """Run with uvicorn until interrupted; announce `listening on URL` once connections are accepted."""
    port = port or free_port()
    tls = make_tls_files(tls_dir) if tls_dir else None
    scheme = "https" if tls else "http"
    sandbox.base_url = f"{scheme}://127.0.0.1:{port}"
    server = _uvicorn_server(sandbox.app(), port, tls)

    async def main() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                await task
                return
            await asyncio.sleep(0.01)
        if tls:
            announce(f"CA certificate: {tls.ca_cert}")
        announce(f"listening on {sandbox.base_url}")
        await task

    asyncio.run(main())


@contextlib.contextmanager
def running(sandbox: Sandbox, tls_dir: Path | None = None) -> Iterator[str]:
    """Serve a sandbox on a free 127.0.0.1 port in a background thread; yields its base URL."""
    port = free_port()
    tls = make_tls_files(tls_dir) if tls_dir else None
    scheme = "https" if tls else "http"
    sandbox.base_url = f"{scheme}://127.0.0.1:{port}"
    server = _uvicorn_server(sandbox.app(), port, tls)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{sandbox.name} sandbox did not start on port {port}")
        time.sleep(0.01)
    try:
        yield sandbox.base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)

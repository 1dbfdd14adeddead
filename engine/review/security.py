"""Who may use the review app: whoever opened the URL it printed, with its random access token (as
Jupyter does). The token in the URL sets an HttpOnly, SameSite=Strict cookie and is taken out of the
address; every request without the cookie or the token is refused (403). A state-changing request
(POST) also needs the page's CSRF token in a header or form field: the cookie alone, which a browser
sends with any request to 127.0.0.1, is not enough, so no other local page can drive the app. The Host
header must be the loopback address the app listens on (a DNS-rebound name is refused)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "crmsync_review"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class Secrets:
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def __repr__(self) -> str:  # never in a log or a traceback
        return "Secrets(<hidden>)"


def same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def refused(reason: str) -> Response:
    return PlainTextResponse(f"403 Forbidden: {reason}\n", status_code=403)


class Guard:
    """ASGI middleware: the access token (cookie or URL), the Host, and CSRF on every POST."""

    def __init__(self, app: ASGIApp, keys: Secrets) -> None:
        self.app, self.keys = app, keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        answer = self.check(scope, headers)
        if answer is None and scope["method"] not in ("GET", "HEAD"):
            answer = await self.check_csrf(scope, receive, headers)
            if answer is None and "review.body" in scope:
                receive = _replay(scope["review.body"], receive)
        if answer is not None:
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def check(self, scope: Scope, headers: Headers) -> Response | None:
        host = headers.get("host", "").rsplit(":", 1)[0].strip("[]")
        if host not in LOOPBACK_HOSTS:
            return refused("the review app answers on 127.0.0.1 only")
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if same(query.get("token"), self.keys.token):
            return self.welcome(scope, query)
        cookie = Request(scope).cookies.get(COOKIE)
        if not same(cookie, self.keys.token):
            return refused("open the address `crmsync review` printed (with its ?token=)")
        return None

    def welcome(self, scope: Scope, query: dict[str, str]) -> Response:
        """The token taken from the URL (so it stays out of history and Referer), kept in a cookie."""
        rest = urlencode({k: v for k, v in query.items() if k != "token"})
        answer = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), status_code=303)
        answer.set_cookie(COOKIE, self.keys.token, httponly=True, samesite="strict", path="/")
        return answer

    async def check_csrf(self, scope: Scope, receive: Receive, headers: Headers) -> Response | None:
        origin = headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1].rsplit(":", 1)[0] not in LOOPBACK_HOSTS:
            return refused("a request from another site")
        if same(headers.get(CSRF_HEADER), self.keys.csrf):
            return None
        body = await _read_body(scope, receive)
        if same(form_fields(headers, body).get(CSRF_FIELD), self.keys.csrf):
            return None
        return refused("this change needs the page's CSRF token (reload the page)")


def form_fields(headers: Headers, body: bytes) -> dict[str, str]:
    """A URL-encoded form's fields (the only kind the app's pages send); {} for any other body."""
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def read_form(request: Request) -> dict[str, str]:
    return form_fields(request.headers, await request.body())


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    """The request body, kept on the scope so the app reads it again."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    scope["review.body"] = b"".join(chunks)
    return scope["review.body"]


def _replay(body: bytes, then: Receive) -> Receive:
    """A receive that gives the app the body the guard has read, then what the client sends next."""
    sent = False

    async def receive() -> Any:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive

"""DuoCRM: a made-up CRM for the auth tests, served on two ports like a CRM whose sign-in lives on an
accounts host of the customer's data centre and whose API lives on the host the token answer names.

- The accounts server (`POST /oauth/v2/token`) accepts the client only by HTTP Basic
  (client_secret_basic), refuses a client secret posted in the form, and answers
  `{"access_token", "api_domain": "<the API server>", "expires_in"}`. A wrong client secret is refused
  with a description that quotes it (as careless servers do), to prove crmsync never shows it.
- The API server (`/crm/v1/...`) takes the token only where it is told (`send`): a header with its
  prefix, or a query parameter; any other request is 401 `INVALID_TOKEN`. A token lasts
  `token_requests` API requests (None: for ever), like a token expiring mid-run. A record named
  `ECHO` is refused with a message quoting the whole request URL (a CRM echoing the request).
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from click.testing import Result
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from engine.sandbox.common import running

CLIENT_ID = "duo-client"
CLIENT_SECRET = "duo-client-secret-8f3a"
REFRESH_TOKEN = "duo-refresh-77c1"
API_KEY = "duo-api-key-51d9e2"


@dataclass
class DuoState:
    send: dict[str, str]  # {header, prefix} or {query}: where the API takes the token
    token_requests: int | None = None  # API requests a token lasts; None: for ever
    static_keys: set[str] = field(default_factory=set)  # API keys valid for ever
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"companies": []})
    tokens: dict[str, int] = field(default_factory=dict)  # issued token -> requests left
    token_calls: list[str] = field(default_factory=list)  # how each token request authenticated
    api_hosts: list[str] = field(default_factory=list)  # the Host of each API request
    api_url: str = ""  # set once served
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def seed(self, **fields: Any) -> None:
        self.records["companies"].append({"id": f"c{next(self.ids)}", **fields})


class Served:
    """What engine.sandbox.common.running() serves: a name, an app, and the base URL it is given."""

    def __init__(self, name: str, app: Starlette) -> None:
        self.name, self._app, self.base_url = name, app, ""

    def app(self) -> Starlette:
        return self._app


def accounts_app(state: DuoState) -> Starlette:
    async def token(request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode()))  # no python-multipart needed
        if "client_secret" in form:
            state.token_calls.append("post")
            return JSONResponse({"error": "invalid_client",
                                 "error_description": "client authentication must use HTTP Basic"}, 401)
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            state.token_calls.append("none")
            return JSONResponse({"error": "invalid_client", "error_description": "no client auth"}, 401)
        state.token_calls.append("basic")
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
            said = f"client {client_id} with secret {secret} is unknown"
            return JSONResponse({"error": "invalid_client", "error_description": said}, 401)
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != REFRESH_TOKEN:
            return JSONResponse({"error": "invalid_grant"}, 400)
        issued = f"duo-access-{len(state.tokens) + 1}-{secret[-4:]}x"
        state.tokens[issued] = state.token_requests if state.token_requests is not None else -1
        return JSONResponse({"access_token": issued, "api_domain": state.api_url, "expires_in": 3600,
                             "token_type": "Bearer"})

    return Starlette(routes=[Route("/oauth/v2/token", token, methods=["POST"])])


def given_token(state: DuoState, request: Request) -> str | None:
    if "query" in state.send:
        return request.query_params.get(state.send["query"])
    value = request.headers.get(state.send["header"], "")
    prefix = state.send.get("prefix", "")
    return value[len(prefix):] if value.startswith(prefix) and value[len(prefix):] else None


def authorized(state: DuoState, request: Request) -> bool:
    token = given_token(state, request)
    if token in state.static_keys:
        return True
    left = state.tokens.get(token or "")
    if left is None or left == 0:
        return False
    state.tokens[token] = left - 1 if left > 0 else left  # type: ignore[index]
    return True


def api_app(state: DuoState) -> Starlette:
    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> JSONResponse:
            state.api_hosts.append(request.headers.get("host", ""))
            if not authorized(state, request):
                return JSONResponse({"code": "INVALID_TOKEN", "message": "invalid oauth token"}, 401)
            return await handler(request)
        return endpoint

    async def lookup(request: Request) -> JSONResponse:
        wanted = {part.partition(":")[2] for part in request.query_params.get("q", "").split("|")}
        rows = state.records[request.path_params["object"]]
        return JSONResponse({"data": [r for r in rows if r.get("domain") in wanted]})

    async def create(request: Request) -> JSONResponse:
        fields = await request.json()
        if fields.get("name") == "ECHO":
            return JSONResponse({"code": "INVALID_DATA", "message": f"cannot create from {request.url}"}, 400)
        record = {"id": f"c{next(state.ids)}", **fields}
        state.records[request.path_params["object"]].append(record)
        return JSONResponse({"id": record["id"]}, 201)

    async def update(request: Request) -> JSONResponse:
        rows = state.records[request.path_params["object"]]
        found = next((r for r in rows if r["id"] == request.path_params["id"]), None)
        if found is None:
            return JSONResponse({"code": "NOT_FOUND", "message": "no such record"}, 404)
        found.update(await request.json())
        return JSONResponse({"id": found["id"]})

    async def metadata(request: Request) -> JSONResponse:
        return JSONResponse({"fields": [{"name": "id", "type": "id"}, {"name": "name", "type": "text"},
                                        {"name": "domain", "type": "text"}]})

    async def everything(request: Request) -> JSONResponse:
        return JSONResponse(state.records)

    return Starlette(routes=[
        Route("/crm/v1/meta/{object}", guarded(metadata), methods=["GET"]),
        Route("/crm/v1/{object}", guarded(lookup), methods=["GET"]),
        Route("/crm/v1/{object}", guarded(create), methods=["POST"]),
        Route("/crm/v1/{object}/{id}", guarded(update), methods=["PATCH"]),
        Route("/_sandbox/records", everything, methods=["GET"]),
    ])


@contextmanager
def served_duo(state: DuoState) -> Iterator[tuple[str, str]]:
    """(accounts server's URL, API server's URL), both on 127.0.0.1, each its own port."""
    with ExitStack() as stack:
        api = stack.enter_context(running(Served("duocrm-api", api_app(state))))  # type: ignore[arg-type]
        state.api_url = api
        accounts = stack.enter_context(running(Served("duocrm-accounts", accounts_app(state))))  # type: ignore[arg-type]
        yield accounts, api


def connector_yaml(auth: str) -> str:
    """DuoCRM's connector with `auth` (a YAML block, indented as the top level's keys are)."""
    return CONNECTOR.replace("AUTH\n", auth.rstrip("\n") + "\n")


CONNECTOR = """\
name: duocrm
label: DuoCRM
base_url: https://api.duocrm.example/crm/v1
api_version: v1
connection:
  accounts_url: {description: the accounts host of the customer's data centre, default: https://accounts.duocrm.example}
AUTH
literal: {quote: "", exact: "{field}:{escaped}", join: "|"}
objects:
  company:
    api_name: companies
    id_field: id
    identity_keys:
      domain: {parts: [{name: domain, field: domain, normalize: domain}]}
    fields:
      id: {type: id, creatable: false, updatable: false}
      name: {type: string}
      domain: {type: string}
endpoints:
  lookup:
    method: GET
    path: "/{object}"
    query: {q: "{match}"}
    response: {records: "$.data[*]", id: $.id}
  create: {method: POST, path: "/{object}", body: $fields, response: {id: $.id}}
  update: {method: PATCH, path: "/{object}/{id}", body: $fields}
  list: {method: GET, path: "/{object}"}
  metadata: {method: GET, path: "/meta/{object}", response: {records: "$.fields[*]"}}
metadata: {name: $.name, type: $.type, type_map: {text: string, id: id}}
errors:
  body: {code: $.code, message: $.message}
  classes:
    - {kind: validation, statuses: [400]}
    - {kind: auth, statuses: [401]}
    - {kind: not_found, statuses: [404]}
"""

OAUTH_AUTH = """\
auth:
  send: {header: Authorization, prefix: "Duo-oauthtoken "}
  flows:
    - kind: refresh_token
      token_url: "{accounts_url}/oauth/v2/token"
      client_auth: client_secret_basic
  instance_url_field: api_domain
  token_expired: [{status: 401, path: $.code, equals: [INVALID_TOKEN]}]
  refresh_refused: [{status: [400, 401], path: $.error, equals: [invalid_grant, invalid_client]}]
  reconnect_hint: reconnect crmsync to DuoCRM (Setup > Connected apps)
"""

PROFILE = """\
name: duocrm-test
connector: duocrm.yaml
streams:
  employer:
    object: company
    identity: {key: domain, source: {domain: $.website}}
    fields:
      name: {source: $.name, overwrite: true}
"""


def workspace(root: Path, auth: str, companies: list[dict[str, Any]], credentials: dict[str, str],
              ) -> dict[str, Path]:
    """A connector with `auth`, the test profile, a source folder, a credentials file and a state dir."""
    (root / "duocrm.yaml").write_text(connector_yaml(auth), encoding="utf-8")
    (root / "profile.yaml").write_text(PROFILE, encoding="utf-8")
    source = root / "source"
    source.mkdir()
    (source / "employer.jsonl").write_text("".join(json.dumps(c) + "\n" for c in companies), encoding="utf-8")
    creds = root / "credentials.json"
    creds.write_text(json.dumps(credentials), encoding="utf-8")
    creds.chmod(0o600)
    return {"profile": root / "profile.yaml", "source": source, "credentials": creds, "state": root / "state"}


def cli(paths: dict[str, Path], command: str, base_url: str, *extra: str) -> Result:
    """`crmsync plan|push PROFILE --source DIR --base-url URL --credentials FILE --state-dir DIR ...`."""
    from typer.testing import CliRunner

    from engine.cli import app

    args = [command, str(paths["profile"]), "--source", str(paths["source"]), "--base-url", base_url,
            "--credentials", str(paths["credentials"]), "--state-dir", str(paths["state"]), *extra]
    return CliRunner().invoke(app, args, catch_exceptions=False)


def files_holding(root: Path, secret: str) -> list[Path]:
    """Every file under `root` (but the credentials file) whose bytes hold `secret`."""
    return [p for p in root.rglob("*") if p.is_file() and p.name != "credentials.json"
            and secret.encode() in p.read_bytes()]

"""A made-up CRM (TinyCRM, as in docs/connector-spec.md) that enforces limits the built-in CRMs do not
have, answering 429 when one is broken: a fixed window (the count resets at each multiple of its period
on the clock), a per-endpoint limit on look-ups, and a daily credit budget given only as what is left
(`X-Credits-Remaining`), a batch create taking one credit per started lot of records. It can also answer
a create without the new records' ids. Served over 127.0.0.1 like the sandboxes
(`engine.sandbox.common.running`), with `/_sandbox/records` and `/_sandbox/requests`."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

OBJECTS = ("companies", "people")
CONDITION = re.compile(r'(\w+) == "((?:[^"\\]|\\.)*)"')
FIELDS = {"companies": [{"key": "name", "type": "text"}, {"key": "domain", "type": "text"},
                        {"key": "phone", "type": "phone"}],
          "people": [{"key": "email", "type": "email"}]}


@dataclass
class TinyLimits:
    """The CRM. `fixed`: (requests, seconds) of a fixed window over every API request; `lookups`:
    (requests, seconds) of a sliding limit on look-ups only; `credits`: the budget left (None: none);
    `per_records`: records one credit of a batch create pays for; `create_ids`: whether a create's
    results carry the new ids."""

    fixed: tuple[int, float] | None = None
    lookups: tuple[int, float] | None = None
    credits: int | None = None
    per_records: int = 1
    create_ids: bool = True
    name: str = "tinylimits"
    base_url: str = "http://127.0.0.1"
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {o: [] for o in OBJECTS})
    requests: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0  # 429s answered
    window: tuple[int, int] = (-1, 0)  # (index, count) of the fixed window
    looked_up: deque[float] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/_sandbox/records", lambda _: JSONResponse(self.records)),
            Route("/_sandbox/requests", lambda _: JSONResponse(self.requests)),
            Route("/v2/meta/{object}/fields", self.api, methods=["GET"]),
            Route("/v2/{object}/batch", self.api, methods=["POST"]),
            Route("/v2/{object}/{id}", self.api, methods=["PATCH"]),
            Route("/v2/{object}", self.api, methods=["GET"]),
        ])

    async def api(self, request: Request) -> JSONResponse:
        body = json.loads(await request.body() or b"null")
        with self.lock:
            answer = self.limited(request, body) or self.handle(request, body)
            self.requests.append({"at": time.time(), "method": request.method, "path": request.url.path,
                                  "status": answer.status_code, "headers": {
                                      k: v for k, v in request.headers.items() if k != "authorization"}})
        if self.credits is not None:
            answer.headers["X-Credits-Remaining"] = str(self.credits)
        return answer

    def limited(self, request: Request, body: Any) -> JSONResponse | None:
        """A 429 when this request breaks a limit (and then it is not counted, nor applied)."""
        now = time.time()
        if self.fixed is not None:
            requests, seconds = self.fixed
            index = int(now // seconds)
            count = self.window[1] if self.window[0] == index else 0
            if count >= requests:
                return self.too_many("RATE_LIMITED", (index + 1) * seconds - now)
            self.window = (index, count + 1)
        if self.lookups is not None and request.method == "GET" and "filter" in request.query_params:
            requests, seconds = self.lookups
            while self.looked_up and self.looked_up[0] <= now - seconds:
                self.looked_up.popleft()
            if len(self.looked_up) >= requests:
                return self.too_many("SEARCH_RATE_LIMITED", self.looked_up[0] + seconds - now)
            self.looked_up.append(now)
        if self.credits is not None:
            cost = self.cost(request, body)
            if cost > self.credits:
                return self.too_many("CREDITS_EXHAUSTED", 3600)
            self.credits -= cost
        return None

    def cost(self, request: Request, body: Any) -> int:
        if request.url.path.endswith("/batch"):
            return -(-len(body["records"]) // self.per_records)
        return 1

    def too_many(self, code: str, wait_s: float) -> JSONResponse:
        self.refused += 1
        return JSONResponse({"error": {"code": code, "message": "limit exceeded"}}, 429,
                            headers={"Retry-After": f"{max(wait_s, 0.01):.3f}"})

    def handle(self, request: Request, body: Any) -> JSONResponse:
        obj = request.path_params["object"]
        if obj not in OBJECTS:
            return JSONResponse({"error": {"code": "NOT_FOUND", "message": obj}}, 404)
        if request.url.path.startswith("/v2/meta/"):
            return JSONResponse({"fields": FIELDS[obj]})
        if request.method == "GET":
            wanted = CONDITION.findall(request.query_params.get("filter", ""))
            found = [r for r in self.records[obj] if any(str(r.get(k)) == v for k, v in wanted)]
            return JSONResponse({"data": found, "links": {}})
        if request.method == "POST":
            return JSONResponse({"results": [self.create(obj, item) for item in body["records"]],
                                 "errors": []})
        record = next((r for r in self.records[obj] if r["id"] == request.path_params["id"]), None)
        if record is None:
            return JSONResponse({"error": {"code": "NOT_FOUND", "message": "no such record"}}, 404)
        record.update(body)
        return JSONResponse(record)

    def create(self, obj: str, item: dict[str, Any]) -> dict[str, Any]:
        ref = item.pop("client_ref")
        record = {"id": f"{obj[0]}{len(self.records[obj]) + 1}", **item}
        self.records[obj].append(record)
        return {"client_ref": ref, "id": record["id"]} if self.create_ids else {"client_ref": ref,
                                                                                   "status": "created"}


CONNECTOR = """\
name: tinylimits
label: TinyCRM
base_url: https://api.tinycrm.example
api_version: v2
auth:
  flows: [{kind: static_token}]
  token_expired: [{status: 401}]
  refresh_refused: [{status: 400}]
<<limits>>
literal: {quote: '"', escapes: {'"': '\\\\"'}, exact: "{field} == {literal}", join: " || "}
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
      phone: {type: phone}
endpoints:
  lookup:
    method: GET
    path: /{api_version}/{object}
    query: {filter: "{match}", fields: "{fields}"}
    max_values: <<max_values>>
    response: {records: "$.data[*]", id: $.id}
  create:
    method: POST
    path: /{api_version}/{object}/batch
    body: {records: $items}
    item: {client_ref: "{ref}", $merge: $fields}
    batch: {max: <<batch>>, items: items}
    response: {records: "$.results[*]", id: $.id, order: key, key: $.client_ref, errors: "$.errors[*]"}
<<create_cost>>
  update: {method: PATCH, path: "/{api_version}/{object}/{id}", body: $fields}
  metadata: {method: GET, path: "/{api_version}/meta/{object}/fields", response: {records: "$.fields[*]"}}
metadata: {name: $.key, type: $.type, type_map: {text: string, phone: phone, email: email}}
errors:
  body: {code: $.error.code, message: $.error.message}
  item: {code: $.code, message: $.message}
  classes:
    - {kind: validation, statuses: [400, 422]}
    - {kind: not_found, statuses: [404]}
    - {kind: rate_limit, statuses: [429], retry: true}
"""

PROFILE = """\
name: tinylimits-companies
connector: ./tinylimits.yaml
streams:
  employer:
    object: company
    identity: {key: domain, source: {domain: $.website}}
    fields:
      name: {source: $.name, overwrite: true}
      phone: $.phone
"""


def write_files(directory: Path, limits: str, *, companies: int = 12, batch: int = 2, max_values: int = 50,
                create_cost: str = "") -> Path:
    """A connector with these `limits:` lines, a profile and `companies` source records in `directory`;
    returns the profile."""
    directory.mkdir(parents=True, exist_ok=True)
    cost = f"    cost: {create_cost}" if create_cost else ""
    text = CONNECTOR
    values = {"limits": limits, "batch": batch, "max_values": max_values, "create_cost": cost}
    for name, value in values.items():
        text = text.replace(f"<<{name}>>", str(value))
    (directory / "tinylimits.yaml").write_text(text, encoding="utf-8")
    (directory / "profile.yaml").write_text(PROFILE, encoding="utf-8")
    source = directory / "source"
    source.mkdir(exist_ok=True)
    lines = [json.dumps({"id": f"e{i}", "name": f"Company {i}", "website": f"https://company{i}.example",
                         "phone": "+12125550100"}) for i in range(companies)]
    (source / "employer.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory / "profile.yaml"

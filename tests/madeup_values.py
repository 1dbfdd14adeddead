"""LinkCRM, a made-up CRM whose field values are not scalars on the wire, served on 127.0.0.1 for the
tests of issue 10's points 3-5 (tests/test_values_*.py). Its connector is the worked example of
docs/connector-spec.md (`<!-- tested: values-connector -->`).

Its people answer `emails` and `phones` as lists of `{value, primary, label}`, their organisation as
`org: {id, name}` while it is written as `org_id`, and their custom fields nested under
`custom_fields`; a person is linked to other organisations by link records of their own
(`POST /v1/people/{id}/links`). A write in another shape is refused (422), as a real CRM would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from engine.sandbox.common import running

Record = dict[str, Any]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class LinkCrm:
    """In-memory orgs, people and links; `sent` lists every API request as (method, path, body)."""

    name = "linkcrm"

    def __init__(self) -> None:
        self.base_url = ""
        self.records: dict[str, dict[int, Record]] = {"orgs": {}, "people": {}}
        self.links: dict[int, list[int]] = {}
        self.sent: list[tuple[str, str, Any]] = []
        self.next_id = 1
        self.lock = threading.Lock()

    # ----- what tests use -----------------------------------------------------------------------
    def add(self, object_name: str, fields: Record) -> int:
        with self.lock:
            record_id = self.next_id
            self.next_id += 1
            self.records[object_name][record_id] = {**fields, "id": record_id}
            return record_id

    def view(self, object_name: str, record_id: int) -> Record:
        """A record as the API answers it."""
        stored = dict(self.records[object_name][record_id])
        if object_name == "people":
            org_id = stored.pop("org_id", None)
            org = self.records["orgs"].get(org_id) if org_id is not None else None
            stored["org"] = {"id": org_id, "name": org.get("name")} if org else None
            stored.setdefault("emails", [])
            stored.setdefault("phones", [])
            stored.setdefault("custom_fields", {})
        return stored

    def writes(self, method: str) -> list[tuple[str, str, Any]]:
        return [s for s in self.sent if s[0] == method]

    # ----- the API ------------------------------------------------------------------------------
    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/{object}/search", self.search, methods=["POST"]),
            Route("/v1/{object}/fields", self.fields, methods=["GET"]),
            Route("/v1/people/{id:int}/links", self.add_link, methods=["POST"]),
            Route("/v1/people/{id:int}/links", self.read_links, methods=["GET"]),
            Route("/v1/{object}", self.create, methods=["POST"]),
            Route("/v1/{object}", self.list, methods=["GET"]),
            Route("/v1/{object}/{id:int}", self.update, methods=["PATCH"]),
        ])

    async def _body(self, request: Request) -> Any:
        body = await request.json() if request.method in ("POST", "PATCH") else None
        self.sent.append((request.method, request.url.path, body))
        return body

    @staticmethod
    def _refused(request: Request) -> JSONResponse | None:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return _error(401, "UNAUTHORIZED", "no API token")
        object_name = request.path_params.get("object", "people")
        if object_name not in ("orgs", "people"):
            return _error(404, "NOT_FOUND", f"no object {object_name}")
        return None

    async def search(self, request: Request) -> JSONResponse:
        body = await self._body(request)
        if refused := self._refused(request):
            return refused
        object_name = request.path_params["object"]
        wanted = {str(v).lower() for v in body.get("values", [])}
        found = [self.view(object_name, i) for i in sorted(self.records[object_name])
                 if wanted & {str(v).lower() for v in _searched(self.view(object_name, i), body["field"])}]
        return JSONResponse({"data": found})

    async def fields(self, request: Request) -> JSONResponse:
        await self._body(request)
        return self._refused(request) or JSONResponse({"fields": []})

    async def list(self, request: Request) -> JSONResponse:
        await self._body(request)
        object_name = request.path_params["object"]
        return self._refused(request) or JSONResponse(
            {"data": [self.view(object_name, i) for i in sorted(self.records[object_name])]})

    async def create(self, request: Request) -> JSONResponse:
        body = await self._body(request)
        if refused := self._refused(request):
            return refused
        object_name = request.path_params["object"]
        problem = _shape_problem(body, self.records["orgs"])
        if problem:
            return _error(422, "INVALID_VALUE", problem)
        record_id = self.add(object_name, _stored(body))
        return JSONResponse({"data": self.view(object_name, record_id)}, status_code=201)

    async def update(self, request: Request) -> JSONResponse:
        body = await self._body(request)
        if refused := self._refused(request):
            return refused
        object_name, record_id = request.path_params["object"], request.path_params["id"]
        stored = self.records[object_name].get(record_id)
        if stored is None:
            return _error(404, "NOT_FOUND", f"no {object_name} {record_id}")
        problem = _shape_problem(body, self.records["orgs"])
        if problem:
            return _error(422, "INVALID_VALUE", problem)
        changes = _stored(body)
        custom = {**stored.get("custom_fields", {}), **changes.pop("custom_fields", {})}
        stored.update(changes)
        if custom:
            stored["custom_fields"] = custom
        return JSONResponse({"data": self.view(object_name, record_id)})

    async def add_link(self, request: Request) -> JSONResponse:
        body = await self._body(request)
        if refused := self._refused(request):
            return refused
        person_id = request.path_params["id"]
        org_id = _as_id(body.get("org_id"))
        if person_id not in self.records["people"] or org_id not in self.records["orgs"]:
            return _error(404, "NOT_FOUND", "no such person or org")
        with self.lock:
            links = self.links.setdefault(person_id, [])
            if org_id not in links:
                links.append(org_id)
        return JSONResponse({"data": {"person_id": person_id, "org_id": org_id}}, status_code=201)

    async def read_links(self, request: Request) -> JSONResponse:
        await self._body(request)
        if refused := self._refused(request):
            return refused
        person_id = request.path_params["id"]
        return JSONResponse({"person_id": person_id,
                             "links": [{"org_id": o} for o in self.links.get(person_id, [])]})


def _as_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _searched(record: Record, field: str) -> list[Any]:
    """The values a search on `field` compares: `email` is any of the emails, a dotted name nests."""
    if field == "email":
        return [e.get("value") for e in record.get("emails", [])]
    node: Any = record
    for key in field.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return [node] if node is not None else []


def _shape_problem(body: Any, orgs: dict[int, Record]) -> str | None:
    """Why a write body is not in LinkCRM's shape, or None."""
    if not isinstance(body, dict):
        return "the body is a JSON object of fields"
    for key in ("emails", "phones"):
        items = body.get(key)
        if key in body and items is not None and not (
                isinstance(items, list) and all(isinstance(i, dict) and "value" in i for i in items)):
            return f"{key} is a list of {{value, primary, label}}, not {items!r}"
    if "org" in body:
        return "org is read only; write org_id"
    if "org_id" in body and body["org_id"] is not None and _as_id(body["org_id"]) not in orgs:
        return f"org_id {body['org_id']!r} is no org"
    if "custom_fields" in body and not isinstance(body["custom_fields"], dict):
        return "custom_fields is an object"
    stray = [k for k in body if k not in ("name", "domain", "emails", "phones", "org_id", "custom_fields")]
    return f"unknown fields {stray}" if stray else None


def _stored(body: Record) -> Record:
    stored = dict(body)
    if stored.get("org_id") is not None:
        stored["org_id"] = _as_id(stored["org_id"])
    return stored


@contextmanager
def served() -> Iterator[tuple[LinkCrm, str]]:
    """LinkCRM served on a free 127.0.0.1 port, and its base URL."""
    crm = LinkCrm()
    with running(crm) as url:  # type: ignore[arg-type]  # running() needs only name, base_url and app()
        yield crm, url

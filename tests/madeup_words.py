"""WordCRM, a made-up CRM that answers each record's outcome as a word, served on 127.0.0.1 for the tests
of `response.success_values`, `created_values`, `refused_with_results` and `errors.classes[].fields`
(tests/test_words_results.py).

A batch write answers one result per record, in input order: `{"status": "ok", "id": 7, "outcome":
"created"|"merged"}` or `{"status": "error", "code": "BAD_VALUE", "message": ..., "field": ...}`; 207
when some were written, 400 (with the same results) when none was. A person named "Queued ..." is
answered `{"status": "queued", "id": ...}` and never stored: a word that is not "ok" is not a success.
An update of an id that is not there is `BAD_VALUE` naming the field `id`.
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


def _bad(field: str, message: str) -> Record:
    return {"status": "error", "code": "BAD_VALUE", "message": message, "field": field}


class WordCrm:
    """In-memory people; `sent` lists every API request as (method, path)."""

    name = "wordcrm"

    def __init__(self) -> None:
        self.base_url = ""
        self.people: dict[int, Record] = {}
        self.sent: list[tuple[str, str]] = []
        self.next_id = 1
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/people/search", self.search, methods=["POST"]),
            Route("/v1/people/upsert", self.upsert, methods=["POST"]),
            Route("/v1/people", self.update, methods=["PUT"]),
            Route("/v1/people/fields", self.fields, methods=["GET"]),
        ])

    async def fields(self, request: Request) -> JSONResponse:
        self.sent.append((request.method, request.url.path))
        return JSONResponse({"fields": []})

    async def _body(self, request: Request) -> Any:
        self.sent.append((request.method, request.url.path))
        return await request.json()

    async def search(self, request: Request) -> JSONResponse:
        body = await self._body(request)
        wanted = {str(v).lower() for v in body.get("values", [])}
        found = [p for p in self.people.values() if str(p.get(body["field"], "")).lower() in wanted]
        return JSONResponse({"data": found})

    async def upsert(self, request: Request) -> JSONResponse:
        body = await self._body(request)
        with self.lock:
            results = [self._upsert_one(row, body["match_on"]) for row in body["data"]]
        return _answer(results)

    async def update(self, request: Request) -> JSONResponse:
        body = await self._body(request)
        with self.lock:
            results = [self._update_one(row) for row in body["data"]]
        return _answer(results)

    def _upsert_one(self, row: Record, match_on: str) -> Record:
        if not row.get("name"):
            return _bad("name", "a person needs a name")
        if str(row["name"]).startswith("Queued"):
            return {"status": "queued", "id": 999}
        same = next((p for p in self.people.values() if p.get(match_on) == row.get(match_on)), None)
        if same is not None:
            same.update(row)
            return {"status": "ok", "id": same["id"], "outcome": "merged"}
        record_id, self.next_id = self.next_id, self.next_id + 1
        self.people[record_id] = {**row, "id": record_id}
        return {"status": "ok", "id": record_id, "outcome": "created"}

    def _update_one(self, row: Record) -> Record:
        stored = self.people.get(int(row.get("id", 0)))
        if stored is None:
            return _bad("id", "no such record")
        stored.update({k: v for k, v in row.items() if k != "id"})
        return {"status": "ok", "id": stored["id"]}


def _answer(results: list[Record]) -> JSONResponse:
    written = sum(r["status"] == "ok" for r in results)
    status = 200 if written == len(results) else 207 if written else 400
    return JSONResponse({"data": results}, status_code=status)


@contextmanager
def served() -> Iterator[tuple[WordCrm, str]]:
    """WordCRM served on a free 127.0.0.1 port, and its base URL."""
    crm = WordCrm()
    with running(crm) as url:  # type: ignore[arg-type]  # running() needs only name, base_url and app()
        yield crm, url

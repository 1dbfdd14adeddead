"""Composite (REST API Developer Guide, "Send Multiple Requests Using Composite", "Composite Request
Body", "Composite Response Body"): `POST /services/data/vXX.X/composite` runs up to 25 subrequests in
one call (counted as one call of the daily allocation), at most 5 of them queries or sObject
Collections; each has `method`, `url`, `referenceId`, optional `body` and `httpHeaders`.

A later subrequest refers to an earlier one's answer with `@{referenceId.field}` (`.` for a field,
`[n]` for an item) in its url or body. The answer is 200 with `{"compositeResponse": [{"body",
"httpHeaders", "httpStatusCode", "referenceId"}]}`, one per subrequest in order. With `allOrNone` true
one failure rolls back the whole request: the failing subrequest keeps its error and every other one
answers 400 PROCESSING_HALTED ("The transaction was rolled back..."). With it false a subrequest that
refers to a failed one (or to a value its answer lacks) is not run and answers 400 PROCESSING_HALTED
("Invalid reference specified..."); the others run. `collateSubrequests` only lets Salesforce reorder
unrelated subrequests for speed: here they always run in order, one of the orders it allows. A request
with more than 25 subrequests answers LIMIT_EXCEEDED; a malformed one (no `compositeRequest`, a
subrequest without method, url or referenceId, a repeated or badly formed referenceId, an Accept,
Authorization or Content-Type sub-header) fails whole with 400.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.sandbox.salesforce_collections import all_or_none
from engine.sandbox.salesforce_rules import SalesforceError

MAX_SUBREQUESTS = 25
MAX_QUERIES_AND_COLLECTIONS = 5
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
INHERITED_HEADERS = ("accept", "authorization", "content-type")
REFERENCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")
REFERENCE = re.compile(r"@\{([A-Za-z0-9][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+|\[\d+\])+)\}")
ROLLED_BACK = "The transaction was rolled back since another operation in the same transaction failed."


class Unresolved(Exception):
    """A reference with no value: the subrequest is not run."""


def halted(message: str) -> dict[str, Any]:
    return {"body": [{"errorCode": "PROCESSING_HALTED", "message": message}], "httpHeaders": {},
            "httpStatusCode": 400}


def invalid_reference(expression: str, reference_id: str) -> str:
    return (f"Invalid reference specified. No value for {expression} found in {reference_id}. Provided "
            f"referenceId ('{reference_id}') must start with a letter or a number, and it can contain "
            "only letters, numbers and underscores ('_').")


def malformed(message: str) -> SalesforceError:
    return SalesforceError(400, "JSON_PARSER_ERROR", message)


def resolve(expression: str, reference_id: str, path: str, answers: dict[str, Any]) -> Any:
    """The value `@{reference_id<path>}` stands for in the earlier answers."""
    if reference_id not in answers:
        raise Unresolved(invalid_reference(expression, reference_id))
    value = answers[reference_id]
    for name, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        if name and isinstance(value, dict) and name in value:
            value = value[name]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            raise Unresolved(invalid_reference(expression, reference_id))
    if value is None:
        raise Unresolved(invalid_reference(expression, reference_id))
    return value


def substitute(value: Any, answers: dict[str, Any]) -> Any:
    """`value` with every reference replaced: a string that is one whole reference takes the value
    itself (a number stays a number), one inside text takes its text."""
    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value)
        if whole:
            return resolve(value[2:-1], whole[1], whole[2], answers)
        return REFERENCE.sub(lambda m: str(resolve(m[0][2:-1], m[1], m[2], answers)), value)
    if isinstance(value, dict):
        return {k: substitute(v, answers) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, answers) for v in value]
    return value


class CompositeMixin:
    """Needs the host's `route`, `segments`, `parse_version`, records and `records_changed`."""

    records: dict[str, dict[str, dict[str, Any]]]
    current_version: str

    def composite(self, request: Request, body: Any) -> Response:
        subrequests, atomic = self.composite_request(body)
        if len(subrequests) > MAX_SUBREQUESTS:
            return JSONResponse({"compositeResponse": [{
                "body": [{"errorCode": "LIMIT_EXCEEDED",
                          "message": f"The request can’t contain more than {MAX_SUBREQUESTS} operations."}],
                "httpHeaders": {}, "httpStatusCode": 400, "referenceId": None}]})
        before = copy.deepcopy(self.records) if atomic else None
        answers: dict[str, Any] = {}
        results: list[dict[str, Any]] = []
        for sub in subrequests:
            if atomic and any(r["httpStatusCode"] >= 400 for r in results):
                results.append({**halted(ROLLED_BACK), "referenceId": sub["referenceId"]})
                continue
            result = self.run_subrequest(request, sub, answers)
            if result["httpStatusCode"] < 400:
                answers[sub["referenceId"]] = result["body"]
            results.append({**result, "referenceId": sub["referenceId"]})
        failed = [r for r in results if r["httpStatusCode"] >= 400]
        if atomic and failed and before is not None:
            self.roll_back(before)
            first = failed[0]
            results = [r if r is first else {**halted(ROLLED_BACK), "referenceId": r["referenceId"]}
                       for r in results]
        return JSONResponse({"compositeResponse": results})

    def composite_request(self, body: Any) -> tuple[list[dict[str, Any]], bool]:
        if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
            raise malformed("The request body needs a compositeRequest array of subrequests")
        subrequests = body["compositeRequest"]
        seen: set[str] = set()
        for sub in subrequests[:MAX_SUBREQUESTS]:
            self.check_subrequest(sub, seen)
        heavy = sum(1 for sub in subrequests[:MAX_SUBREQUESTS] if self.is_query_or_collection(sub["url"]))
        if heavy > MAX_QUERIES_AND_COLLECTIONS:
            raise SalesforceError(400, "LIMIT_EXCEEDED", "The request can’t contain more than "
                                  f"{MAX_QUERIES_AND_COLLECTIONS} query or sObject Collections operations.")
        return subrequests, all_or_none(body)

    @staticmethod
    def check_subrequest(sub: Any, seen: set[str]) -> None:
        if not isinstance(sub, dict):
            raise malformed("Each subrequest must be an object with method, url and referenceId")
        for key in ("method", "url", "referenceId"):
            if not isinstance(sub.get(key), str) or not sub[key]:
                raise malformed(f"A subrequest is missing its {key}")
        if sub["method"] not in METHODS:
            raise malformed(f"Invalid method '{sub['method']}'; use one of {', '.join(METHODS)}")
        reference_id = sub["referenceId"]
        if not REFERENCE_ID.fullmatch(reference_id):
            raise SalesforceError(400, "INVALID_INPUT", f"Provided referenceId ('{reference_id}') must start "
                                  "with a letter or a number, and it can contain only letters, numbers and "
                                  "underscores ('_').")
        if reference_id in seen:
            raise SalesforceError(400, "INVALID_INPUT", f"Duplicate referenceId provided: {reference_id}")
        seen.add(reference_id)
        headers = sub.get("httpHeaders") or {}
        if not isinstance(headers, dict) or any(str(h).lower() in INHERITED_HEADERS for h in headers):
            raise malformed("A subrequest may not set Accept, Authorization or Content-Type: it inherits "
                            "them")

    @staticmethod
    def is_query_or_collection(url: str) -> bool:
        parts = [p for p in urlsplit(url).path.split("/") if p][3:]  # after services, data, vXX.X
        return parts[:1] in (["query"], ["queryAll"]) or parts[:2] == ["composite", "sobjects"]

    def run_subrequest(self, top: Request, sub: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
        try:
            url = substitute(sub["url"], answers)
            body = substitute(sub.get("body"), answers)
        except Unresolved as exc:
            return halted(str(exc))
        request = self.sub_request(top, sub["method"], url, sub.get("httpHeaders") or {})
        version = self.current_version
        try:
            response = self.route_subrequest(request, url, body)
        except SalesforceError as exc:
            response = exc.response()
        finally:
            self.current_version = version
        answer = json.loads(response.body) if response.body else None
        return {"body": answer, "httpHeaders": self.answer_headers(response, url, answer),
                "httpStatusCode": response.status_code}

    def route_subrequest(self, request: Request, url: str, body: Any) -> Response:
        parts = self.segments(request)  # type: ignore[attr-defined]
        if not url.startswith("/services/data/") or not parts:
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        version = self.parse_version(parts[0])  # type: ignore[attr-defined]
        if version is None:
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        if parts[1:2] == ["composite"] and parts[2:3] != ["sobjects"]:
            raise SalesforceError(400, "INVALID_INPUT", "A composite request cannot contain another one")
        self.current_version = version
        raw = json.dumps(body).encode() if body is not None else b""
        return self.route(request, parts[1:], raw)  # type: ignore[attr-defined]

    @staticmethod
    def sub_request(top: Request, method: str, url: str, headers: dict[str, str]) -> Request:
        split = urlsplit(url)
        inherited = [(k, v) for k, v in top.headers.raw if k.decode("latin-1") in INHERITED_HEADERS]
        own = [(str(k).lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]
        path = unquote(split.path)
        return Request({"type": "http", "method": method, "path": path, "raw_path": split.path.encode(),
                        "query_string": split.query.encode(), "headers": inherited + own})

    def answer_headers(self, response: Response, url: str, answer: Any) -> dict[str, str]:
        if response.status_code == 201 and isinstance(answer, dict) and answer.get("id"):
            path = urlsplit(url).path.rstrip("/")
            object_path = "/".join(path.split("/")[:6])  # /services/data/vXX.X/sobjects/Object
            return {"Location": f"{object_path}/{answer['id']}"}
        return {}

    def roll_back(self, before: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.records.clear()
        self.records.update(before)
        for object_name in self.records:
            self.records_changed(object_name)  # type: ignore[attr-defined]

"""Single-record resources: sObject Basic Information, Describe, Rows (GET/PATCH/DELETE by id) and
Rows by External ID (GET, upsert by PATCH, DELETE), as in the REST API Developer Guide ("Create a
Record", "Update a Record", "Insert or Update (Upsert) a Record Using an External ID").

Statuses: create 201 `{"id","success","errors"}`; update and delete 204; upsert 201 with
`"created": true` for a new record and, from API 46.0, 200 with `"created": false` for an update
(204 without a body before 46.0); 300 with the matching records' URLs when the external id matches
more than one; 400 with the error array when a value breaks a rule; 404 NOT_FOUND otherwise.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.sandbox.salesforce_ids import normalize, object_of
from engine.sandbox.salesforce_records import Prepared, WriteOptions
from engine.sandbox.salesforce_rules import SalesforceError, not_found
from engine.sandbox.salesforce_schema import describe, object_summary

CREATED_FLAG_SINCE = 46.0
UPDATE_ONLY_SINCE = 61.0


def write_failed(prepared: Prepared) -> SalesforceError:
    return SalesforceError.of(400, prepared.errors)


class SObjectRoutesMixin:
    """Needs RecordsMixin and the host's version, schema and options."""

    schema: dict[str, dict[str, dict[str, Any]]]
    current_version: str
    upsert_ext_id_in_body: str

    def object_name(self, raw: str) -> str:
        names = {n.lower(): n for n in self.schema}
        if raw.lower() not in names:
            raise not_found()
        return names[raw.lower()]

    @property
    def version_number(self) -> float:
        return float(self.current_version)

    # ----- metadata --------------------------------------------------------------------------
    def describe_global(self) -> Response:
        return JSONResponse(
            {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [object_summary(self.current_version, name) for name in self.schema],
            }
        )

    def basic_info(self, object_name: str) -> Response:
        recent = sorted(self.live(object_name), key=lambda r: r["LastModifiedDate"], reverse=True)[:5]
        return JSONResponse(
            {
                "objectDescribe": object_summary(self.current_version, object_name),
                "recentItems": [self.public(object_name, r, ["Id", "Name"]) for r in recent],
            }
        )

    def describe(self, object_name: str) -> Response:
        return JSONResponse(describe(self.current_version, object_name, self.schema[object_name]))

    # ----- create, read, update, delete by id --------------------------------------------------
    def create(self, object_name: str, body: Any, options: WriteOptions) -> Response:
        fields = self.parse_fields(object_name, body)
        prepared = self.prepare(object_name, fields, None, options)
        if prepared.errors:
            raise write_failed(prepared)
        record_id = self.store_new(prepared)
        return JSONResponse({"id": record_id, "success": True, "errors": []}, status_code=201)

    def selected_fields(self, object_name: str, request: Request) -> list[str] | None:
        raw = request.query_params.get("fields")
        if not raw:
            return None
        names = {n.lower(): n for n in self.schema[object_name]}
        out = []
        for name in (part.strip() for part in raw.split(",") if part.strip()):
            if name.lower() not in names:
                raise SalesforceError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{name}' on entity '{object_name}'. "
                    "If you are attempting to use a custom field, be sure to append the '__c' "
                    "after the custom field name. Please reference your WSDL or the describe "
                    "call for the appropriate names.",
                )
            out.append(names[name.lower()])
        return out

    def record_by_id(self, object_name: str, raw_id: str) -> dict[str, Any]:
        if normalize(raw_id) is None:
            raise not_found(f"Provided external ID field does not exist or is not accessible: {raw_id}")
        record = self.get_record(object_name, raw_id)
        if record is None:
            raise not_found()
        return record

    def get_one(self, object_name: str, raw_id: str, request: Request) -> Response:
        record = self.record_by_id(object_name, raw_id)
        return JSONResponse(self.public(object_name, record, self.selected_fields(object_name, request)))

    def update_one(self, object_name: str, raw_id: str, body: Any, options: WriteOptions) -> Response:
        record = self.record_by_id(object_name, raw_id)
        fields = self.parse_fields(object_name, body)
        prepared = self.prepare(object_name, fields, record["Id"], options)
        if prepared.errors:
            raise write_failed(prepared)
        self.store_update(prepared)
        return Response(status_code=204)

    def delete_one(self, object_name: str, raw_id: str) -> Response:
        record_id = normalize(raw_id)
        record = self.records[object_name].get(record_id or "") if record_id else None
        if record is not None and record["IsDeleted"]:
            raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
        self.record_by_id(object_name, raw_id)
        self.delete_record(object_name, record_id or "")
        return Response(status_code=204)

    # ----- by external id ---------------------------------------------------------------------
    def external_field(self, object_name: str, field_name: str) -> str:
        names = {n.lower(): n for n in self.schema[object_name]}
        canonical = names.get(field_name.lower(), field_name)
        if self.external_id_field(object_name, canonical) is None:
            raise not_found()
        return canonical

    def matches(self, object_name: str, field_name: str, value: str) -> list[dict[str, Any]]:
        if field_name == "Id":
            record = self.get_record(object_name, value)
            return [record] if record else []
        return self.find_by_field(object_name, field_name, value)

    def multiple_choices(self, object_name: str, hits: list[dict[str, Any]]) -> Response:
        urls = [self.attributes(object_name, h["Id"])["url"] for h in hits]
        return JSONResponse(urls, status_code=300)

    def one_by_external(self, object_name: str, field_name: str, value: str) -> dict[str, Any] | Response:
        """The one record whose external id is `value`, or the 300 listing several; 404 for none."""
        field_name = self.external_field(object_name, field_name)
        hits = self.matches(object_name, field_name, value)
        if len(hits) > 1:
            return self.multiple_choices(object_name, hits)
        if not hits:
            raise not_found()
        return hits[0]

    def get_by_external(self, object_name: str, field_name: str, value: str, request: Request) -> Response:
        found = self.one_by_external(object_name, field_name, value)
        if isinstance(found, Response):
            return found
        return JSONResponse(self.public(object_name, found, self.selected_fields(object_name, request)))

    def delete_by_external(self, object_name: str, field_name: str, value: str) -> Response:
        found = self.one_by_external(object_name, field_name, value)
        if isinstance(found, Response):
            return found
        self.delete_record(object_name, found["Id"])
        return Response(status_code=204)

    def upsert(
        self,
        object_name: str,
        field_name: str,
        value: str,
        body: Any,
        request: Request,
        options: WriteOptions,
    ) -> Response:
        if field_name.lower() == "id":
            raise SalesforceError(
                405, "METHOD_NOT_ALLOWED", "HTTP Method 'PATCH' not allowed. Allowed are GET,HEAD,POST"
            )
        field_name = self.external_field(object_name, field_name)
        fields = self.parse_fields(object_name, body)
        if field_name in fields and self.upsert_ext_id_in_body == "error":
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"The external ID field {field_name} can't be set in the "
                "request body of an upsert on that field; it comes from the URL.",
                [field_name],
            )
        fields.pop(field_name, None)
        hits = self.find_by_field(object_name, field_name, value)
        if len(hits) > 1:
            return self.multiple_choices(object_name, hits)
        update_only = request.query_params.get("updateOnly", "").lower() == "true"
        if not hits and update_only and self.version_number >= UPDATE_ONLY_SINCE:
            raise not_found()
        record_id = hits[0]["Id"] if hits else None
        if record_id is None:
            fields[field_name] = value
        prepared = self.prepare(object_name, fields, record_id, options)
        if prepared.errors:
            raise write_failed(prepared)
        with_flag = self.version_number >= CREATED_FLAG_SINCE
        if record_id is None:
            new_id = self.store_new(prepared)
            body_out: dict[str, Any] = {"id": new_id, "success": True, "errors": []}
            if with_flag:
                body_out["created"] = True
            return JSONResponse(body_out, status_code=201)
        self.store_update(prepared)
        if not with_flag:
            return Response(status_code=204)
        return JSONResponse({"id": record_id, "success": True, "errors": [], "created": False})

    def route_sobjects(
        self, request: Request, parts: list[str], body: Any, options: WriteOptions
    ) -> Response:
        """parts: what follows /sobjects/ in the path."""
        method = request.method
        if not parts:
            return self.describe_global() if method == "GET" else method_not_allowed(method, "GET")
        object_name = self.object_name(parts[0])
        rest = parts[1:]
        if not rest:
            if method == "GET":
                return self.basic_info(object_name)
            return (
                self.create(object_name, body, options)
                if method == "POST"
                else method_not_allowed(method, "GET,POST")
            )
        if rest == ["describe"]:
            return self.describe(object_name) if method == "GET" else method_not_allowed(method, "GET")
        if len(rest) == 1:
            if rest[0].lower() == "id":
                return (
                    self.create(object_name, body, options)
                    if method == "POST"
                    else method_not_allowed(method, "GET,HEAD,POST")
                )
            handlers = {
                "GET": lambda: self.get_one(object_name, rest[0], request),
                "PATCH": lambda: self.update_one(object_name, rest[0], body, options),
                "DELETE": lambda: self.delete_one(object_name, rest[0]),
            }
            return (
                handlers[method]() if method in handlers else method_not_allowed(method, "GET,PATCH,DELETE")
            )
        if len(rest) == 2:
            field_name, value = rest
            handlers = {
                "GET": lambda: self.get_by_external(object_name, field_name, value, request),
                "PATCH": lambda: self.upsert(object_name, field_name, value, body, request, options),
                "DELETE": lambda: self.delete_by_external(object_name, field_name, value),
            }
            return (
                handlers[method]() if method in handlers else method_not_allowed(method, "GET,PATCH,DELETE")
            )
        raise not_found()


def method_not_allowed(method: str, allowed: str) -> Response:
    raise SalesforceError(
        405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}"
    )


__all__ = ["SObjectRoutesMixin", "object_of"]

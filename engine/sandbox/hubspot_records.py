"""CRM objects v3 for the HubSpot emulator: single and batch create/read/update/upsert/archive, list.

Spec: PublicApiSpecs/CRM/Contacts/Rollouts/424/v3/contacts.json (companies identical). Batch
operations take at most 100 inputs; ONE invalid input fails the whole batch with 400
VALIDATION_ERROR and nothing is written, unless every create input carries an `objectWriteTraceId`
(multi-status opt-in, https://developers.hubspot.com/docs/api-reference/error-handling), then the
valid ones are written and the others come back in `errors` with 207. An input without an attribute
the spec marks required (`properties` of a create, update or upsert input; `propertiesWithHistory` of
a batch read) fails the whole request with 400 (see `require`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.sandbox.hubspot_rules import (
    BadRequest,
    as_text,
    check_value,
    error,
    iso_ms,
    problem,
    property_errors_message,
    property_errors_response,
)
from engine.sandbox.hubspot_schema import DEFAULT_PROPERTIES, MODIFIED_PROPERTY

SINGULAR = {"companies": "COMPANY", "contacts": "CONTACT"}


@dataclass
class Prepared:
    """One input made ready to write: normalized properties, or why it cannot be written."""

    props: dict[str, str]
    problems: list[dict[str, Any]] = field(default_factory=list)
    conflict_id: str | None = None
    associations: list[tuple[str, str, int]] = field(default_factory=list)
    trace_id: str | None = None
    record_id: str | None = None
    new: bool = True


def now_iso() -> str:
    return iso_ms(datetime.now(UTC))


def batch_inputs(body: Any, limit: int) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise BadRequest('Invalid input JSON: the body needs an "inputs" list')
    inputs = body["inputs"]
    if len(inputs) > limit:
        raise BadRequest(f"Batch input limit exceeded: {len(inputs)} inputs given, the maximum is {limit}.")
    return inputs


def require(item: Any, names: tuple[str, ...], schema: str) -> None:
    """The attributes HubSpot's published OpenAPI marks required (contacts.json, components/schemas):
    an input without one fails the whole request, as HubSpot's JSON binding does."""
    missing = [name for name in names if not isinstance(item, dict) or item.get(name) is None]
    if missing:
        raise BadRequest(
            f"Invalid input JSON: Cannot build {schema}, some of required attributes are not set "
            f"[{', '.join(missing)}]"
        )


def batch_body(
    results: list[Any], started: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": now_iso(),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    return body


def standard_error(category: str, message: str, context: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    }


def query_list(request: Request, name: str) -> list[str] | None:
    values = request.query_params.getlist(name)
    if not values:
        return None
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


class RecordsMixin:
    """Needs from the host class: records, schema, options and the association store."""

    records: dict[str, dict[str, dict[str, Any]]]
    schema: dict[str, dict[str, dict[str, Any]]]
    duplicate_rules: bool
    upsert_domain: bool
    clock: Any
    created_at_clock: dict[tuple[str, str], float]
    next_id: int
    indexes: dict[tuple[str, str, bool, bool], dict[str, str]]

    # ----- helpers ------------------------------------------------------------------------
    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def active(self, object_type: str) -> list[dict[str, Any]]:
        return [r for r in self.records[object_type].values() if not r["archived"]]

    def find(
        self, object_type: str, key: str, id_property: str | None = None, archived: bool = False
    ) -> dict[str, Any] | None:
        if not id_property or id_property == "hs_object_id":
            record = self.records[object_type].get(key)
            return record if record and record["archived"] == archived else None
        folds = id_property in ("email", "domain")
        wanted = key.lower() if folds else key
        if not archived:
            found = self.value_index(object_type, id_property, fold=folds).get(wanted)
            return self.records[object_type][found] if found else None
        for record in self.records[object_type].values():
            value = record["properties"].get(id_property)
            folded = value.lower() if value is not None and folds else value
            if value is not None and record["archived"] and folded == wanted:
                return record
        return None

    def value_index(
        self, object_type: str, name: str, *, fold: bool, additional_emails: bool = False
    ) -> dict[str, str]:
        """Value of `name` (lower-cased with `fold`) -> id of the first active record holding it; with
        `additional_emails`, a contact's hs_additional_emails count too. Built on first use and dropped on
        every write, so a batch of look-ups or unique checks costs one pass over the records, not one each."""
        key = (object_type, name, fold, additional_emails)
        index = self.indexes.get(key)
        if index is None:
            index = {}
            for record in self.active(object_type):
                props = record["properties"]
                values = [props.get(name)]
                if additional_emails:
                    values += (props.get("hs_additional_emails") or "").split(";")
                for value in values:
                    if value:
                        index.setdefault(value.lower() if fold else value, str(record["id"]))
            self.indexes[key] = index
        return index

    def records_changed(self, object_type: str) -> None:
        for key in [k for k in self.indexes if k[0] == object_type]:
            del self.indexes[key]

    def check_id_property(self, object_type: str, id_property: str | None) -> None:
        if not id_property or id_property == "hs_object_id":
            return
        definition = self.schema[object_type].get(id_property)
        allowed = definition is not None and (
            definition["hasUniqueValue"]
            or (object_type == "contacts" and id_property == "email")
            or (object_type == "companies" and id_property == "domain" and self.upsert_domain)
        )
        if not allowed:
            raise BadRequest(
                f"{id_property} is not a unique property of {object_type}; idProperty must be a "
                f"property with hasUniqueValue{' or email' if object_type == 'contacts' else ''}"
            )

    def public(
        self,
        object_type: str,
        record: dict[str, Any],
        wanted: list[str] | None = None,
        everything: bool = False,
    ) -> dict[str, Any]:
        props = record["properties"]
        if everything:
            shown = dict(props)
        else:
            names = wanted if wanted is not None else DEFAULT_PROPERTIES[object_type]
            known = self.schema[object_type]
            shown = {n: props.get(n) for n in names if n in known and (wanted is not None or n in props)}
        out = {
            "id": record["id"],
            "properties": shown,
            "createdAt": record["createdAt"],
            "updatedAt": record["updatedAt"],
            "archived": record["archived"],
        }
        if record["archived"]:
            out["archivedAt"] = record.get("archivedAt", record["updatedAt"])
        return out

    # ----- validation ---------------------------------------------------------------------
    def prepare(
        self,
        object_type: str,
        raw: Any,
        record_id: str | None,
        claimed: dict[tuple[str, str], str] | None = None,
    ) -> Prepared:
        if not isinstance(raw, dict):
            raise BadRequest('Invalid input JSON: "properties" must be an object')
        prepared = Prepared(props={}, record_id=record_id, new=record_id is None)
        known = self.schema[object_type]
        for name, value in raw.items():
            definition = known.get(name)
            if definition is None:
                prepared.problems.append(problem("unknown", name, f'Property "{name}" does not exist'))
                continue
            text = as_text(value)
            if definition["modificationMetadata"]["readOnlyValue"]:
                prepared.problems.append(
                    problem("read_only", name, f'"{name}" is a read only property; its value cannot be set.')
                )
                continue
            if text is None or text == "":
                prepared.props[name] = ""
                continue
            normalized, bad = check_value(definition, text)
            if bad:
                prepared.problems.append(bad)
            prepared.props[name] = normalized
        if not prepared.problems:
            self._check_unique(object_type, prepared, claimed)
        return prepared

    def _check_unique(
        self, object_type: str, prepared: Prepared, claimed: dict[tuple[str, str], str] | None
    ) -> None:
        token = prepared.record_id or f"input-{id(prepared)}"
        for name, value in prepared.props.items():
            definition = self.schema[object_type][name]
            is_email = object_type == "contacts" and name == "email"
            if value == "" or not (definition["hasUniqueValue"] or is_email):
                continue
            owner = self._owner_of(object_type, name, value)
            if owner and owner != prepared.record_id:
                if is_email:
                    if self.duplicate_rules:
                        prepared.conflict_id = owner
                else:
                    prepared.problems.append(self._unique_problem(object_type, name, value, owner))
            key = (name, value.lower() if is_email else value)
            clash = claimed is not None and claimed.setdefault(key, token) != token and not owner
            if clash and (not is_email or self.duplicate_rules):
                prepared.problems.append(self._unique_problem(object_type, name, value, "in this batch"))

    @staticmethod
    def _unique_problem(object_type: str, name: str, value: str, owner: str) -> dict[str, Any]:
        where = owner if owner == "in this batch" else f"on {SINGULAR[object_type].lower()} {owner}"
        return problem(
            "unique", name, f"{value} is already the value of {name} {where}; {name} must be unique"
        )

    def _owner_of(self, object_type: str, name: str, value: str) -> str | None:
        if name == "email":
            return self.value_index(object_type, name, fold=True, additional_emails=True).get(value.lower())
        return self.value_index(object_type, name, fold=False).get(value)

    # ----- writing ------------------------------------------------------------------------
    def write_new(
        self, object_type: str, props: dict[str, str], record_id: str | None = None
    ) -> dict[str, Any]:
        record_id = record_id or self.new_id()
        stamp = now_iso()
        clean = {k: v for k, v in props.items() if v != ""}
        clean.update(
            {
                "hs_object_id": record_id,
                "createdate": clean.get("createdate", stamp),
                MODIFIED_PROPERTY[object_type]: stamp,
            }
        )
        record = {
            "id": record_id,
            "properties": clean,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }
        self.records[object_type][record_id] = record
        self.records_changed(object_type)
        self.created_at_clock[(object_type, record_id)] = self.clock()
        return record

    def write_update(self, object_type: str, record: dict[str, Any], props: dict[str, str]) -> dict[str, Any]:
        stamp = now_iso()
        for name, value in props.items():
            if value == "":
                record["properties"].pop(name, None)
            else:
                record["properties"][name] = value
        record["properties"][MODIFIED_PROPERTY[object_type]] = stamp
        record["updatedAt"] = stamp
        self.records_changed(object_type)
        return record

    @staticmethod
    def conflict(existing_id: str) -> JSONResponse:
        return error(409, "CONFLICT", f"Contact already exists. Existing ID: {existing_id}")

    def refuse(self, prepared: list[Prepared]) -> JSONResponse | None:
        """The whole-batch answer when any input is invalid: 400 first, then 409."""
        for item in prepared:
            if item.problems:
                return property_errors_response(item.problems)
        for item in prepared:
            if item.conflict_id:
                return self.conflict(item.conflict_id)
        return None

    # ----- create ---------------------------------------------------------------------------
    def prepare_create(
        self, object_type: str, item: Any, claimed: dict[tuple[str, str], str], schema: str
    ) -> Prepared:
        if not isinstance(item, dict):
            raise BadRequest("Invalid input JSON: each input must be an object")
        require(item, ("properties",), schema)
        prepared = self.prepare(object_type, item["properties"], None, claimed)
        prepared.associations = self.parse_create_associations(object_type, item.get("associations") or [])  # type: ignore[attr-defined]
        trace = item.get("objectWriteTraceId")
        prepared.trace_id = str(trace) if trace is not None else None
        return prepared

    def commit_create(self, object_type: str, prepared: Prepared) -> dict[str, Any]:
        record = self.write_new(object_type, prepared.props)
        for to_type, to_id, type_id in prepared.associations:
            self.associate(object_type, record["id"], to_type, to_id, type_id)  # type: ignore[attr-defined]
        return record

    def create_one(self, object_type: str, body: Any) -> Response:
        if not isinstance(body, dict):
            raise BadRequest("Invalid input JSON: the body must be an object")
        prepared = self.prepare_create(object_type, body, {}, "SimplePublicObjectInputForCreate")
        refused = self.refuse([prepared])
        if refused:
            return refused
        record = self.commit_create(object_type, prepared)
        return JSONResponse(self.public(object_type, record, everything=True), status_code=201)

    def batch_create(self, object_type: str, body: Any) -> Response:
        started = now_iso()
        inputs = batch_inputs(body, 100)
        claimed: dict[tuple[str, str], str] = {}
        schema = "SimplePublicObjectBatchInputForCreate"
        prepared = [self.prepare_create(object_type, item, claimed, schema) for item in inputs]
        multi_status = bool(prepared) and all(p.trace_id for p in prepared)
        if not multi_status:
            refused = self.refuse(prepared)
            if refused:
                return refused
        results, errors = [], []
        for item in prepared:
            if item.problems or item.conflict_id:
                errors.append(self._trace_error(item))
                continue
            results.append(self.public(object_type, self.commit_create(object_type, item), everything=True))
        return JSONResponse(batch_body(results, started, errors), status_code=207 if errors else 201)

    @staticmethod
    def _trace_error(item: Prepared) -> dict[str, Any]:
        context = {"objectWriteTraceId": [item.trace_id or ""]}
        if item.problems:
            return standard_error("VALIDATION_ERROR", property_errors_message(item.problems), context)
        return standard_error("CONFLICT", f"Contact already exists. Existing ID: {item.conflict_id}", context)

    # ----- read -----------------------------------------------------------------------------
    def get_one(self, object_type: str, key: str, request: Request) -> Response:
        id_property = request.query_params.get("idProperty")
        self.check_id_property(object_type, id_property)
        archived = request.query_params.get("archived", "false").lower() == "true"
        record = self.find(object_type, key, id_property, archived)
        if record is None:
            return self.not_found()
        return JSONResponse(self.public(object_type, record, query_list(request, "properties")))

    @staticmethod
    def not_found() -> JSONResponse:
        return error(404, "OBJECT_NOT_FOUND", "resource not found")

    def list_page(self, object_type: str, request: Request) -> Response:
        limit = self.int_param(request.query_params.get("limit"), 10, "limit")
        if not 1 <= limit <= 100:
            raise BadRequest(f"limit must be between 1 and 100, got {limit}")
        after = self.int_param(request.query_params.get("after"), 0, "after")
        archived = request.query_params.get("archived", "false").lower() == "true"
        rows = sorted(
            (r for r in self.records[object_type].values() if r["archived"] == archived),
            key=lambda r: int(r["id"]),
        )
        rows = [r for r in rows if int(r["id"]) >= after]
        wanted = query_list(request, "properties")
        body: dict[str, Any] = {"results": [self.public(object_type, r, wanted) for r in rows[:limit]]}
        if len(rows) > limit:
            nxt = rows[limit]["id"]
            body["paging"] = {
                "next": {"after": nxt, "link": f"{self.base_url}/crm/v3/objects/{object_type}?after={nxt}"}
            }  # type: ignore[attr-defined]
        return JSONResponse(body)

    @staticmethod
    def int_param(value: Any, default: int, name: str) -> int:
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise BadRequest(f"{name} must be an integer, got {value!r}") from None

    def batch_read(self, object_type: str, body: Any, request: Request) -> Response:
        started = now_iso()
        inputs = batch_inputs(body, 100)
        require(body, ("properties", "propertiesWithHistory"), "BatchReadInputSimplePublicObjectId")
        id_property = body.get("idProperty")
        self.check_id_property(object_type, id_property)
        archived = request.query_params.get("archived", "false").lower() == "true"
        wanted = body.get("properties") or None
        if wanted is not None and not isinstance(wanted, list):
            raise BadRequest("Invalid input JSON: properties must be a list")
        results, missing = [], []
        for item in inputs:
            key = str(item["id"])
            record = self.find(object_type, key, id_property, archived)
            if record is None:
                missing.append(key)
            else:
                results.append(self.public(object_type, record, wanted))
        return self._with_missing(object_type, results, missing, started, 200)

    def _with_missing(
        self, object_type: str, results: list[Any], missing: list[str], started: str, status: int
    ) -> Response:
        if not missing:
            return JSONResponse(batch_body(results, started), status_code=status)
        err = standard_error(
            "OBJECT_NOT_FOUND",
            f"Could not get some {SINGULAR[object_type]} objects, they may be "
            "deleted or not exist. Check that ids are valid.",
            {"ids": missing},
        )
        return JSONResponse(batch_body(results, started, [err]), status_code=207)

    # ----- update / upsert -------------------------------------------------------------------
    def update_one(self, object_type: str, key: str, body: Any, request: Request) -> Response:
        id_property = request.query_params.get("idProperty")
        self.check_id_property(object_type, id_property)
        if not isinstance(body, dict):
            raise BadRequest("Invalid input JSON: the body must be an object")
        record = self.find(object_type, key, id_property)
        if record is None:
            return self.not_found()
        prepared = self.prepare(object_type, body.get("properties", {}), record["id"], {})
        refused = self.refuse([prepared])
        if refused:
            return refused
        self.write_update(object_type, record, prepared.props)
        return JSONResponse(self.public(object_type, record, everything=True))

    def batch_update(self, object_type: str, body: Any) -> Response:
        started = now_iso()
        inputs = batch_inputs(body, 100)
        self._no_duplicate_ids(inputs)
        claimed: dict[tuple[str, str], str] = {}
        found: list[tuple[dict[str, Any], Prepared]] = []
        missing = []
        for item in inputs:
            require(item, ("id", "properties"), "SimplePublicObjectBatchInput")
            self.check_id_property(object_type, item.get("idProperty"))
            record = self.find(object_type, str(item["id"]), item.get("idProperty"))
            if record is None:
                missing.append(str(item["id"]))
                continue
            found.append(
                (record, self.prepare(object_type, item.get("properties", {}), record["id"], claimed))
            )
        refused = self.refuse([p for _, p in found])
        if refused:
            return refused
        results = [
            self.public(object_type, self.write_update(object_type, r, p.props), everything=True)
            for r, p in found
        ]
        return self._with_missing(object_type, results, missing, started, 200)

    @staticmethod
    def _no_duplicate_ids(inputs: list[Any]) -> None:
        seen: set[str] = set()
        duplicates = []
        for item in inputs:
            if not isinstance(item, dict) or "id" not in item:
                raise BadRequest('Invalid input JSON: each input needs an "id"')
            key = str(item["id"]).lower()
            if key in seen:
                duplicates.append(str(item["id"]))
            seen.add(key)
        if duplicates:
            raise BadRequest(f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique")

    def batch_upsert(self, object_type: str, body: Any) -> Response:
        started = now_iso()
        inputs = batch_inputs(body, 100)
        self._no_duplicate_ids(inputs)
        claimed: dict[tuple[str, str], str] = {}
        prepared = []
        for item in inputs:
            require(item, ("id", "properties"), "SimplePublicObjectBatchInputUpsert")
            id_property = item.get("idProperty")
            if not id_property:
                raise BadRequest("idProperty is required for upsert")
            self.check_id_property(object_type, id_property)
            record = self.find(object_type, str(item["id"]), id_property)
            raw = dict(item["properties"])
            if record is None:
                raw.setdefault(id_property, item["id"])
            prep = self.prepare(object_type, raw, record["id"] if record else None, claimed)
            prepared.append(prep)
        refused = self.refuse(prepared)
        if refused:
            return refused
        results = []
        for prep in prepared:
            if prep.record_id:
                record = self.write_update(object_type, self.records[object_type][prep.record_id], prep.props)
            else:
                record = self.write_new(object_type, prep.props)
            results.append({**self.public(object_type, record, everything=True), "new": prep.new})
        return JSONResponse(batch_body(results, started), status_code=200)

    # ----- archive ---------------------------------------------------------------------------
    def archive(self, object_type: str, key: str) -> None:
        record = self.records[object_type].get(key)
        if record and not record["archived"]:
            record["archived"] = True
            record["archivedAt"] = now_iso()
            self.records_changed(object_type)

    def batch_archive(self, object_type: str, body: Any) -> Response:
        for item in batch_inputs(body, 100):
            self.archive(object_type, str(item["id"]))
        return Response(status_code=204)

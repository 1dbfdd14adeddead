"""sObject Collections (REST API Developer Guide, "sObject Collections", API 42.0+; upsert 46.0+):
create, retrieve, update, upsert and delete of up to 200 records a call.

A well-formed request answers 200 with one result per record, in input order:
`{"id", "success", "errors": [{"statusCode", "message", "fields"}]}` (upsert adds `created`). With
`allOrNone` true one failure rolls every other record back, and those report
ALL_OR_NONE_OPERATION_ROLLED_BACK. A malformed request (not a list of records, more than 200
records, a record without `attributes.type`) fails whole with 400.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from engine.sandbox.salesforce_ids import normalize, object_of
from engine.sandbox.salesforce_records import Prepared, WriteOptions
from engine.sandbox.salesforce_rules import RecordError, SalesforceError

MAX_RECORDS = 200
ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
)
TOO_MANY = "record limit reached. cannot submit more than 200 records into this call"


class Journal:
    """What a collection request changed, so allOrNone can put it back."""

    def __init__(self, records: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.records = records
        self.before: list[tuple[str, str, dict[str, Any] | None]] = []

    def touch(self, object_name: str, record_id: str) -> None:
        current = self.records[object_name].get(record_id)
        self.before.append((object_name, record_id, copy.deepcopy(current) if current else None))

    def undo(self) -> None:
        for object_name, record_id, previous in reversed(self.before):
            if previous is None:
                self.records[object_name].pop(record_id, None)
            else:
                self.records[object_name][record_id] = previous


def result(record_id: str | None, errors: list[RecordError], created: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": record_id} if record_id and not errors else {}
    out.update({"success": not errors, "errors": [e.collection() for e in errors]})
    if created is not None and not errors:
        out["created"] = created
    return out


def all_or_none(body: dict[str, Any]) -> bool:
    value = body.get("allOrNone", False)
    return value is True or (isinstance(value, str) and value.lower() == "true")


class CollectionsMixin:
    """Needs RecordsMixin's parse_fields, prepare, store_new/store_update, and the schema."""

    records: dict[str, dict[str, dict[str, Any]]]
    schema: dict[str, dict[str, dict[str, Any]]]

    def object_name_of(self, name: Any) -> str | None:
        names = {n.lower(): n for n in self.schema}
        return names.get(str(name).lower()) if isinstance(name, str) else None

    def collection_records(self, body: Any) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
        """(object, fields) per record, and allOrNone; raises for a malformed request."""
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SalesforceError(400, "JSON_PARSER_ERROR", 'The request body needs a "records" array')
        rows = body["records"]
        if len(rows) > MAX_RECORDS:
            raise SalesforceError(400, "EXCEEDED_ID_LIMIT", TOO_MANY)
        out = []
        for row in rows:
            attributes = row.get("attributes") if isinstance(row, dict) else None
            object_name = (
                self.object_name_of(attributes.get("type")) if isinstance(attributes, dict) else None
            )
            if not isinstance(row, dict) or not isinstance(attributes, dict) or not attributes.get("type"):
                raise SalesforceError(400, "INVALID_TYPE", "Must send a concrete entity type.")
            if object_name is None:
                raise SalesforceError(
                    400, "INVALID_TYPE", f"sObject type '{attributes['type']}' is not supported."
                )
            out.append((object_name, self.parse_fields(object_name, row)))
        return out, all_or_none(body)

    def _finish(
        self, results: list[dict[str, Any]], failed: bool, atomic: bool, journal: Journal
    ) -> list[Any]:
        if not (atomic and failed):
            return results
        journal.undo()
        for object_name in {entry[0] for entry in journal.before}:
            self.records_changed(object_name)
        return [result(None, [ROLLED_BACK]) if entry["success"] else entry for entry in results]

    # ----- create ----------------------------------------------------------------------------
    def collection_create(self, body: Any, options: WriteOptions) -> list[Any]:
        rows, atomic = self.collection_records(body)
        journal, results, failed = Journal(self.records), [], False
        for object_name, fields in rows:
            if "Id" in fields:
                errors = [
                    RecordError(
                        "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
                    )
                ]
                results.append(result(None, errors))
                failed = True
                continue
            prepared: Prepared = self.prepare(object_name, fields, None, options)
            if prepared.errors:
                results.append(result(None, prepared.errors))
                failed = True
                continue
            prepared.record_id = self.new_id(object_name)
            journal.touch(object_name, prepared.record_id)
            results.append(result(self.store_new(prepared), []))
        return self._finish(results, failed, atomic, journal)

    # ----- update ----------------------------------------------------------------------------
    def _update_target(
        self, object_name: str, fields: dict[str, Any]
    ) -> tuple[str | None, RecordError | None]:
        raw = fields.get("Id")
        if raw in (None, ""):
            return None, RecordError("MISSING_ARGUMENT", "Id not specified in an update call")
        record_id = normalize(str(raw))
        if record_id is None:
            return None, RecordError("MALFORMED_ID", f"Record ID: id value of incorrect type: {raw}", ["Id"])
        record = self.records[object_name].get(record_id) if object_of(record_id) == object_name else None
        if record is None:
            return None, RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        if record["IsDeleted"]:
            return None, RecordError("ENTITY_IS_DELETED", "entity is deleted")
        return record_id, None

    def collection_update(self, body: Any, options: WriteOptions) -> list[Any]:
        rows, atomic = self.collection_records(body)
        journal, results, failed = Journal(self.records), [], False
        for object_name, fields in rows:
            record_id, error = self._update_target(object_name, fields)
            prepared = (
                self.prepare(object_name, fields, record_id, options)
                if record_id
                else Prepared(object_name, {}, [error] if error else [])
            )
            if prepared.errors:
                results.append(result(None, prepared.errors))
                failed = True
                continue
            journal.touch(object_name, record_id or "")
            self.store_update(prepared)
            results.append(result(record_id, []))
        return self._finish(results, failed, atomic, journal)

    # ----- upsert ----------------------------------------------------------------------------
    def collection_upsert(
        self, object_name: str, field_name: str, body: Any, options: WriteOptions
    ) -> list[Any]:
        definition = self.external_id_field(object_name, field_name)
        if definition is None or field_name == "Id":
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"Field name provided, {field_name} is not an External ID or indexed field for {object_name}",
            )
        field_name = definition["name"]
        rows, atomic = self.collection_records(body)
        fold = (lambda v: str(v)) if definition["caseSensitive"] else (lambda v: str(v).casefold())
        seen = Counter(fold(f[field_name]) for _, f in rows if f.get(field_name) not in (None, ""))
        journal, results, failed = Journal(self.records), [], False
        for row_object, fields in rows:
            created, prepared = self._upsert_one(
                object_name, row_object, field_name, fields, options, seen, fold
            )
            if prepared.errors:
                results.append(result(None, prepared.errors))
                failed = True
                continue
            if created:
                prepared.record_id = self.new_id(object_name)
                journal.touch(object_name, prepared.record_id)
                self.store_new(prepared)
            else:
                journal.touch(object_name, prepared.record_id or "")
                self.store_update(prepared)
            results.append(result(prepared.record_id, [], created))
        return self._finish(results, failed, atomic, journal)

    def _upsert_one(
        self,
        object_name: str,
        row_object: str,
        field_name: str,
        fields: dict[str, Any],
        options: WriteOptions,
        seen: Counter[str],
        fold: Any,
    ) -> tuple[bool, Prepared]:
        failed = Prepared(object_name, {})
        value = fields.get(field_name)
        if row_object != object_name:
            failed.errors = [
                RecordError("INVALID_TYPE", f"Records must be of type {object_name}: {row_object}")
            ]
        elif value in (None, ""):
            failed.errors = [RecordError("MISSING_ARGUMENT", f"{field_name} not specified", [field_name])]
        elif seen[fold(value)] > 1:
            failed.errors = [
                RecordError(
                    "DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", [field_name]
                )
            ]
        if failed.errors:
            return False, failed
        hits = self.find_by_field(object_name, field_name, value)
        if len(hits) > 1:
            ids = ", ".join(h["Id"] for h in hits)
            failed.errors = [
                RecordError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{field_name} duplicates value on records with ids: {ids}",
                    [field_name],
                )
            ]
            return False, failed
        record_id = hits[0]["Id"] if hits else None
        changes = {k: v for k, v in fields.items() if not (record_id and k == field_name)}
        return record_id is None, self.prepare(object_name, changes, record_id, options)

    # ----- retrieve and delete --------------------------------------------------------------------
    def collection_retrieve(self, object_name: str, ids: list[str], fields: list[str]) -> list[Any]:
        if not ids or not fields:
            raise SalesforceError(400, "MALFORMED_QUERY", "ids and fields are required")
        names = {n.lower(): n for n in self.schema[object_name]}
        unknown = [f for f in fields if f.lower() not in names]
        if unknown:
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"No such column '{unknown[0]}' on entity '{object_name}'. "
                "If you are attempting to use a custom field, be sure to append the '__c' after "
                "the custom field name. Please reference your WSDL or the describe call for the "
                "appropriate names.",
            )
        out: list[Any] = []
        for raw in ids:
            if normalize(raw) is None:
                raise SalesforceError(400, "MALFORMED_ID", f"invalid ID field: {raw}")
            record = self.get_record(object_name, raw)
            out.append(
                None
                if record is None
                else self.public(object_name, record, [names[f.lower()] for f in fields])
            )
        return out

    def collection_delete(self, ids: list[str], atomic: bool) -> list[Any]:
        if len(ids) > MAX_RECORDS:
            raise SalesforceError(400, "EXCEEDED_ID_LIMIT", TOO_MANY)
        journal, results, failed = Journal(self.records), [], False
        for raw in ids:
            record_id = normalize(raw)
            object_name = object_of(record_id) if record_id else None
            record = self.records.get(object_name or "", {}).get(record_id or "")
            if record is None or record["IsDeleted"]:
                error = (
                    RecordError("MALFORMED_ID", f"malformed id {raw}")
                    if record_id is None
                    else RecordError("ENTITY_IS_DELETED", "entity is deleted")
                    if record
                    else RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
                )
                results.append(result(None, [error]))
                failed = True
                continue
            journal.touch(object_name or "", record_id or "")
            self.delete_record(object_name or "", record_id or "")
            results.append(result(record_id, []))
        return self._finish(results, failed, atomic, journal)

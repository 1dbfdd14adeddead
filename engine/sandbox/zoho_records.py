"""Zoho CRM records: insert, update and upsert of up to 100 records per call with per-record results,
get records with `fields` (required in v7), paging by page/per_page and page_token, get one record.

Written from Zoho's Records API pages (insert, update, upsert, get records) and the response shapes of
Zoho's published OpenAPI (zoho/crm-oas): see docs/zoho-api-facts.md. Imports nothing from the engine.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from engine.sandbox.zoho_schema import (
    SYSTEM_DUPLICATE_CHECK,
    Field,
    RecordError,
    check_value,
    invalid,
    mandatory_missing,
)

MAX_WRITE_RECORDS = 100
MAX_PER_PAGE = 200
MAX_GET_FIELDS = 50
MAX_PAGE_WITHOUT_TOKEN = 2000  # records reachable by `page`; beyond, Zoho wants page_token
USER = {"name": "Sandbox Integration", "id": "5550000000000777"}


class ApiError(Exception):
    """A whole-request error: Zoho's {code, details, message, status} at the top level."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "details": self.details, "message": self.message, "status": "error"}


def now_iso() -> str:
    return datetime.now(UTC).astimezone().replace(microsecond=0).isoformat()


def written(result: dict[str, Any]) -> bool:
    return result.get("status") == "success"


def write_status(results: list[dict[str, Any]], all_ok: int) -> int:
    """201/200 when every record was written, 207 when some were, 400 when none was."""
    ok = sum(1 for r in results if written(r))
    if ok == len(results):
        return all_ok
    return 207 if ok else 400


class RecordsMixin:
    """Mixed into ZohoSandbox: needs records, schema, next_id(), restricted_picklists, unknown_fields."""

    records: dict[str, dict[str, dict[str, Any]]]
    schema: dict[str, dict[str, Field]]
    restricted_picklists: bool
    unknown_fields: str

    def next_id(self) -> str:
        raise NotImplementedError

    # ----- validation --------------------------------------------------------------------
    def data_rows(self, body: Any) -> list[Any]:
        if not isinstance(body, dict) or "data" not in body:
            raise ApiError(
                400,
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param_name": "data", "param": "body"},
            )
        rows = body["data"]
        if not isinstance(rows, list) or not rows:
            raise ApiError(
                400,
                "INVALID_DATA",
                "invalid data",
                {"expected_data_type": "jsonarray", "api_name": "data", "json_path": "$.data"},
            )
        if len(rows) > MAX_WRITE_RECORDS:
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                f"the maximum number of records allowed in a single API call is {MAX_WRITE_RECORDS}",
                {"limit": MAX_WRITE_RECORDS, "api_name": "data", "json_path": "$.data"},
            )
        return rows

    def check_fields(
        self, module: str, row: dict[str, Any], index: int, creating: bool, own_id: str | None = None
    ) -> RecordError | None:
        fields = self.schema[module]
        for name, value in row.items():
            if name == "id" or name.startswith("$"):
                continue
            f = fields.get(name)
            if f is None:
                if self.unknown_fields == "ignore":
                    continue
                return invalid(name, index, reason="the field does not exist in the module")
            if f.read_only:
                return RecordError(
                    "INVALID_DATA",
                    "the field is read only",
                    {"api_name": name, "json_path": f"$.data[{index}].{name}"},
                )
            problem = check_value(f, value, index, self.restricted_picklists) or self.check_lookup(
                f, value, index
            )
            if problem:
                return problem
        if creating:
            for f in fields.values():
                if f.system_mandatory and row.get(f.api_name) in (None, ""):
                    return mandatory_missing(f.api_name, index)
        else:
            for f in fields.values():
                if f.system_mandatory and f.api_name in row and row[f.api_name] in (None, ""):
                    return mandatory_missing(f.api_name, index)
        return self.check_unique(module, row, index, own_id)

    def check_lookup(self, f: Field, value: Any, index: int) -> RecordError | None:
        if f.lookup_module is None or not isinstance(value, dict):
            return None
        if str(value.get("id")) not in self.records[f.lookup_module]:
            return invalid(
                f.api_name, index, expected_data_type="lookup", reason="the id given seems to be invalid"
            )
        return None

    def check_unique(
        self, module: str, row: dict[str, Any], index: int, own_id: str | None
    ) -> RecordError | None:
        for f in self.schema[module].values():
            value = row.get(f.api_name)
            if not f.unique or value in (None, ""):
                continue
            for other in self.records[module].values():
                if other["id"] != own_id and _same(other.get(f.api_name), value):
                    return RecordError(
                        "DUPLICATE_DATA",
                        "duplicate data",
                        {
                            "api_name": f.api_name,
                            "json_path": f"$.data[{index}].{f.api_name}",
                            "duplicate_record": {
                                "id": other["id"],
                                "module": {"api_name": module},
                                "Owner": USER,
                            },
                        },
                    )
        return None

    # ----- writing -----------------------------------------------------------------------
    def stored_value(self, f: Field | None, value: Any) -> Any:
        if f is not None and f.lookup_module and isinstance(value, dict):
            return {"id": str(value["id"])}
        return copy.deepcopy(value)

    def store(self, module: str, record: dict[str, Any], row: dict[str, Any]) -> None:
        fields = self.schema[module]
        for name, value in row.items():
            if (
                name == "id"
                or name.startswith("$")
                or (name not in fields and self.unknown_fields == "ignore")
            ):
                continue
            record[name] = self.stored_value(fields.get(name), value)
        record["Modified_Time"] = now_iso()
        record["Modified_By"] = dict(USER)

    def insert_one(self, module: str, row: dict[str, Any]) -> dict[str, Any]:
        stamp = now_iso()
        record: dict[str, Any] = {
            "id": self.next_id(),
            "Owner": dict(USER),
            "Created_Time": stamp,
            "Created_By": dict(USER),
        }
        self.store(module, record, row)
        self.records[module][record["id"]] = record
        return record

    @staticmethod
    def success(record: dict[str, Any], message: str, **extra: Any) -> dict[str, Any]:
        details = {
            "Modified_Time": record["Modified_Time"],
            "Modified_By": record["Modified_By"],
            "Created_Time": record["Created_Time"],
            "id": record["id"],
            "Created_By": record["Created_By"],
        }
        return {"code": "SUCCESS", **extra, "details": details, "message": message, "status": "success"}

    def insert(self, module: str, body: Any) -> tuple[int, dict[str, Any]]:
        results = []
        for index, row in enumerate(self.data_rows(body)):
            results.append(self._insert_row(module, row, index))
        return write_status(results, 201), {"data": results}

    def _insert_row(self, module: str, row: Any, index: int) -> dict[str, Any]:
        if not isinstance(row, dict):
            return invalid("data", index, expected_data_type="jsonobject").body()
        problem = self.check_fields(module, row, index, creating=True)
        if problem:
            return problem.body()
        return self.success(self.insert_one(module, row), "record added")

    def update(self, module: str, body: Any, path_id: str | None = None) -> tuple[int, dict[str, Any]]:
        rows = self.data_rows(body)
        results = [self._update_row(module, row, index, path_id) for index, row in enumerate(rows)]
        return write_status(results, 200), {"data": results}

    def _update_row(self, module: str, row: Any, index: int, path_id: str | None) -> dict[str, Any]:
        if not isinstance(row, dict):
            return invalid("data", index, expected_data_type="jsonobject").body()
        record_id = path_id or row.get("id")
        if record_id in (None, ""):
            return mandatory_missing("id", index).body()
        record = self.records[module].get(str(record_id))
        if record is None:
            return RecordError(
                "INVALID_DATA",
                "the related id given seems to be invalid",
                {"api_name": "id", "json_path": f"$.data[{index}].id"},
            ).body()
        problem = self.check_fields(module, row, index, creating=False, own_id=record["id"])
        if problem:
            return problem.body()
        self.store(module, record, row)
        return self.success(record, "record updated")

    def upsert(self, module: str, body: Any) -> tuple[int, dict[str, Any]]:
        rows = self.data_rows(body)
        check_fields = self.duplicate_check_fields(module, body)
        results = [self._upsert_row(module, row, index, check_fields) for index, row in enumerate(rows)]
        any_update = any(r.get("action") == "update" for r in results)
        return write_status(results, 200 if any_update else 201), {"data": results}

    def duplicate_check_fields(self, module: str, body: dict[str, Any]) -> tuple[str, ...]:
        given = body.get("duplicate_check_fields")
        if given is None:
            unique = tuple(f.api_name for f in self.schema[module].values() if f.unique)
            return SYSTEM_DUPLICATE_CHECK[module] + unique
        if not isinstance(given, list) or not all(isinstance(n, str) for n in given):
            raise ApiError(
                400,
                "INVALID_DATA",
                "invalid data",
                {"expected_data_type": "jsonarray", "api_name": "duplicate_check_fields"},
            )
        for name in given:
            if name not in self.schema[module]:
                raise ApiError(
                    400,
                    "INVALID_DATA",
                    "invalid data",
                    {"api_name": name, "json_path": "$.duplicate_check_fields"},
                )
        return tuple(given)

    def _upsert_row(self, module: str, row: Any, index: int, check_fields: Iterable[str]) -> dict[str, Any]:
        if not isinstance(row, dict):
            return invalid("data", index, expected_data_type="jsonobject").body()
        for name in check_fields:  # in order: the first field that finds a record decides
            value = row.get(name)
            if value in (None, ""):
                continue
            match = next((r for r in self.records[module].values() if _same(r.get(name), value)), None)
            if match is not None:
                result = self._update_row(module, row, index, match["id"])
                return {**result, "action": "update", "duplicate_field": name} if written(result) else result
        result = self._insert_row(module, row, index)
        return {**result, "action": "insert", "duplicate_field": None} if written(result) else result

    # ----- reading -----------------------------------------------------------------------
    def wanted_fields(self, module: str, raw: str | None) -> list[str]:
        if not raw:
            raise ApiError(
                400,
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param_name": "fields", "param": "fields"},
            )
        names = [n.strip() for n in raw.split(",") if n.strip()]
        if len(names) > MAX_GET_FIELDS:
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                f"the maximum number of fields is {MAX_GET_FIELDS}",
                {"param_name": "fields", "limit": MAX_GET_FIELDS},
            )
        for name in names:
            if name not in self.schema[module]:
                raise ApiError(
                    400, "INVALID_DATA", "invalid data", {"api_name": name, "param_name": "fields"}
                )
        return names

    def public(
        self, module: str, record: dict[str, Any], names: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """A record as Zoho answers it: lookups as {"name", "id"}, only the asked fields and id."""
        keys = list(names) if names is not None else list(record)
        out: dict[str, Any] = {}
        for name in keys:
            value = record.get(name)
            f = self.schema[module].get(name)
            if f is not None and f.lookup_module and isinstance(value, dict):
                out[name] = {"name": self.display_name(f.lookup_module, value["id"]), "id": value["id"]}
            else:
                out[name] = copy.deepcopy(value)
        out["id"] = record["id"]
        return out

    def display_name(self, module: str, record_id: str) -> str | None:
        target = self.records[module].get(record_id)
        if target is None:
            return None
        if module == "Accounts":
            return str(target.get("Account_Name"))
        return " ".join(filter(None, [target.get("First_Name"), target.get("Last_Name")]))

    def page_of(
        self, rows: list[dict[str, Any]], per_page: int, start: int
    ) -> tuple[list[dict[str, Any]], bool]:
        page = rows[start : start + per_page]
        return page, start + per_page < len(rows)


def _same(stored: Any, given: Any) -> bool:
    if isinstance(stored, dict):
        stored = stored.get("id")
    if isinstance(given, dict):
        given = given.get("id")
    if isinstance(stored, str) and isinstance(given, str):
        return stored.lower() == given.lower()
    return bool(stored == given)

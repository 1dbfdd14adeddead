"""Salesforce's error bodies and the value rules every write goes through.

Shapes (REST API Developer Guide, "Status Codes and Error Responses"): a failed single-record call
answers a JSON array of `{"message", "errorCode", "fields"}`; inside sObject Collections each record's
errors use `statusCode` instead of `errorCode`. Messages follow the texts Salesforce sends (captured in
/work/shared/reference/crm-api-facts.md §1.6, and the StatusCode list of the SOAP API guide).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from starlette.responses import JSONResponse

from engine.sandbox.salesforce_ids import normalize, object_of

# Permissive on purpose: Salesforce accepts most RFC 5322 addresses but refuses a missing @, spaces,
# an empty part or a domain without a dot.
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
NUMBER_RE = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
NOT_FOUND = "The requested resource does not exist"


@dataclass
class RecordError:
    """One error of one record: `errorCode` in a single-record answer, `statusCode` in Collections."""

    code: str
    message: str
    fields: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def single(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.code, "fields": self.fields, **self.extra}

    def collection(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


class SalesforceError(Exception):
    """Ends a request with Salesforce's error array."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = [RecordError(code, message, fields or [])]

    @classmethod
    def of(cls, status: int, errors: list[RecordError]) -> SalesforceError:
        made = cls(status, errors[0].code, errors[0].message)
        made.errors = errors
        return made

    def response(self) -> JSONResponse:
        body = []
        for e in self.errors:
            entry = e.single()
            if not e.fields and e.code not in ("DUPLICATE_VALUE", "REQUIRED_FIELD_MISSING"):
                entry.pop("fields")
            body.append(entry)
        return JSONResponse(body, status_code=self.status)


def not_found(message: str = NOT_FOUND) -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", message)


def iso_datetime(moment: datetime) -> str:
    """Salesforce's datetime format: 2024-01-01T00:00:00.000+0000."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def now_datetime() -> str:
    return iso_datetime(datetime.now(UTC))


def parse_datetime(text: str) -> datetime | None:
    candidate = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text.strip()).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ----- checking one value against its field ------------------------------------------------------


def _not_of_type(definition: dict[str, Any], value: Any) -> RecordError:
    return RecordError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{definition['label']}: value not of required type: {value}",
        [definition["name"]],
    )


def _text(definition: dict[str, Any], value: Any) -> tuple[Any, RecordError | None]:
    text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    name, label, kind = definition["name"], definition["label"], definition["type"]
    if kind in ("picklist", "multipicklist") and definition["restrictedPicklist"]:
        allowed = {v["value"] for v in definition["picklistValues"] if v["active"]}
        chosen = [v for v in text.split(";")] if kind == "multipicklist" else [text]
        for item in chosen:
            if item not in allowed:
                return text, RecordError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{label}: bad value for restricted picklist field: {item}",
                    [name],
                )
    if kind == "email" and text and not EMAIL_RE.match(text):
        return text, RecordError("INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {text}", [name])
    if definition["length"] and len(text) > definition["length"]:
        return text, RecordError(
            "STRING_TOO_LONG",
            f"{label}: data value too large: {text} (max length={definition['length']})",
            [name],
        )
    return text, None


def _number(definition: dict[str, Any], value: Any) -> tuple[Any, RecordError | None]:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return value, _not_of_type(definition, value)
    if isinstance(value, str):
        if not NUMBER_RE.match(value.strip()):
            return value, _not_of_type(definition, value)
        value = float(value)
    if definition["type"] == "int":
        if float(value) != int(value):
            return value, _not_of_type(definition, value)
        return int(value), None
    return float(value) if not isinstance(value, int) else value, None


def _boolean(definition: dict[str, Any], value: Any) -> tuple[Any, RecordError | None]:
    if isinstance(value, bool):
        return value, None
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true", None
    return value, _not_of_type(definition, value)


def _moment(definition: dict[str, Any], value: Any) -> tuple[Any, RecordError | None]:
    if not isinstance(value, str):
        return value, _not_of_type(definition, value)
    if definition["type"] == "date":
        try:
            return date.fromisoformat(value.strip()[:10]).isoformat(), None
        except ValueError:
            return value, _not_of_type(definition, value)
    moment = parse_datetime(value)
    return (iso_datetime(moment), None) if moment else (value, _not_of_type(definition, value))


def check_reference(definition: dict[str, Any], value: Any, exists: Any) -> tuple[Any, RecordError | None]:
    """A lookup: a well-formed id (MALFORMED_ID), of an object the field points to
    (FIELD_INTEGRITY_EXCEPTION), of a record that exists (INVALID_CROSS_REFERENCE_KEY)."""
    name, label = definition["name"], definition["label"]
    record_id = normalize(value) if isinstance(value, str) else None
    if record_id is None:
        return value, RecordError("MALFORMED_ID", f"{label}: id value of incorrect type: {value}", [name])
    target = object_of(record_id)
    if target not in definition["referenceTo"]:
        return value, RecordError(
            "FIELD_INTEGRITY_EXCEPTION", f"{label}: id value of incorrect type: {value}", [name]
        )
    if not exists(target, record_id):
        return value, RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name])
    return record_id, None


def check_value(definition: dict[str, Any], value: Any, exists: Any) -> tuple[Any, RecordError | None]:
    """(stored value, error or None) for one non-null value."""
    kind = definition["type"]
    if kind == "reference":
        return check_reference(definition, value, exists)
    if kind in ("int", "double", "currency", "percent"):
        return _number(definition, value)
    if kind == "boolean":
        return _boolean(definition, value)
    if kind in ("date", "datetime"):
        return _moment(definition, value)
    return _text(definition, value)


def read_only_error(names: list[str]) -> RecordError:
    return RecordError(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {', '.join(names)}. Please check the security settings of this "
        "field and verify that it is read/write for your profile or permission set.",
        names,
    )


def required_error(names: list[str]) -> RecordError:
    return RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]", names)


def duplicate_value_error(field_name: str, other_id: str) -> RecordError:
    return RecordError(
        "DUPLICATE_VALUE",
        f"duplicate value found: {field_name} duplicates value on record with id: {other_id}",
        [],
    )


def unknown_field(object_name: str, field_name: str) -> SalesforceError:
    return SalesforceError(
        400, "INVALID_FIELD", f"No such column '{field_name}' on sobject of type {object_name}"
    )


def json_error(message: str) -> SalesforceError:
    return SalesforceError(400, "JSON_PARSER_ERROR", message)

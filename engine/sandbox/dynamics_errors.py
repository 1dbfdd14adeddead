"""Dataverse's and Microsoft Entra ID's error bodies, and the small response type the Dynamics
emulator's dispatcher returns (so `$batch` can run inner requests without HTTP).

Shapes and texts, with their sources:
- Web API errors are `{"error": {"code": "0x...", "message": "..."}}` with `Content-Type:
  application/json; odata.metadata=minimal` and `OData-Version: 4.0` (compose-http-requests-handle-errors.md).
- Query errors: `Could not find a property named 'x' on type 'Microsoft.Dynamics.CRM.account'.` (400, the
  troubleshooting article "Troubleshoot Dataverse Web API client errors"; current services send code
  0x80060888 where that article shows 0x0), lexer texts such as `There is an unterminated literal at
  position 21 in 'lastname eq 'O'Bryan''.` (query/filter-rows.md).
- Payload errors: 0x80048d19 `Error identified in Payload provided by the user for Entity :'contacts' ---->
  InnerException : Microsoft.OData.ODataException: ...` (same troubleshooting article); the older
  wrapper `An error occurred while validating input parameters: ...` (code 0x0) is `payload_style="legacy"`.
- Entra: `{"error", "error_description": "AADSTSnnnnn: ...", "error_codes", "timestamp", "trace_id",
  "correlation_id", "error_uri"}` (learn.microsoft.com/entra/identity-platform/reference-error-codes).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatch
from typing import Any

JSON_TYPE = "application/json; odata.metadata=minimal"
ERROR_ANNOTATIONS = ("Microsoft.PowerApps.CDS.HelpLink", "Microsoft.PowerApps.CDS.InnerError.Message")
HELP_LINK = "https://go.microsoft.com/fwlink/?linkid=2195293"


@dataclass
class DvResponse:
    """One Web API answer: status, headers, raw body (None for no body)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    entity_url: str | None = None  # the record a write touched (for $batch Content-ID), never sent

    def json(self) -> Any:
        return json.loads(self.body or b"null")


def json_answer(status: int, payload: Any, headers: dict[str, str] | None = None) -> DvResponse:
    out = {"Content-Type": JSON_TYPE, "OData-Version": "4.0"}
    out.update(headers or {})
    return DvResponse(status, out, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def empty_answer(status: int = 204, headers: dict[str, str] | None = None) -> DvResponse:
    out = {"OData-Version": "4.0"}
    out.update(headers or {})
    return DvResponse(status, out, None)


class DataverseError(Exception):
    """Raised anywhere in the emulator; becomes Dataverse's error body."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def answer(self, annotations: list[str] | None = None) -> DvResponse:
        """The error body; with `Prefer: odata.include-annotations` matching Microsoft.PowerApps.CDS.*, the
        HelpLink and InnerError.Message annotations too (compose-http-requests-handle-errors.md)."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if any(fnmatch(name, pattern) for pattern in annotations or () for name in ERROR_ANNOTATIONS):
            number = self.code.removeprefix("0x") or "0"
            error["@Microsoft.PowerApps.CDS.HelpLink"] = (
                f"http://go.microsoft.com/fwlink/?LinkID=398563&error=Microsoft.Crm.CrmException%3a{number}"
                "&client=platform"
            )
            error["@Microsoft.PowerApps.CDS.InnerError.Message"] = self.message
        return json_answer(self.status, {"error": error}, self.headers)


# ----- query and URL errors ---------------------------------------------------------------------


def query_error(message: str) -> DataverseError:
    return DataverseError(400, "0x80060888", message)


def property_not_found(name: str, type_name: str) -> DataverseError:
    return query_error(f"Could not find a property named '{name}' on type '{type_name}'.")


def segment_not_found(segment: str) -> DataverseError:
    return DataverseError(404, "0x8006088a", f"Resource not found for the segment '{segment}'.")


def no_resource(url: str) -> DataverseError:
    return DataverseError(404, "", f"No HTTP resource was found that matches the request URI '{url}'.")


def not_implemented(what: str) -> DataverseError:
    return DataverseError(501, "0x8004800d", f"The sandbox does not emulate {what}.")


# ----- record errors ----------------------------------------------------------------------------


def record_not_found(logical: str, record_id: str) -> DataverseError:
    return DataverseError(404, "0x80040217", f"{logical} With Id = {record_id} Does Not Exist")


def key_not_found(logical: str) -> DataverseError:
    return DataverseError(
        404, "0x80040217", f"A record with the specified key values does not exist in {logical} entity"
    )


def matching_key_exists() -> DataverseError:
    return DataverseError(412, "", "A record with matching key values already exists.")


def duplicate_primary_key() -> DataverseError:
    return DataverseError(412, "0x80040237", "A record with matching key values already exists.")


def duplicate_entity_key(key_name: str, columns: list[str]) -> DataverseError:
    return DataverseError(
        412,
        "0x80060892",
        f"Entity Key {key_name} violated. A record with the same value for {','.join(columns)} already "
        "exists. "
        "A duplicate record cannot be created. Select one or more unique values and try again.",
    )


def duplicate_detected() -> DataverseError:
    return DataverseError(
        500,
        "0x80040333",
        "A record was not created or updated because a duplicate of the current record already exists.",
    )


def too_long(column: str, logical: str, max_length: int) -> DataverseError:
    return DataverseError(
        400,
        "0x80044331",
        f"A validation error occurred.  The length of the '{column}' attribute of the '{logical}' entity "
        "exceeded "
        f"the maximum allowed length of '{max_length}'.",
    )


def out_of_range(value: int, column: str, logical: str, accepted: list[int]) -> DataverseError:
    return DataverseError(
        400,
        "0x8004431a",
        f"A validation error occurred. The value {value} of '{column}' on record of type '{logical}' is "
        "outside the "
        f"valid range. Accepted Values: {','.join(str(v) for v in accepted)}",
    )


def cannot_be_null(column: str) -> DataverseError:
    # [UNVERIFIED code] the text is what services answer for a SystemRequired column left empty
    return DataverseError(400, "0x80040203", f"Attribute '{column}' cannot be NULL")


def lookup_value_written() -> DataverseError:
    return DataverseError(
        400,
        "0x80060888",
        "CRM do not support direct update of Entity Reference properties, Use Navigation properties instead.",
    )


def payload_error(entity_set: str, inner: str, style: str = "current") -> DataverseError:
    if style == "legacy":
        return DataverseError(400, "0x0", f"An error occurred while validating input parameters: {inner}")
    return DataverseError(
        400,
        "0x80048d19",
        f"Error identified in Payload provided by the user for Entity :'{entity_set}', For more information "
        "on this "
        f"error please follow this help link {HELP_LINK}  ---->  InnerException : {inner}",
    )


def odata_payload_error(entity_set: str, message: str, style: str = "current") -> DataverseError:
    return payload_error(entity_set, f"Microsoft.OData.ODataException: {message}", style)


def unknown_property(entity_set: str, logical: str, name: str, style: str = "current") -> DataverseError:
    type_name = f"Microsoft.Dynamics.CRM.{logical}"
    if style == "legacy":
        return payload_error(
            entity_set,
            f"Microsoft.Crm.CrmException: Invalid property '{name}' was found in entity '{type_name}'. ---> "
            "Microsoft.OData.ODataException: Does not support untyped value in non-open type.",
            style,
        )
    return odata_payload_error(
        entity_set,
        f"The property '{name}' does not exist on type '{type_name}'. Make sure to only use property names "
        "that "
        "are defined by the type or mark the type as open type.",
        style,
    )


def cannot_convert(entity_set: str, literal: Any, edm_type: str, style: str = "current") -> DataverseError:
    text = literal if isinstance(literal, str) else json.dumps(literal)
    return odata_payload_error(
        entity_set, f"Cannot convert the literal '{text}' to the expected type '{edm_type}'.", style
    )


def missing_privilege(user_id: str, privilege: str, table: str, otc: int, method: str) -> DataverseError:
    """A security role without the table's privilege: error -2147220960 (0x80040220), "Principal user is
    missing privilege on OTC for entity" (troubleshoot/power-platform/power-apps/dataverse/client-errors)."""
    privilege_id = uuid.uuid5(uuid.NAMESPACE_URL, privilege)
    return DataverseError(
        403,
        "0x80040220",
        f"Principal user (Id={user_id}, type=8, roleCount=1, privilegeCount=600, accessMode=4), is missing "
        f"{privilege} privilege (Id={privilege_id}) on OTC={otc} for entity '{table}'. context: "
        f"Method={method}",
    )


def user_disabled(user_id: str, org_id: str) -> DataverseError:
    return DataverseError(
        403,
        "0x80040225",
        f"The user with SystemUserId={user_id} in OrganizationContext={org_id} is disabled. Disabled users "
        "cannot "
        "access the system. Consider enabling this user. Also, users are disabled if they don't have a "
        "license "
        "assigned to them.",
    )


# ----- service protection limits ----------------------------------------------------------------


def throttled(kind: str, retry_after_s: int, limit: int | float) -> DataverseError:
    messages = {
        "requests": (
            "0x80072322",
            f"Number of requests exceeded the limit of {int(limit)} over time window of 300 seconds.",
        ),
        "time": (
            "0x80072321",
            f"Combined execution time of incoming requests exceeded limit of {int(limit):,}  "
            "milliseconds over time window of 300 seconds. Decrease number of concurrent requests or reduce "
            "the duration of requests and try again later.",
        ),
        "concurrency": ("0x80072326", f"Number of concurrent requests exceeded the limit of {int(limit)}."),
    }
    code, message = messages[kind]
    return DataverseError(429, code, message, {"Retry-After": str(max(1, retry_after_s))})


# ----- Microsoft Entra ID -----------------------------------------------------------------------


def entra_error(status: int, error: str, code: int, text: str) -> DvResponse:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    description = (
        f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {correlation} "
        f"Timestamp: {now.strftime('%Y-%m-%d %H:%M:%S')}.{now.microsecond // 1000:03d}Z"
    )
    payload = {
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    body = json.dumps(payload).encode("utf-8")
    return DvResponse(
        status,
        {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store, no-cache"},
        body,
    )

"""Turning a Web API request body into column values, with Dataverse's checks and answers:

- an unknown property: 400 0x80048d19 `... The property 'x' does not exist on type
  'Microsoft.Dynamics.CRM.account' ...` (older services: 0x0 `Invalid property 'x' was found in entity`);
- a value of the wrong JSON type: `Cannot convert the literal 'Self-Funded' to the expected type
  'Edm.Int32'.` inside the same payload error; OData converts numeric strings, so "100000000" is accepted;
- a string over MaxLength: 0x80044331; a control character in a string: 0x80040278
  (best-practices/work-with-data/invalidcharactersinfield.md); a choice outside its option set: 0x8004431A;
- a lookup written as `_x_value`: 0x80060888 `CRM do not support direct update of Entity Reference
  properties, Use Navigation properties instead.`;
- `<nav>@odata.bind` to `/accounts(<guid>)`, `accounts(<guid>)`, a full URL, an alternate key
  `/accounts(bf_benefitflowid='x')`, or a `$1` Content-ID reference inside a `$batch` change set; a bind
  to a missing record is 404 0x80040217 `account With Id = ... Does Not Exist`;
- read-only columns (IsValidForCreate/IsValidForUpdate false, e.g. createdon) are ignored, as Dataverse
  ignores them (overriddencreatedon is the writable one).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from engine.sandbox.dynamics_errors import (
    DataverseError,
    cannot_convert,
    lookup_value_written,
    not_implemented,
    odata_payload_error,
    out_of_range,
    too_long,
    unknown_property,
)
from engine.sandbox.dynamics_odata import GUID_RE
from engine.sandbox.dynamics_query import to_moment
from engine.sandbox.dynamics_schema import CHOICE_TYPES, Column, Table

CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # below 32 but tab, line feed, carriage return
ENTITY_REF_RE = re.compile(r"^/?([A-Za-z_][A-Za-z0-9_]*)\((.*)\)$", re.DOTALL)
INT_TYPES = {
    "Picklist": (-(2**31), 2**31 - 1),
    "State": (-(2**31), 2**31 - 1),
    "Status": (-(2**31), 2**31 - 1),
    "Integer": (-(2**31), 2**31 - 1),
    "BigInt": (-(2**63), 2**63 - 1),
}
Reference = tuple[str, str]  # (logical name of the table, record id)
Resolve = Callable[[str, str], Reference]  # (bind value, logical name of the nav target) -> reference


def iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BodyReader:
    """Reads one entity body for `table`; `resolve` finds the record a bind points at."""

    def __init__(self, table: Table, resolve: Resolve, style: str) -> None:
        self.table = table
        self.resolve = resolve
        self.style = style
        self.lookups = table.views().lookups

    def read(self, body: Any, creating: bool) -> dict[str, Any]:
        """Column logical name -> new value (None clears); lookups also set `<column>type`."""
        if not isinstance(body, dict):
            raise odata_payload_error(
                self.table.entity_set, "The request body must be a JSON object.", self.style
            )
        changes: dict[str, Any] = {}
        for key, value in body.items():
            if key == "@odata.type":
                self.check_type(value)
            elif key.endswith("@odata.bind"):
                self.bind(key[: -len("@odata.bind")], value, changes)
            elif key.startswith("@") or "@" in key:
                continue  # instance and property annotations are not data
            elif key in self.table.navs:
                self.nav_value(key, value, changes)
            elif key in self.lookups:
                raise lookup_value_written()
            else:
                self.column_value(key, value, creating, changes)
        return changes

    def check_type(self, value: Any) -> None:
        wanted = self.table.type_name
        if str(value).lstrip("#") != wanted:
            raise odata_payload_error(
                self.table.entity_set,
                f"A resource with type '{str(value).lstrip('#')}' was found, but it is not assignable to "
                "the expected "
                f"type '{wanted}'. The type specified in the resource must be equal to either the expected "
                "type or a "
                "derived type.",
                self.style,
            )

    def bind(self, nav_name: str, value: Any, changes: dict[str, Any]) -> None:
        nav = self.table.navs.get(nav_name)
        if nav is None:
            raise odata_payload_error(
                self.table.entity_set,
                f"An undeclared property '{nav_name}' which only has property annotations in the payload "
                "but no "
                "property value was found in the payload. In OData, only declared navigation properties and "
                "declared "
                "named streams can be represented as properties without values.",
                self.style,
            )
        column = self.table.columns[nav.column]
        if value is None:
            changes[column.logical] = None
            changes[column.logical + "type"] = None
            return
        if not isinstance(value, str):
            raise cannot_convert(self.table.entity_set, value, "Edm.String", self.style)
        target_logical, record_id = self.resolve(value, nav.target)
        changes[column.logical] = record_id
        changes[column.logical + "type"] = target_logical

    def nav_value(self, name: str, value: Any, changes: dict[str, Any]) -> None:
        if value is None:
            column = self.table.columns[self.table.navs[name].column]
            changes[column.logical] = None
            changes[column.logical + "type"] = None
            return
        if isinstance(value, (dict, list)):
            raise not_implemented("deep insert (related records nested in the body)")
        raise odata_payload_error(
            self.table.entity_set,
            "A 'PrimitiveValue' node with non-null value was found when trying to read the value of a "
            "navigation "
            "property; however, a 'StartArray' node, a 'StartObject' node, or a 'PrimitiveValue' node with "
            "null "
            "value was expected.",
            self.style,
        )

    def column_value(self, name: str, value: Any, creating: bool, changes: dict[str, Any]) -> None:
        column = self.table.columns.get(name)
        if column is None or column.is_lookup:
            raise unknown_property(self.table.entity_set, self.table.logical, name, self.style)
        writable = column.valid_for_create if creating else column.valid_for_update
        if not writable:
            return
        changes[name] = None if value is None else self.convert(column, value)

    def convert(self, column: Column, value: Any) -> Any:
        if column.type in ("String", "Memo", "EntityName"):
            return self.text(column, value)
        if column.type in INT_TYPES:
            return self.integer(column, value)
        if column.type in ("Money", "Decimal", "Double"):
            return self.number(column, value)
        if column.type == "Boolean":
            return self.boolean(column, value)
        if column.type == "DateTime":
            return self.moment(column, value)
        return self.guid(column, value)

    def text(self, column: Column, value: Any) -> str:
        if not isinstance(value, str):
            raise cannot_convert(self.table.entity_set, value, column.edm_type, self.style)
        if column.max_length is not None and len(value) > column.max_length:
            raise too_long(column.logical, self.table.logical, column.max_length)
        found = CONTROL_RE.search(value)
        if found is not None:
            bad = found.group()
            raise DataverseError(
                400,
                "0x80040278",
                f"Invalid character in field '{column.logical}': '{bad}', hexadecimal value "
                f"0x{ord(bad):02X}, is an invalid character.",
            )
        return value

    def integer(self, column: Column, value: Any) -> int:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif (
            isinstance(value, float)
            and value.is_integer()
            or isinstance(value, str)
            and re.fullmatch(r"\s*-?\d+\s*", value)
        ):
            number = int(value)
        low, high = INT_TYPES[column.type]
        if number is None or not low <= number <= high:
            raise cannot_convert(self.table.entity_set, value, column.edm_type, self.style)
        if column.type in CHOICE_TYPES and column.options is not None and number not in column.options:
            raise out_of_range(number, column.logical, self.table.logical, sorted(column.options))
        return number

    def number(self, column: Column, value: Any) -> float | int:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise cannot_convert(self.table.entity_set, value, column.edm_type, self.style)

    def boolean(self, column: Column, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
            return value.strip().lower() in ("true", "1")
        raise cannot_convert(self.table.entity_set, value, column.edm_type, self.style)

    def moment(self, column: Column, value: Any) -> str:
        moment = to_moment(value) if isinstance(value, str) else None
        if moment is None:
            raise cannot_convert(self.table.entity_set, value, column.edm_type, self.style)
        if column.date_only:
            return moment.date().isoformat()
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def guid(self, column: Column, value: Any) -> str:
        if not isinstance(value, str) or not GUID_RE.fullmatch(value.strip("{}")):
            raise cannot_convert(self.table.entity_set, value, "Edm.Guid", self.style)
        return value.strip("{}").lower()


def split_reference(value: str) -> tuple[str, str] | None:
    """`/accounts(<key>)`, `accounts(<key>)` or `https://host/api/data/v9.2/accounts(<key>)` -> (set, key)."""
    text = value.strip()
    marker = re.search(r"/api/data/v9\.\d/", text)
    if marker:
        text = text[marker.end() :]
    match = ENTITY_REF_RE.match(text)
    return (match.group(1), match.group(2)) if match else None


def invalid_reference(entity_set: str, value: str, style: str) -> DataverseError:
    return odata_payload_error(
        entity_set,
        f"The value '{value}' of an @odata.bind annotation is not a valid entity reference URL.",
        style,
    )

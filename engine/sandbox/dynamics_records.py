"""Records of the Dynamics emulator: create, retrieve, update, upsert, delete and query, the rules
checked on every write, and the JSON a record is read back as.

Documented behaviours (powerapps-docs, developer/data-platform/webapi/...):
- create answers 204 with `OData-EntityId`, or 201 and the record with `Prefer: return=representation`
  (create-entity-web-api.md); a body primary key that exists answers 412 0x80040237;
- PATCH without `If-Match: *` is an upsert (201 created / 200 updated with return=representation, else
  204 either way); `If-Match: *` never creates (404), `If-None-Match: *` never updates (412 `A record with
  matching key values already exists.`); on update the alternate-key columns of the URL are stripped from
  the body, on create they are copied in when missing (use-upsert-insert-update-record.md);
- an alternate key value taken by another record: 412 0x80060892 (DuplicateRecordEntityKey);
- duplicate detection runs only when the request sends `MSCRM.SuppressDuplicateDetection: false`; a match
  answers 500 0x80040333 (manage-duplicate-detection-create-update.md);
- lookups read as `_<column>_value`; deleting an account deletes the contacts whose parentcustomerid is it
  (relationship contact_customer_accounts cascades delete) and clears other lookups to it (Remove Link).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from fnmatch import fnmatch
from typing import Any

from engine.sandbox.dynamics_errors import (
    DataverseError,
    cannot_be_null,
    duplicate_detected,
    duplicate_entity_key,
    duplicate_primary_key,
    key_not_found,
    property_not_found,
    query_error,
    record_not_found,
    segment_not_found,
)
from engine.sandbox.dynamics_odata import parse_key, quote
from engine.sandbox.dynamics_schema import CHOICE_TYPES, AltKey, Column, NavProp, Table
from engine.sandbox.dynamics_write import BodyReader, Reference, invalid_reference, iso_now, split_reference

PREFER_RE = re.compile(r'\s*([\w.-]+)\s*(?:=\s*("[^"]*"|[^,]*))?\s*(?:,|$)')
FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOOKUP_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
ASSOCIATED_NAV = "Microsoft.Dynamics.CRM.associatednavigationproperty"


def prefer_values(header: str | None) -> dict[str, str]:
    """`Prefer: return=representation,odata.maxpagesize=2` -> {"return": "representation", ...}."""
    out: dict[str, str] = {}
    for match in PREFER_RE.finditer(header or ""):
        out[match.group(1).lower()] = (match.group(2) or "").strip().strip('"')
    return out


def annotation_filter(prefer: dict[str, str]) -> list[str]:
    return [p.strip() for p in prefer.get("odata.include-annotations", "").split(",") if p.strip()]


class RecordsMixin:
    """Needs from the host: schema, records, user_id, payload_style, duplicate_rules, version counter."""

    schema: dict[str, Table]
    records: dict[str, dict[str, dict[str, Any]]]
    user_id: str
    payload_style: str
    duplicate_rules: dict[str, list[list[str]]]
    version_counter: int
    key_indexes: dict[tuple[str, str], dict[tuple[Any, ...], str]]

    # ----- lookup helpers -------------------------------------------------------------------------
    def table(self, entity_set: str) -> Table:
        table = self.schema.get(entity_set)
        if table is None:
            raise segment_not_found(entity_set)
        return table

    def table_of(self, logical: str) -> Table | None:
        return next((t for t in self.schema.values() if t.logical == logical), None)

    def next_version(self) -> int:
        self.version_counter += 1
        return self.version_counter

    def find(self, table: Table, key: str | dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        rows = self.records[table.entity_set]
        if isinstance(key, str):
            return (key, rows[key]) if key in rows else None
        if list(key) == [table.primary_id]:
            wanted = str(key[table.primary_id]).lower()
            return (wanted, rows[wanted]) if wanted in rows else None
        alt = next((k for k in table.keys if sorted(k.columns) == sorted(key)), None)
        if alt is None:
            raise invalid_key(table)
        record_id = self.key_index(table, alt).get(key_tuple([key[c] for c in alt.columns]))
        return (record_id, rows[record_id]) if record_id in rows else None

    def key_index(self, table: Table, key: AltKey) -> dict[tuple[Any, ...], str]:
        """Normalized alternate key values -> record id, built on first use and kept up to date by writes."""
        name = (table.entity_set, key.name)
        if name not in self.key_indexes:
            index = {}
            for record_id, row in self.records[table.entity_set].items():
                values = [row.get(c) for c in key.columns]
                if None not in values:
                    index[key_tuple(values)] = record_id
            self.key_indexes[name] = index
        return self.key_indexes[name]

    def reindex(
        self, table: Table, record_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        for key in table.keys:
            index = self.key_index(table, key)
            for row, add in ((old, False), (new, True)):
                values = [row.get(c) for c in key.columns] if row else [None]
                if None in values:
                    continue
                if add:
                    index[key_tuple(values)] = record_id
                elif index.get(key_tuple(values)) == record_id:
                    del index[key_tuple(values)]

    def parse_key(self, table: Table, text: str) -> str | dict[str, Any]:
        key = parse_key(text)
        if isinstance(key, str):
            return key
        known = [table.primary_id] + [c for k in table.keys for c in k.columns]
        if any(name not in known for name in key):
            raise invalid_key(table)
        return key

    @staticmethod
    def key_segment(key: dict[str, Any]) -> str:
        return ",".join(f"{k}={quote(v) if isinstance(v, str) else v}" for k, v in key.items())

    def resolver(self, table: Table) -> TableResolver:
        return TableResolver(self, table)

    def resolve_reference(
        self, value: str, target: str, refs: dict[str, Reference], owner_set: str
    ) -> Reference:
        """The record an @odata.bind value points at, as (logical name, id)."""
        if value.startswith("$"):
            if value not in refs:
                raise DataverseError(
                    400, "", f"Content-ID Reference: '{value}' does not exist in the batch context."
                )
            return refs[value]
        parts = split_reference(value)
        if parts is None:
            raise invalid_reference(owner_set, value, self.payload_style)
        entity_set, key_text = parts
        if target == "systemuser":
            record_id = key_text.strip("{}").lower()
            if entity_set != "systemusers":
                raise record_not_found("systemuser", record_id)
            return self.owner_reference(record_id)  # type: ignore[attr-defined]
        table = self.table(entity_set)
        if table.logical != target:
            raise invalid_reference(owner_set, value, self.payload_style)
        key = self.parse_key(table, key_text)
        found = self.find(table, key)
        if found is None:
            raise (
                record_not_found(table.logical, key) if isinstance(key, str) else key_not_found(table.logical)
            )
        return table.logical, found[0]

    # ----- writing ----------------------------------------------------------------------------------
    def read_body(
        self, table: Table, body: Any, creating: bool, refs: dict[str, Reference]
    ) -> dict[str, Any]:
        reader = BodyReader(
            table, lambda v, t: self.resolve_reference(v, t, refs, table.entity_set), self.payload_style
        )
        return reader.read(body, creating)

    def create(
        self, table: Table, changes: dict[str, Any], dedupe: bool, record_id: str | None = None
    ) -> str:
        record_id = (record_id or changes.pop(table.primary_id, None) or str(uuid.uuid4())).lower()
        if record_id in self.records[table.entity_set]:
            raise duplicate_primary_key()
        now = iso_now()
        row: dict[str, Any] = {
            table.primary_id: record_id,
            "createdon": now,
            "modifiedon": now,
            "statecode": 0,
            "statuscode": 1,
            "ownerid": self.user_id,
            "owneridtype": "systemuser",
            "createdby": self.user_id,
            "createdbytype": "systemuser",
            "modifiedby": self.user_id,
            "modifiedbytype": "systemuser",
        }
        row.update(changes)
        if row.get("overriddencreatedon"):
            row["createdon"] = row["overriddencreatedon"]
        self.check_row(table, row, record_id, dedupe)
        row["versionnumber"] = self.next_version()
        self._derive(table, row)
        self.records[table.entity_set][record_id] = row
        self.reindex(table, record_id, None, row)
        return record_id

    def update(self, table: Table, record_id: str, changes: dict[str, Any], dedupe: bool) -> None:
        current = self.records[table.entity_set][record_id]
        row = {**current, **changes}
        self.check_row(table, row, record_id, dedupe)
        row.update(modifiedon=iso_now(), modifiedby=self.user_id, versionnumber=self.next_version())
        self._derive(table, row)
        self.records[table.entity_set][record_id] = row
        self.reindex(table, record_id, current, row)

    @staticmethod
    def _derive(table: Table, row: dict[str, Any]) -> None:
        if table.logical in ("contact", "lead"):
            row["fullname"] = " ".join(p for p in (row.get("firstname"), row.get("lastname")) if p) or None

    def check_row(self, table: Table, row: dict[str, Any], record_id: str, dedupe: bool) -> None:
        for logical in table.views().required:
            if row.get(logical) is None:
                raise cannot_be_null(logical)
        for key in table.keys:
            values = [row.get(c) for c in key.columns]
            owner = self.key_index(table, key).get(key_tuple(values)) if None not in values else None
            if owner is not None and owner != record_id:
                raise duplicate_entity_key(key.name, key.columns)
        if dedupe:
            self.detect_duplicates(table, row, record_id)

    def detect_duplicates(self, table: Table, row: dict[str, Any], record_id: str) -> None:
        for rule in self.duplicate_rules.get(table.logical, []):
            values = [row.get(c) for c in rule]
            if any(v in (None, "") for v in values):
                continue
            for other_id, other in self.records[table.entity_set].items():
                if other_id != record_id and all(
                    _same(other.get(c), v) for c, v in zip(rule, values, strict=True)
                ):
                    raise duplicate_detected()

    def delete(self, table: Table, record_id: str) -> None:
        self.reindex(table, record_id, self.records[table.entity_set].pop(record_id, None), None)
        for other in self.schema.values():
            for column in other.columns.values():
                if not column.is_lookup or table.logical not in column.targets:
                    continue
                rows = self.records[other.entity_set]
                for child_id in list(rows):
                    child = rows.get(child_id)  # as it is now: a deletion above may have replaced it
                    if child is None or child.get(column.logical) != record_id:
                        continue
                    if other.logical == "contact" and column.logical == "parentcustomerid":
                        self.delete(other, child_id)
                    else:
                        rows[child_id] = {**child, column.logical: None, column.logical + "type": None}

    def save_state(self) -> dict[str, dict[str, dict[str, Any]]]:
        """A copy of each table's dict of rows, not of the rows: a stored row is never changed in place
        (every write stores a new dict), so a bulk action or change set saves in one pass of C."""
        return {name: dict(rows) for name, rows in self.records.items()}

    def restore_state(self, state: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.records = state
        self.key_indexes.clear()

    # ----- reading ----------------------------------------------------------------------------------
    def etag(self, row: dict[str, Any]) -> str:
        return f'W/"{row.get("versionnumber", 0)}"'

    def represent(
        self, table: Table, row: dict[str, Any], select: list[str] | None, annotations: list[str]
    ) -> dict[str, Any]:
        props = table.web_properties()
        names = [n for n in select if n != table.primary_id] + [table.primary_id] if select else list(props)
        out: dict[str, Any] = {"@odata.etag": self.etag(row)}
        for name in names:
            column = props[name]
            value = row.get(column.logical)
            if annotations and value is not None:
                self._annotate(out, table, column, row, annotations)
            out[name] = value
        return out

    def _annotate(
        self, out: dict[str, Any], table: Table, column: Column, row: dict[str, Any], wanted: list[str]
    ) -> None:
        def want(name: str) -> bool:
            return any(fnmatch(name, pattern) for pattern in wanted)

        name = column.web_name
        formatted = self.formatted(column, row)
        if formatted is not None and want(FORMATTED):
            out[f"{name}@{FORMATTED}"] = formatted
        if column.is_lookup:
            target = row.get(column.logical + "type") or column.targets[0]
            if want(ASSOCIATED_NAV):
                nav = next(
                    (
                        n.name
                        for n in table.navs.values()
                        if n.column == column.logical and n.target == target
                    ),
                    None,
                )
                if nav:
                    out[f"{name}@{ASSOCIATED_NAV}"] = nav
            if want(LOOKUP_NAME):
                out[f"{name}@{LOOKUP_NAME}"] = target

    def formatted(self, column: Column, row: dict[str, Any]) -> str | None:
        value = row.get(column.logical)
        if column.type in CHOICE_TYPES and column.options:
            return column.options.get(value)
        if column.type == "Boolean":
            return "Yes" if value else "No"
        if column.type == "Money":
            return f"${value:,.2f}"
        if column.type in ("Integer", "BigInt"):
            return f"{value:,}"
        if column.type == "DateTime" and isinstance(value, str):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return f"{moment.month}/{moment.day}/{moment.year} {moment.strftime('%I:%M %p').lstrip('0')}"
        if column.is_lookup:
            target = self.table_of(row.get(column.logical + "type") or column.targets[0])
            if target is None:
                return "Sandbox Integration User" if value == self.user_id else None
            related = self.records[target.entity_set].get(value) or {}
            return related.get(target.primary_name)
        return None


class TableResolver:
    """`$filter`/`$orderby` properties of a table: its Web API properties, and `<nav>/<property>` of a
    single-valued navigation property to another emulated table."""

    def __init__(self, host: RecordsMixin, table: Table) -> None:
        self.host = host
        self.table = table
        self.type_name = table.type_name
        self.props = table.web_properties()

    def _related(self, path: list[str]) -> tuple[NavProp, Table, Column]:
        nav = self.table.navs.get(path[0])
        target = self.host.table_of(nav.target) if nav else None
        if nav is None or target is None or len(path) != 2:
            raise property_not_found(path[0], self.type_name)
        column = target.web_properties().get(path[1])
        if column is None:
            raise property_not_found(path[1], target.type_name)
        return nav, target, column

    def edm(self, path: list[str]) -> str:
        if len(path) == 1:
            if path[0] not in self.props:
                raise property_not_found(path[0], self.type_name)
            return self.props[path[0]].edm_type
        return self._related(path)[2].edm_type

    def get(self, row: dict[str, Any], path: list[str]) -> Any:
        if len(path) == 1:
            return row.get(self.props[path[0]].logical)
        nav, target, column = self._related(path)
        lookup = self.table.columns[nav.column].logical
        if row.get(lookup + "type") not in (None, nav.target):
            return None
        related = self.host.records[target.entity_set].get(row.get(lookup) or "")
        return related.get(column.logical) if related else None


def invalid_key(table: Table) -> DataverseError:
    """A key that is neither the primary nor an alternate key (use-alternate-key-reference-record.md)."""
    return query_error(
        f"The key in the request URI is not valid for resource '{table.type_name}'. Ensure that the names "
        "and number of key properties match the declared or alternate key properties for the resource "
        f"'{table.type_name}'."
    )


def key_tuple(values: list[Any]) -> tuple[Any, ...]:
    return tuple(v.rstrip(" ").casefold() if isinstance(v, str) else v for v in values)


def _same(stored: Any, wanted: Any) -> bool:
    """Equality as SQL Server compares: strings and GUIDs without regard to case."""
    if isinstance(stored, str) and isinstance(wanted, str):
        return stored.rstrip(" ").casefold() == wanted.rstrip(" ").casefold()
    return stored == wanted and stored is not None

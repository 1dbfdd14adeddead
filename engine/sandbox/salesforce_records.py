"""Record storage and the checks every write goes through, shared by the single-record routes and
sObject Collections: field rules, lookups, unique and external id fields, duplicate rules.

Order of checks for one record, each stage answering alone when it fails (so one write reports the
errors Salesforce would report first): read-only fields, values (types, lengths, picklists, emails,
lookups), required fields, unique values, duplicate rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.sandbox.salesforce_ids import make_id, normalize, object_of
from engine.sandbox.salesforce_rules import (
    RecordError,
    SalesforceError,
    check_value,
    duplicate_value_error,
    json_error,
    now_datetime,
    read_only_error,
    required_error,
    unknown_field,
)
from engine.sandbox.salesforce_schema import required_on_create

USER_ID = make_id("User", 1)
ORG_ID = make_id("Organization", 1)
RULE_NAMES = {
    "Account": "Standard_Account_Duplicate_Rule",
    "Contact": "Standard_Contact_Duplicate_Rule",
    "Lead": "Standard_Lead_Duplicate_Rule",
}
MATCH_RULE_NAMES = {
    "Account": "Standard_Account_Match_Rule_v1_0",
    "Contact": "Standard_Contact_Match_Rule_v1_1",
    "Lead": "Standard_Lead_Match_Rule_v1_0",
}
DUPLICATE_ALERT = "Use one of these records?"


@dataclass
class WriteOptions:
    """Per-request settings from Salesforce's headers (Sforce-Duplicate-Rule-Header)."""

    allow_save: bool = False
    include_record_details: bool = False

    @classmethod
    def from_header(cls, header: str | None) -> WriteOptions:
        options = cls()
        for part in re.split(r"[;,]", header or ""):
            key, _, value = part.strip().partition("=")
            if key == "allowSave":
                options.allow_save = value.strip().lower() == "true"
            elif key == "includeRecordDetails":
                options.include_record_details = value.strip().lower() == "true"
        return options


@dataclass
class Prepared:
    """One record made ready to write: checked values, or why it cannot be written."""

    object_name: str
    values: dict[str, Any]
    errors: list[RecordError] = field(default_factory=list)
    record_id: str | None = None


DUPLICATE_KEY = "<duplicate>"  # the index of records by duplicate-rule match key


@dataclass(frozen=True)
class FieldIndex:
    """What every write looks up in one object's fields, gathered once per schema rather than by a
    scan of all the fields for each key of each record."""

    names: dict[str, str]  # lower-cased name -> API name
    relations: dict[str, list[dict[str, Any]]]  # lower-cased relationshipName -> its lookups, in order
    required_on_create: list[str]
    required_on_update: list[str]
    unique: list[str]
    blank: dict[str, Any]  # every field, None or its default

    @classmethod
    def of(cls, fields: dict[str, dict[str, Any]]) -> FieldIndex:
        relations: dict[str, list[dict[str, Any]]] = {}
        for definition in fields.values():
            relation = definition["relationshipName"]
            if definition["type"] == "reference" and relation:
                relations.setdefault(relation.lower(), []).append(definition)
        return cls(
            names={n.lower(): n for n in fields},
            relations=relations,
            required_on_create=[n for n, d in fields.items() if required_on_create(d)],
            required_on_update=[
                n
                for n, d in fields.items()
                if not d["nillable"] and d["updateable"] and d["type"] != "boolean"
            ],
            unique=[n for n, d in fields.items() if d["unique"]],
            blank={n: d["defaultValue"] for n, d in fields.items()},
        )


def normalize_website(value: str) -> str:
    text = value.strip().lower()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = re.sub(r"^www\.", "", text)
    return text.rstrip("/")


class RecordsMixin:
    """Needs from the host: schema, records, version info, duplicate settings, next_number."""

    records: dict[str, dict[str, dict[str, Any]]]
    schema: dict[str, dict[str, dict[str, Any]]]
    duplicate_actions: dict[str, str]
    duplicate_match: Mapping[str, tuple[str, ...]]
    next_number: int
    indexes: dict[tuple[str, str], dict[Any, list[dict[str, Any]]]]
    field_indexes: dict[str, FieldIndex]  # emptied whenever the schema is made

    def fields_of(self, object_name: str) -> FieldIndex:
        index = self.field_indexes.get(object_name)
        if index is None:
            index = self.field_indexes[object_name] = FieldIndex.of(self.schema[object_name])
        return index

    # ----- storage ---------------------------------------------------------------------------
    def new_id(self, object_name: str) -> str:
        self.next_number += 1
        return make_id(object_name, self.next_number)

    def exists(self, object_name: str, record_id: str) -> bool:
        record = self.records.get(object_name, {}).get(record_id)
        return record is not None and not record["IsDeleted"]

    def live(self, object_name: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        return [r for r in self.records[object_name].values() if include_deleted or not r["IsDeleted"]]

    def get_record(self, object_name: str, raw_id: str) -> dict[str, Any] | None:
        record_id = normalize(raw_id)
        if record_id is None or object_of(record_id) != object_name:
            return None
        record = self.records[object_name].get(record_id)
        return record if record and not record["IsDeleted"] else None

    def delete_record(self, object_name: str, record_id: str) -> None:
        """Into the recycle bin: gone from query and GET, still seen by queryAll."""
        record = self.records[object_name][record_id]
        self.unindex(object_name, record)
        record["IsDeleted"] = True
        record["LastModifiedDate"] = record["SystemModstamp"] = now_datetime()

    def blank_record(self, object_name: str, record_id: str) -> dict[str, Any]:
        stamp = now_datetime()
        record = dict(self.fields_of(object_name).blank)
        record.update(
            {
                "Id": record_id,
                "IsDeleted": False,
                "OwnerId": USER_ID,
                "CreatedById": USER_ID,
                "LastModifiedById": USER_ID,
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
            }
        )
        return record

    def store_new(self, prepared: Prepared) -> str:
        record_id = prepared.record_id or self.new_id(prepared.object_name)
        record = self.blank_record(prepared.object_name, record_id)
        record.update(prepared.values)
        self.derive(prepared.object_name, record)
        self.records[prepared.object_name][record_id] = record
        self.reindex(prepared.object_name, record)
        return record_id

    def store_update(self, prepared: Prepared) -> None:
        record = self.records[prepared.object_name][prepared.record_id or ""]
        self.unindex(prepared.object_name, record)
        record.update(prepared.values)
        stamp = now_datetime()
        record["LastModifiedDate"] = record["SystemModstamp"] = stamp
        self.derive(prepared.object_name, record)
        self.reindex(prepared.object_name, record)

    @staticmethod
    def derive(object_name: str, record: dict[str, Any]) -> None:
        """Compound Name of people, as Salesforce computes it."""
        if object_name in ("Contact", "Lead"):
            record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p)

    def flat(self, record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if v is not None or k in ("Id",)}

    # ----- look-ups by field ---------------------------------------------------------------------
    def find_by_field(self, object_name: str, field_name: str, value: Any) -> list[dict[str, Any]]:
        definition = self.schema[object_name][field_name]
        folded = str(value) if definition["caseSensitive"] else str(value).casefold()
        return list(self.index(object_name, field_name).get(folded, ()))

    def index(self, object_name: str, name: str) -> dict[Any, list[dict[str, Any]]]:
        """Live records by the value of a field (folded as the field compares), or, for the name
        "<duplicate>", by their duplicate-rule match key. Built on first use and kept up to date by
        writes, so checking a batch of 200 costs one pass over the records, not one per record."""
        index = self.indexes.get((object_name, name))
        if index is None:
            index = {}
            for record in self.live(object_name):
                key = self.index_key(object_name, name, record)
                if key is not None:
                    index.setdefault(key, []).append(record)
            self.indexes[(object_name, name)] = index
        return index

    def index_key(self, object_name: str, name: str, record: Mapping[str, Any]) -> Any:
        if name == DUPLICATE_KEY:
            return self.match_key(object_name, record)
        return self.folded(object_name, name, record.get(name))

    def unindex(self, object_name: str, record: dict[str, Any]) -> None:
        """Take a record out of the built indexes, before its values change."""
        for (obj, name), index in self.indexes.items():
            key = self.index_key(obj, name, record) if obj == object_name else None
            if key is not None and record in index.get(key, ()):
                index[key] = [r for r in index[key] if r is not record]

    def reindex(self, object_name: str, record: dict[str, Any]) -> None:
        """Put a written record into the built indexes (the others are built when first used)."""
        for (obj, name), index in self.indexes.items():
            key = self.index_key(obj, name, record) if obj == object_name else None
            if key is not None:
                index.setdefault(key, []).append(record)

    def folded(self, object_name: str, field_name: str, value: Any) -> str | None:
        if value is None:
            return None
        return str(value) if self.schema[object_name][field_name]["caseSensitive"] else str(value).casefold()

    def records_changed(self, object_name: str) -> None:
        for key in [k for k in self.indexes if k[0] == object_name]:
            del self.indexes[key]

    def external_id_field(self, object_name: str, field_name: str) -> dict[str, Any] | None:
        definition = self.schema[object_name].get(field_name)
        if definition is None or not (definition["externalId"] or field_name == "Id"):
            return None
        return definition

    # ----- preparing one write -----------------------------------------------------------------------
    def parse_fields(self, object_name: str, body: Any) -> dict[str, Any]:
        """The body's fields under their API names (matched case-insensitively, as Salesforce's JSON
        reader does); unknown names and non-scalar values fail the whole request."""
        if not isinstance(body, dict):
            raise json_error(f"Cannot deserialize instance of {object_name} from {type(body).__name__} value")
        names = self.fields_of(object_name).names
        fields: dict[str, Any] = {}
        for key, value in body.items():
            if key == "attributes":
                continue
            relation = self.relationship(object_name, key) if isinstance(value, dict) else None
            if relation:
                fields[relation["relationshipName"]] = value
                continue
            name = names.get(key.lower())
            if name is None:
                raise unknown_field(object_name, key)
            if isinstance(value, (dict, list)):
                token = "START_OBJECT" if isinstance(value, dict) else "START_ARRAY"
                raise json_error(
                    f"Cannot deserialize instance of {self.schema[object_name][name]['soapType']} "
                    f"from {token} value for field {name}"
                )
            fields[name] = value
        return fields

    def relationship(self, object_name: str, name: str) -> dict[str, Any] | None:
        for definition in self.fields_of(object_name).relations.get(name.lower(), ()):
            if definition["referenceTo"][0] in self.schema:
                return definition
        return None

    def resolve_relationship(
        self, object_name: str, name: str, value: dict[str, Any]
    ) -> tuple[str, Any, RecordError | None]:
        """`"Account": {"BenefitFlow_Id__c": "A-1"}` -> ("AccountId", id) via the parent's external id."""
        definition = self.relationship(object_name, name) or {}
        target = definition["referenceTo"][0]
        keys = [k for k in value if k != "attributes"]
        if len(keys) != 1 or self.external_id_field(target, keys[0]) is None:
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"Foreign key external ID field must be an external id field on {target}: "
                f"{', '.join(keys) or '(none)'}",
            )
        key = keys[0]
        hits = self.find_by_field(target, key, value[key])
        if len(hits) != 1:
            problem = "not found" if not hits else "matches more than one record"
            return (
                definition["name"],
                None,
                RecordError(
                    "INVALID_FIELD",
                    f"Foreign key external ID: {value[key]} {problem} for field {key} in entity {target}",
                    [],
                ),
            )
        return definition["name"], hits[0]["Id"], None

    def prepare(
        self,
        object_name: str,
        fields: dict[str, Any],
        record_id: str | None = None,
        options: WriteOptions | None = None,
    ) -> Prepared:
        """Check one create (record_id None) or update and return what to write or the errors."""
        creating = record_id is None
        schema = self.schema[object_name]
        prepared = Prepared(object_name, {}, record_id=record_id)
        flag = "createable" if creating else "updateable"
        read_only = [
            n
            for n, v in fields.items()
            if n in schema
            and not schema[n][flag]
            and not (n == "Id" and not creating and normalize(str(v)) == record_id)
        ]
        if read_only:
            prepared.errors = [read_only_error(read_only)]
            return prepared
        for name, value in fields.items():
            if name == "Id":
                continue
            if name not in schema:
                name, value, error = self.resolve_relationship(object_name, name, value)
                if error:
                    prepared.errors.append(error)
                    continue
            if value is None or value == "":
                prepared.values[name] = None
                continue
            stored, error = check_value(schema[name], value, self.exists)
            error = error or self.owner_error(object_name, name, stored)  # type: ignore[attr-defined]
            if error:
                prepared.errors.append(error)
            else:
                prepared.values[name] = stored
        if prepared.errors:
            return prepared
        current = {} if creating else self.records[object_name][record_id or ""]
        merged = {**current, **prepared.values}
        index = self.fields_of(object_name)
        missing = [
            n
            for n in (index.required_on_create if creating else index.required_on_update)
            if merged.get(n) is None and (creating or n in prepared.values)
        ]
        if missing:
            prepared.errors = [required_error(missing)]
            return prepared
        prepared.errors = self.unique_errors(object_name, merged, record_id) or self.duplicate_errors(
            object_name, merged, record_id, creating, options or WriteOptions()
        )
        return prepared

    def unique_errors(
        self, object_name: str, merged: dict[str, Any], record_id: str | None
    ) -> list[RecordError]:
        for name in self.fields_of(object_name).unique:
            if merged.get(name) is None:
                continue
            for other in self.find_by_field(object_name, name, merged[name]):
                if other["Id"] != record_id:
                    return [duplicate_value_error(name, other["Id"])]
        return []

    # ----- duplicate rules ---------------------------------------------------------------------------
    def match_key(self, object_name: str, values: Mapping[str, Any]) -> tuple[str, ...] | None:
        fields = self.duplicate_match.get(object_name, ())
        parts = []
        for name in fields:
            value = values.get(name)
            if value in (None, ""):
                return None
            parts.append(
                normalize_website(str(value)) if name == "Website" else str(value).strip().casefold()
            )
        return tuple(parts) if parts else None

    def duplicate_errors(
        self,
        object_name: str,
        merged: dict[str, Any],
        record_id: str | None,
        creating: bool,
        options: WriteOptions,
    ) -> list[RecordError]:
        action = self.duplicate_actions.get(object_name, "off")
        if action == "off" or (action == "alert" and (options.allow_save or not creating)):
            return []
        key = self.match_key(object_name, merged)
        if key is None:
            return []
        matches = [r for r in self.index(object_name, DUPLICATE_KEY).get(key, ()) if r["Id"] != record_id]
        if not matches:
            return []
        return [
            RecordError(
                "DUPLICATES_DETECTED",
                DUPLICATE_ALERT,
                [],
                {"duplicateResult": self.duplicate_result(object_name, action, matches, options)},
            )
        ]

    def duplicate_result(
        self, object_name: str, action: str, matches: list[dict[str, Any]], options: WriteOptions
    ) -> dict[str, Any]:
        """DuplicateResult (SOAP API guide, "DuplicateResult"; REST captures in crm-api-facts §1.9)."""
        rows = []
        for record in matches:
            shown = (
                self.public(object_name, record)
                if options.include_record_details
                else {"attributes": self.attributes(object_name, record["Id"]), "Id": record["Id"]}
            )
            rows.append(
                {"additionalInformation": [], "fieldDiffs": [], "matchConfidence": 100.0, "record": shown}
            )
        return {
            "allowSave": action == "alert",
            "duplicateRule": RULE_NAMES.get(object_name, "Duplicate_Rule"),
            "duplicateRuleEntityType": object_name,
            "errorMessage": DUPLICATE_ALERT,
            "matchResults": [
                {
                    "entityType": object_name,
                    "errors": [],
                    "matchEngine": "ExactMatchEngine",
                    "matchRecords": rows,
                    "rule": MATCH_RULE_NAMES.get(object_name, "Match_Rule"),
                    "size": len(rows),
                    "success": True,
                }
            ],
        }

    # ----- shapes ----------------------------------------------------------------------------------
    def attributes(self, object_name: str, record_id: str) -> dict[str, str]:
        return {
            "type": object_name,
            "url": f"/services/data/v{self.current_version}/sobjects/{object_name}/{record_id}",
        }

    current_version: str = "62.0"

    def public(
        self, object_name: str, record: dict[str, Any], names: list[str] | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": self.attributes(object_name, record["Id"])}
        for name in names or list(self.schema[object_name]):
            out[name] = record.get(name)
        return out

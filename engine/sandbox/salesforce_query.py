"""Running SOQL against the emulator's records: binding names to the schema (case-insensitive, as
SOQL is), checking literals against field types, filtering, ordering, projecting, and paging with
query locators (REST API Developer Guide, "Execute a SOQL Query": `totalSize`, `done`,
`nextRecordsUrl` = /services/data/vXX.X/query/01g...-2000, 2,000 rows a page unless
`Sforce-Query-Options: batchSize=N` asks for 200..2,000).
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.sandbox.salesforce_ids import normalize, to18
from engine.sandbox.salesforce_rules import SalesforceError, parse_datetime
from engine.sandbox.salesforce_soql import LikePattern, Query, SoqlError, Token, parse

TEXT = {"string", "textarea", "picklist", "multipicklist", "combobox", "url", "email", "phone"}
NUMBERS = {"int": "integer", "double": "double", "currency": "double", "percent": "double"}
CUSTOM_FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom "
    "field name. Please reference your WSDL or the describe call for the appropriate names."
)
CUSTOM_OBJECT_HINT = (
    "If you are attempting to use a custom object, be sure to append the '__c' after the entity "
    "name. Please reference your WSDL or the describe call for the appropriate names."
)
MAX_OFFSET = 2000


@dataclass
class Path:
    """A field as named in a query, bound to the schema: [relationship, ] field."""

    name: str  # canonical spelling, e.g. Account.Name
    steps: list[tuple[str, dict[str, Any]]]  # (object, field definition) per step
    definition: dict[str, Any]


class Binder:
    """Checks a parsed query against the schema and turns it into callables over records."""

    def __init__(
        self,
        query: Query,
        text: str,
        schema: dict[str, dict[str, dict[str, Any]]],
        fetch: Callable[[str, str], dict[str, Any] | None],
    ) -> None:
        self.query, self.text, self.schema, self.fetch = query, text, schema, fetch
        token = query.object_token
        objects = {name.lower(): name for name in schema}
        if token.value.lower() not in objects:
            raise SoqlError(
                "INVALID_TYPE",
                f"sObject type '{token.value}' is not supported. {CUSTOM_OBJECT_HINT}",
                text,
                token.position,
            )
        self.object_name = objects[token.value.lower()]

    def path(self, token: Token) -> Path:
        parts = token.value.split(".")
        current, steps, names = self.object_name, [], []
        for index, part in enumerate(parts):
            fields = {name.lower(): d for name, d in self.schema[current].items()}
            last = index == len(parts) - 1
            if last:
                definition = fields.get(part.lower())
                if definition is None:
                    raise SoqlError(
                        "INVALID_FIELD",
                        f"No such column '{part}' on entity '{current}'. {CUSTOM_FIELD_HINT}",
                        self.text,
                        token.position,
                    )
                steps.append((current, definition))
                names.append(definition["name"])
                return Path(".".join(names), steps, definition)
            relation = next(
                (
                    d
                    for d in fields.values()
                    if d["type"] == "reference"
                    and d["relationshipName"]
                    and d["relationshipName"].lower() == part.lower()
                    and d["referenceTo"][0] in self.schema
                ),
                None,
            )
            if relation is None:
                raise SoqlError(
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{part}' in field path. If you "
                    "are attempting to use a custom relationship, be sure to append the '__r' after the "
                    "custom relationship name. Please reference your WSDL or the describe call for the "
                    "appropriate names.",
                    self.text,
                    token.position,
                )
            steps.append((current, relation))
            names.append(relation["relationshipName"])
            current = relation["referenceTo"][0]
        raise AssertionError("unreachable")

    def read(self, path: Path, record: dict[str, Any] | None) -> Any:
        for _object_name, definition in path.steps[:-1]:
            if record is None or record.get(definition["name"]) is None:
                return None
            record = self.fetch(definition["referenceTo"][0], record[definition["name"]])
        return None if record is None else record.get(path.definition["name"])

    # ----- literals ------------------------------------------------------------------------------
    def value(self, path: Path, token: Token, in_like: bool = False) -> Any:
        definition, kind = path.definition, path.definition["type"]
        name = definition["name"]
        if token.kind == "keyword" and token.value == "NULL":
            return None
        if token.kind == "string" and token.escaped and not in_like:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"Invalid string literal '{token.value}'. Illegal character "
                "sequence in string literal: \\% and \\_ are only allowed in a LIKE pattern.",
                self.text,
                token.position,
            )
        wrong = None
        if kind in ("id", "reference"):
            if token.kind != "string":
                wrong = "id"
            else:
                record_id = normalize(token.value)
                if record_id is None:
                    raise SoqlError(
                        "INVALID_QUERY_FILTER_OPERATOR",
                        f"invalid ID field: {token.value}",
                        self.text,
                        token.position,
                    )
                return record_id
        elif kind in TEXT:
            if token.kind != "string":
                raise SoqlError(
                    "INVALID_FIELD",
                    f"value of filter criterion for field '{name}' must be of type "
                    "string and should be enclosed in quotes",
                    self.text,
                    token.position,
                )
            return token.value.casefold()
        elif kind in NUMBERS:
            if token.kind != "number":
                wrong = NUMBERS[kind]
            else:
                return float(token.value)
        elif kind == "boolean":
            if token.kind != "keyword" or token.value not in ("TRUE", "FALSE"):
                wrong = "boolean"
            else:
                return token.value == "TRUE"
        elif kind == "date":
            if token.kind != "date":
                wrong = "date"
            else:
                return date.fromisoformat(token.value)
        elif kind == "datetime":
            if token.kind != "datetime":
                wrong = "dateTime"
            else:
                return parse_datetime(token.value)
        if wrong:
            raise SoqlError(
                "INVALID_FIELD",
                f"value of filter criterion for field '{name}' must be of type {wrong} "
                "and should not be enclosed in quotes",
                self.text,
                token.position,
            )
        return token.value

    @staticmethod
    def comparable(definition: dict[str, Any], value: Any) -> Any:
        if value is None:
            return None
        kind = definition["type"]
        if kind in TEXT:
            return str(value).casefold()
        if kind in NUMBERS:
            return float(value)
        if kind == "date":
            return date.fromisoformat(str(value)[:10])
        if kind == "datetime":
            return parse_datetime(str(value))
        return value

    # ----- the WHERE tree -------------------------------------------------------------------------
    def predicate(self, node: Any) -> Callable[[dict[str, Any]], bool]:
        kind = node[0]
        if kind in ("and", "or"):
            parts = [self.predicate(p) for p in node[1]]
            return (
                (lambda r: all(p(r) for p in parts))
                if kind == "and"
                else (lambda r: any(p(r) for p in parts))
            )
        if kind == "not":
            inner = self.predicate(node[1])
            return lambda r: not inner(r)
        path = self.filterable(node[1])
        if kind == "like":
            if path.definition["type"] not in TEXT:
                raise SoqlError(
                    "INVALID_FIELD",
                    f"invalid operator on field '{path.definition['name']}': LIKE works on text fields only",
                    self.text,
                    node[1].position,
                )
            self.value(path, node[2], in_like=True)
            pattern = LikePattern(node[2])
            return lambda r: (v := self.read(path, r)) is not None and pattern.matches(str(v))
        if kind in ("in", "includes", "excludes"):
            negate = node[2] if kind == "in" else kind == "excludes"
            tokens = node[3] if kind == "in" else node[2]
            wanted = {self.value(path, t) for t in tokens}
            if kind != "in":
                return lambda r: (
                    negate != bool({p.casefold() for p in str(self.read(path, r) or "").split(";")} & wanted)
                )
            return lambda r: negate != (self.comparable(path.definition, self.read(path, r)) in wanted)
        return self.comparison(path, node[2], self.value(path, node[3]))

    def comparison(self, path: Path, op: str, wanted: Any) -> Callable[[dict[str, Any]], bool]:
        def test(record: dict[str, Any]) -> bool:
            current = self.comparable(path.definition, self.read(path, record))
            if op == "=":
                return current == wanted
            if op == "!=":
                return current != wanted
            if current is None or wanted is None:
                return False
            return {
                "<": current < wanted,
                "<=": current <= wanted,
                ">": current > wanted,
                ">=": current >= wanted,
            }[op]

        return test

    def usable(self, token: Token, ability: str, verb: str) -> Path:
        """The field, if describe says it is filterable/sortable; else INVALID_FIELD as SOQL says."""
        path = self.path(token)
        if not path.definition[ability]:
            name = path.definition["name"]
            raise SoqlError(
                "INVALID_FIELD",
                f"field '{name}' can not be {verb} in a query call",
                self.text,
                token.position,
            )
        return path

    def filterable(self, token: Token) -> Path:
        return self.usable(token, "filterable", "filtered")

    def sort_key(self, order: list[tuple[Token, bool, bool]]) -> list[tuple[Path, bool, bool]]:
        return [
            (self.usable(token, "sortable", "sorted"), descending, nulls_first)
            for token, descending, nulls_first in order
        ]


def order_rows(
    binder: Binder, rows: list[dict[str, Any]], keys: list[tuple[Path, bool, bool]]
) -> list[dict[str, Any]]:
    """Stable sorts from the last key to the first; nulls first for ASC and last for DESC by default."""
    for path, descending, nulls_first in reversed(keys):
        present = [r for r in rows if binder.read(path, r) is not None]
        absent = [r for r in rows if binder.read(path, r) is None]
        present.sort(
            key=lambda r, p=path: binder.comparable(p.definition, binder.read(p, r)), reverse=descending
        )
        rows = absent + present if nulls_first else present + absent
    return rows


class QueryMixin:
    """Needs from the host: schema, live(), get_record(), attributes(), current_version, cursors."""

    schema: dict[str, dict[str, dict[str, Any]]]
    cursors: OrderedDict[str, list[dict[str, Any]]]
    open_query_cursors: int
    current_version: str
    unreadable_objects: set[str]
    user_schema: dict[str, dict[str, Any]]

    def run_query(self, text: str, include_deleted: bool, batch_size: int) -> dict[str, Any]:
        try:
            query = parse(text)
            # an object the user's profile may not read is one SOQL does not know (INVALID_TYPE)
            known = {**self.schema, "User": self.user_schema}  # User: queried, not in the global describe
            readable = {name: fields for name, fields in known.items() if name not in self.unreadable_objects}
            binder = Binder(query, text, readable, self._fetch)
            return self._execute(query, binder, include_deleted, batch_size)
        except SoqlError as exc:
            raise SalesforceError(400, exc.code, exc.message) from None

    def _fetch(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        return self.records[object_name].get(record_id)

    def _execute(
        self, query: Query, binder: Binder, include_deleted: bool, batch_size: int
    ) -> dict[str, Any]:
        paths = [binder.path(t) for t in query.fields]
        seen: set[str] = set()
        for path, token in zip(paths, query.fields, strict=True):
            if path.name.lower() in seen:
                raise SoqlError(
                    "MALFORMED_QUERY", f"duplicate field selected: {path.name}", binder.text, token.position
                )
            seen.add(path.name.lower())
        test = binder.predicate(query.where) if query.where is not None else (lambda r: True)
        keys = binder.sort_key(query.order)
        if query.offset > MAX_OFFSET:
            raise SalesforceError(
                400, "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            )
        rows = [r for r in self.live(binder.object_name, include_deleted) if test(r)]
        rows = order_rows(binder, rows, keys)[query.offset :]
        if query.limit is not None:
            rows = rows[: query.limit]
        if query.count:
            return {"totalSize": len(rows), "done": True, "records": []}
        projected = [self._project(binder, binder.object_name, r, paths) for r in rows]
        return self._page(projected, 0, batch_size, None)

    def _project(
        self, binder: Binder, object_name: str, record: dict[str, Any], paths: list[Path]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": self.attributes(object_name, record["Id"])}
        for path in paths:
            if len(path.steps) == 1:
                out[path.definition["name"]] = record.get(path.definition["name"])
                continue
            relation = path.steps[0][1]
            parent_id = record.get(relation["name"])
            parent = self._fetch(relation["referenceTo"][0], parent_id) if parent_id else None
            name = relation["relationshipName"]
            if parent is None:
                out.setdefault(name, None)
                continue
            nested = out.get(name) or {
                "attributes": self.attributes(relation["referenceTo"][0], parent["Id"])
            }
            nested[path.definition["name"]] = parent.get(path.definition["name"])
            out[name] = nested
        return out

    def _page(
        self, rows: list[dict[str, Any]], start: int, batch_size: int, locator: str | None
    ) -> dict[str, Any]:
        end = start + batch_size
        body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows)}
        if end < len(rows):
            if locator is None:
                locator = to18("01g" + secrets.token_hex(6)[:12])
                self.cursors[locator] = rows
                while len(self.cursors) > self.open_query_cursors:
                    self.cursors.popitem(last=False)
            body["nextRecordsUrl"] = f"/services/data/v{self.current_version}/query/{locator}-{end}"
        elif locator is not None:
            self.cursors.pop(locator, None)
        body["records"] = rows[start:end]
        return body

    def query_more(self, locator_and_offset: str, batch_size: int) -> dict[str, Any]:
        locator, _, offset = locator_and_offset.rpartition("-")
        rows = self.cursors.get(locator)
        if rows is None or not offset.isdigit():
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(rows, int(offset), batch_size, locator)

"""Entity-set requests of the Dynamics emulator: `/accounts`, `/accounts(<key>)` and the bulk actions
`/accounts/Microsoft.Dynamics.CRM.CreateMultiple|UpdateMultiple|UpsertMultiple`.

Bulk operations on standard tables are all-or-nothing: one failing target rolls every target back and
the request answers that target's error (bulk-operations.md, "On Error behavior with standard tables").
CreateMultiple answers 200 `{"@odata.context": ...CreateMultipleResponse, "Ids": [...]}`, UpdateMultiple
204. UpsertMultiple was SDK-only when the docs were written; its Web API answer here, 200 `{"Results":
[{"RecordCreated", "Target"}]}`, mirrors the SDK's UpsertMultipleResponse [UNVERIFIED shape].
Paging: `Prefer: odata.maxpagesize=N` (at most and by default 5,000), `@odata.nextLink` carrying a
`$skiptoken` paging cookie, `Preference-Applied`; `$top` is ignored when a page size is asked for
(webapi/query/page-results.md); `$count=true` adds `@odata.count`, at most 5,000.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote as url_quote
from urllib.parse import unquote, urlencode

from engine.sandbox.dynamics_errors import (
    DataverseError,
    DvResponse,
    empty_answer,
    json_answer,
    key_not_found,
    matching_key_exists,
    missing_privilege,
    no_resource,
    not_implemented,
    odata_payload_error,
    query_error,
    record_not_found,
)
from engine.sandbox.dynamics_odata import parse_filter, parse_orderby
from engine.sandbox.dynamics_query import compile_filter, parse_select, sort_rows
from engine.sandbox.dynamics_records import RecordsMixin, annotation_filter, prefer_values
from engine.sandbox.dynamics_schema import Table
from engine.sandbox.dynamics_write import Reference

MAX_PAGE = 5000
SYSTEM_OPTIONS = {
    "$select",
    "$filter",
    "$orderby",
    "$top",
    "$count",
    "$skiptoken",
    "$expand",
    "$apply",
    "$skip",
    "$search",
    "$format",
}
BULK_ACTIONS = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")


@dataclass
class ApiRequest:
    """One Web API request, from HTTP or from a `$batch` part."""

    method: str
    path: str  # after /api/data/v9.x/
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    org: str  # scheme://host[:port]
    version: str
    refs: dict[str, Reference] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return f"{self.org}/api/data/{self.version}"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def prefer(self) -> dict[str, str]:
        return prefer_values(self.header("prefer"))

    @property
    def dedupe(self) -> bool:
        return (self.header("mscrm.suppressduplicatedetection") or "").strip().lower() == "false"

    def json_body(self, entity_set: str, style: str) -> Any:
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise odata_payload_error(entity_set, f"Invalid JSON. {exc}", style) from None

    def options(self) -> tuple[dict[str, str], dict[str, str]]:
        """(system query options, parameter aliases); each option at most once."""
        options: dict[str, str] = {}
        aliases: dict[str, str] = {}
        for name, value in self.query:
            if name.startswith("@"):
                aliases[name] = value
                continue
            if not name.startswith("$"):
                continue
            if name not in SYSTEM_OPTIONS:
                raise query_error(f"The query parameter '{name}' is not supported.")
            if name in options:
                raise query_error(
                    f"Query option '{name}' was specified more than once, but it must be specified at most "
                    "once."
                )
            options[name] = value
        return options, aliases


def split_path(path: str) -> tuple[str, str | None, str]:
    """`accounts(bf_benefitflowid='a(b)')/X` -> ("accounts", "bf_benefitflowid='a(b)'", "X")."""
    match = re.match(r"[A-Za-z_$][A-Za-z0-9_.]*", path)
    if not match:
        return path, None, ""
    name, i = match.group(0), match.end()
    key = None
    if i < len(path) and path[i] == "(":
        depth, j, quoted = 0, i, False
        while j < len(path):
            char = path[j]
            if char == "'":
                quoted = not quoted
            elif not quoted and char == "(":
                depth += 1
            elif not quoted and char == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j >= len(path):
            raise query_error(f"Bad Request - Error in query syntax. The key '{path[i:]}' is not valid.")
        key, i = path[i + 1 : j], j + 1
    rest = path[i:].lstrip("/")
    return name, key, rest


class EntitySetMixin(RecordsMixin):
    upsert_entity_id: str
    user_id: str
    missing_read_privileges: set[str]  # tables the application user's roles may not read

    def entity_request(self, req: ApiRequest) -> DvResponse:
        entity_set, key_text, rest = split_path(req.path)
        table = self.table(entity_set)
        if req.method == "GET" and table.logical in self.missing_read_privileges:
            privilege = f"prvRead{table.schema_name}"
            method = "RetrieveMultiple" if key_text is None else "Retrieve"
            raise missing_privilege(self.user_id, privilege, table.logical, table.object_type_code, method)
        if rest:
            action = rest.removeprefix("Microsoft.Dynamics.CRM.")
            if key_text is None and action in BULK_ACTIONS and req.method == "POST":
                return self.bulk(req, table, action)
            if rest.startswith("Microsoft.Dynamics.CRM."):
                raise no_resource(f"{req.api}/{req.path}")
            if key_text is None and rest == "$count" and req.method == "GET":
                count = str(min(len(self.records[table.entity_set]), MAX_PAGE)).encode()
                return DvResponse(200, {"Content-Type": "text/plain", "OData-Version": "4.0"}, count)
            if key_text is not None and rest in table.columns and req.method in ("PUT", "DELETE"):
                return self.single_property(req, table, self.parse_key(table, key_text), rest)
            raise not_implemented(f"the navigation or property path '{rest}'")
        if key_text is None:
            if req.method == "GET":
                return self.list_records(req, table)
            if req.method == "POST":
                return self.post_record(req, table)
            raise method_not_allowed(req.method)
        key = self.parse_key(table, key_text)
        handlers = {"GET": self.get_record, "PATCH": self.patch_record, "DELETE": self.delete_record}
        if req.method not in handlers:
            raise method_not_allowed(req.method)
        return handlers[req.method](req, table, key)

    # ----- single records ----------------------------------------------------------------------------
    def select_of(self, req: ApiRequest, table: Table) -> list[str] | None:
        options, _ = req.options()
        if "$expand" in options:
            raise not_implemented("$expand")
        if "$select" not in options:
            return None
        props = table.web_properties()
        return parse_select(options["$select"], lambda n: n in props, table.type_name)

    def written(
        self, req: ApiRequest, table: Table, record_id: str, created: bool, key: Any = None
    ) -> DvResponse:
        segment = record_id
        if isinstance(key, dict) and self.upsert_entity_id == "key":
            segment = self.key_segment(key)
        entity_id = f"{req.api}/{table.entity_set}({segment})"
        canonical = f"{req.api}/{table.entity_set}({record_id})"
        if req.prefer.get("return") != "representation":
            answer = empty_answer(204, {"OData-EntityId": entity_id})
            answer.entity_url = canonical
            return answer
        select = self.select_of(req, table)
        row = self.records[table.entity_set][record_id]
        body = {"@odata.context": self.context(req, table, select, entity=True)}
        body.update(self.represent(table, row, select, annotation_filter(req.prefer)))
        # create-entity-web-api.md: with return=representation the OData-EntityId header is not returned
        headers = {"ETag": self.etag(row), "Preference-Applied": "return=representation"}
        answer = json_answer(201 if created else 200, body, headers)
        answer.entity_url = canonical
        return answer

    def context(self, req: ApiRequest, table: Table, select: list[str] | None, entity: bool = False) -> str:
        shape = f"({','.join(select)})" if select else ""
        return f"{req.api}/$metadata#{table.entity_set}{shape}{'/$entity' if entity else ''}"

    def post_record(self, req: ApiRequest, table: Table) -> DvResponse:
        changes = self.read_body(table, req.json_body(table.entity_set, self.payload_style), True, req.refs)
        record_id = self.create(table, changes, req.dedupe)
        return self.written(req, table, record_id, created=True)

    def get_record(self, req: ApiRequest, table: Table, key: Any) -> DvResponse:
        found = self.find(table, key)
        if found is None:
            raise self.missing(table, key)
        select = self.select_of(req, table)
        _, row = found
        if req.header("if-none-match") == self.etag(row):
            return empty_answer(304)
        body = {"@odata.context": self.context(req, table, select, entity=True)}
        body.update(self.represent(table, row, select, annotation_filter(req.prefer)))
        return json_answer(200, body, {"ETag": self.etag(row)})

    def missing(self, table: Table, key: Any) -> DataverseError:
        return record_not_found(table.logical, key) if isinstance(key, str) else key_not_found(table.logical)

    def patch_record(self, req: ApiRequest, table: Table, key: Any) -> DvResponse:
        body = req.json_body(table.entity_set, self.payload_style)
        found = self.find(table, key)
        if_match, if_none = req.header("if-match"), req.header("if-none-match")
        if found is None:
            if if_match:
                raise self.missing(table, key)
            changes = self.read_body(table, body, True, req.refs)
            if isinstance(key, dict):
                for column, value in key.items():
                    changes.setdefault(column, value)
            record_id = self.create(table, changes, req.dedupe, key if isinstance(key, str) else None)
            return self.written(req, table, record_id, created=True, key=key)
        record_id, row = found
        if if_none == "*":
            raise matching_key_exists()
        self.check_version(req, row)
        changes = self.read_body(table, body, False, req.refs)
        for column in key if isinstance(key, dict) else ():
            changes.pop(column, None)
        self.update(table, record_id, changes, req.dedupe)
        return self.written(req, table, record_id, created=False, key=key)

    def delete_record(self, req: ApiRequest, table: Table, key: Any) -> DvResponse:
        found = self.find(table, key)
        if found is None:
            raise self.missing(table, key)
        self.check_version(req, found[1])
        self.delete(table, found[0])
        return empty_answer(204)

    def check_version(self, req: ApiRequest, row: dict[str, Any]) -> None:
        """Optimistic concurrency: an ETag in If-Match must be the record's (conditional operations doc)."""
        if_match = req.header("if-match")
        if if_match not in (None, "*") and if_match != self.etag(row):
            raise DataverseError(
                412, "", "The version of the existing record doesn't match the RowVersion property provided."
            )

    def single_property(self, req: ApiRequest, table: Table, key: Any, name: str) -> DvResponse:
        """`PUT <record>/<column>` with {"value": v} sets one column; DELETE clears it
        (update-delete-entities-using-web-api.md, "Update a single property value")."""
        found = self.find(table, key)
        if found is None:
            raise self.missing(table, key)
        body = req.json_body(table.entity_set, self.payload_style) if req.method == "PUT" else {"value": None}
        if not isinstance(body, dict) or "value" not in body:
            raise odata_payload_error(
                table.entity_set, 'The body of a property update must be {"value": ...}.', self.payload_style
            )
        changes = self.read_body(table, {name: body["value"]}, False, req.refs)
        self.update(table, found[0], changes, req.dedupe)
        return empty_answer(204)

    # ----- collections ------------------------------------------------------------------------------
    def list_records(self, req: ApiRequest, table: Table) -> DvResponse:
        options, aliases = req.options()
        for unsupported in ("$skip", "$search", "$format", "$apply"):
            if unsupported in options:
                raise query_error(f"The query parameter {unsupported} is not supported")
        select = self.select_of(req, table)
        resolver = self.resolver(table)
        rows = list(self.records[table.entity_set].values())
        if "$filter" in options:
            predicate = compile_filter(parse_filter(options["$filter"]), resolver, aliases)
            rows = [row for row in rows if predicate(row) is True]
        if "$orderby" in options:
            rows = sort_rows(rows, parse_orderby(options["$orderby"]), resolver)
        count = options.get("$count", "false").lower()
        if count not in ("true", "false"):
            raise query_error(f"'{options['$count']}' is not a valid count option.")
        total = len(rows)
        prefer = req.prefer
        page_size = page_size_of(prefer)
        if "$top" in options and page_size is None:
            rows = rows[: top_of(options["$top"])]
        size = page_size or MAX_PAGE
        page_number = page_of(options.get("$skiptoken"))
        start = (page_number - 1) * size
        page = rows[start : start + size]
        annotations = annotation_filter(prefer)
        body: dict[str, Any] = {"@odata.context": self.context(req, table, select)}
        if count == "true":
            body["@odata.count"] = min(total, MAX_PAGE)
        body["value"] = [self.represent(table, row, select, annotations) for row in page]
        if start + size < len(rows):
            body["@odata.nextLink"] = self.next_link(req, table, page_number + 1, page)
        applied = [f"odata.maxpagesize={page_size}"] if page_size else []
        if annotations:
            applied.append(f'odata.include-annotations="{prefer["odata.include-annotations"]}"')
        return json_answer(200, body, {"Preference-Applied": ",".join(applied)} if applied else None)

    def next_link(self, req: ApiRequest, table: Table, page_number: int, page: list[dict[str, Any]]) -> str:
        first, last = page[0][table.primary_id].upper(), page[-1][table.primary_id].upper()
        inner = (
            f'<cookie page="{page_number - 1}"><{table.primary_id} last="{{{last}}}" first="{{{first}}}" />'
            f"</cookie>"
        )
        cookie = (
            f'<cookie pagenumber="{page_number}" pagingcookie="{url_quote(inner, safe="")}" '
            f'istracking="False" />'
        )
        kept = [(k, v) for k, v in req.query if k != "$skiptoken"]
        query = urlencode(kept, safe="$,'()=@[]\"/:", quote_via=url_quote)
        separator = "&" if query else ""
        return f"{req.api}/{table.entity_set}?{query}{separator}$skiptoken={url_quote(cookie, safe='=')}"

    # ----- bulk actions -------------------------------------------------------------------------------
    def bulk(self, req: ApiRequest, table: Table, action: str) -> DvResponse:
        body = req.json_body(table.entity_set, self.payload_style)
        targets = body.get("Targets") if isinstance(body, dict) else None
        if not isinstance(targets, list):
            raise DataverseError(
                400, "0x80040203", f"The parameter 'Targets' of {action} must be a collection of entities."
            )
        saved = self.save_state()
        try:
            results = [self.bulk_one(req, table, action, target) for target in targets]
        except DataverseError:
            self.restore_state(saved)
            raise
        context = f"{req.api}/$metadata#Microsoft.Dynamics.CRM.{action}Response"
        if action == "CreateMultiple":
            return json_answer(200, {"@odata.context": context, "Ids": [rid for rid, _ in results]})
        if action == "UpdateMultiple":
            return empty_answer(204)
        return json_answer(
            200,
            {
                "@odata.context": context,
                "Results": [
                    {
                        "RecordCreated": created,
                        "Target": {"@odata.type": f"#{table.type_name}", table.primary_id: rid},
                    }
                    for rid, created in results
                ],
            },
        )

    def bulk_one(self, req: ApiRequest, table: Table, action: str, target: Any) -> tuple[str, bool]:
        if not isinstance(target, dict) or "@odata.type" not in target:
            raise DataverseError(
                400, "0x80040203", f"Each item of Targets must set '@odata.type' to '{table.type_name}'."
            )
        data = {k: v for k, v in target.items() if k != "@odata.id"}
        if action == "CreateMultiple":
            return self.create(table, self.read_body(table, data, True, req.refs), req.dedupe), True
        key = self.target_key(table, target)
        found = self.find(table, key) if key is not None else None
        if action == "UpdateMultiple":
            if key is None:
                raise DataverseError(400, "0x80040203", "Entity Id must be specified for Update")
            if found is None:
                raise self.missing(table, key)
        if found is None:
            changes = self.read_body(table, data, True, req.refs)
            for column, value in key.items() if isinstance(key, dict) else ():
                changes.setdefault(column, value)
            return self.create(table, changes, req.dedupe, key if isinstance(key, str) else None), True
        record_id, _ = found
        changes = self.read_body(table, data, False, req.refs)
        changes.pop(table.primary_id, None)
        for column in key if isinstance(key, dict) else ():
            changes.pop(column, None)
        self.update(table, record_id, changes, req.dedupe)
        return record_id, False

    def target_key(self, table: Table, target: dict[str, Any]) -> str | dict[str, Any] | None:
        if isinstance(target.get(table.primary_id), str):
            return target[table.primary_id].lower()
        odata_id = target.get("@odata.id")
        if isinstance(odata_id, str):
            entity_set, key_text, _ = split_path(unquote(odata_id.rsplit("/", 1)[-1]))
            if entity_set != table.entity_set or key_text is None:
                raise query_error(
                    f"The @odata.id '{odata_id}' does not address a record of {table.entity_set}."
                )
            return self.parse_key(table, key_text)
        for alt in table.keys:
            if all(target.get(c) is not None for c in alt.columns):
                return {c: target[c] for c in alt.columns}
        return None


def method_not_allowed(method: str) -> DataverseError:
    return DataverseError(405, "", f"The requested resource does not support http method '{method}'.")


def page_size_of(prefer: dict[str, str]) -> int | None:
    text = prefer.get("odata.maxpagesize")
    if text is None:
        return None
    if not text.isdigit() or int(text) < 1:
        raise query_error(
            f"The value '{text}' of the odata.maxpagesize preference is not a positive integer."
        )
    return min(int(text), MAX_PAGE)


def top_of(text: str) -> int:
    if not text.strip().isdigit():
        raise query_error(
            f"Invalid value '{text}' for $top query option found. The $top query option requires a "
            "non-negative integer value."
        )
    return int(text)


def page_of(skiptoken: str | None) -> int:
    if skiptoken is None:
        return 1
    match = re.search(r'pagenumber="(\d+)"', unquote(skiptoken))
    if not match:
        raise query_error(f"The $skiptoken '{skiptoken}' is not a paging cookie this service issued.")
    return max(1, int(match.group(1)))


def new_id() -> str:
    return str(uuid.uuid4())

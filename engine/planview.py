"""What a person is shown of a planned record, by the review app and the static report alike: its name
(the profile's `name:` of its stream), its "View in CRM" link (the connector object's `record_url`),
the identity values people search by (email, domain), and the plan's problems grouped by cause, each
with the profile line that maps the field."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.catalog import ProfileBundle
from engine.connector import ConnectorSpec
from engine.plan import PlannedRecord
from engine.templating import fill

NAME_SEPARATOR = " "


def display_name(record: PlannedRecord, name_fields: list[str]) -> str:
    """The record's name: the values of its stream's `name` fields joined by a space; without them
    (no `name:`, or the record has none of their values) its first identity value, else its source id."""
    parts = [_text(record.values.get(f)) for f in name_fields]
    name = NAME_SEPARATOR.join(p for p in parts if p)
    if name:
        return name
    first = next((values[0] for values in record.identity.values() if values), None)
    return _text(first) or record.source_id


def _text(value: Any) -> str:
    if value is None or isinstance(value, list | dict):
        return ""
    return str(value).strip()


def view_url(connector: ConnectorSpec, connection: dict[str, str], object_name: str,
             crm_id: str | None) -> str | None:
    """The CRM's own page of the record ("View in CRM"): the object's `record_url` filled with the
    connection settings and the CRM id; None for a record not in the CRM yet, or an object without one."""
    template = connector.objects[object_name].record_url
    if not template or not crm_id:
        return None
    return str(fill(template, {**connection, "id": crm_id}))


def search_values(bundle: ProfileBundle, record: PlannedRecord) -> dict[str, str]:
    """The record's first email and domain (identity parts normalised as such), for search."""
    stream = bundle.profile.model.streams[record.stream]
    key = bundle.connector.model.objects[record.object].identity_keys.get(stream.identity.key)
    found: dict[str, str] = {}
    for part in key.parts if key else []:
        values = record.identity.get(part.name) or []
        if part.normalize in ("email", "domain") and values and part.normalize not in found:
            found[part.normalize] = str(values[0])
    return found


@dataclass
class ProblemGroup:
    """One cause of problems (the same field, code and message once the record is left out), with how
    many records have it and where the profile maps the field."""

    stream: str
    field: str | None
    code: str
    cause: str
    profile_at: str
    refs: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.refs)

    def line(self) -> str:
        noun = "record" if self.count == 1 else "records"
        return f"{self.cause} — {self.count:,} {noun}"

    def as_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "field": self.field, "code": self.code, "cause": self.cause,
                "count": self.count, "profile_at": self.profile_at, "line": self.line()}


def problem_cause(record: PlannedRecord, message: str) -> str:
    """The message without the record it is about (`employer emp-001: `, `employer.jsonl:3: `), so the
    same cause reads the same for every record."""
    for prefix in (f"{record.stream} {record.source_id}: ", f"{record.where}: "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


def profile_position(bundle: ProfileBundle, stream: str, field_name: str | None) -> str:
    """`file:line` of the profile key that maps the field in the stream (the stream's own key when the
    field is not one of its mapped fields: an identity part, the source id)."""
    fields = bundle.profile.model.streams[stream].fields if stream in bundle.profile.model.streams else {}
    loc: tuple[str, ...] = ("streams", stream, "fields", field_name) if field_name in fields \
        else ("streams", stream)
    at = bundle.profile.position(loc, key=True)
    return f"{at.path}:{at.line}"


def group_problems(bundle: ProfileBundle, records: Iterable[PlannedRecord]) -> list[ProblemGroup]:
    """Every problem of the plan grouped by cause, the most frequent first."""
    groups: dict[tuple[str, str | None, str, str], ProblemGroup] = {}
    for record in records:
        for problem in record.problems:
            cause = problem_cause(record, problem.message)
            key = (record.stream, problem.field, problem.code, cause)
            group = groups.get(key)
            if group is None:
                group = groups[key] = ProblemGroup(record.stream, problem.field, problem.code, cause,
                                                   profile_position(bundle, record.stream, problem.field))
            group.refs.append(record.ref)
    return sorted(groups.values(), key=lambda g: (-g.count, g.stream, g.field or "", g.cause))


_SECRETISH = re.compile(r"(?i)^(authorization|x-api-key|api-key|cookie|proxy-authorization)$")


def redacted_headers(headers: dict[str, str]) -> dict[str, str]:
    """A request's headers as shown to people: credentials-bearing ones masked whatever they hold (the
    plan's own redactor has already replaced the secrets it knows)."""
    return {k: ("••••" if _SECRETISH.match(k) else v) for k, v in headers.items()}


def items_place(body: Any, count: int) -> str | None:
    """Where a batch request's body holds one item per record, in the order of its records: "" when the
    body is that list, the key of the body's one list of that length, or None (a body for all together)."""
    if isinstance(body, list) and len(body) == count:
        return ""
    if isinstance(body, dict):
        keys = [k for k, v in body.items() if isinstance(v, list) and len(v) == count]
        if len(keys) == 1:
            return str(keys[0])
    return None


def batch_items(body: Any, count: int) -> list[Any] | None:
    """The body's item of each record (see items_place), or None."""
    place = items_place(body, count)
    if place is None:
        return None
    return body if place == "" else body[place]  # type: ignore[no-any-return]

"""The records of a plan as the report's script reads them: one compact JSON array per record, with
the stream's field names said once (a record's changes are a list in the order of its stream's fields)
and each problem as the index of its cause in the grouped problems.

A row: [name, stream, status, source id, CRM id, View-in-CRM URL, email, domain, changes, extra?]
- stream and status are indexes into the page's `streams` and `statuses`;
- email and domain (what search finds besides the name and ids): the text, or the index of the field
  whose new value it is (most records write their email or domain: it is not said twice);
- changes[i] is about the stream's i-th field: null (not written), a scalar (the new value, the CRM
  holding none) or [current, new];
- extra, only when there is something to say: {"k": [[field index, current, new]] kept changes,
  "p": [cause index], "n": [note index] (notes repeat: "associated with employer/emp-7 after both
  exist" for each of its contacts), "r": why restricted, "a": [candidate CRM ids]}."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

from engine.catalog import ProfileBundle, connection_settings
from engine.plan import STATUSES, Change, Plan, PlannedRecord
from engine.planview import ProblemGroup, display_name, problem_cause, search_values, view_url

CauseKey = tuple[str, str | None, str, str]
SCALARS = (str, int, float, bool)


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element: `<`, `>` and `&` (so no `</script>`, no `<!--`) and the
    line separators JavaScript once refused are written as escapes; the parsed value is unchanged."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def safe_link(url: str | None) -> str:
    """A View in CRM address only when it is a web address (never `javascript:` or the like)."""
    return url if url and url.lower().startswith(("https://", "http://")) else ""


class RowWriter:
    """Encodes records one at a time; learns each stream's fields as they come (said after the rows)."""

    def __init__(self, plan: Plan, bundle: ProfileBundle, groups: list[ProblemGroup]) -> None:
        self.bundle = bundle
        self.connector = bundle.connector.model
        self.connection = connection_settings(self.connector, bundle.profile.model.connection, plan.base_url)
        self.streams: dict[str, int] = {}
        self.fields: dict[str, dict[str, int]] = {}
        self.causes: dict[CauseKey, int] = {(g.stream, g.field, g.code, g.cause): i
                                             for i, g in enumerate(groups)}
        self.notes: dict[str, int] = {}

    def row(self, record: PlannedRecord) -> list[Any]:
        found = search_values(self.bundle, record)
        names = self.bundle.profile.model.streams[record.stream].name
        url = view_url(self.connector, self.connection, record.object, record.crm_id)
        stream = self.stream_index(record.stream)
        changes = self.changes(record)
        email, domain = (self.written_as(record, found.get(k, "")) for k in ("email", "domain"))
        row: list[Any] = [display_name(record, names), stream, STATUSES.index(record.status),
                          record.source_id, record.crm_id or "", safe_link(url), email, domain, changes]
        if extra := self.extra(record):
            row.append(extra)
        return row

    def stream_index(self, stream: str) -> int:
        if stream not in self.streams:
            self.streams[stream] = len(self.streams)
            self.fields[stream] = {}
        return self.streams[stream]

    def field_index(self, stream: str, field: str) -> int:
        fields = self.fields[stream]
        return fields.setdefault(field, len(fields))

    def written_as(self, record: PlannedRecord, value: str) -> str | int:
        """The index of the field the record writes `value` to, if one does; else `value`."""
        written = next((c.field for c in record.changes if value and c.new == value), None)
        return value if written is None else self.field_index(record.stream, written)

    def changes(self, record: PlannedRecord) -> list[Any]:
        placed = {self.field_index(record.stream, c.field): c for c in record.changes}
        return [_change(placed[i]) if i in placed else None for i in range(max(placed, default=-1) + 1)]

    def extra(self, record: PlannedRecord) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if record.kept:
            extra["k"] = [[self.field_index(record.stream, c.field), c.current, c.new] for c in record.kept]
        if record.problems:
            extra["p"] = [self.causes[(record.stream, p.field, p.code, problem_cause(record, p.message))]
                          for p in record.problems]
        if record.notes:
            extra["n"] = [self.notes.setdefault(note, len(self.notes)) for note in record.notes]
        if record.reason:
            extra["r"] = record.reason
        if record.candidates:
            extra["a"] = record.candidates
        return extra

    def field_names(self) -> dict[str, list[str]]:
        return {stream: list(fields) for stream, fields in self.fields.items()}


def _change(change: Change) -> Any:
    if change.current is None and isinstance(change.new, SCALARS):
        return change.new
    return [change.current, change.new]


def record_chunks(writer: RowWriter, records: Sequence[PlannedRecord], size: int = 500) -> Iterator[str]:
    """The rows as the JSON array's text, a few hundred records a chunk, the records read as they come
    (a plan's on disk: never all at once)."""
    iterator = iter(records)
    for number, window in enumerate(iter(lambda: list(islice(iterator, size)), [])):
        yield ("," if number else "") + ",\n".join(script_json(writer.row(r)) for r in window)

"""The review database read a page at a time: a filter (status, stream, field, problem code, cause,
search) made into one parameterised WHERE clause over indexed columns, counts per status, a page of
rows, the causes of problems. Search values are bound parameters, their LIKE wildcards escaped: a
search for `50%_off` or `O'Malley` finds exactly that text."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from engine.plan import STATUSES
from engine.review.db import shown_request

PAGE_SIZE = 50
SEARCH_COLUMNS = {"name": "name_lc", "email": "email", "domain": "domain", "source_id": "source_id_lc",
                  "crm_id": "crm_id_lc"}


@dataclass(frozen=True)
class Filter:
    status: str = ""
    stream: str = ""
    field: str = ""
    code: str = ""
    cause: str = ""  # a cause of problems by its id (the grouped problems link to their records)
    q: str = ""
    within: str = ""  # one of SEARCH_COLUMNS; empty: any of them

    @classmethod
    def of(cls, params: Mapping[str, str]) -> Filter:
        values = {name: str(params.get(name, "")).strip()[:200] for name in cls.__dataclass_fields__}
        if values["within"] not in SEARCH_COLUMNS:
            values["within"] = ""
        if values["status"] not in STATUSES:
            values["status"] = ""
        return cls(**values)

    def query(self, **more: Any) -> str:
        """The filter as a URL query (for links and pagers), with `more` added."""
        return urlencode({k: v for k, v in {**asdict(self), **more}.items() if v not in ("", None)})

    def is_empty(self) -> bool:
        return not any(asdict(self).values())


def like_pattern(text: str) -> str:
    r"""`text` found anywhere, with LIKE's own wildcards taken literally (escaped with \)."""
    escaped = text.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def where(f: Filter) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for column in ("status", "stream"):
        if getattr(f, column):
            clauses.append(f"r.{column} = ?")
            params.append(getattr(f, column))
    if f.field:
        clauses.append("r.id IN (SELECT record_id FROM fields WHERE field = ?)")
        params.append(f.field)
    if f.code:
        clauses.append("r.id IN (SELECT record_id FROM problems WHERE code = ?)")
        params.append(f.code)
    if f.cause.isdigit():
        clauses.append("r.id IN (SELECT record_id FROM problems WHERE cause_id = ?)")
        params.append(int(f.cause))
    if f.q:
        columns = [SEARCH_COLUMNS[f.within]] if f.within else list(SEARCH_COLUMNS.values())
        clauses.append("(" + " OR ".join(f"r.{c} LIKE ? ESCAPE '\\'" for c in columns) + ")")
        params += [like_pattern(f.q)] * len(columns)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def status_counts(db: sqlite3.Connection) -> dict[str, int]:
    found = dict(db.execute("SELECT status, COUNT(*) FROM records GROUP BY status").fetchall())
    return {status: found.get(status, 0) for status in STATUSES}


def count(db: sqlite3.Connection, f: Filter) -> int:
    clause, params = where(f)
    return int(db.execute(f"SELECT COUNT(*) FROM records r{clause}", params).fetchone()[0])


@dataclass
class Row:
    id: int
    ref: str
    stream: str
    source_id: str
    object: str
    status: str
    name: str
    crm_id: str
    view_url: str | None
    selectable: bool
    selected: bool
    reason: str | None
    chosen: str | None
    changes: list[dict[str, Any]]
    kept: list[dict[str, Any]]
    problems: list[dict[str, Any]]
    notes: list[str]
    candidates: list[tuple[str, str | None]]  # CRM id, its View in CRM link


ROW_COLUMNS = ("r.id, r.ref, r.stream, r.source_id, r.object, r.status, r.name, r.crm_id, r.view_url, "
               "p.selectable, p.selected, r.reason, r.chosen, r.planned, r.candidate_urls")
ROWS = "records r JOIN picks p ON p.id = r.id"


def _row(found: sqlite3.Row) -> Row:
    planned = json.loads(found["planned"])
    urls = json.loads(found["candidate_urls"]) if found["candidate_urls"] else []
    candidates = [(crm_id, urls[i] if i < len(urls) else None)
                  for i, crm_id in enumerate(planned["candidates"])]
    return Row(found["id"], found["ref"], found["stream"], found["source_id"], found["object"],
               found["status"], found["name"], found["crm_id"], found["view_url"], bool(found["selectable"]),
               bool(found["selected"]), found["reason"], found["chosen"], planned["changes"],
               planned["kept"], planned["problems"], planned["notes"], candidates)


def page(db: sqlite3.Connection, f: Filter, number: int) -> list[Row]:
    """Page `number` (from 1) of the records the filter finds, in plan order."""
    clause, params = where(f)
    offset = (max(number, 1) - 1) * PAGE_SIZE
    rows = db.execute(f"SELECT {ROW_COLUMNS} FROM {ROWS}{clause} ORDER BY r.id LIMIT ? OFFSET ?",
                      [*params, PAGE_SIZE, offset])
    return [_row(found) for found in rows]


def record(db: sqlite3.Connection, record_id: int) -> tuple[Row, dict[str, Any] | None] | None:
    """One record and its request (None for a record no write is planned for)."""
    found = db.execute(f"SELECT {ROW_COLUMNS}, r.request_id, r.request_item FROM {ROWS} WHERE r.id = ?",
                       (record_id,)).fetchone()
    if found is None:
        return None
    return _row(found), shown_request(db, found["request_id"], found["request_item"])


def problem_places(db: sqlite3.Connection, record_id: int) -> dict[tuple[str | None, str], str]:
    """(field, code) -> the profile line that maps the field, for one record's problems."""
    rows = db.execute("SELECT p.field, p.code, c.profile_at FROM problems p "
                      "JOIN causes c ON c.id = p.cause_id WHERE p.record_id = ?", (record_id,))
    return {(r["field"], r["code"]): r["profile_at"] for r in rows}


def causes(db: sqlite3.Connection, limit: int = 100) -> list[dict[str, Any]]:
    rows = db.execute("SELECT id, stream, field, code, cause, count, profile_at FROM causes "
                      "ORDER BY count DESC, id LIMIT ?", (limit,))
    return [dict(r) for r in rows]


def choices(db: sqlite3.Connection) -> dict[str, list[str]]:
    """What the filter's lists offer: the plan's streams, fields and problem codes."""
    return {
        "streams": [r[0] for r in db.execute("SELECT DISTINCT stream FROM records ORDER BY stream")],
        "fields": [r[0] for r in db.execute("SELECT DISTINCT field FROM fields ORDER BY field")],
        "codes": [r[0] for r in db.execute("SELECT DISTINCT code FROM problems ORDER BY code")],
    }


def selection(db: sqlite3.Connection) -> dict[str, int]:
    found = db.execute("SELECT COALESCE(SUM(selected), 0), COALESCE(SUM(selectable), 0) FROM picks")
    selected, selectable = found.fetchone()
    return {"selected": int(selected), "selectable": int(selectable)}

"""The review database: a plan loaded into SQLite (state dir `review/<profile>.sqlite`), one row per
record with the columns pages filter, search and sort on indexed, its problems and the fields it
changes in tables of their own, and each record's request (redacted). Pages read it a page at a time:
a plan of 100,000 records is never held in a page, nor in the app once loaded."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.catalog import ProfileBundle, connection_settings
from engine.connector import ConnectorSpec
from engine.credfile import private_file
from engine.plan import Plan, PlannedRecord
from engine.planview import (
    batch_items,
    display_name,
    group_problems,
    redacted_headers,
    search_values,
    view_url,
)

SELECTABLE = ("net_new", "update")  # what a push writes; an ambiguous record once a person chose

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (
    id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, source_id TEXT NOT NULL,
    object TEXT NOT NULL, status TEXT NOT NULL, name TEXT NOT NULL, name_lc TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '', domain TEXT NOT NULL DEFAULT '', crm_id TEXT NOT NULL DEFAULT '',
    source_id_lc TEXT NOT NULL, crm_id_lc TEXT NOT NULL DEFAULT '',
    view_url TEXT, reason TEXT,
    chosen TEXT, planned TEXT NOT NULL, request_id INTEGER, request_item TEXT, candidate_urls TEXT
);
CREATE TABLE problems (record_id INTEGER NOT NULL, field TEXT, code TEXT NOT NULL, cause_id INTEGER NOT NULL);
CREATE TABLE causes (
    id INTEGER PRIMARY KEY, stream TEXT NOT NULL, field TEXT, code TEXT NOT NULL, cause TEXT NOT NULL,
    count INTEGER NOT NULL, profile_at TEXT NOT NULL
);
CREATE TABLE fields (record_id INTEGER NOT NULL, field TEXT NOT NULL, kind TEXT NOT NULL);
CREATE TABLE requests (id INTEGER PRIMARY KEY, shown TEXT NOT NULL);
-- apart from the wide rows, so that selecting every record a filter finds rewrites narrow rows only
CREATE TABLE picks (id INTEGER PRIMARY KEY, selectable INTEGER NOT NULL, selected INTEGER NOT NULL);
"""
# made once the rows are in: building an index at the end is faster than keeping it up row by row
INDEXES = """
CREATE INDEX records_status ON records (status, id);
CREATE INDEX records_stream ON records (stream, id);
CREATE INDEX records_name ON records (name_lc);
CREATE INDEX records_email ON records (email);
CREATE INDEX records_domain ON records (domain);
CREATE INDEX records_source_id ON records (source_id_lc);
CREATE INDEX records_crm_id ON records (crm_id_lc);
CREATE INDEX problems_code ON problems (code, record_id);
CREATE INDEX problems_cause ON problems (cause_id, record_id);
CREATE INDEX problems_record ON problems (record_id);
CREATE INDEX fields_field ON fields (field, record_id);
"""


def review_path(state_dir: Path, profile: str) -> Path:
    return state_dir / "review" / f"{profile}.sqlite"


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    return db


def load_plan(path: Path, plan: Plan, bundle: ProfileBundle, meta: dict[str, str]) -> sqlite3.Connection:
    """A fresh review database at `path` holding `plan` (an earlier one of the profile is replaced)."""
    for old in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal")):
        old.unlink(missing_ok=True)
    db = connect(private_file(path))
    db.execute("PRAGMA journal_mode=OFF")  # rebuilt from the plan whenever it is lost
    db.execute("PRAGMA synchronous=OFF")
    db.executescript(SCHEMA)
    db.execute("BEGIN")
    _write_meta(db, plan, meta)
    _write_records(db, plan, bundle)
    _write_problems(db, plan, bundle)
    for statement in INDEXES.strip().splitlines():  # executescript would commit first
        db.execute(statement)
    db.execute("COMMIT")
    db.execute("ANALYZE")
    return db


def _write_meta(db: sqlite3.Connection, plan: Plan, meta: dict[str, str]) -> None:
    rows = {**meta, "plan": encode(plan_head(plan))}
    db.executemany("INSERT INTO meta VALUES (?, ?)", rows.items())


def plan_head(plan: Plan) -> dict[str, Any]:
    """What a saved plan says besides its records and requests (profile, source, address, summary...)."""
    head = replace(plan, records=[], lookups=[], writes=[]).as_dict()
    head.update(summary=plan.summary(), owners=plan.owners())
    del head["records"], head["requests"]
    return head


RECORD_COLUMNS = ("id", "ref", "stream", "source_id", "object", "status", "name", "name_lc", "email",
                  "domain", "crm_id", "source_id_lc", "crm_id_lc", "view_url", "reason", "planned",
                  "request_id", "request_item", "candidate_urls")


def _write_records(db: sqlite3.Connection, plan: Plan, bundle: ProfileBundle) -> None:
    connector = bundle.connector.model
    connection = connection_settings(connector, bundle.profile.model.connection, plan.base_url)
    items = _write_requests(db, plan)
    streams = bundle.profile.model.streams
    rows, picks = [], []
    for i, record in enumerate(plan.records, 1):
        found = search_values(bundle, record)
        name = display_name(record, streams[record.stream].name)
        selectable = int(record.status in SELECTABLE)
        request_id, item = items.get(record.ref, (None, None))
        picks.append((i, selectable, selectable))
        rows.append((i, record.ref, record.stream, record.source_id, record.object, record.status, name,
                     name.casefold(), found.get("email", ""), found.get("domain", ""), record.crm_id or "",
                     record.source_id.casefold(), (record.crm_id or "").casefold(),
                     view_url(connector, connection, record.object, record.crm_id), record.reason,
                     encode(record.as_dict()), request_id, item,
                     _candidate_urls(record, connector, connection)))
    db.executemany(f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) "
                   f"VALUES ({', '.join('?' * len(RECORD_COLUMNS))})", rows)
    db.executemany("INSERT INTO fields VALUES (?, ?, ?)", _field_rows(plan.records))
    db.executemany("INSERT INTO picks VALUES (?, ?, ?)", picks)


encode = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":"),
                         check_circular=False).encode


def _candidate_urls(record: PlannedRecord, connector: ConnectorSpec,
                    connection: dict[str, str]) -> str | None:
    """The View in CRM link of each candidate of an ambiguous record."""
    if not record.candidates:
        return None
    return encode([view_url(connector, connection, record.object, c) for c in record.candidates])


def _field_rows(records: list[PlannedRecord]) -> Iterator[tuple[int, str, str]]:
    for i, record in enumerate(records, 1):
        seen: set[str] = set()
        for kind, fields in (("change", [c.field for c in record.changes]),
                             ("kept", [c.field for c in record.kept]),
                             ("problem", [p.field for p in record.problems if p.field])):
            for name in fields:
                if (name, kind) not in seen:
                    seen.add((name, kind))  # type: ignore[arg-type]
                    yield i, name, kind


WRITES = ("create", "update", "upsert")


def _write_requests(db: sqlite3.Connection, plan: Plan) -> dict[str, tuple[int, str | None]]:
    """Each write request as the plan shows it (credentials hidden), stored once; for each record, the
    request that writes it and its own item of the body, where the body is a list of one item each."""
    items: dict[str, tuple[int, str | None]] = {}
    rows = []
    for request_id, request in enumerate((r for r in plan.writes if r.kind in WRITES), 1):
        shown = plan.redactor.planned(request.as_dict())
        parts = batch_items(shown["body"], len(request.refs))
        rows.append((request_id, encode({
            "kind": request.kind, "method": shown["method"], "url": shown["url"],
            "headers": redacted_headers(shown["headers"]), "of": len(request.refs), "position": None,
            "body": shown["body"] if parts is None else None})))
        for position, ref in enumerate(request.refs):
            item = None if parts is None else encode([position + 1, parts[position]])
            items.setdefault(ref, (request_id, item))
    db.executemany("INSERT INTO requests VALUES (?, ?)", rows)
    return items


def shown_request(db: sqlite3.Connection, request_id: int | None, item: str | None) -> dict[str, Any] | None:
    """A record's request as its page shows it: the batch's method, URL and headers, and its own item
    (its position in the batch) or, where the body is not a list of items, the whole body."""
    if request_id is None:
        return None
    found = db.execute("SELECT shown FROM requests WHERE id = ?", (request_id,)).fetchone()
    shown = json.loads(found[0])
    if item is not None:
        shown["position"], shown["body"] = json.loads(item)
    return shown


def _write_problems(db: sqlite3.Connection, plan: Plan, bundle: ProfileBundle) -> None:
    ids = {record.ref: i for i, record in enumerate(plan.records, 1)}
    causes, problems = [], []
    for cause_id, group in enumerate(group_problems(bundle, plan.records), 1):
        causes.append((cause_id, group.stream, group.field, group.code, group.cause, group.count,
                       group.profile_at))
        problems += [(ids[ref], group.field, group.code, cause_id) for ref in group.refs]
    db.executemany("INSERT INTO causes VALUES (?,?,?,?,?,?,?)", causes)
    db.executemany("INSERT INTO problems VALUES (?,?,?,?)", problems)


def meta(db: sqlite3.Connection) -> dict[str, str]:
    return {row["key"]: row["value"] for row in db.execute("SELECT key, value FROM meta")}

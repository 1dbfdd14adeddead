"""A run's rejected rows: the records whose last attempt in that run failed, with the CRM's error, and
as CSV to hand to whoever fixes the data."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

from engine.runs.listing import LAST_ROWS, find_run, open_store
from engine.runs.model import RejectedRow
from engine.store import Store

CSV_COLUMNS = ("run_id", "at", "stream", "source_id", "object", "action", "error_code", "error", "crm_id",
               "fixed_by")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads a cell starting so as a formula


def rejected_rows(state_dir: Path | None, run_id: str, *, stream: str | None = None, code: str | None = None,
                  search: str | None = None) -> list[RejectedRow]:
    """The run's failed records. `stream`, `code` (the error code, exactly); `search`: a piece of the
    source id, the CRM id, the error code or the message, any case. Each says `fixed_by` a later run of
    the same profile that wrote the record, if one did."""
    store = open_store(state_dir)
    try:
        run = find_run(store, run_id)
        rows = [r for r in store.db.execute(LAST_ROWS, (run_id,)) if r["result"] == "error"]
        rows = [r for r in rows if passes(r, stream, code, search)]
        return [rejected(r, fixed_by(store, run, r)) for r in rows]
    finally:
        store.close()


def passes(row: sqlite3.Row, stream: str | None, code: str | None, search: str | None) -> bool:
    if stream is not None and row["stream"] != stream:
        return False
    if code is not None and row["error_code"] != code:
        return False
    if search:
        needle = search.casefold()
        haystack = (row["source_id"], row["crm_id"], row["error_code"], row["error"])
        return any(needle in str(value).casefold() for value in haystack if value)
    return True


def fixed_by(store: Store, run: sqlite3.Row, row: sqlite3.Row) -> str | None:
    """The later run of the profile whose last word on this record is that it was written, if any."""
    later = store.db.execute(
        "SELECT a.run_id, a.result FROM activity a JOIN runs r ON r.run_id = a.run_id "
        "WHERE r.profile = ? AND a.id > ? AND a.stream = ? AND a.source_id = ? "
        "AND a.action NOT IN ('associate', 'link', 'unlink', 'import') ORDER BY a.id DESC LIMIT 1",
        (run["profile"], row["id"], row["stream"], row["source_id"])).fetchone()
    return later["run_id"] if later is not None and later["result"] == "success" else None


def rejected(row: sqlite3.Row, fixed: str | None) -> RejectedRow:
    return RejectedRow(run_id=row["run_id"], at=row["at"], stream=row["stream"], source_id=row["source_id"],
                       object=row["object"], action=row["action"], error_code=row["error_code"],
                       error=row["error"], crm_id=row["crm_id"],
                       request=json.loads(row["request"]) if row["request"] else None, fixed_by=fixed)


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one that starts like a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


def rejected_csv(rows: list[RejectedRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([safe_cell(getattr(row, column)) for column in CSV_COLUMNS])
    return buffer.getvalue()

"""Every run a state dir has recorded, with its state and counts: read from the store (`runs`, and the
activity log for what a run did), never from a console."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from engine.errors import UsageError
from engine.runs.model import (
    FAILED,
    INTERRUPTED,
    RUNNING,
    STOPPED,
    SUCCEEDED,
    WITH_FAILURES,
    RunSummary,
)
from engine.state import StateStore
from engine.state import open_store as open_store_at

DECISIONS = ("link", "unlink", "import")  # a person's pull decisions are runs too

# each record's last row in a run (not its associations): what became of it
LAST_ROWS_OF = """
SELECT a.* FROM activity a
WHERE a.run_id = ? AND a.action != 'associate' {and_result} AND a.id = (
    SELECT MAX(b.id) FROM activity b WHERE b.run_id = a.run_id AND b.stream IS a.stream
    AND b.source_id IS a.source_id AND b.action != 'associate')
ORDER BY a.id
"""
LAST_ROWS = LAST_ROWS_OF.format(and_result="")
FAILED_ROWS = LAST_ROWS_OF.format(and_result="AND a.result = 'error'")  # a run's rejected rows


def open_store(state_dir: Path | None) -> StateStore:
    return open_store_at(state_dir)


def list_runs(state_dir: Path | None, *, profile: str | None = None,
              limit: int | None = None, offset: int = 0) -> list[RunSummary]:
    """The runs, newest first; `profile`: of that profile only (one no run has is bad usage, with the
    known ones: a typo must not pass for an empty list); `limit`: the newest so many (after skipping the
    `offset` newest: a page of them)."""
    store = open_store(state_dir)
    try:
        if profile is not None and profile not in (known := store.known("profile")):
            listed = ", ".join(sorted(known)) or "none: nothing was pushed with this state dir yet"
            raise UsageError(f"--profile {profile}: no run of that profile in {store.location} (known: "
                             f"{listed})")
        where, params = ("WHERE profile = ?", [profile]) if profile else ("", [])
        query = f"SELECT * FROM runs {where} ORDER BY started_at DESC, rowid DESC"
        if limit is not None:
            query += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        rows = store.db.execute(query, params).fetchall()
        return [summarise(store, row) for row in rows]
    finally:
        store.close()


def count_runs(state_dir: Path | None, *, profile: str | None = None) -> int:
    """How many runs `list_runs` lists (a pager's total)."""
    store = open_store(state_dir)
    try:
        where, params = ("WHERE profile = ?", [profile]) if profile else ("", [])
        return int(store.db.execute(f"SELECT COUNT(*) FROM runs {where}", params).fetchone()[0])
    finally:
        store.close()


def get_run(state_dir: Path | None, run_id: str) -> RunSummary:
    """One run; an id the state dir does not know is bad usage, with the newest known ids."""
    store = open_store(state_dir)
    try:
        return summarise(store, find_run(store, run_id))
    finally:
        store.close()


def find_run(store: StateStore, run_id: str) -> sqlite3.Row:
    row = store.db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        raise unknown_run(store, run_id)
    return row


def unknown_run(store: StateStore, run_id: str) -> UsageError:
    newest = [r[0] for r in store.db.execute("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 8")]
    known = ", ".join(newest) or "none: nothing was pushed with this state dir yet"
    return UsageError(f"run {run_id}: no run of that id in {store.location} (newest: {known}; "
                      "see crmsync runs)")


def summarise(store: StateStore, row: sqlite3.Row) -> RunSummary:
    details = json.loads(row["details"]) if row["details"] else {}
    run_id = row["run_id"]
    associations = Counter(r["result"] for r in store.db.execute(
        "SELECT result FROM activity WHERE run_id = ? AND action = 'associate'", (run_id,)))
    decided = store.db.execute("SELECT 1 FROM activity WHERE run_id = ? AND action IN (?, ?, ?) LIMIT 1",
                               (run_id, *DECISIONS)).fetchone()
    counts = json.loads(row["summary"]) if row["summary"] else counted(
        store.db.execute(LAST_ROWS, (run_id,)).fetchall())
    state = state_of(store, row, counts)
    finished = ended = row["finished_at"]
    if state == INTERRUPTED:  # it never finished: what closed it was the next push, much later maybe
        finished = None
        ended = store.db.execute("SELECT MAX(at) FROM activity WHERE run_id = ?", (run_id,)).fetchone()[0]
    return RunSummary(
        run_id=run_id, profile=row["profile"], kind="decisions" if decided else "push",
        state=state, reason=row["stop_reason"], counts=counts,
        associations={"made": associations.get("success", 0), "failed": associations.get("error", 0)},
        started_at=row["started_at"], finished_at=finished,
        duration_s=duration(row["started_at"], ended, state == RUNNING),
        triggered_by=row["triggered_by"],
        profile_path=details.get("profile_path"), source_dir=details.get("source_dir"),
        base_url=details.get("base_url"), as_user=details.get("as_user"), plan_file=details.get("plan_file"),
        team_file=details.get("team_file"), credentials_file=details.get("credentials_file"),
        options=details.get("options", {}), org=details.get("org"), account_id=details.get("account_id"),
        org_warning=details.get("org_warning"))


def counted(last: list[sqlite3.Row]) -> dict[str, int]:
    """A run's counts from its log, per record (a run that did not end said none itself)."""
    counts = {"created": 0, "updated": 0, "failed": 0, "restricted": 0, "skipped": 0}
    for r in last:
        if r["result"] == "success" and r["action"] in ("insert", "update"):
            counts["created" if r["action"] == "insert" else "updated"] += 1
        elif r["result"] == "error":
            counts["failed"] += 1
        elif r["result"] in ("restricted", "skipped"):
            counts[r["result"]] += 1
    return counts


def org_of(run: Any) -> str | None:
    """The CRM org a run pushed to (its push lock is per profile and org), if it was recorded: its key
    (`<crm>:<account id>`, else the address), or the address of a run recorded before it had one."""
    details = json.loads(run["details"]) if run["details"] else {}
    return details.get("org") or details.get("base_url")


def state_of(store: StateStore, row: sqlite3.Row, counts: dict[str, Any]) -> str:
    """The stored status as a person reads it. A Ctrl-C is recorded `interrupted` with why (a stop asked
    for); a run closed by a later push, or still `running` with no live lock, had its process die."""
    status = row["status"]
    if status == "running":
        return RUNNING if store.push_lock_held(row["profile"], org_of(row)) else INTERRUPTED
    if status == "interrupted":
        return STOPPED if row["stop_reason"] else INTERRUPTED
    if status == "stopped":
        return STOPPED
    if status == "failed":
        return FAILED
    return WITH_FAILURES if counts.get("failed") else SUCCEEDED


def duration(started: str, ended: str | None, running: bool) -> float | None:
    """To its end; so far while it runs; to its last logged operation when it died (None: none)."""
    if ended is None and not running:
        return None
    try:
        start = dt.datetime.fromisoformat(started)
        end = dt.datetime.fromisoformat(ended) if ended else dt.datetime.now(dt.UTC)
    except ValueError:
        return None
    return round((end - start).total_seconds(), 3)

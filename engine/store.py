"""State in SQLite under the state dir: links (source record -> CRM id), runs, the journal of
operations a run is about to send, and the activity log of what it did."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.credfile import private_file
from engine.errors import CrmsyncError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    profile TEXT NOT NULL, stream TEXT NOT NULL, source_id TEXT NOT NULL,
    object TEXT NOT NULL, crm_id TEXT NOT NULL, linked_at TEXT NOT NULL,
    PRIMARY KEY (profile, stream, source_id)
);
CREATE INDEX IF NOT EXISTS links_crm_id ON links (profile, object, crm_id);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, profile TEXT NOT NULL, triggered_by TEXT NOT NULL,
    started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    run_id TEXT NOT NULL, ref TEXT NOT NULL, object TEXT NOT NULL, action TEXT NOT NULL,
    identity TEXT NOT NULL, state TEXT NOT NULL, written_at TEXT NOT NULL,
    PRIMARY KEY (run_id, ref, action)
);
CREATE TABLE IF NOT EXISTS activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, run_id TEXT NOT NULL,
    triggered_by TEXT NOT NULL, object TEXT NOT NULL, action TEXT NOT NULL, result TEXT NOT NULL,
    crm_id TEXT, record_url TEXT, error_code TEXT, error TEXT, stream TEXT, source_id TEXT, request TEXT
);
CREATE INDEX IF NOT EXISTS activity_at ON activity (at);
CREATE INDEX IF NOT EXISTS activity_run ON activity (run_id, stream, source_id);
-- a record's rows in order: what became of it after a run (a run's rejected rows written since)
CREATE INDEX IF NOT EXISTS activity_record ON activity (stream, source_id, id);
CREATE TABLE IF NOT EXISTS associations_due (
    profile TEXT NOT NULL, ref TEXT NOT NULL, relation TEXT NOT NULL,
    PRIMARY KEY (profile, ref, relation)
);
CREATE TABLE IF NOT EXISTS pulled (
    profile TEXT NOT NULL, object TEXT NOT NULL, crm_id TEXT NOT NULL, fields TEXT NOT NULL,
    listing TEXT NOT NULL, PRIMARY KEY (profile, object, crm_id)
);
CREATE TABLE IF NOT EXISTS pull_state (
    profile TEXT NOT NULL, object TEXT NOT NULL, since TEXT, listing TEXT, listing_since TEXT,
    next TEXT, pages INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (profile, object)
);
CREATE TABLE IF NOT EXISTS pull_matches (
    profile TEXT NOT NULL, object TEXT NOT NULL, crm_id TEXT NOT NULL, status TEXT NOT NULL,
    candidates TEXT NOT NULL, PRIMARY KEY (profile, object, crm_id)
);
CREATE INDEX IF NOT EXISTS pull_matches_order ON pull_matches (profile, object);
CREATE INDEX IF NOT EXISTS pull_matches_status ON pull_matches (profile, object, status);
"""

# Columns added after a state dir may have been made: (table, column, type). Added where missing when a
# store is opened, so an older state dir keeps working (its old rows hold NULL there).
ADDED_COLUMNS = (
    ("runs", "details", "TEXT"),  # JSON: what the run was asked (profile path, source dir, base URL, --as)
    ("runs", "stop_reason", "TEXT"),  # why it ended early (a stop asked for, the daily reserve, an error)
    ("runs", "summary", "TEXT"),  # JSON: its counts as the push said them when it ended
    ("activity", "changed", "TEXT"),  # JSON: the fields an update changed
)


def migrate(db: sqlite3.Connection) -> None:
    for table, column, kind in ADDED_COLUMNS:
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            try:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            except sqlite3.OperationalError as exc:  # another process, opening it too, added it first
                if "duplicate column" not in str(exc):
                    raise


class PushRunning(CrmsyncError):
    """Another push of the same profile holds the state dir's lock."""


@contextmanager
def push_lock(state_dir: Path, profile: str) -> Iterator[None]:
    """One push of a profile at a time in a state dir: a second, started alongside (an overlapping
    cron job), would plan the records the first is creating as new and create them again. The
    operating system drops the lock when its process ends, however it ends (kill -9 too). Where there
    is no fcntl (Windows), pushes are not serialised."""
    path = private_file(state_dir / "locks" / f"{profile}.lock")
    with path.open("a+", encoding="utf-8") as handle:
        if fcntl is not None:
            try:
                _take(handle)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "a process"
                raise PushRunning(f"another push of {profile} is running ({holder}, state in {state_dir}); "
                                  "nothing was sent: run again once it has ended") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {now()}")
        handle.flush()
        yield


def _take(handle: Any) -> None:
    """The lock, at once or within a moment: `push_lock_held` takes it shared for an instant to see
    whether a push holds it, and a push starting then must not be refused for that."""
    for _ in range(20):
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(0.01)
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def push_lock_held(state_dir: Path, profile: str) -> bool:
    """Whether a live process holds the profile's push lock (a run marked running without it died)."""
    path = state_dir / "locks" / f"{profile}.lock"
    if fcntl is None or not path.exists():
        return False
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def default_state_dir() -> Path:
    return Path(os.environ.get("CRMSYNC_HOME") or Path.cwd() / ".crmsync")


@dataclass(frozen=True)
class Link:
    stream: str
    source_id: str
    object: str
    crm_id: str


class Store:
    """One SQLite database; safe to open again after a crash (WAL, each write committed)."""

    def __init__(self, state_dir: Path) -> None:
        # SQLite gives its -wal, -shm and -journal files the database file's mode: 0600 for all
        self.path = private_file(state_dir / "state.sqlite3")
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        migrate(self.db)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ----- links -----------------------------------------------------------------------------
    def links(self, profile: str) -> dict[tuple[str, str], Link]:
        rows = self.db.execute("SELECT stream, source_id, object, crm_id FROM links WHERE profile = ?",
                               (profile,))
        return {(r["stream"], r["source_id"]): Link(r["stream"], r["source_id"], r["object"], r["crm_id"])
                for r in rows}

    def save_links(self, profile: str, links: Iterable[Link]) -> None:
        with self.transaction():
            self._save_links(profile, links)

    def _save_links(self, profile: str, links: Iterable[Link]) -> None:
        stamp = now()
        self.db.executemany(
            "INSERT INTO links VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (profile, stream, source_id) "
            "DO UPDATE SET object = excluded.object, crm_id = excluded.crm_id, "
            "linked_at = excluded.linked_at",
            [(profile, lk.stream, lk.source_id, lk.object, lk.crm_id, stamp) for lk in links])

    def record_outcomes(self, profile: str, run_id: str, links: list[Link],
                        journal: list[tuple[str, str, str]], entries: list[dict[str, Any]]) -> None:
        """In one transaction: new links, journal states (ref, action, state) and activity rows."""
        with self.transaction():
            self._save_links(profile, links)
            self.db.executemany("UPDATE journal SET state = ? WHERE run_id = ? AND ref = ? AND action = ?",
                                [(state, run_id, ref, action) for ref, action, state in journal])
            self._log(entries)

    def record_decision(self, profile: str, link: Link, linked: bool, entry: dict[str, Any]) -> None:
        """A person's link (`linked`) or unlink of one record and its activity row, in one transaction."""
        with self.transaction():
            if linked:
                self._save_links(profile, [link])
            else:
                self.db.execute("DELETE FROM links WHERE profile = ? AND stream = ? AND source_id = ?",
                                (profile, link.stream, link.source_id))
            self._log([entry])

    # ----- associations a push means to make --------------------------------------------------
    # Recorded before the record is created, cleared once the CRM confirms the association: one a
    # run could not make (refused, its parent missing, the run killed in between) is made by a later run.
    def associations_due(self, profile: str) -> set[tuple[str, str]]:
        """(ref, relation) of every association still to make."""
        rows = self.db.execute("SELECT ref, relation FROM associations_due WHERE profile = ?", (profile,))
        return {(r["ref"], r["relation"]) for r in rows}

    def intend_associations(self, profile: str, due: Iterable[tuple[str, str]]) -> None:
        """Within the caller's transaction (the journal's, before the records are sent)."""
        self.db.executemany("INSERT OR IGNORE INTO associations_due VALUES (?, ?, ?)",
                            [(profile, ref, relation) for ref, relation in due])

    def record_associations(self, profile: str, made: Iterable[tuple[str, str]],
                            entries: list[dict[str, Any]]) -> None:
        """In one transaction: the associations made are no longer due, and the activity rows."""
        with self.transaction():
            self.db.executemany("DELETE FROM associations_due WHERE profile = ? AND ref = ? AND relation = ?",
                                [(profile, ref, relation) for ref, relation in made])
            self._log(entries)

    # ----- runs and activity ------------------------------------------------------------------
    def start_run(self, run_id: str, profile: str, triggered_by: str,
                  details: dict[str, Any] | None = None) -> None:
        """`details`: what the run was asked (JSON), so that it can be re-planned (`crmsync retry`)."""
        self.db.execute("INSERT INTO runs (run_id, profile, triggered_by, started_at, finished_at, status, "
                        "details) VALUES (?, ?, ?, ?, NULL, 'running', ?)",
                        (run_id, profile, triggered_by, now(), json.dumps(details) if details else None))

    def finish_run(self, run_id: str, status: str, *, reason: str | None = None,
                   summary: dict[str, int] | None = None) -> None:
        self.db.execute("UPDATE runs SET finished_at = ?, status = ?, stop_reason = ?, summary = ? "
                        "WHERE run_id = ?", (now(), status, reason, json.dumps(summary) if summary else None,
                                             run_id))

    def unfinished_runs(self, profile: str) -> list[str]:
        rows = self.db.execute("SELECT run_id FROM runs WHERE profile = ? AND status = 'running' "
                               "ORDER BY started_at", (profile,))
        return [r["run_id"] for r in rows]

    def log(self, entries: Iterable[dict[str, Any]]) -> None:
        with self.transaction():
            self._log(entries)

    def _log(self, entries: Iterable[dict[str, Any]]) -> None:
        rows = [(e.get("at") or now(), e["run_id"], e["triggered_by"], e["object"], e["action"], e["result"],
                 e.get("crm_id"), e.get("record_url"), e.get("error_code"), e.get("error"), e.get("stream"),
                 e.get("source_id"), json.dumps(e["request"]) if e.get("request") is not None else None,
                 json.dumps(e["changed"]) if e.get("changed") is not None else None)
                for e in entries]
        self.db.executemany("INSERT INTO activity (at, run_id, triggered_by, object, action, result, crm_id, "
                            "record_url, error_code, error, stream, source_id, request, changed) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def known(self, column: str) -> set[str]:
        """Every value of one of the activity log's name columns (run_id, object, triggered_by, stream);
        run ids also of runs that logged nothing; `profile`: of the runs."""
        assert column in ("run_id", "object", "triggered_by", "stream", "profile")  # never a user's value
        if column == "profile":
            return {r[0] for r in self.db.execute("SELECT DISTINCT profile FROM runs")}
        rows = self.db.execute(f"SELECT DISTINCT {column} FROM activity")
        values = {r[0] for r in rows if r[0] is not None}
        if column == "run_id":
            values |= {r[0] for r in self.db.execute("SELECT run_id FROM runs")}
        return values

    def activity(self, *, since: str | None = None, until: str | None = None, by: str | None = None,
                 object_name: str | None = None, action: str | None = None, result: str | None = None,
                 run_id: str | None = None, profile: str | None = None, stream: str | None = None,
                 source_id: str | None = None) -> list[dict[str, Any]]:
        clauses, params = [], []
        for column, op, value in (("at", ">=", since), ("at", "<=", until), ("triggered_by", "=", by),
                                  ("object", "=", object_name), ("action", "=", action),
                                  ("result", "=", result), ("run_id", "=", run_id), ("stream", "=", stream),
                                  ("source_id", "=", source_id)):
            if value is not None:
                clauses.append(f"{column} {op} ?")
                params.append(value)
        if profile is not None:  # the log keeps the run, the runs their profile
            clauses.append("run_id IN (SELECT run_id FROM runs WHERE profile = ?)")
            params.append(profile)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.execute(f"SELECT * FROM activity {where} ORDER BY id", params)
        return [dict(r) for r in rows]

"""State in SQLite under the state dir: links (source record -> CRM id), runs, the journal of
operations a run is about to send, and the activity log of what it did."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.credfile import private_file
from engine.errors import CrmsyncError
from engine.jsoncodec import compact_text

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
"""


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
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
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
    def start_run(self, run_id: str, profile: str, triggered_by: str) -> None:
        self.db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, NULL, 'running')",
                        (run_id, profile, triggered_by, now()))

    def finish_run(self, run_id: str, status: str) -> None:
        self.db.execute("UPDATE runs SET finished_at = ?, status = ? WHERE run_id = ?",
                        (now(), status, run_id))

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
                 e.get("source_id"), compact_text(e["request"]) if e.get("request") is not None else None)
                for e in entries]
        self.db.executemany("INSERT INTO activity (at, run_id, triggered_by, object, action, result, crm_id, "
                            "record_url, error_code, error, stream, source_id, request) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def known(self, column: str) -> set[str]:
        """Every value of one of the activity log's name columns (run_id, object, triggered_by); run ids
        also of runs that logged nothing."""
        assert column in ("run_id", "object", "triggered_by")  # a column name, never a user's value
        values = {r[0] for r in self.db.execute(f"SELECT DISTINCT {column} FROM activity")}
        if column == "run_id":
            values |= {r[0] for r in self.db.execute("SELECT run_id FROM runs")}
        return values

    def activity(self, *, since: str | None = None, until: str | None = None, by: str | None = None,
                 object_name: str | None = None, action: str | None = None, result: str | None = None,
                 run_id: str | None = None) -> list[dict[str, Any]]:
        clauses, params = [], []
        for column, op, value in (("at", ">=", since), ("at", "<=", until), ("triggered_by", "=", by),
                                  ("object", "=", object_name), ("action", "=", action),
                                  ("result", "=", result), ("run_id", "=", run_id)):
            if value is not None:
                clauses.append(f"{column} {op} ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.execute(f"SELECT * FROM activity {where} ORDER BY id", params)
        return [dict(r) for r in rows]

"""The state store's interface and the SQL both stores share: links (source record -> CRM id), runs,
the journal of operations a run is about to send, the activity log of what it did, associations due,
and what pulls keep. A store is SQLite (engine/state/sqlite.py) or PostgreSQL (postgres.py); the SQL
here is written once, with `?` placeholders, in the part of SQL both speak."""

from __future__ import annotations

import datetime as dt
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from engine.jsoncodec import compact_text
from engine.state.migrations import ADDED_COLUMNS, MIGRATIONS, VERSION_TABLE, Dialect


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


class Rows(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Database(Protocol):
    """What callers use of `store.db`: rows readable by column name and by position, `?` placeholders."""

    def execute(self, sql: str, params: Any = ()) -> Rows: ...
    def executemany(self, sql: str, rows: Iterable[Any]) -> Any: ...


class StateStore(ABC):
    """One store: every write committed before the call returns; a batch of writes that must stand or
    fall together goes in `transaction()`."""

    db: Database
    dialect: Dialect
    location: str  # where the state is, as it may be shown (a state dir, or a URL without its password)

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]: ...

    @abstractmethod
    def push_lock(self, profile: str, org: str) -> AbstractContextManager[None]:
        """One push of a profile to one CRM org at a time, held until the block ends or the process dies."""

    @abstractmethod
    def push_lock_held(self, profile: str, org: str | None) -> bool:
        """Whether a live process holds that push lock (a run marked running without it died)."""

    @abstractmethod
    def another(self) -> StateStore:
        """The same store on a connection of its own."""

    @abstractmethod
    def migration_lock(self) -> AbstractContextManager[None]:
        """A transaction that only one process at a time may be in, for applying migrations."""

    @abstractmethod
    def columns(self, table: str) -> set[str]: ...

    # ----- migrations ------------------------------------------------------------------------
    def migrate(self) -> None:
        """Apply the numbered migrations this store lacks, each recorded in schema_version; two
        processes opening a store at once apply each once (the second waits for the first)."""
        with self.migration_lock():
            self.db.execute(VERSION_TABLE)
            done = {r[0] for r in self.db.execute("SELECT version FROM schema_version")}
            for number in sorted(set(MIGRATIONS) - done):
                self.apply(number)
                self.db.execute("INSERT INTO schema_version VALUES (?, ?)", (number, now()))

    def apply(self, number: int) -> None:
        for statement in self.dialect.statements(number):
            self.db.execute(statement)
        if number == 2:
            for table, column, kind in ADDED_COLUMNS:
                if column not in self.columns(table):
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        if number == 5:
            from engine.state.orgs import bind_old_runs  # it reads runs through this interface

            bind_old_runs(self.db)

    def schema_version(self) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT version FROM schema_version ORDER BY version")]

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

    # ----- the journal: what a run is about to send --------------------------------------------
    def write_journal(self, run_id: str, entries: Iterable[tuple[str, str, str, str]]) -> None:
        """Within the caller's transaction: (ref, object, action, identity JSON) as pending."""
        stamp = now()
        self.db.executemany(
            "INSERT INTO journal VALUES (?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT (run_id, ref, action) "
            "DO UPDATE SET object = excluded.object, identity = excluded.identity, state = excluded.state, "
            "written_at = excluded.written_at",
            [(run_id, ref, object_name, action, identity, stamp) for ref, object_name, action, identity
             in entries])

    # ----- associations a push means to make --------------------------------------------------
    # Recorded before the record is created, cleared once the CRM confirms the association: one a
    # run could not make (refused, its parent missing, the run killed in between) is made by a later run.
    def associations_due(self, profile: str) -> set[tuple[str, str]]:
        """(ref, relation) of every association still to make."""
        rows = self.db.execute("SELECT ref, relation FROM associations_due WHERE profile = ?", (profile,))
        return {(r["ref"], r["relation"]) for r in rows}

    def intend_associations(self, profile: str, due: Iterable[tuple[str, str]]) -> None:
        """Within the caller's transaction (the journal's, before the records are sent)."""
        self.db.executemany("INSERT INTO associations_due VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
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

    def unanswered_creates(self, profile: str) -> dict[str, tuple[str, str]]:
        """ref -> (run id, when that run ended) of the creates the profile's ended runs journaled and never
        heard the answer of (still `pending`: the run was killed or cut off with the batch at the CRM).
        A run sends nothing after it ended, so its requests end at the latest a request timeout later."""
        rows = self.db.execute("SELECT j.ref, j.run_id, r.finished_at FROM journal j "
                               "JOIN runs r ON r.run_id = j.run_id "
                               "WHERE r.profile = ? AND r.status <> 'running' AND j.action = 'insert' "
                               "AND j.state = 'pending' ORDER BY j.written_at", (profile,))
        return {row["ref"]: (row["run_id"], row["finished_at"] or now()) for row in rows}

    def log(self, entries: Iterable[dict[str, Any]]) -> None:
        with self.transaction():
            self._log(entries)

    def _log(self, entries: Iterable[dict[str, Any]]) -> None:
        rows = [(e.get("at") or now(), e["run_id"], e["triggered_by"], e["object"], e["action"], e["result"],
                 e.get("crm_id"), e.get("record_url"), e.get("error_code"), e.get("error"), e.get("stream"),
                 e.get("source_id"), compact_text(e["request"]) if e.get("request") is not None else None,
                 compact_text(e["changed"]) if e.get("changed") is not None else None)
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

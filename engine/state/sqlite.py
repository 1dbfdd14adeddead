"""The state store in SQLite under the state dir (the default): one database file, WAL, each write
committed; its push lock is a file lock (engine/state/locks.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from engine.credfile import private_file
from engine.state import locks
from engine.state.base import StateStore
from engine.state.migrations import SQLITE


class Store(StateStore):
    """One SQLite database; safe to open again after a crash (WAL, each write committed)."""

    dialect = SQLITE

    def __init__(self, state_dir: Path) -> None:
        # SQLite gives its -wal, -shm and -journal files the database file's mode: 0600 for all
        self.path = private_file(state_dir / "state.sqlite3")
        self.location = str(state_dir)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.migrate()

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

    def another(self) -> Store:
        return Store(self.path.parent)

    def migration_lock(self) -> AbstractContextManager[None]:
        return self.transaction()  # BEGIN IMMEDIATE: one writer at a time, the other waits

    def columns(self, table: str) -> set[str]:
        return {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}

    def push_lock(self, profile: str, org: str) -> AbstractContextManager[None]:
        """Per profile, whatever the org: a state dir serves one machine's pushes."""
        return locks.push_lock(self.path.parent, profile)

    def push_lock_held(self, profile: str, org: str | None) -> bool:
        return locks.push_lock_held(self.path.parent, profile)

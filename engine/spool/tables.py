"""A private temporary SQLite database (on disk, gone when closed) for what a plan or a push keeps per
record, and its look-up of many keys at once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

BATCH = 500  # keys per SELECT ... IN (...)


def temporary(*schema: str) -> sqlite3.Connection:
    db = sqlite3.connect("", check_same_thread=False)  # "": private and temporary, on disk
    for statement in schema:
        db.execute(statement)
    return db


def select_in(db: sqlite3.Connection, query: str, keys: Iterable[str]) -> Iterator[tuple[Any, ...]]:
    """The rows of `query` (whose `{marks}` is the IN list's place) for each of `keys`, a batch at a time."""
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), BATCH):
        part = wanted[start:start + BATCH]
        yield from db.execute(query.format(marks=",".join("?" * len(part))), part)


class KeyedTable:
    """A temporary table keyed by a text `key`, its rows buffered (the last of a key wins) and written
    together, every BUFFERED rows and before any read of many."""

    BUFFERED = 2_000

    def __init__(self, name: str, columns: str) -> None:
        self.name = name
        self._db = temporary(f"CREATE TABLE {name} (key TEXT PRIMARY KEY, {columns}) WITHOUT ROWID")
        self._width = columns.count(",") + 2
        self._new: dict[str, tuple[Any, ...]] = {}

    def put(self, key: str, row: tuple[Any, ...]) -> None:
        self._new[key] = row
        if len(self._new) >= self.BUFFERED:
            self.flush()

    def flush(self) -> None:
        if self._new:
            marks = ", ".join("?" * self._width)
            self._db.executemany(f"INSERT OR REPLACE INTO {self.name} VALUES ({marks})",
                                 ((key, *row) for key, row in self._new.items()))
            self._new = {}

    def __len__(self) -> int:
        self.flush()
        return int(self._db.execute(f"SELECT count(*) FROM {self.name}").fetchone()[0])

    def close(self) -> None:
        self._db.close()

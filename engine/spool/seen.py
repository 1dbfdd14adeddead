"""What a plan has seen so far (a source id, an identity: the first record of each), on disk: a million
records' keys would otherwise be half a kilobyte each in memory. The keys a window asks about are read
from disk together before it is decided (`load`), and what it adds is written after (`flush`)."""

from __future__ import annotations

from collections.abc import Iterable

from engine.spool.tables import select_in, temporary


class SeenMap:
    """str -> str, with dict's `setdefault` (the value of the first key wins) and `get`. Between `load`
    and `flush` a window's keys are answered from memory; a key not loaded is read on its own."""

    def __init__(self) -> None:
        self._db = temporary("CREATE TABLE seen (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
        self._near: dict[str, str] = {}  # loaded, or added since the last flush
        self._absent: set[str] = set()  # loaded and not on disk
        self._new: dict[str, str] = {}

    def load(self, keys: Iterable[str]) -> None:
        wanted = set(keys) - self._near.keys() - self._absent
        found = dict(select_in(self._db, "SELECT key, value FROM seen WHERE key IN ({marks})", wanted))
        self._near.update(found)
        self._absent.update(wanted - found.keys())

    def get(self, key: str) -> str | None:
        if key in self._near:
            return self._near[key]
        if key in self._absent:
            return None
        row = self._db.execute("SELECT value FROM seen WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def setdefault(self, key: str, value: str) -> str:
        found = self.get(key)
        if found is not None:
            return found
        self._near[key] = self._new[key] = value
        self._absent.discard(key)
        return value

    def flush(self) -> None:
        """Write what was added since the last flush, and forget what was loaded."""
        if self._new:
            self._db.executemany("INSERT INTO seen VALUES (?, ?)", self._new.items())
        self._near, self._absent, self._new = {}, set(), {}

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM seen").fetchone()[0]) + len(self._new)

    def close(self) -> None:
        self._db.close()

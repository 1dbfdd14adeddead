"""What children need of their parents once the parents' planned records are on disk: per parent, its
status, CRM id and the record it merged into, in a temporary SQLite table rather than in memory (the
parent streams are about a third of the records: at a million, 350,000 ParentStates took ~140 MB).
Each look-up of a child's parent is one indexed read by key."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from engine.spool.sequence import windows_of
from engine.spool.tables import temporary

INSERT = "INSERT INTO parents (key, stream, status, crm_id, merged_into, pass) VALUES (?, ?, ?, ?, ?, ?) "
LIVE = ("net_new", "update", "synced")  # statuses a held-back stream's records lose


class ParentState:
    """A decided parent record as its children see it (the attributes `Planner.resolve_parents` reads)."""

    __slots__ = ("stream", "ref", "status", "crm_id", "merged_into")

    def __init__(self, stream: str, ref: str, status: str, crm_id: str | None,
                 merged_into: str | None) -> None:
        self.stream, self.ref, self.status = stream, ref, status
        self.crm_id, self.merged_into = crm_id, merged_into

    @classmethod
    def of(cls, record: Any) -> ParentState:
        return cls(record.stream, record.ref, record.status, record.crm_id, record.merged_into)

    @property
    def source_id(self) -> str:
        return self.ref[len(self.stream) + 1:]  # a ref is stream/source_id

    def __repr__(self) -> str:
        return f"ParentState({self.ref!r}, {self.status!r}, crm_id={self.crm_id!r})"


def stream_range(stream: str) -> tuple[str, str]:
    """The keys of a stream's refs (`stream/...`) lie in [low, high): '0' is the character after '/'."""
    return f"{stream}/", f"{stream}0"


class ParentIndex:
    """ref -> ParentState of the records of parent streams, the first record of a ref kept; on disk.
    A ParentState read with `get` is a copy: change the index with `hold_back`, not the copy."""

    def __init__(self) -> None:
        self._db = temporary("CREATE TABLE parents (key TEXT PRIMARY KEY, stream TEXT NOT NULL, "
                             "status TEXT NOT NULL, crm_id TEXT, merged_into TEXT, pass INTEGER NOT NULL) "
                             "WITHOUT ROWID")
        self.passes = 0  # refreshes so far: a row written by an earlier pass gives way to the next
        self.reads = 0  # look-ups answered from disk (what a test counts per record)

    def remember(self, records: Iterable[Any]) -> None:
        """Add each record's state, unless its ref is already there (the first record of a ref wins)."""
        self._write(records, "ON CONFLICT (key) DO NOTHING")

    def refresh(self, records: Sequence[Any]) -> None:
        """Once a stream's records may have changed after they were remembered (held back, handed over):
        each ref again from its first record in `records` (a ref not in them keeps its state)."""
        self.passes += 1
        for window in windows_of(records):
            self._write(window, "ON CONFLICT (key) DO UPDATE SET stream = excluded.stream, "
                        "status = excluded.status, crm_id = excluded.crm_id, "
                        "merged_into = excluded.merged_into, pass = excluded.pass "
                        "WHERE parents.pass < excluded.pass")

    def _write(self, records: Iterable[Any], on_conflict: str) -> None:
        self._db.executemany(INSERT + on_conflict, ((r.ref, r.stream, r.status, r.crm_id, r.merged_into,
                                                     self.passes) for r in records))

    def hold_back(self, stream: str) -> None:
        """A stream held back: its records to be written are skipped, as their children must see them."""
        marks = ", ".join("?" * len(LIVE))
        self._db.execute(f"UPDATE parents SET status = 'skipped' WHERE key >= ? AND key < ? "
                         f"AND status IN ({marks})", (*stream_range(stream), *LIVE))

    def get(self, ref: str, default: ParentState | None = None) -> ParentState | None:
        self.reads += 1
        row = self._db.execute("SELECT stream, status, crm_id, merged_into FROM parents WHERE key = ?",
                               (ref,)).fetchone()
        if row is None:
            return default
        stream, status, crm_id, merged_into = row
        return ParentState(stream, ref, status, crm_id, merged_into)

    def __contains__(self, ref: object) -> bool:
        return isinstance(ref, str) and self._db.execute(
            "SELECT 1 FROM parents WHERE key = ?", (ref,)).fetchone() is not None

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM parents").fetchone()[0])

    def __iter__(self) -> Iterator[str]:
        return (row[0] for row in self._db.execute("SELECT key FROM parents ORDER BY key"))

    def close(self) -> None:
        self._db.close()


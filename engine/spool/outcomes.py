"""What the CRM answered for each record a push sent, on disk as the run goes (a temporary SQLite table,
by ref), instead of a list of every outcome in memory. A push's result reads it back alongside its
planned records, a window at a time. Rows are plain tuples: engine/push.py makes the outcomes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.spool.tables import KeyedTable, select_in

COLUMNS = ("action", "result", "crm_id", "error_code", "error", "record_url", "recreated", "record")
NAMES = ", ".join(COLUMNS)
Row = tuple[Any, ...]  # in COLUMNS' order; `record`: the record as sent, pickled, when it changed since
CRM_ID, RECORD_URL = COLUMNS.index("crm_id"), COLUMNS.index("record_url")


class OutcomeLog(KeyedTable):
    """ref -> its sent outcome's row (the last written wins, as a dict's item)."""

    def __init__(self) -> None:
        super().__init__("sent", NAMES)

    def get(self, ref: str) -> Row | None:
        if ref in self._new:
            return self._new[ref]
        found = self._db.execute(f"SELECT {NAMES} FROM sent WHERE key = ?", (ref,)).fetchone()
        return tuple(found) if found else None

    def many(self, refs: Iterable[str]) -> dict[str, Row]:
        """The rows of those of `refs` that were sent."""
        self.flush()
        rows = select_in(self._db, f"SELECT key, {NAMES} FROM sent WHERE key IN ({{marks}})", refs)
        return {row[0]: tuple(row[1:]) for row in rows}

    def relink(self, ref: str, crm_id: str, record_url: str | None) -> None:
        """A sent record found in the CRM after all (made despite an error): its id and address."""
        row = self.get(ref)
        if row is not None:
            changed = list(row)
            changed[CRM_ID], changed[RECORD_URL] = crm_id, record_url
            self.put(ref, tuple(changed))

    def succeeded(self) -> dict[str, int]:
        """action -> how many records the CRM accepted so far."""
        self.flush()
        return dict(self._db.execute("SELECT action, count(*) FROM sent WHERE result = 'success' "
                                     "GROUP BY action").fetchall())

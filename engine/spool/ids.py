"""The CRM ids a push knows (ref -> CRM id: matched by the plan, or created by the run), on disk: what
children read of their parents as they are written, and what a lost create's look-up checks a candidate
against (the CRM record of another source record is not this one's). A million of them in a dict would
be a couple of hundred megabytes."""

from __future__ import annotations

from collections.abc import Iterable

from engine.spool.tables import KeyedTable, select_in


class IdIndex(KeyedTable):
    """str -> str with `get`, `in` and item assignment (the last id of a ref wins), and `owners`: the
    refs holding given CRM ids."""

    def __init__(self) -> None:
        super().__init__("ids", "crm_id TEXT NOT NULL")
        self._db.execute("CREATE INDEX ids_by_crm_id ON ids (crm_id)")

    def __setitem__(self, ref: str, crm_id: str) -> None:
        self.put(ref, (crm_id,))

    def update(self, pairs: Iterable[tuple[str, str]]) -> None:
        for ref, crm_id in pairs:
            self[ref] = crm_id

    def get(self, ref: str) -> str | None:
        if ref in self._new:
            return str(self._new[ref][0])
        row = self._db.execute("SELECT crm_id FROM ids WHERE key = ?", (ref,)).fetchone()
        return row[0] if row else None

    def __contains__(self, ref: object) -> bool:
        return isinstance(ref, str) and self.get(ref) is not None

    def owners(self, crm_ids: Iterable[str]) -> dict[str, str]:
        """crm id -> the ref holding it, for those of `crm_ids` some ref holds."""
        self.flush()
        return dict(select_in(self._db, "SELECT crm_id, key FROM ids WHERE crm_id IN ({marks})", crm_ids))

"""What children need of their parents once the parents' planned records are on disk: per parent, its
status, CRM id and the record it merged into, a few pointers instead of a whole planned record."""

from __future__ import annotations

from typing import Any


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


class ParentIndex(dict[str, ParentState]):
    """ref -> ParentState of the records of parent streams, the first record of a ref kept."""

    def remember(self, records: Any) -> None:
        for record in records:
            if record.ref not in self:
                self[record.ref] = ParentState.of(record)

    def refresh(self, records: Any) -> None:
        """Once a stream's records may have changed after they were remembered (held back, handed over):
        each ref again from its first record."""
        fresh = ParentIndex()
        fresh.remember(records)
        self.update(fresh)

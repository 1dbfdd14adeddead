"""A stream's planned records on disk, with the counts a plan's summary needs kept as they are written,
so that `Plan.summary()` does not read a million records back."""

from __future__ import annotations

from collections import Counter
from typing import Any

from engine.spool.sequence import Amendment, Spool

WRITTEN = ("net_new", "update")  # statuses whose owner a plan counts


class RecordSpool(Spool[Any]):
    """Planned records (anything with `status` and `owner`), counted by status and by the owner of those
    to be written. An amendment (a stream held back once read whole) changes the records as they are
    read: the counts are then taken again, once, by reading the stream back."""

    def __init__(self) -> None:
        self.statuses: Counter[str] = Counter()
        self.owners: Counter[str] = Counter()
        self._recount = False
        super().__init__()

    def appended(self, chunk: list[Any]) -> None:
        self._count_in(chunk)

    def _count_in(self, chunk: list[Any]) -> None:
        for record in chunk:
            self.statuses[record.status] += 1
            if record.owner and record.status in WRITTEN:
                self.owners[record.owner] += 1

    def amend(self, amendment: Amendment) -> None:
        super().amend(amendment)
        self._recount = True

    def counts(self) -> tuple[Counter[str], Counter[str]]:
        """(records by status, owners of the records to be written)."""
        if self._recount:
            self.statuses, self.owners, self._recount = Counter(), Counter(), False
            for chunk in self.chunks():
                self._count_in(chunk)
        return self.statuses, self.owners

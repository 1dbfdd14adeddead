"""What the user scripts of benchmarks/vs_sdks.py are given: the records to sync, already mapped (the
CRM's field names and values, the same for every contender), parents before their children."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any


@dataclass(frozen=True)
class Row:
    stream: str
    source_id: str
    object: str
    fields: dict[str, Any]  # the values to write, identity fields included
    parent: str | None  # the ref (stream/source_id) of the record whose id this one carries or is linked to

    @property
    def ref(self) -> str:
        return f"{self.stream}/{self.source_id}"


def by_stream(rows: list[Row]) -> Iterator[tuple[str, list[Row]]]:
    """The rows stream by stream, in their order (parents' streams first)."""
    for stream, group in groupby(rows, key=lambda row: row.stream):
        yield stream, list(group)


def chunks(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]

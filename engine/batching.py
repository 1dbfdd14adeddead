"""Full batches across windows: a push reads a stream's records from disk a window (2,000) at a time, and
each window's last batch of a kind was cut short, one request more per window than the batch limits
need (issue 14: requests <= 1.01x the minimum). Here the remainder of a window waits for the next window's
records of its kind, so every batch is full but the stream's last of each kind. The same for
associations, by object and relation."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def full_batches(windows: Iterable[list[tuple[K, list[T]]]],
                 batch_size: Callable[[K], int]) -> Iterator[tuple[K, list[T]]]:
    """Each window's (kind, records), a kind (of write, or an object's relation) cut at the largest
    multiple of its batch size and the rest carried into the next window's records of that kind (order
    kept); what is still carried at the end comes last, a kind at a time."""
    carried: dict[K, list[T]] = {}
    for groups in windows:
        for kind, records in groups:
            pending = carried.pop(kind, []) + records
            cut = len(pending) // batch_size(kind) * batch_size(kind)
            if cut:
                yield kind, pending[:cut]
            if pending[cut:]:
                carried[kind] = pending[cut:]
    yield from carried.items()

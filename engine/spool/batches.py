"""Write requests rendered a block of items at a time as a plan's records are read back, instead of
from every record at once: a block is a whole number of the endpoint's batches, so the requests are the
same as rendering all items in one go."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine.spool.sequence import Spool

Item = tuple[str, dict[str, Any]]  # (ref, item context)
BLOCK_BATCHES = 10  # batches rendered together


class BatchWriter:
    """Collects items of one endpoint and renders each full block with `render`; `done` renders the rest
    and gives every request, in order (kept on disk when `spill`)."""

    def __init__(self, render: Callable[[list[Item]], list[Any]], batch_size: int, *, spill: bool) -> None:
        self.render = render
        self.block = max(1, batch_size) * BLOCK_BATCHES
        self.buffer: list[Item] = []
        self.out: list[Any] | Spool[Any] = Spool() if spill else []

    def add(self, ref: str, item: dict[str, Any]) -> None:
        self.buffer.append((ref, item))
        if len(self.buffer) >= self.block:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.out.extend(self.render(self.buffer))
            self.buffer = []

    def done(self) -> Sequence[Any]:
        self.flush()
        return self.out

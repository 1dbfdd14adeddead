"""A plan made all streams at once, for a push that writes each stream as soon as it is decided: what
each stream waits for, and what it hands over (see Planner.make)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.plan import PlannedRecord
    from engine.render import Request

# what to await before writing a stream's records: every stream of its object has been looked up
Writable = Callable[[], Awaitable[None]]
# called with each stream's decided records as soon as it is decided (before its children are); what it
# returns (the records as it restricted them, written to disk again) replaces them, when not None
StreamDecided = Callable[[str, Sequence["PlannedRecord"], Writable], "Sequence[PlannedRecord] | None"]


@dataclass
class Turn:
    """One stream's place in a plan made all streams at once."""

    parents: list[asyncio.Event]  # its parent streams are decided
    decided: asyncio.Event
    looked_up: asyncio.Event  # its own look-ups are answered
    same_object: list[asyncio.Event]  # the look-ups of every stream of its object are answered
    on_stream: StreamDecided | None
    lookups: list[Request] = field(default_factory=list)  # the stream's look-ups, as rendered

    async def parents_decided(self, looked_up: bool) -> None:
        """Wait for the parent streams to be decided; `looked_up`: the stream's last look-ups are
        answered (a stream is looked up window by window)."""
        if looked_up:
            self.looked_up.set()
        for parent in self.parents:
            await parent.wait()

    def hand_over(self, stream: str, records: Sequence[PlannedRecord]) -> Sequence[PlannedRecord]:
        """Right after the stream is decided, before its children are; the stream's records from then
        on (as `on_stream` gives them back)."""
        if self.on_stream is not None:
            records = self.on_stream(stream, records, self.object_looked_up) or records
        self.decided.set()
        return records

    async def object_looked_up(self) -> None:
        for event in self.same_object:
            await event.wait()

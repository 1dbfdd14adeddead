"""One stream's write requests, rendered as its records are decided (a window at a time, or all at once
from a finished plan: the same requests either way). Creates, upserts and updates are rendered into the
stream's own writers; its association items are kept aside (on disk in a spilled plan), since a batch of
associations takes the items of several streams of one object, in stream order: `done` hands them to the
plan's shared writers once the streams before it have handed theirs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from engine.spool.batches import BatchWriter, Item
from engine.spool.sequence import Spool

if TYPE_CHECKING:
    from engine.plan import PlannedRecord, Planner
    from engine.render import Request

KINDS = ("create", "upsert", "update")
ASSOCIATING = ("net_new", "update", "synced")  # statuses whose records make their associations
Group = tuple[str, str]  # (object, association relation)


class StreamWrites:
    def __init__(self, planner: Planner, stream: str) -> None:
        self.planner = planner
        self.object_name = planner.profile.streams[stream].object
        self.writers: dict[str, BatchWriter] = {}
        self.associations: dict[Group, list[Item] | Spool[Item]] = {}

    def take(self, records: Iterable[PlannedRecord]) -> None:
        """Render what `records` (decided, in source order) write; keep their association items."""
        planner, writers = self.planner, self.writers
        items: dict[Group, list[Item]] = {}
        for record in records:
            status = record.status
            if record.associate and status in ASSOCIATING:
                for group, ref, item in planner.association_items(record):
                    items.setdefault(group, []).append((ref, item))
            if status == "net_new":
                kind = planner.write_kind(record)
            elif status == "update":
                kind = "update"
            else:
                continue
            if kind not in writers:
                writers[kind] = planner.batch_writer(kind, self.object_name)
            writers[kind].add(record.ref, planner.write_item(record, kind))
        for group, taken in items.items():
            if group not in self.associations:
                self.associations[group] = Spool() if planner.spill else []
            self.associations[group].extend(taken)

    def done(self, shared: dict[Group, BatchWriter]) -> list[Sequence[Request]]:
        """The stream's creates, upserts and updates; its association items added to `shared` (one writer
        per group, made as a group first comes)."""
        for group, items in self.associations.items():
            if group not in shared:
                shared[group] = self.planner.association_writer(*group)
            for ref, item in items:
                shared[group].add(ref, item)
        return [self.writers[kind].done() for kind in KINDS if kind in self.writers]

"""Decisions: link a CRM record to a local record, unlink it, or import it as a new local record. A link
is the push's own (the store's `links`): the next push updates the linked CRM record, never creates
another. Every decision is a row of the activity log (action link, unlink or import), with who made it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.catalog import ProfileBundle
from engine.errors import CrmsyncError
from engine.match import ref
from engine.push import new_run_id
from engine.store import Link, Store, now

ACCEPT_BEST_MIN = 0.9  # `link --accept-best`: the least score linked without a person
ACCEPT_BEST_MARGIN = 0.1  # ...and by how much the best must beat the second


class DecisionUsage(CrmsyncError):
    exit_code = 2


@dataclass
class Outcome:
    """What one command decided: done (crm_id, local ref) and refused (what, why)."""

    action: str
    done: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "done": [{"crm_id": c, "local_ref": r} for c, r in self.done],
                "refused": [{"what": w, "why": y} for w, y in self.refused], "skipped": self.skipped}


def split_ref(bundle: ProfileBundle, local_ref: str) -> tuple[str, str]:
    """`stream/source_id` of one of the profile's streams."""
    stream, _, source_id = local_ref.partition("/")
    streams = bundle.profile.model.streams
    if stream not in streams or not source_id:
        raise DecisionUsage(f"{local_ref!r} is not a local record: write STREAM/SOURCE_ID, the stream one of "
                            f"{', '.join(streams)} (employer/emp-001)")
    return stream, source_id


class Decider:
    """Links, unlinks and imports of one profile, logged as one run of the activity log."""

    def __init__(self, bundle: ProfileBundle, store: Store, by: str) -> None:
        self.bundle, self.store, self.by = bundle, store, by
        self.profile = bundle.profile.model.name
        self.run_id = new_run_id()
        self.links = store.links(self.profile)
        self.started = False

    def linked_to(self, object_name: str, crm_id: str) -> str | None:
        return next((ref(lk.stream, lk.source_id) for lk in self.links.values()
                     if lk.object == object_name and lk.crm_id == crm_id), None)

    def link(self, crm_id: str, local_ref: str, action: str = "link") -> str | None:
        """Tie `crm_id` to `local_ref`; the reason it is refused, or None once it is done."""
        stream, source_id = split_ref(self.bundle, local_ref)
        object_name = self.bundle.profile.model.streams[stream].object
        holder = self.linked_to(object_name, crm_id)
        if holder == local_ref:
            return None
        if holder is not None:
            return f"{object_name} {crm_id} is linked to {holder}: unlink it first (crmsync unlink)"
        mine = self.links.get((stream, source_id))
        if mine is not None and mine.crm_id != crm_id:
            return f"{local_ref} is linked to {object_name} {mine.crm_id}: unlink it first (crmsync unlink)"
        link = Link(stream, source_id, object_name, crm_id)
        self._record(action, link, linked=True)
        self.links[(stream, source_id)] = link
        return None

    def unlink(self, what: str) -> str | None:
        """Undo the link of a local ref (`stream/id`) or of a CRM id; the reason it is refused, or None."""
        found = [lk for key, lk in self.links.items() if ref(*key) == what or lk.crm_id == what]
        if not found:
            return f"{what}: no link of profile {self.profile} has it (a local STREAM/ID or a CRM id)"
        for link in found:
            self._record("unlink", link, linked=False)
            del self.links[(link.stream, link.source_id)]
        return None

    def _record(self, action: str, link: Link, *, linked: bool) -> None:
        """The change and its activity row in one transaction (and the run they belong to)."""
        if not self.started:
            self.store.start_run(self.run_id, self.profile, self.by)
            self.started = True
        entry = {"at": now(), "run_id": self.run_id, "triggered_by": self.by, "object": link.object,
                 "action": action, "result": "success", "crm_id": link.crm_id, "stream": link.stream,
                 "source_id": link.source_id}
        self.store.record_decision(self.profile, link, linked, entry)

    def finish(self, outcome: Outcome) -> None:
        if self.started:
            self.store.finish_run(self.run_id, "finished")

"""Send and record: carry out a plan against the CRM, then keep links and the activity log.

Order: each stream as soon as the plan has decided it (see Planner.make); its creates once the parent
streams whose ids they carry are created; within a stream creates then updates, each in the endpoint's
batches; a stream's associations once it and its parents are written (both ends exist). Before a
batch is sent its records are written to the journal, so a run killed at any point is reconciled by
the next one (which re-plans against the CRM by identity: what was created is found and linked, what
was not is created). A batch the CRM refuses whole because of one input is split until the bad inputs
fail alone. A create whose answer was lost is never sent blind again: its records are looked up by
identity first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from engine.associations import association_item, relation_endpoint, render_associate
from engine.batching import full_batches
from engine.client import AuthStopped, CrmClient, Interrupted, RunStopped, Sent, body_of
from engine.connector import (
    AssociationRelation,
    BindRelation,
    ConnectorSpec,
    Endpoint,
    ErrorFields,
    FieldRelation,
    Relation,
    ResponseSpec,
)
from engine.errors import CrmsyncError
from engine.interrupt import SECOND
from engine.jsoncodec import compact_text
from engine.match import CrmRecord, LookupFailed, _fetch_all, crm_identity, crm_record, select_fields
from engine.pipeline import StreamDecided, Writable
from engine.plan import Change, Plan, PlannedRecord, Planner, same
from engine.planview import view_url
from engine.plugins import hooks
from engine.pushresult import DELETED, Outcome, PushOutcomes, PushResult, summary_of
from engine.reconcile import Held, Unanswered, reconcile, settled_held
from engine.render import Request, endpoint_for, read_one, read_path, render_batches, render_lookups
from engine.spool.ids import IdIndex
from engine.spool.outcomes import OutcomeLog
from engine.spool.records import RecordSpool
from engine.spool.sequence import windows_of
from engine.store import Link, Store, now
from engine.team.permissions import Permissions
from engine.templating import fill

log = logging.getLogger("crmsync.push")


def classify(connector: ConnectorSpec, status: int, body: Any, code: str | None) -> str:
    kind = hooks().crmsync_classify_error(connector=connector, status=status, body=body, code=code)
    if kind:
        return kind
    folded = code.casefold() if code else None
    for cls in connector.errors.classes:
        if folded is not None and folded in (c.casefold() for c in cls.codes) \
                and (not cls.fields or set(cls.fields) & fields_named(connector, body)):
            return cls.kind
    for cls in connector.errors.classes:
        if status in cls.statuses:
            return cls.kind
    return "validation" if 400 <= status < 500 else "transient"


def fields_named(connector: ConnectorSpec, body: Any) -> set[str]:
    """The fields an error names, read where a per-record or a whole-response error holds them."""
    paths = {spec.fields for spec in (connector.errors.item, connector.errors.body) if spec and spec.fields}
    return {str(name) for path in paths for name in read_path(body, path)}


def holds_results(endpoint: Endpoint | None, response: httpx.Response, count: int) -> bool:
    """A refused answer that still gives each record sent its own result (`refused_with_results`)."""
    spec = endpoint.response if endpoint else None
    if spec is None or not spec.refused_with_results or not response.content:
        return False
    return len(read_path(body_of(response), spec.records)) == count


def error_parts(errors: ErrorFields, data: Any) -> tuple[str | None, str]:
    code = read_one(data, errors.code)
    message = read_one(data, errors.message)
    return (str(code) if code not in (None, "") else None,
            str(message) if message not in (None, "") else json.dumps(data, ensure_ascii=False)[:500])


def succeeded(result: Any, spec: ResponseSpec) -> bool:
    """A per-record result's own word on success: a boolean, or one of `success_values` (any other word,
    or none at all, fails the record: an unknown word read as success would lose it silently)."""
    if not spec.success:
        return True
    found = read_one(result, spec.success)
    if spec.success_values is not None:
        return found is not None and str(found) in spec.success_values
    return found is not False


def was_created(result: Any, spec: ResponseSpec) -> bool | None:
    """A written record's 'created' flag: a boolean, or its word is one of `created_values`."""
    found = read_one(result, spec.created)
    if spec.created_values is not None and found is not None:
        return str(found) in spec.created_values
    return found if isinstance(found, bool) else None


@dataclass
class Pending:
    """What finished records have to write to the store, gathered per answered batch."""

    links: list[Link] = field(default_factory=list)
    journal: list[tuple[str, str, str]] = field(default_factory=list)  # ref, action, state
    entries: list[dict[str, Any]] = field(default_factory=list)


NEW = ("create", "upsert")  # the write kinds that make new records
Unidentified = dict[str, tuple[dict[str, Any], str]]  # ref -> (item, why): written as done, without an id
UNSENT_LOGGED = ("error", "skipped", "restricted")  # results of records not sent that the log shows
BeforeStream = Callable[[str, list[PlannedRecord]], None]  # may restrict a decided stream, a window at a time
Group = tuple[str, str]  # an object and one of its relations: the associations one request may make
Due = tuple[PlannedRecord, dict[str, Any]]  # a record and one association of it to make
Handed = Callable[[str, Sequence[PlannedRecord]], None]  # sees a stream's records once it is decided
IN_FLIGHT = 4  # windows of one stream written at once: enough batches to fill the client's concurrency
HELD_POLL_S = 2.0  # how often held creates are looked up again while their dead run's request may live


class Pusher:
    def __init__(self, planner: Planner, client: CrmClient, store: Store, run_id: str, triggered_by: str,
                 connection: dict[str, str]) -> None:
        self.planner = planner
        self.connector = planner.connector
        self.profile = planner.profile
        self.client = client
        self.store = store
        self.run_id = run_id
        self.triggered_by = triggered_by
        self.connection = connection
        self.ids = IdIndex()  # ref -> crm id, as records are matched or created (on disk)
        self.sent = OutcomeLog()  # ref -> what the CRM answered for it (on disk)
        self.association_counts = {"created": 0, "failed": 0}
        self.pending = Pending()
        self.warnings: dict[str, list[str]] = {}  # of the records warned about only
        self.on_done: Callable[[str], None] | None = None
        self.on_outcome: Callable[[Outcome], None] | None = None  # each record the CRM answered for
        self.on_associations: Callable[[int, int, int], None] | None = None  # (more due, made, failed)
        self._relation_fields: dict[str, frozenset[str]] = {}
        self.stopped: RunStopped | None = None  # why the run stopped sending, once it has
        self.planning: asyncio.Future[Plan] | None = None
        self.unanswered: Unanswered = {}  # ref -> the earlier run whose create of it went unanswered
        self.held: dict[str, list[Held]] = {}  # by stream: creates held back until their old answer is due
        self.held_refs: set[str] = set()
        self.held_counts: Counter[str] = Counter()  # settled held creates: found, created
        self.recreate_deleted = False  # a record deleted in the CRM behind its link is created again
        self.deleted: list[PlannedRecord] = []  # updates that found their record deleted, to create again
        self.recreating: set[str] = set()  # refs being created again
        self.changed: dict[str, PlannedRecord] = {}  # records changed since planned (relinked, recreated)

    # ----- the run -----------------------------------------------------------------------------
    async def run(self, plan: Plan) -> PushResult:
        """Carry out a plan made beforehand (its look-ups all answered)."""
        async def looked_up() -> None:
            return None

        async def replay(on_stream: StreamDecided) -> Plan:
            for stream in self.planner.stream_names():
                records = RecordSpool()  # on disk, each reading gives new objects: one copy of them
                records.extend(r for r in plan.records if r.stream == stream)
                on_stream(stream, records, looked_up)
            return plan

        _, result = await self.carry_out(replay)
        return result

    async def plan_and_run(self, source_dir: Path, before_stream: BeforeStream | None = None,
                           on_handed: Handed | None = None) -> tuple[Plan | None, PushResult]:
        """Plan and send at once: a stream's writes start as soon as it is decided (its creates once its
        blocking parents are created), while other streams' look-ups are still in flight. Each stream's
        records are on disk (planned window by window) and read back a window at a time.
        `before_stream` sees (and may restrict, in place) each stream's records a window at a time as
        soon as the stream is decided, before its children are decided and before any of its records is
        sent (the stream is written to disk again as restricted); `on_handed` sees the stream then."""
        async def make(on_stream: StreamDecided) -> Plan:
            def decided(stream: str, records: Sequence[PlannedRecord],
                        writable: Writable) -> Sequence[PlannedRecord]:
                if before_stream is not None:
                    records = restricted(stream, records, before_stream)
                if self.unanswered:  # after a run cut off with creates at the CRM (rare: one pass more)
                    self.hold(stream, reconcile(self.store, self.profile.name, self.unanswered,
                                                self.triggered_by, records, self.may_hold,
                                                self.client.request_timeout_s))
                if on_handed is not None:
                    on_handed(stream, records)
                on_stream(stream, records, writable)
                return records
            # with the cyclic collector running (not Planner.run): what a push holds is a few windows, and
            # each answer the CRM gives (httpx's response and its stream refer to each other) is garbage
            # only it finds; paused for the run, every request and answer of it stayed in memory
            return await self.planner.make(source_dir, self.client, decided, render_writes=False, spill=True)

        return await self.carry_out(make)

    async def carry_out(self, make: Callable[[StreamDecided], Awaitable[Plan]]
                        ) -> tuple[Plan | None, PushResult]:
        """Write each stream as `make` hands it over (in any order: a stream's creates wait for its
        blocking parents' creates); a stream's associations once it and its parents are written. A plan
        that fails part-way (a look-up refused) lets the streams already handed over finish, then
        raises."""
        result = PushResult(self.run_id, [])
        created = {stream: asyncio.Event() for stream in self.planner.stream_names()}
        handed: dict[str, Sequence[PlannedRecord]] = {}
        plan: Plan | None = None
        failure: Exception | None = None
        async with asyncio.TaskGroup() as streams:
            def hand_over(stream: str, records: Sequence[PlannedRecord], writable: Writable) -> None:
                handed[stream] = records
                streams.create_task(self.until_stopped(self.write_stream(stream, records, created, writable)))
                streams.create_task(self.until_stopped(self.associate_stream(stream, records, created)))
            self.planning = asyncio.ensure_future(make(hand_over))
            try:
                plan = await self.planning
            except RunStopped as exc:  # while looking up: a stop like any other once some were handed
                if handed or isinstance(exc, Interrupted):
                    self.stopped = self.stopped or exc
                else:
                    failure = exc
            except asyncio.CancelledError:
                if self.stopped is None:  # not ended by a stop (below): a cancellation of the run itself
                    raise
            except CrmsyncError as exc:  # a look-up refused: once some streams were handed, a stop too
                if handed:
                    self.stopped = self.stopped or RunStopped(str(exc))
                else:
                    failure = exc
            except Exception as exc:  # noqa: BLE001 - raised again once the handed streams are written
                failure = exc
        if failure is not None:
            raise failure
        result.stopped = str(self.stopped) if self.stopped else None
        if plan is None:  # stopped while other streams were still being looked up: none of them was sent
            result.unplanned = [s for s in self.planner.stream_names() if s not in handed]
        stopped = result.stopped
        outcomes = PushOutcomes([handed[s] for s in self.planner.stream_names() if s in handed], self.sent,
                                self.warnings, lambda record: self.unsent(record, stopped))
        result.outcomes = outcomes
        result.counted = summary_of(self.logged(outcomes))
        result.associations = self.association_counts
        return plan, result

    def logged(self, outcomes: PushOutcomes) -> Iterator[Outcome]:
        """Every outcome, the unsent ones written to the activity log a window at a time as they go by."""
        for window in outcomes.windows():
            self.log_unsent(window)
            yield from window

    def log_unsent(self, outcomes: list[Outcome]) -> None:
        """Records refused or held back before anything was sent (invalid, skipped, cut off by a stop) are
        rows of the activity log too, with the reason: `log --result error` shows every failure."""
        self.store.log({"at": now(), "run_id": self.run_id, "triggered_by": self.triggered_by,
                        "object": o.record.object, "action": "none", "result": o.result,
                        "crm_id": o.crm_id, "error_code": o.error_code, "error": o.error,
                        "stream": o.record.stream, "source_id": o.record.source_id}
                       for o in outcomes if o.action is None and o.result in UNSENT_LOGGED)

    async def until_stopped(self, work: Awaitable[None]) -> None:
        """A stream's writes or associations, ended by a stop (a token refused, the daily reserve
        reached) without cutting off the other streams' requests in flight: each ends as its next request
        is refused. The planning ends at once: its look-ups are reads, and nothing more will be written."""
        try:
            await work
        except RunStopped as stop:
            self.stopped = self.stopped or stop
            if self.planning is not None and not self.planning.done():
                self.planning.cancel()

    async def adopt(self, records: Sequence[PlannedRecord]) -> None:
        """The CRM ids the plan found: known to children, and linked (a window at a time)."""
        for window in windows_of(records):
            matched = [r for r in window if r.crm_id]
            self.ids.update((r.ref, r.crm_id) for r in matched)  # type: ignore[misc]
            self.store.save_links(self.profile.name, [Link(r.stream, r.source_id, r.object, r.crm_id)
                                                      for r in matched])
            await asyncio.sleep(0)

    async def write_stream(self, stream: str, records: Sequence[PlannedRecord],
                           created: dict[str, asyncio.Event], writable: Writable) -> None:
        """Once `writable` (no look-up of the stream's object is still out): updates at once; creates
        once every blocking parent stream has created its records. Parents linked by a separate
        association, and not required, do not hold a stream back: the association is made once both
        streams are written (associate_stream). The records are read a window at a time, a few windows
        written at once."""
        try:
            await self.adopt(records)
            await writable()
            if self.stopped is not None:  # stopped while it waited: nothing more is sent
                return
            # an update that fills a parent field with a parent created in this run waits for it too
            size = self.batch_size(stream)
            updates = in_flight(self.write(kind, chosen) for kind, chosen
                                in full_batches((self.updates_now(w) for w in windows_of(records)), size))

            async def creates() -> None:
                for parent in self.blocking_parents(stream):
                    await created[parent].wait()
                await in_flight(self.write(kind, chosen) for kind, chosen
                                in full_batches((self.creates_then(w) for w in windows_of(records)), size))
            await settled(updates, creates())
            await self.settle_held(stream)
            await self.recreate(stream)
        finally:
            created[stream].set()

    def batch_size(self, stream: str) -> Callable[[str], int]:
        """The most records one request of a kind of write takes, for the stream's object."""
        object_name = self.profile.streams[stream].object

        def size(kind: str) -> int:
            endpoint = endpoint_for(self.connector, object_name, kind)  # type: ignore[arg-type]
            return endpoint.batch.max if endpoint is not None and endpoint.batch else 1
        return size

    def updates_now(self, window: list[PlannedRecord]) -> list[tuple[str, list[PlannedRecord]]]:
        return [("update", [r for r in window if r.status == "update" and not self.relinks_to_new_parent(r)])]

    def creates_then(self, window: list[PlannedRecord]) -> list[tuple[str, list[PlannedRecord]]]:
        """The window's creates and upserts of new records (by native upsert where the record has its
        key), and its updates that set a parent created in this run."""
        new = [r for r in window if r.status == "net_new" and r.ref not in self.held_refs]
        return [*self.new_by_kind(new),
                ("update", [r for r in window if r.status == "update" and self.relinks_to_new_parent(r)])]

    def new_by_kind(self, new: list[PlannedRecord]) -> list[tuple[str, list[PlannedRecord]]]:
        return [(kind, [r for r in new if self.planner.write_kind(r) == kind]) for kind in NEW]

    async def recreate(self, stream: str) -> None:
        """The stream's records whose update found them deleted in the CRM. One the CRM holds again by
        identity (made by a run cut off before it linked it, or by a person) is linked to it and updated:
        else every later push would fail it, and --recreate-deleted make it twice. With
        --recreate-deleted the others are created again from all their values (their parents are written
        by now), then associated."""
        gone = [r for r in self.deleted if r.stream == stream]
        if not gone:
            return
        gone = await self.relink_found(gone)
        if not self.recreate_deleted or not gone:
            return
        for record in gone:
            record.status, record.crm_id = "net_new", None
            record.changes = [Change(name, None, value) for name, value in record.values.items()]
            record.associate = [name for name, _, _ in record.parents
                                if (record.object, name) in self.planner.associations]
            self.recreating.add(record.ref)
            self.changed[record.ref] = record
        await settled(*(self.write(kind, chosen) for kind, chosen in self.new_by_kind(gone)))

    async def relink_found(self, gone: list[PlannedRecord]) -> list[PlannedRecord]:
        """Link and update those of `gone` that the CRM holds by identity; returns the others."""
        try:
            found = await self.find_existing(gone[0].object, gone)
        except LookupFailed:
            found = {}  # said deleted; the next push looks again
        again = [r for r in gone if r.ref in found]
        for record in again:
            self.warnings.setdefault(record.ref, []).append(
                f"its linked {record.object} {record.crm_id} was deleted in the CRM, and the CRM holds it "
                f"again as {found[record.ref]} (found by identity): linked to that one")
            record.crm_id = found[record.ref]
            self.ids[record.ref] = record.crm_id
            self.changed[record.ref] = record
        if again:
            await self.write("update", again)
        return [r for r in gone if r.ref not in found]

    def relinks_to_new_parent(self, record: PlannedRecord) -> bool:
        """Whether an update sets a parent that does not exist yet (created in this run)."""
        changed = {c.field for c in record.changes}
        relations = self.connector.objects[record.object].relations
        return any(not parent_id and relations[name].written_as in changed
                   for name, _, parent_id in record.parents)

    def blocking_parents(self, stream: str) -> list[str]:
        """The parent streams whose creates must finish first: those whose id a new record carries, and
        those the profile requires."""
        spec = self.profile.streams[stream]
        relations = self.connector.objects[spec.object].relations
        return [p.stream for p in spec.parents if p.stream in self.profile.streams
                and (p.required or not isinstance(relations[p.relation], AssociationRelation))]

    def unsent(self, record: PlannedRecord, stopped: str | None) -> Outcome:
        if record.status == "synced":
            return Outcome(record, None, "unchanged", record.crm_id,
                           record_url=self.record_url(record, record.crm_id),
                           warnings=self.warnings.get(record.ref, []))
        if record.status == "invalid":
            first = record.problems[0] if record.problems else None
            return Outcome(record, None, "error", None, first.code if first else "invalid",
                           "; ".join(p.message for p in record.problems))
        if record.status == "restricted":
            return Outcome(record, None, "restricted", record.crm_id, "restricted", record.reason)
        if record.status in ("net_new", "update") and stopped:
            return Outcome(record, None, "error", record.crm_id, "stopped", stopped)
        return Outcome(record, None, "skipped", record.crm_id, error="; ".join(record.notes) or None)

    # ----- creates a dead run left unanswered (engine/reconcile.py) ------------------------------
    def may_hold(self, record: PlannedRecord) -> bool:
        return self.planner.write_kind(record) == "create"  # an upsert sent again makes nothing twice

    def hold(self, stream: str, held: list[Held]) -> None:
        if held:
            self.held.setdefault(stream, []).extend(held)
            self.held_refs.update(h.record.ref for h in held)

    async def settle_held(self, stream: str) -> None:
        """The stream's held creates, once its other writes are done: looked up again until all are
        found or their dead run's requests must have ended; the found linked, only the missing created."""
        held = self.held.pop(stream, [])
        while held and self.stopped is None and self.client.halted is None:
            looked_at = time.time()
            try:
                found = await self.find_existing(held[0].record.object, [h.record for h in held])
            except LookupFailed:
                found = {}
            self.found_held([h for h in held if h.record.ref in found], found)
            held = [h for h in held if h.record.ref not in found]
            due = max((h.answer_by for h in held), default=0.0)
            if looked_at >= due:
                await self.create_held(held)
                return
            await asyncio.sleep(min(due - looked_at, HELD_POLL_S))

    def found_held(self, held: list[Held], found: dict[str, str]) -> None:
        """Made by the dead run after all: linked, its create logged under that run; unchanged here."""
        for h in held:
            record = h.record
            record.status, record.crm_id, record.changes = "synced", found[record.ref], []
            self.changed[record.ref] = record
            self.ids[record.ref] = record.crm_id
            self.warnings.setdefault(record.ref, []).append(
                f"created by run {h.run_id}, which ended before hearing the answer: found by identity once "
                f"{self.connector.label} had applied it ({record.crm_id}), and linked")
            url = self.record_url(record, record.crm_id)
            self.sent.put(record.ref, (None, "unchanged", record.crm_id, None, None, url, False,
                                       pickle.dumps(record)))
            if self.on_done is not None:
                self.on_done(record.stream)
        if held:
            links = [Link(r.stream, r.source_id, r.object, r.crm_id) for r in (h.record for h in held)]
            self.store.save_links(self.profile.name, links)  # type: ignore[arg-type]
            settled_held(self.store, self.profile.name, self.triggered_by, held)
            self.held_counts["found"] += len(held)

    async def create_held(self, held: list[Held]) -> None:
        """Still missing once the dead run's requests must have ended: it never made them."""
        if not held:
            return
        settled_held(self.store, self.profile.name, self.triggered_by, held)
        for h in held:
            self.warnings.setdefault(h.record.ref, []).append(
                f"its create by run {h.run_id} went unanswered, and {self.connector.label} did not hold it "
                "once that request must have ended: created by this run")
        self.held_counts["created"] += len(held)
        await self.write("create", [h.record for h in held])

    def held_notice(self) -> str | None:
        found, created = self.held_counts["found"], self.held_counts["created"]
        if not found and not created:
            return None
        return (f"{found + created} record(s) whose create an earlier run sent without hearing the answer "
                f"were held back until that request must have ended (request timeout "
                f"{self.client.request_timeout_s:g} s), then looked up again: {found} found and linked "
                f"(unchanged), {created} created")

    # ----- writes ------------------------------------------------------------------------------
    async def write(self, kind: str, records: list[PlannedRecord]) -> None:
        if not records:
            return
        object_name = records[0].object
        endpoint = endpoint_for(self.connector, object_name, kind)  # type: ignore[arg-type]
        assert endpoint is not None
        if kind in NEW:
            records = [r for r in records if self.parents_ready(r)]
        items = [(r.ref, self.item(r, kind)) for r in records]
        by_ref = {r.ref: r for r in records}
        self.journal(records, kind)
        size = endpoint.batch.max if endpoint.batch else 1
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        try:
            await settled(*(self.send_chunk(kind, object_name, chunk, by_ref, attempt=1) for chunk in chunks))
        finally:
            self.flush()

    def parents_ready(self, record: PlannedRecord) -> bool:
        """A parent planned as new but not created (refused, or lost): a required parent keeps the record
        from being created; a parent whose id the record carries is noted, and the record is written
        without the link (a parent linked by association is noted when associations are made)."""
        specs = {p.relation: p for p in self.profile.streams[record.stream].parents}
        relations = self.connector.objects[record.object].relations
        for relation, parent_ref, parent_id in record.parents:
            if parent_id or parent_ref in self.ids:
                continue
            if specs[relation].required:
                self.finish(record, "create", None, "parent_missing",
                            f"its parent {parent_ref} was not created, and the profile requires it", {})
                return False
            if not isinstance(relations[relation], AssociationRelation):
                self.warn(record.ref, f"its parent {parent_ref} was not created: written without the link "
                                      f"({relation})", relations[relation])
        return True

    def warn(self, ref: str, what: str, relation: Relation) -> None:
        later = relation.read_as or isinstance(relation, AssociationRelation)  # read, or recorded as due
        then = ("the next push links it once the parent is created" if later else
                "crmsync does not yet link records that already exist, so link it in the CRM once the "
                "parent is there")
        self.warnings.setdefault(ref, []).append(f"{what}; {then}")

    def item(self, record: PlannedRecord, kind: str) -> dict[str, Any]:
        relation_fields = self.relation_fields(record.object)
        fields = {c.field: c.new for c in record.changes if c.field not in relation_fields}
        if kind == "update":
            relinked = {c.field for c in record.changes if c.field in relation_fields}
            fields.update({k: v for k, v in self.relation_values(record).items() if k in relinked})
            return {"fields": fields, "id": record.crm_id, "ref": record.ref}
        fields.update(self.relation_values(record))
        item = {"fields": fields, "ref": record.ref}
        if kind == "upsert":
            item.update(self.planner.upsert_context(record))
        return item

    def relation_fields(self, object_name: str) -> frozenset[str]:
        """The fields (and binds) that set a parent: written from the parent's id, never from the plan."""
        known = self._relation_fields.get(object_name)
        if known is None:
            relations = self.connector.objects[object_name].relations.values()
            known = frozenset(r.written_as for r in relations if r.written_as)
            self._relation_fields[object_name] = known
        return known

    def relation_values(self, record: PlannedRecord) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for relation_name, parent_ref, parent_id in record.parents:
            relation = self.connector.objects[record.object].relations[relation_name]
            crm_id = self.ids.get(parent_ref) or parent_id  # a parent created again has a new id
            if crm_id is None:
                continue
            if isinstance(relation, FieldRelation):
                values[relation.written_as] = crm_id
            elif isinstance(relation, BindRelation):
                values[relation.written_as] = self.planner.bind_path(relation, crm_id)
        return values

    def journal(self, records: list[PlannedRecord], kind: str) -> None:
        """Before sending: each record as pending, and the associations its creation calls for (made by
        a later run if this one cannot)."""
        action = "insert" if kind in NEW else "update"
        with self.store.transaction():
            self.store.write_journal(self.run_id, [(r.ref, r.object, action, compact_text(r.identity))
                                                   for r in records])
            if action == "insert":
                due = [(r.ref, relation) for r in records for relation in r.associate]
                self.store.intend_associations(self.profile.name, due)

    async def send_chunk(self, kind: str, object_name: str, items: list[tuple[str, dict[str, Any]]],
                         by_ref: dict[str, PlannedRecord], attempt: int) -> None:
        # a chunk never exceeds the batch limit, so it renders as one request
        [request] = render_batches(self.connector, kind, object_name, items, self.client.base_url)  # type: ignore[arg-type]
        endpoint = endpoint_for(self.connector, object_name, kind)  # type: ignore[arg-type]
        try:
            sent = await self.client.send(request.method, request.url, headers=request.headers,
                                          body=request.body, kind=kind, safe_to_repeat=kind != "create",
                                          credits=endpoint.credits(len(items)) if endpoint else None)
        except RunStopped:  # a stop before the CRM applied it (halted, the reserve, a token, a 429)
            self.not_sent(kind, items)
            raise
        try:
            if sent.response is None or (sent.maybe_applied and kind == "create"):
                await self.reconcile(kind, object_name, items, by_ref, attempt,
                                     sent.error or f"HTTP {sent.response.status_code}")  # type: ignore[union-attr]
            elif sent.response.status_code >= 400 and not holds_results(endpoint, sent.response, len(items)):
                await self.refused(kind, object_name, items, by_ref, attempt, sent.response, request)
            else:
                # an upsert sent twice (its first answer lost) finds what its first attempt created
                unidentified: Unidentified = {}
                refused = self.read_results(kind, object_name, items, by_ref, sent.response, request,
                                            trust_created=sent.attempts == 1 and attempt == 1,
                                            unidentified=unidentified)
                await self.made_anyway(object_name, refused, by_ref)
                await self.identify(kind, object_name, unidentified, by_ref)
        finally:
            self.flush()

    def not_sent(self, kind: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Creates journaled but stopped before the CRM applied them: not `pending` (their answer is not
        unknown), so the next run creates them without holding them back (engine/reconcile.py)."""
        if kind in NEW:
            self.store.record_outcomes(self.profile.name, self.run_id, [],
                                       [(ref, "insert", "not_sent") for ref, _ in items], [])

    async def refused(self, kind: str, object_name: str, items: list[tuple[str, dict[str, Any]]],
                      by_ref: dict[str, PlannedRecord], attempt: int, response: httpx.Response,
                      request: Request) -> None:
        data = body_of(response)
        code, message = error_parts(self.connector.errors.body, data)
        if isinstance(data, list) and data:  # an error body that is a list of errors
            code, message = (error_parts(self.connector.errors.body, data[0]) if code is None
                             else (code, message))
        message = self.client.auth.hide(message)  # a CRM may echo the request, and a credential with it
        kind_of_error = classify(self.connector, response.status_code, data, code)
        if kind_of_error == "auth":
            raise AuthStopped(f"{self.connector.label} refused the access token: {message}")
        if len(items) > 1 and kind_of_error in ("validation", "duplicate", "not_found"):
            half = len(items) // 2  # one bad input failed the whole batch: find it by halves
            await settled(self.send_chunk(kind, object_name, items[:half], by_ref, attempt),
                          self.send_chunk(kind, object_name, items[half:], by_ref, attempt))
            return
        if kind_of_error in ("transient", "rate_limit") and attempt < 3:
            await self.reconcile(kind, object_name, items, by_ref, attempt,
                                 f"HTTP {response.status_code}: {message}")
            return
        deleted = kind == "update" and kind_of_error == "not_found"
        for ref, item in items:
            self.finish(by_ref[ref], kind, None, code or str(response.status_code), message, item,
                        deleted=deleted)
        if kind == "create" and kind_of_error == "validation":
            await self.made_anyway(object_name, {ref: None for ref, _ in items}, by_ref)

    async def made_anyway(self, object_name: str, refused: dict[str, str | None],
                          by_ref: dict[str, PlannedRecord]) -> None:
        """Creates the CRM answered an error for may have been made all the same (a property refused,
        the record kept): each is looked up by identity, unless its result gave its id, and linked when
        found, so that it is never orphaned nor created twice. Its outcome stays the error."""
        unknown = [by_ref[ref] for ref, crm_id in refused.items() if crm_id is None]
        try:
            found = await self.find_existing(object_name, unknown) if unknown else {}
        except LookupFailed:
            found = {}  # the next push looks it up again, by identity
        for ref, crm_id in {**found, **{r: c for r, c in refused.items() if c}}.items():
            self.linked_despite_error(by_ref[ref], crm_id)

    def linked_despite_error(self, record: PlannedRecord, crm_id: str) -> None:
        self.sent.relink(record.ref, crm_id, self.record_url(record, crm_id))
        self.warnings.setdefault(record.ref, []).append(
            f"{self.connector.label} created it ({crm_id}) although it answered an error for it: linked, so "
            "the next push updates it with what was refused instead of creating another")
        self.ids[record.ref] = crm_id
        self.pending.links.append(Link(record.stream, record.source_id, record.object, crm_id))

    def read_results(self, kind: str, object_name: str, items: list[tuple[str, dict[str, Any]]],
                     by_ref: dict[str, PlannedRecord], response: httpx.Response, request: Request,
                     trust_created: bool = True,
                     unidentified: Unidentified | None = None) -> dict[str, str | None]:
        """Each record's outcome from a 2xx answer; returns the creates it refused (their ref, and the id
        of the record their result shows the CRM made all the same, if it does). A create answered as
        done without an id goes into `unidentified` (when given) to be looked up, not finished."""
        endpoint = endpoint_for(self.connector, object_name, kind)  # type: ignore[arg-type]
        spec = endpoint.response  # type: ignore[union-attr]
        data = body_of(response) if response.content else None
        if data is None and spec.empty_body == "all_succeeded":
            self.all_succeeded(kind, items, by_ref, response, spec)
            return {}
        results = read_path(data, spec.records) if spec.records else ([data] if data is not None else [])
        if spec.order == "key":
            key_path = fill(spec.key or "", items[0][1])  # an upsert's key may name {key_field}
            keyed = {str(read_one(r, key_path)): r for r in results}
            mine = {"create": "ref", "upsert": "key_value", "update": "id"}[kind]
            paired = [(ref, item, keyed.get(str(item.get(mine)))) for ref, item in items]
        elif spec.order == "identity":
            paired = self.pair_by_identity(object_name, items, by_ref, results, spec)
        else:
            paired = [(ref, item, results[i] if i < len(results) else None)
                      for i, (ref, item) in enumerate(items)]
        refused: dict[str, str | None] = {}
        answer_errors = self.answer_errors(data, spec)  # `errors` below: a result's own
        for ref, item, result in paired:
            record = by_ref[ref]
            # an update answered without a body (204) is done; one the answer's errors name is not
            if (result is None and len(items) == 1 and kind == "update" and response.status_code < 300
                    and self.error_naming(answer_errors, ref, item) is None):
                self.finish(record, kind, record.crm_id, None, None, item)
                continue
            if result is None and spec.id_header and len(items) == 1:
                self.finish(record, kind, self.id_from_header(response, spec), None, None, item)
                continue
            if result is None:
                code, message = self.batch_error_for(answer_errors, ref, item)
                self.finish(record, kind, None, code, message, item,
                            deleted=self.deleted_in_crm(kind, response.status_code, None, code))
                refused.update({ref: None} if kind == "create" else {})
                continue
            named = self.error_naming(answer_errors, ref, item) if kind == "create" else None
            if named is not None and spec.order != "input":  # a result, and an error for it too
                code, message = error_parts(self.connector.errors.item or self.connector.errors.body, named)
                self.finish(record, kind, None, code, message, item)
                made = read_one(result, spec.id) if spec.id else None
                refused[ref] = str(made) if made is not None else None
                continue
            ok = succeeded(result, spec)
            errors = read_path(result, spec.errors) if spec.errors and spec.order == "input" else []
            if ok is False or errors:
                item_errors = self.connector.errors.item or self.connector.errors.body
                # a result refused by its word is its own error (its code and message are in it)
                refusal = errors[0] if errors else result if spec.success_values is not None else None
                code, message = (None, "refused") if refusal is None else error_parts(item_errors, refusal)
                self.finish(record, kind, None, code, message, item, deleted=self.deleted_in_crm(
                    kind, response.status_code, refusal, code))
                continue
            crm_id = read_one(result, spec.id) if spec.id else None
            crm_id = crm_id if crm_id is not None else (record.crm_id if kind == "update" else None)
            if crm_id is None and kind in NEW and unidentified is not None:
                unidentified[ref] = (item, self.no_id(kind, record, spec.id, result))
                continue
            created = was_created(result, spec) if spec.created and trust_created else None
            if spec.created_statuses and trust_created:
                created = response.status_code in spec.created_statuses
            self.finish(record, kind, str(crm_id) if crm_id is not None else None, None, None, item,
                        created if isinstance(created, bool) else None)
        return refused

    def no_id(self, kind: str, record: PlannedRecord, id_path: str | None, result: Any) -> str:
        """What was expected where, and what came instead (the answer's shape, never its values)."""
        where = f"nothing at its id path {id_path!r}" if id_path else \
            "no id (the endpoint has no `response.id`)"
        return (f"{self.connector.label} answered the {kind} of {record.object} {record.ref} as done, but "
                f"its result holds {where}: it is shaped {answer_shape(result)}")

    async def identify(self, kind: str, object_name: str, unidentified: Unidentified,
                       by_ref: dict[str, PlannedRecord]) -> None:
        """Writes answered as done without the new record's id: looked up by identity once the batch is
        read and linked when found (a success, with a warning), else failed saying why; never counted
        failed while the CRM holds the record, nor created again by the next push."""
        if not unidentified:
            return
        try:
            found = await self.find_existing(object_name, [by_ref[ref] for ref in unidentified])
        except LookupFailed:
            found = {}
        for ref, (item, why) in unidentified.items():
            if ref in found:
                self.warnings.setdefault(ref, []).append(f"{why}; found by its identity ({found[ref]}) and "
                                                         "linked")
                self.finish(by_ref[ref], kind, found[ref], None, None, item)
            else:
                self.finish(by_ref[ref], kind, None, "no_id", f"{why}; nor is it found by its identity yet "
                            "(the next push looks it up again before creating it)", item)

    def all_succeeded(self, kind: str, items: list[tuple[str, dict[str, Any]]],
                      by_ref: dict[str, PlannedRecord], response: httpx.Response, spec: Any) -> None:
        """A success answer without a body that the endpoint says means every record sent was written."""
        for ref, item in items:
            record = by_ref[ref]
            crm_id = record.crm_id if kind == "update" else (
                self.id_from_header(response, spec) if spec.id_header and len(items) == 1 else None)
            self.finish(record, kind, crm_id, None, None, item)

    def pair_by_identity(self, object_name: str, items: list[tuple[str, dict[str, Any]]],
                         by_ref: dict[str, PlannedRecord], results: list[Any],
                         spec: Any) -> list[tuple[str, Any, Any]]:
        """Results in any order: each goes to the one input whose identity it carries."""
        stream = by_ref[items[0][0]].stream
        key = self.connector.objects[object_name].identity_keys[self.profile.streams[stream].identity.key]
        first = key.parts[0].name
        by_first: dict[str, list[tuple[Any, dict[str, set[str]]]]] = {}
        for result in results:
            fields = dict((read_one(result, spec.fields) if spec.fields else result) or {})
            theirs = crm_identity(self.connector, object_name, crm_record(self.connector, object_name, "",
                                                                          fields), key)
            for value in theirs[first]:
                by_first.setdefault(value, []).append((result, theirs))
        paired = []
        for ref, item in items:
            mine = by_ref[ref].identity
            candidates = by_first.get(mine[first][0], []) if mine.get(first) else []
            hits = [r for r, theirs in candidates if all(set(v[:1]) & theirs[p] for p, v in mine.items())]
            paired.append((ref, item, hits[0] if len(hits) == 1 else None))
        return paired

    def id_from_header(self, response: httpx.Response, spec: Any) -> str | None:
        import re

        value = response.headers.get(spec.id_header)
        if value is None:
            return None
        if not spec.id_pattern:
            return value
        found = re.search(spec.id_pattern, value)  # no match: it names the record otherwise (by a key)
        return found.group(1) if found else None

    def batch_error_for(self, errors: list[tuple[Any, str]], ref: str,
                        item: dict[str, Any]) -> tuple[str | None, str]:
        error = self.error_naming(errors, ref, item)
        if error is not None:
            return error_parts(self.connector.errors.item or self.connector.errors.body, error)
        return "no_result", "the CRM's answer had no result for this record"

    @staticmethod
    def answer_errors(data: Any, spec: Any) -> list[tuple[Any, str]]:
        """The answer's per-record errors, each with its JSON text: read once per answer, not once for
        each record of the batch."""
        errors = read_path(data, spec.errors) if spec.errors and data is not None else []
        return [(error, json.dumps(error, ensure_ascii=False)) for error in errors]

    @staticmethod
    def error_naming(errors: list[tuple[Any, str]], ref: str, item: dict[str, Any]) -> Any:
        """The answer's per-record error (of `answer_errors`) that names this item (its ref or its CRM
        id, whole: employer/e1 is not named by an error about employer/e10), if any."""
        if not errors:  # the common answer: no pattern to build for each of its records
            return None
        names = [ref, *([str(item["id"])] if item.get("id") else [])]
        whole = re.compile("|".join(rf"(?<![\w./-]){re.escape(name)}(?![\w./-])" for name in names))
        for error, text in errors:
            if whole.search(text):
                return error
        return None

    async def reconcile(self, kind: str, object_name: str, items: list[tuple[str, dict[str, Any]]],
                        by_ref: dict[str, PlannedRecord], attempt: int, why: str) -> None:
        """The answer was lost or the CRM failed: find what was created before sending anything again."""
        if kind != "create":
            if attempt < 3:
                await self.send_chunk(kind, object_name, items, by_ref, attempt + 1)
            else:
                for ref, item in items:
                    self.finish(by_ref[ref], kind, None, "transient", why, item)
            return
        found = await self.find_existing(object_name, [by_ref[ref] for ref, _ in items])
        remaining = []
        for ref, item in items:
            if ref in found:
                self.finish(by_ref[ref], kind, found[ref], None, None, item)
            else:
                remaining.append((ref, item))
        if not remaining:
            return
        if attempt >= 3:
            for ref, item in remaining:
                self.finish(by_ref[ref], kind, None, "transient", why, item)
            return
        await self.send_chunk(kind, object_name, remaining, by_ref, attempt + 1)

    async def find_existing(self, object_name: str, records: list[PlannedRecord]) -> dict[str, str]:
        """The CRM records these records' lost creates made, if any. A candidate must carry the record's
        identity and the values it wrote to unique fields (a broker and its office may share domain,
        city and state), and must not be the CRM record of another source record."""
        stream = records[0].stream
        key = self.connector.objects[object_name].identity_keys[self.profile.streams[stream].identity.key]
        fields = self.planner.fields(object_name)
        unique = sorted({name for r in records for name in r.values if (f := fields.get(name)) and f.unique})
        first = key.parts[0].name
        values = sorted({v for r in records for v in r.identity.get(first, [])})
        select = select_fields(self.connector, object_name, key, unique)
        requests = render_lookups(self.connector, object_name, key.parts[0].field, values, select,
                                  key.match == "contains", self.client.base_url)
        crm: list[CrmRecord] = []
        for request in requests:
            crm += await _fetch_all(self.connector, object_name, request, self.client)
        indexed = [(c, crm_identity(self.connector, object_name, c, key)) for c in crm]
        owner = self.ids.owners(c.id for c in crm)
        found = {}
        for record in records:
            hits = [c for c, theirs in indexed if all(set(v) & theirs[p] for p, v in record.identity.items())
                    and owner.get(c.id, record.ref) == record.ref
                    and all(same(c.fields.get(name), record.values[name])
                            for name in unique if name in record.values)]
            if len(hits) == 1:
                found[record.ref] = hits[0].id
        return found

    def deleted_in_crm(self, kind: str, status: int, body: Any, code: str | None) -> bool:
        """An update refused because the record its link points at is not in the CRM any more."""
        return (kind == "update" and code is not None
                and classify(self.connector, status, body, code) == "not_found")

    def finish(self, record: PlannedRecord, kind: str, crm_id: str | None, code: str | None,
               message: str | None, item: dict[str, Any], created: bool | None = None,
               deleted: bool = False) -> None:
        """Record one record's outcome. An upsert that the CRM says updated (created: false) found the
        record already there (written by a run whose answer was lost, or holding our key): an update.
        `deleted`: an update whose record was deleted in the CRM (created again with --recreate-deleted)."""
        message = self.client.auth.hide(message) if message else message
        if deleted:
            code, message = DELETED, (
                f"deleted in the CRM: {record.object} {record.crm_id}, linked to this record by an earlier "
                f"run, is not there any more ({code}: {message}); push with --recreate-deleted to create "
                "it again")
            self.deleted.append(record)  # looked up again by identity once the stream is written
        action = "insert" if kind in NEW and created is not False else "update"
        ok = code is None and message is None and crm_id is not None
        url = self.record_url(record, crm_id) if ok else None
        outcome = Outcome(record, action, "success" if ok else "error", crm_id,
                          None if ok else (code or "no_id"),
                          None if ok else (message or "the CRM returned no id"), url,
                          self.warnings.get(record.ref, []), recreated=record.ref in self.recreating)
        changed = pickle.dumps(record) if record.ref in self.changed else None  # else as planned
        self.sent.put(record.ref, (outcome.action, outcome.result, crm_id, outcome.error_code, outcome.error,
                                   url, outcome.recreated, changed))
        if self.on_done is not None:
            self.on_done(record.stream)
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        if ok:
            self.ids[record.ref] = crm_id  # type: ignore[assignment]
            self.pending.links.append(Link(record.stream, record.source_id, record.object, crm_id))  # type: ignore[arg-type]
        self.pending.journal.append((record.ref, action, "done" if ok else "failed"))
        self.pending.entries.append({
            "at": now(), "run_id": self.run_id, "triggered_by": self.triggered_by, "object": record.object,
            "action": action, "result": "success" if ok else "error", "crm_id": crm_id, "record_url": url,
            "error_code": None if ok else (code or "no_id"), "error": None if ok else message,
            "stream": record.stream, "source_id": record.source_id, "request": item.get("fields"),
            "changed": [c.field for c in record.changes] if action == "update" else None})

    def flush(self) -> None:
        """Write the finished records' links, journal states and activity rows in one transaction (once
        per answered batch: a crash before it loses only links, which the next run finds by identity)."""
        pending, self.pending = self.pending, Pending()
        if pending.journal:
            self.store.record_outcomes(self.profile.name, self.run_id, pending.links, pending.journal,
                                       pending.entries)

    def record_url(self, record: PlannedRecord, crm_id: str | None) -> str | None:
        return view_url(self.connector, self.connection, record.object, crm_id)

    # ----- associations --------------------------------------------------------------------------
    async def associate_stream(self, stream: str, records: Sequence[PlannedRecord],
                               created: dict[str, asyncio.Event]) -> None:
        """The stream's associations, once both ends exist: its own writes and its parents' are done."""
        spec = self.profile.streams[stream]
        relations = self.connector.objects[spec.object].relations
        parents = [p.stream for p in spec.parents if p.stream in created
                   and isinstance(relations[p.relation], AssociationRelation)]
        if not parents:
            return
        for waited in (stream, *parents):
            await created[waited].wait()
        await in_flight(self.associate(group, items) for group, items in full_batches(
            (self.associations_due(window) for window in windows_of(records)), self.association_batch))

    def associations_due(self, window: list[PlannedRecord]) -> list[tuple[Group, list[Due]]]:
        """Each record's due associations (`PlannedRecord.associate`) by object and relation: a new
        record's once it is created, an existing record's at once."""
        groups: dict[Group, list[Due]] = {}
        records = [self.changed.get(r.ref, r) for r in window]  # a record created again: as it was sent
        own = self.created_ids([r.ref for r in records if r.status == "net_new"])
        for record in records:
            crm_id = self.associable(record, own)
            for relation_name, parent_ref, parent_id in record.parents:
                if crm_id is None or relation_name not in record.associate:
                    continue
                relation = self.connector.objects[record.object].relations[relation_name]
                assert isinstance(relation, AssociationRelation)
                to_id = self.ids.get(parent_ref) or parent_id  # a parent created again has a new id
                if not to_id:
                    self.warn(record.ref, f"its parent {parent_ref} was not created: "
                                          f"not associated ({relation_name})", relation)
                    continue
                item = association_item(self.connector, relation, crm_id, to_id, record.ref)
                groups.setdefault((record.object, relation_name), []).append((record, item))
        if self.on_associations is not None and groups:
            self.on_associations(sum(len(items) for items in groups.values()), 0, 0)
        return list(groups.items())

    def association_batch(self, group: Group) -> int:
        object_name, relation_name = group
        relation = self.connector.objects[object_name].relations[relation_name]
        assert isinstance(relation, AssociationRelation)
        endpoint = relation_endpoint(self.connector, object_name, relation, "associate")
        return endpoint.batch.max if endpoint.batch else 1

    async def associate(self, group: Group, due: list[Due]) -> None:
        """One relation's due associations (whole batches, carried over windows), made ones cleared from
        the store."""
        object_name, relation_name = group
        by_ref = {record.ref: record for record, _ in due}
        items = [(record.ref, item) for record, item in due]
        requests = render_associate(self.connector, object_name, relation_name, items, self.client.base_url)
        sent = await asyncio.gather(*(self.client.send(r.method, r.url, headers=r.headers, body=r.body,
                                                       kind="associate", safe_to_repeat=True)
                                      for r in requests), return_exceptions=True)
        stop = next((answer for answer in sent if isinstance(answer, BaseException)), None)
        item_of = dict(items)
        for request, answer in zip(requests, sent, strict=True):
            if not isinstance(answer, BaseException):  # answered before the stop: recorded
                self.associated(request, answer, relation_name, by_ref, item_of)
        if stop is not None:
            raise stop

    def associated(self, request: Request, answer: Sent, relation_name: str,
                   by_ref: dict[str, PlannedRecord], items: dict[str, dict[str, Any]]) -> None:
        """One association request answered: each of its associations a row of the activity log, the
        made ones no longer due (one transaction), a failed one a warning on its record (still due)."""
        ok = answer.response is not None and answer.response.status_code < 300
        self.association_counts["created" if ok else "failed"] += len(request.refs)
        if self.on_associations is not None:
            self.on_associations(0, len(request.refs) if ok else 0, 0 if ok else len(request.refs))
        code, message = (None, None) if ok else self.association_error(answer)
        entries = []
        for ref in request.refs:
            record, item = by_ref[ref], items[ref]
            if not ok:
                self.warnings.setdefault(ref, []).append(
                    f"not associated with {item['to_id']} ({relation_name}): {code}: {message}; "
                    "the next push tries again")
            entries.append({
                "at": now(), "run_id": self.run_id, "triggered_by": self.triggered_by,
                "object": record.object, "action": "associate", "result": "success" if ok else "error",
                "crm_id": item["id"], "record_url": self.record_url(record, item["id"]), "error_code": code,
                "error": message, "stream": record.stream, "source_id": record.source_id,
                "request": {"relation": relation_name, "to_object": item["to_object"],
                            "to_id": item["to_id"]}})
        made = [(ref, relation_name) for ref in request.refs] if ok else []
        self.store.record_associations(self.profile.name, made, entries)

    def association_error(self, answer: Sent) -> tuple[str, str]:
        if answer.response is None:
            return "connection", answer.error or "no answer"
        code, message = error_parts(self.connector.errors.body, body_of(answer.response))
        return code or str(answer.response.status_code), self.client.auth.hide(message)

    def created_ids(self, refs: list[str]) -> dict[str, str]:
        """ref -> CRM id of those of `refs` this run created."""
        return {ref: row[2] for ref, row in self.sent.many(refs).items()
                if row[0] == "insert" and row[1] == "success"}

    @staticmethod
    def associable(record: PlannedRecord, created: dict[str, str]) -> str | None:
        """The record's CRM id if it exists: created in this run (`created`), or found by the plan."""
        if record.status == "net_new":
            return created.get(record.ref)
        return record.crm_id if record.status in ("update", "synced") else None


def restricted(stream: str, records: Sequence[PlannedRecord],
               before_stream: BeforeStream) -> RecordSpool:
    """The stream's records as `before_stream` restricts them (in place), a window at a time, on disk."""
    kept = RecordSpool()
    for window in windows_of(records):
        before_stream(stream, window)
        kept.extend(window)
    return kept


async def in_flight(work: Iterator[Awaitable[None]], limit: int = IN_FLIGHT) -> None:
    """Each of `work` (taken as it is needed: a window read from disk), at most `limit` at once; after a
    failure no more is started, those started run to their end (see settled), then it is raised."""
    running: set[asyncio.Future[None]] = set()
    failure: BaseException | None = None
    for job in work:
        running.add(asyncio.ensure_future(job))
        if len(running) < limit:
            continue
        done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        failure = next((t.exception() for t in done if not t.cancelled() and t.exception()), None)
        if failure is not None:
            break
    for result in await asyncio.gather(*running, return_exceptions=True):
        failure = failure or (result if isinstance(result, BaseException) else None)
    if failure is not None:
        raise failure


async def settled(*work: Awaitable[Any]) -> list[Any]:
    """Every one run to its end, then the first failure raised: a stop (a token refused, the daily
    reserve reached) must not cut off a request in flight, whose answer says what the CRM did."""
    results = await asyncio.gather(*work, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def cut_off(pusher: Pusher) -> str:
    """What a run cut off by a second Ctrl-C had written (and recorded) before it."""
    done = Counter(pusher.sent.succeeded())
    return (f"{SECOND}. Written and recorded before it: {done['insert']} created, {done['update']} "
            f"updated (see crmsync log --run {pusher.run_id})")


def answer_shape(value: Any, depth: int = 3) -> str:
    """The keys of a JSON answer, nested, without any of its values (which may hold personal data)."""
    if isinstance(value, dict):
        if depth == 0:
            return "{…}"
        return "{" + ", ".join(f"{k}: {answer_shape(v, depth - 1)}" if isinstance(v, dict | list) else str(k)
                               for k, v in list(value.items())[:12]) + (", …}" if len(value) > 12 else "}")
    if isinstance(value, list):
        return f"[{answer_shape(value[0], depth - 1)}, …]" if value else "[]"
    return type(value).__name__


def ended_by(exc: BaseException, cut: bool) -> str:
    """Why a run ended on an exception, as its record says (a user-facing message holds no secret)."""
    if cut:
        return str(exc) if isinstance(exc, Interrupted) else SECOND
    return str(exc) if isinstance(exc, CrmsyncError) else f"the run ended on an error: {type(exc).__name__}"


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


async def push(bundle: Any, source_dir: Any, *, client: CrmClient, store: Store, triggered_by: str,
               connection: dict[str, str], before_stream: BeforeStream | None = None,
               on_handed: Handed | None = None,
               on_done: Callable[[str], None] | None = None,
               on_outcome: Callable[[Outcome], None] | None = None,
               on_associations: Callable[[int, int, int], None] | None = None,
               recreate_deleted: bool = False, allow_missing: bool = False,
               permissions: Permissions | None = None, details: dict[str, Any] | None = None,
               held_back: dict[str, int] | None = None) -> tuple[Plan | None, PushResult]:
    """Plan against the CRM and carry the plan out, stream by stream as each is decided. Runs left open
    by a crash are closed first: the new plan finds (by identity) what they created, so nothing is
    created twice. `before_stream` may restrict each stream's decided records (a window at a time) before
    any is sent, `on_handed` sees them then (see Pusher.plan_and_run). `details`:
    what the run was asked, recorded with it; `held_back`: counts `before_stream` fills as it holds
    records back (--limit, --only), in the result's summary."""
    profile = bundle.profile.model.name
    for stale in store.unfinished_runs(profile):
        store.finish_run(stale, "interrupted")
    unanswered = store.unanswered_creates(profile)
    run_id = new_run_id()
    store.start_run(run_id, profile, triggered_by, details)
    from engine.metadata import fetch_live_fields

    planner = Planner(bundle, base_url=client.base_url, links=store.links(profile),
                      live_fields=fetch_live_fields(bundle, client),  # read while the source is mapped
                      associations_due=store.associations_due(profile), allow_missing=allow_missing,
                      permissions=permissions)
    pusher = Pusher(planner, client, store, run_id, triggered_by, connection)
    pusher.on_done = on_done
    pusher.on_outcome, pusher.on_associations = on_outcome, on_associations
    pusher.recreate_deleted = recreate_deleted
    pusher.unanswered = unanswered
    try:
        plan, result = await pusher.plan_and_run(source_dir, before_stream, on_handed)
    except BaseException as exc:  # the run must not stay `running`: say how it ended
        cut = isinstance(exc, KeyboardInterrupt | asyncio.CancelledError | Interrupted)
        store.finish_run(run_id, "interrupted" if cut else "failed", reason=ended_by(exc, cut))
        if isinstance(exc, asyncio.CancelledError) and isinstance(client.halted, Interrupted):
            raise Interrupted(cut_off(pusher)) from None  # Ctrl-C twice: say what was written before
        raise
    result.requests_sent = client.sent
    result.notices = list(client.auth.notices)
    result.interrupted = isinstance(pusher.stopped, Interrupted)
    ended = "interrupted" if result.interrupted else "stopped" if result.stopped else "finished"
    result.input_findings = [f for stream in planner.sources.values() for f in stream.findings()]
    result.warnings = planner.warnings
    result.held_back = held_back if held_back is not None else {}
    if (notice := pusher.held_notice()) is not None:
        result.notices.append(notice)
        log.warning("run %s: %s", run_id, notice)
    store.finish_run(run_id, ended, reason=result.stopped, summary=result.summary())
    return plan, result

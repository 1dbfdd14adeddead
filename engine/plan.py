"""Plan: say, for every source record, what a push would do and why, and render every request it
would send. Parents are planned before children, so children can reference them.

    read -> map -> check -> match -> plan -> render        (a dry-run stops here)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
from collections import Counter, deque
from collections.abc import Awaitable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from engine.associations import (
    AssociationCheck,
    association_item,
    missing,
    read_existing,
    relation_endpoint,
    render_associate,
    render_reads,
)
from engine.auth import Redactor
from engine.catalog import ProfileBundle
from engine.check import Checker
from engine.client import CrmClient
from engine.connector import (
    AssociationRelation,
    BindRelation,
    ConnectorSpec,
    FieldRelation,
    FieldSpec,
    IdentityKey,
    KeyPart,
)
from engine.coverage import StreamSource, stream_source
from engine.errors import CrmsyncError
from engine.mapping import MappedRecord, ParentRef, Problem, compile_profile, stream_order
from engine.match import (
    RANK_CURRENT,
    RANK_HISTORICAL,
    RANK_OTHER_FIELD,
    Match,
    Matcher,
    StreamLookup,
    by_rank,
    crm_identity,
    hold_back,
    lookups_for,
    normalize,
    ref,
    run_lookups,
    same,
)
from engine.metadata import LiveFields, absent_from_crm
from engine.pipeline import StreamDecided, Turn
from engine.plan_writes import StreamWrites
from engine.plugins import first_result
from engine.profile import StreamSpec
from engine.read import read_stream
from engine.render import Request, endpoint_for, render_batches
from engine.spool.batches import BatchWriter
from engine.spool.parents import ParentIndex
from engine.spool.records import RecordSpool
from engine.spool.seen import SeenMap
from engine.spool.sequence import Concatenation, Spool
from engine.store import Link
from engine.team.owners import CrmUser, OwnerDirectory, owner_read, planned_user_requests, set_owner
from engine.team.permissions import Permissions
from engine.templating import fill
from engine.transforms import normalize_domain, normalize_email, normalize_state
from engine.validate import effective_fields, not_in_crm_message, refuse_unplannable

AssociationItem = tuple[tuple[str, str], str, dict[str, Any]]  # (object, relation), ref, item
STATUSES = ("net_new", "update", "synced", "invalid", "skipped", "restricted", "ambiguous")


@dataclass(slots=True)
class Change:
    field: str
    current: Any
    new: Any


@dataclass(slots=True)
class Pending:
    """A record between check and match: its planned form, and what deciding its status needs."""

    planned: PlannedRecord
    problems: list[Problem]
    skip: str | None  # why it cannot be matched (a missing identity part)
    parents: list[ParentRef]
    overwrite: dict[str, bool]
    current: set[str] | None = None  # the identity's current values (see Planner.current_values)
    owner_email: str | None = None  # who owns it in the CRM (the profile's `owner`), by email

    @property
    def matchable(self) -> bool:
        """Looked up and matched: it has no problem and its identity is whole."""
        return not self.problems and self.skip is None


@dataclass(slots=True)  # slots: a plan holds one per source record
class PlannedRecord:
    stream: str
    source_id: str
    object: str
    status: str
    where: str
    crm_id: str | None = None
    changes: list[Change] = field(default_factory=list)
    kept: list[Change] = field(default_factory=list)  # held back by overwrite off: the CRM's value stays
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # wire values to create with
    identity: dict[str, list[str]] = field(default_factory=dict)
    # (relation, parent ref, parent crm id or "")
    parents: list[tuple[str, str, str]] = field(default_factory=list)
    associate: list[str] = field(default_factory=list)  # association relations to make (once both exist)
    merged_into: str | None = None  # the record of the same identity this one is written as, this run
    reason: str | None = None  # restricted: why the acting user may not write it
    owner: str | None = None  # the owner the profile gives it: set, not_found or inactive (then not written)
    ref: str = field(init=False, repr=False, compare=False)  # stream/source_id

    def __post_init__(self) -> None:
        self.ref = ref(self.stream, self.source_id)

    def as_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "source_id": self.source_id, "object": self.object,
                "status": self.status, "crm_id": self.crm_id, "where": self.where,
                "changes": [{"field": c.field, "current": c.current, "new": c.new} for c in self.changes],
                "kept": [{"field": c.field, "current": c.current, "new": c.new} for c in self.kept],
                "problems": [p.as_dict() for p in self.problems], "notes": self.notes,
                "candidates": self.candidates, "associate": self.associate,
                **({"reason": self.reason} if self.reason else {}),
                **({"owner": self.owner} if self.owner else {})}

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as plain values: a dry-run pickles every record to disk and reads it back to render
        and to write the plan, and pickle's own way with slotted dataclasses (a state dict for each
        record, change and problem) cost three times as much."""
        return (_planned_record, (
            self.stream, self.source_id, self.object, self.status, self.where, self.crm_id,
            _plain(self.changes), _plain(self.kept), [(p.field, p.code, p.message) for p in self.problems],
            self.notes, self.candidates, self.values, self.identity, self.parents, self.associate,
            self.merged_into, self.reason, self.owner))


def _plain(changes: list[Change]) -> list[tuple[str, Any, Any]]:
    return [(c.field, c.current, c.new) for c in changes]


def _planned_record(stream: str, source_id: str, object_name: str, status: str, where: str,
                    crm_id: str | None, changes: list[tuple[str, Any, Any]], kept: list[tuple[str, Any, Any]],
                    problems: list[tuple[str | None, str, str]], *rest: Any) -> PlannedRecord:
    """A PlannedRecord from what its __reduce__ gave."""
    return PlannedRecord(stream, source_id, object_name, status, where, crm_id,
                         [Change(*c) for c in changes], [Change(*c) for c in kept],
                         [Problem(*p) for p in problems], *rest)


@dataclass(repr=False)  # Python 3.11's asyncio.run reprs its result: a full repr would be the whole plan
class Plan:
    profile: str
    connector: str
    base_url: str
    consulted_crm: bool
    made_at: str
    records: Sequence[PlannedRecord]  # a list, or on disk (a plan made without on_stream: Spool)
    lookups: Sequence[Request]
    writes: Sequence[Request]
    cost: dict[str, Any]
    profile_path: str = ""
    source_dir: str = ""
    sources: list[StreamSource] = field(default_factory=list)  # what each stream's source gave

    def input_findings(self) -> list[str]:
        """Where the input lost data (a file missing, a path that matched nothing)."""
        return [finding for source in self.sources for finding in source.findings()]
    warnings: list[dict[str, Any]] = field(default_factory=list)  # about the profile, every run (validate's)
    redactor: Redactor = field(default_factory=Redactor, compare=False)  # hides the run's credentials
    held_back: dict[str, int] = field(default_factory=dict)  # --limit / --only: not in this batch, by why
    held_notice: str | None = None  # what the batch held back, said
    org: dict[str, Any] | None = None  # the CRM org the plan was made against (engine/account.py)

    def __repr__(self) -> str:
        return (f"Plan(profile={self.profile!r}, records={len(self.records)}, lookups={len(self.lookups)}, "
                f"writes={len(self.writes)})")

    def counts(self) -> tuple[Counter[str], Counter[str]]:
        """(records by status, owners of the records to be written): kept by a spool as it is written."""
        parts = self.records.parts if isinstance(self.records, Concatenation) else [self.records]
        statuses: Counter[str] = Counter()
        owners: Counter[str] = Counter()
        for part in parts:
            if isinstance(part, RecordSpool):
                by_status, by_owner = part.counts()
            else:
                by_status = Counter(r.status for r in part)
                by_owner = Counter(r.owner for r in part if r.owner and r.status in ("net_new", "update"))
            statuses.update(by_status)
            owners.update(by_owner)
        return statuses, owners

    def summary(self) -> dict[str, int]:
        counts = self.counts()[0]
        return {status: counts.get(status, 0) for status in STATUSES}

    def owners(self) -> dict[str, int]:
        """Records written with the owner the profile gives them, and those written without it."""
        counts = self.counts()[1]
        return {what: counts.get(what, 0) for what in ("set", "not_found", "inactive")}

    def json_parts(self) -> dict[str, Any]:
        """The plan's JSON document, its records and requests as iterators (written one by one)."""
        return {"profile": self.profile, "profile_path": self.profile_path, "source_dir": self.source_dir,
                "connector": self.connector, "base_url": self.base_url,
                "consulted_crm": self.consulted_crm, "made_at": self.made_at, "summary": self.summary(),
                "cost": self.cost, "sources": [s.as_dict() for s in self.sources],
                "input_findings": self.input_findings(), "warnings": self.warnings, "owners": self.owners(),
                "records": (r.as_dict() for r in self.records),
                "requests": (self.redactor.planned(r.as_dict()) for r in chain(self.lookups, self.writes)),
                **({"held_back": self.held_back} if self.held_notice else {}),
                **({"org": self.org} if self.org else {})}

    def as_dict(self) -> dict[str, Any]:
        return {key: list(value) if key in ("records", "requests") else value
                for key, value in self.json_parts().items()}


def canonical(part: KeyPart, raw: Any, field_type: str | None = None) -> Any:
    """The identity value written on create: normalised where the normaliser makes a proper value. A
    domain kept in a URL field (a CRM without a domain field) is written as https://domain, which the
    field's URL rule accepts and which normalises back to the same domain."""
    writers = {"domain": normalize_domain, "email": normalize_email, "state": normalize_state}
    if raw is None:
        return None
    value = writers[part.normalize](raw) if part.normalize in writers else str(raw).strip()
    if field_type == "url" and part.normalize == "domain" and value:
        return f"https://{value}"
    return value


@contextmanager
def collector_paused() -> Iterator[None]:
    """A plan allocates millions of small objects that all live until it is done and make no reference
    cycles; the cyclic collector's passes over them cost a quarter to a half of a 100,000-record dry-run
    (even with its young threshold raised a hundredfold), for nothing to collect. It is paused while
    planning and resumed after; reference counting frees everything else as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # Re-enabled as it is, the collector's first pass would walk every object made while it
            # was paused (all counted as young): half a second for a 100,000-record plan, to find
            # nothing. Freezing them first spares that pass; they are still freed by reference
            # counting when the plan goes, and a reference cycle made while planning (there is none
            # by design) would only be kept until the process ends.
            gc.freeze()
            gc.enable()


WINDOW = 2_000  # records of one stream looked up and decided together


def windows(mapped: Iterator[MappedRecord]) -> Iterator[tuple[list[MappedRecord], bool]]:
    """A stream in windows of WINDOW records, each with whether it is the last; at least one (maybe
    empty). Each window is looked up and decided before the one after the next is read, so what a plan
    holds beyond its planned records (the CRM's answers, the records pending a decision) is a window's
    worth or two, however long the stream."""
    current = list(islice(mapped, WINDOW))
    while True:
        following = list(islice(mapped, WINDOW)) if len(current) == WINDOW else []
        yield current, not following
        if not following:
            return
        current = following


def held_back(connector: ConnectorSpec, lookup: StreamLookup,
              pending: list[Pending]) -> tuple[list[Pending], list[Pending]]:
    """The window's records decided now, and those left to the next window with its last look-up,
    when that one is not full (see match.hold_back)."""
    later = hold_back(connector, lookup, [p.planned.identity if p.matchable else None for p in pending])
    return ([p for at, p in enumerate(pending) if at not in later],
            [p for at, p in enumerate(pending) if at in later])


def ready_in_order(waiting: deque[PlannedRecord], decided: set[int]) -> list[PlannedRecord]:
    """The records at the head of `waiting` that are decided (ids in `decided`), taken off both: a record
    held back to the next window keeps those after it waiting, so the stream's records come out in
    source order."""
    ready = []
    while waiting and id(waiting[0]) in decided:
        decided.discard(id(waiting[0]))
        ready.append(waiting.popleft())
    return ready


class Planner:
    def __init__(self, bundle: ProfileBundle, *, base_url: str | None, links: dict[tuple[str, str], Link],
                 live_fields: LiveFields | Awaitable[LiveFields] | None = None,
                 associations_due: set[tuple[str, str]] | None = None, allow_missing: bool = False,
                 permissions: Permissions | None = None) -> None:
        """`live_fields`: the CRM's metadata, or its fetch still under way (records are read and mapped
        meanwhile; checking them waits for it). `associations_due`: (ref, relation) of associations an
        earlier push meant to make and did not. `allow_missing`: a stream whose source lost data (a
        mapped path that matched nothing) is planned all the same, not held back. `permissions`: what
        the acting user may do (a record they may not write is restricted); None: anything. A profile no
        plan can be made with is refused here."""
        try:
            self.warnings = [f.as_dict() for f in refuse_unplannable(bundle)]
        except CrmsyncError:
            if asyncio.iscoroutine(live_fields):  # its fetch never starts
                live_fields.close()
            raise
        self.bundle = bundle
        self.profile = bundle.profile.model
        self.connector = bundle.connector.model
        self.base_url = (base_url or self.connector.base_url).rstrip("/")
        self.consult = base_url is not None
        self.links = links
        self.associations_due = associations_due or set()
        self.live: LiveFields = LiveFields()
        self._live_fetch: asyncio.Future[LiveFields] | None = None
        if isinstance(live_fields, dict):
            self.live = live_fields
        elif live_fields is not None:
            self._live_fetch = asyncio.ensure_future(live_fields)
        self.planned = ParentIndex()  # what children need of the records of parent streams
        self.spill = False  # planned records, look-ups and writes go to disk as decided (see make)
        self.writes_as_decided = False  # writes rendered from each window once decided (see make)
        self.stream_writes: dict[str, StreamWrites] = {}  # of the streams not held back, when so
        self.parent_streams = {p.stream for spec in self.profile.streams.values() for p in spec.parents}
        # (object, relation) of the relations made by a request of their own, after both records exist
        self.associations = {(name, relation) for name, obj in self.connector.objects.items()
                             for relation, spec in obj.relations.items()
                             if isinstance(spec, AssociationRelation)}
        self.lookups: list[Request] = []
        # the window's associations between existing records, to read from the CRM: filled while its
        # records are decided and taken by check_associations with no await between (streams interleave)
        self.association_checks: list[AssociationCheck] = []
        self.association_parents: dict[tuple[str, str], tuple[PlannedRecord, str]] = {}
        # on disk: a source id, an identity -> the first record of it, this run; (object, CRM id) -> the
        # rank and ref of the record that claimed it (`claim`); (object, current identity value) -> the
        # first record of this run that has it, prepared so far (`own_current`)
        self.seen = SeenMap()
        self.fixed: dict[str, set[str]] = {}  # object -> fields this user may not set on update
        self.later: dict[str, set[str]] = {}  # object -> fields this user may not set on create
        self.allow_missing = allow_missing
        self.permissions = permissions
        self.owner_directory: OwnerDirectory | None = None  # the CRM users owning contacts, once looked up
        self.owner_emails: set[str] = set()  # without a CRM: the owners a push would look up
        self.sources: dict[str, StreamSource] = {}

    def stream_names(self) -> list[str]:
        return stream_order(self.profile)

    def fields(self, object_name: str) -> dict[str, FieldSpec]:
        return effective_fields(self.connector, self.profile.custom_fields, self.live, object_name)

    async def live_known(self) -> None:
        """Wait for the CRM's metadata if it is still being fetched."""
        if self._live_fetch is not None:
            self.live = await self._live_fetch
            self._live_fetch = None

    async def run(self, source_dir: Path, client: CrmClient | None,
                  on_stream: StreamDecided | None = None, *, render_writes: bool = True,
                  spill: bool | None = None) -> Plan:
        # offline only: with a CRM, each look-up's answer (httpx's response and its stream refer to each
        # other) is garbage only the collector finds; paused, every answer of the plan stayed in memory
        with collector_paused() if client is None else nullcontext():
            return await self.make(source_dir, client, on_stream, render_writes=render_writes, spill=spill)

    async def make(self, source_dir: Path, client: CrmClient | None,
                   on_stream: StreamDecided | None = None, *, render_writes: bool = True,
                   spill: bool | None = None) -> Plan:
        """Every stream is read, checked and looked up at once (a stream's look-ups do not depend on
        another's); each is decided once its parent streams are (its records' parents are resolved
        against them) and handed at once to `on_stream`, with what to await before writing it: every
        stream of its object looked up (so no look-up sees a record this run writes). A push starts a
        stream's writes there, while other streams' look-ups may still be in flight. The plan lists the
        streams in stream order. `render_writes` off (a push, which renders each chunk as it sends it):
        the plan lists no writes, and its cost counts only the look-ups. `spill`: whether the records go
        to disk as decided (by default when no one is handed them: they are handed as lists)."""
        compiled = self.compiled = compile_profile(self.profile)
        self.source_dir = source_dir
        # a plan no one is handed stream by stream (a dry-run) keeps its records on disk, not in memory
        self.spill = on_stream is None if spill is None else spill
        order = stream_order(self.profile)
        # a dry-run's writes are rendered from each window as it is decided (no second read of its
        # records from disk); records someone is handed may change after, so theirs are rendered at the end
        self.writes_as_decided = self.spill and on_stream is None and render_writes
        self.stream_writes = {stream: StreamWrites(self, stream) for stream in order} \
            if self.writes_as_decided else {}
        looked_up = {stream: asyncio.Event() for stream in order}
        decided = {stream: asyncio.Event() for stream in order}
        turns, tasks = [], []
        for stream in order:
            spec = self.profile.streams[stream]
            # read and mapped as planned: each source record is dropped once mapped (its memory is reused
            # by the next one's; a window of source records held apart cost the 100k dry-run 10 %)
            mapped = map(compiled[stream].map, read_stream(source_dir, stream, spec.file))
            parents = [decided[p.stream] for p in spec.parents if p.stream in decided]
            same_object = [looked_up[s] for s in order if self.profile.streams[s].object == spec.object]
            turns.append(Turn(parents, decided[stream], looked_up[stream], same_object, on_stream))
            if self.spill:
                turns[-1].lookups = Spool()  # type: ignore[assignment] - a list's += and iteration
            tasks.append(asyncio.ensure_future(self.plan_stream(stream, mapped, client, turns[-1])))
        try:
            streams = await asyncio.gather(*tasks)
            await self.live_known()  # a profile without streams still reads the metadata it asked for
        except BaseException:
            for task in [*tasks, *([self._live_fetch] if self._live_fetch else [])]:
                task.cancel()
            for event in looked_up.values():  # no look-up will be sent any more: none can see a write,
                event.set()  # and the streams already handed over must not wait for one (they would hang)
            raise
        records: Sequence[PlannedRecord] = (Concatenation(streams) if self.spill else
                                            [record for part in streams for record in part])
        lookups: Sequence[Request] = (Concatenation([*(t.lookups for t in turns), self.owner_lookups()])
                                      if self.spill else
                                      [*self.lookups, *(r for t in turns for r in t.lookups),
                                       *self.owner_lookups()])
        writes = (self.gathered_writes(order) if self.writes_as_decided else
                  self.render_writes(records) if render_writes else [])
        plan = Plan(self.profile.name, self.connector.name, self.base_url, self.consult,
                    dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), records, lookups, writes, {})
        plan.cost = estimate_cost(self.connector, plan)
        plan.profile_path = str(self.bundle.profile.path.resolve())
        plan.source_dir = str(source_dir.resolve())
        plan.sources = [self.sources[stream] for stream in order]
        plan.warnings = self.warnings
        return plan

    async def plan_stream(self, stream: str, mapped: Iterable[MappedRecord], client: CrmClient | None,
                          turn: Turn) -> Sequence[PlannedRecord]:
        """Window by window (`windows`, which maps the records it reads): once the CRM's metadata is
        known (it is fetched while the first window is read), each record is checked and turned into its
        planned form; then the window's look-ups; then, once the parent streams are decided (`turn`),
        each record's status. Then the stream is handed over."""
        spec = self.profile.streams[stream]
        key = self.connector.objects[spec.object].identity_keys[spec.identity.key]
        checker: Checker | None = None
        unique: list[str] = []
        absent: dict[str, str] = {}  # mapped field the CRM lacks -> where the profile maps it
        # what each mapping may overwrite: the same for every record of the stream (identity fields,
        # which records add, are never changed on update), so the records' own copies are not kept
        overwrite = {target: mapping.overwrite for target, mapping in spec.fields.items()}
        identity_fields = {part.field for part in key.parts}
        seen = self.seen  # shared by the streams of one object: two streams may hold one person
        out: list[PlannedRecord] | RecordSpool = RecordSpool() if self.spill else []
        yields = client is not None  # other streams' look-ups in flight go on while this one works
        held: list[Pending] = []  # records whose look-up waits for the next window's (held_back)
        waiting: deque[PlannedRecord] = deque()  # prepared, not yet handed out: source order is kept
        decided_ids: set[int] = set()  # of the waiting records, those decided
        for window, last in windows(iter(mapped)):
            if checker is None:
                await self.live_known()  # fetched while the first window was read and mapped
                fields = self.fields(spec.object)
                checker = Checker(self.connector, fields)
                unique = [name for name, f in fields.items() if f.unique]
                self.fixed[spec.object] = {name for name, f in fields.items() if not f.updatable}
                absent = {target: str(self.bundle.profile.position(("streams", stream, "fields", target),
                                                                   key=True))
                          for target in absent_from_crm(self.live, spec.object, spec.fields)}
                self.later[spec.object] = {name for name, f in fields.items() if not f.creatable}
            pending, held = held, []
            fresh = len(pending)
            for record in window:
                pending.append(prepared := self.prepare(record, key, checker, overwrite, absent))
                waiting.append(prepared.planned)  # in source order, decided with its window or the next
                if yields and len(pending) % 50 == 0:
                    await asyncio.sleep(0)
            self.own_current(pending[fresh:], key.parts[0])
            crm_records = None
            if any(p.matchable for p in pending):
                identities = (p.planned.identity for p in pending if p.matchable)
                lookup = lookups_for(self.connector, spec.object, identities, key,
                                     [*spec.fields, *owner_read(self.connector, spec)], self.base_url)
                if not last:
                    pending, held = held_back(self.connector, lookup, pending)
                turn.lookups += lookup.requests  # listed in stream order, whichever is read first
                if client is not None:
                    crm_records = await run_lookups(self.connector, lookup, client)
            users = await self.owners_of(spec, pending, client)
            await turn.parents_decided(looked_up=last)
            matcher = Matcher(self.connector, spec.object, key, crm_records, self.links, unique=unique)
            matches = [matcher.match(stream, p.planned.source_id, p.planned.identity, p.planned.values,
                                     p.current) if p.matchable else None for p in pending]
            # the keys the window's records may have been seen by, read together (no await until flushed:
            # the streams of one object share `seen`)
            keys = [self.seen_keys(p.planned) for p in pending]
            seen.load([*chain.from_iterable(keys),
                       *(claim_key(p.planned.object, m.crm_id) for m, p in zip(matches, pending, strict=True)
                         if m is not None and m.crm_id)])
            for position in by_rank(matches):  # a current-email match claims its CRM record first
                p, match = pending[position], matches[position]
                planned = self.decide(p, identity_fields, match)
                self.dedupe(planned, seen, keys[position])
                self.claim(planned, match, key.parts[0])
                self.resolve_parents(planned, p.parents, match)
                if owned := set_owner(self.connector, spec, planned, p.owner_email, users, match):
                    planned.changes.append(Change(*owned))
            seen.flush()
            await self.check_associations(turn, client)
            if self.permissions is not None:  # once the window's operations are all known
                for p in pending:
                    self.permissions.apply(p.planned)
            decided_ids.update(id(p.planned) for p in pending)
            decided = ready_in_order(waiting, decided_ids)
            if stream in self.parent_streams:  # what its children's parent resolution needs
                self.planned.remember(decided)
            out.extend(decided)  # on disk when spilled: nothing changes a record after it is decided
            if stream in self.stream_writes:
                self.stream_writes[stream].take(decided)
        if waiting:
            raise RuntimeError(f"{stream}: {len(waiting)} records left undecided at the end of the stream")
        self.take_stock(stream, out)
        handed = turn.hand_over(stream, out)
        # held back, or changed when handed: in place in a list, or given back anew (on disk)
        if stream in self.parent_streams and (isinstance(handed, list) or handed is not out):
            self.planned.refresh(handed)
        return handed

    async def owners_of(self, spec: StreamSpec, pending: list[Pending],
                        client: CrmClient | None) -> dict[str, CrmUser] | None:
        """The CRM users owning the window's records (the profile's `owner`), each looked up once per
        run; without a CRM, None (their look-ups are listed with the plan's)."""
        emails = {p.owner_email for p in pending if p.owner_email and p.matchable}
        if not emails or not owner_read(self.connector, spec):
            return None
        if client is None:
            self.owner_emails |= {normalize_email(e) or e for e in emails}
            return None
        if self.owner_directory is None:
            self.owner_directory = OwnerDirectory(self.connector, client)
        return await self.owner_directory.find(emails)

    def owner_lookups(self) -> list[Request]:
        if self.owner_directory is not None:
            return self.owner_directory.requests
        return planned_user_requests(self.connector, self.owner_emails, self.base_url)

    def take_stock(self, stream: str, records: list[PlannedRecord] | RecordSpool) -> None:
        """Once a stream is read: what each mapped path matched. A stream whose source lost data is held
        back (not written) unless that is allowed: its records would go with fields silently empty."""
        spec = self.profile.streams[stream]
        source = self.compiled[stream].source(stream_source(self.source_dir, stream, spec.file))
        self.sources[stream] = source
        unmatched = [path for _, path, matched in source.paths if not matched]
        if self.allow_missing or not unmatched:
            return
        note = (f"held back: {', '.join(unmatched)} matched no record of {source.file}; "
                "fix the profile or the file, or --allow-missing to write it anyway")

        def hold_back(record: PlannedRecord) -> None:
            if record.status in ("net_new", "update", "synced"):
                record.status, record.changes, record.associate = "skipped", [], []
                record.notes.append(note)
        if isinstance(records, RecordSpool):  # on disk: changed as read back, and so for its children
            records.amend(hold_back)
            # each record left with a write is skipped now, without associations: the stream writes nothing
            self.stream_writes.pop(stream, None)
            self.planned.hold_back(stream)
            return
        for record in records:
            hold_back(record)

    def prepare(self, record: MappedRecord, key: IdentityKey, checker: Checker,
                overwrite: dict[str, bool], absent: dict[str, str] | None = None) -> Pending:
        """A mapped record checked, with its identity normalised and its values as sent. `absent`: the
        mapped fields the CRM lacks, with where the profile maps them; a value for one is a problem."""
        self.add_identity_values(record, key.parts, checker.fields)
        planned = PlannedRecord(record.stream, record.source_id, record.object, "net_new", record.where)
        planned.values = checker.check(record)
        for name in sorted((absent or {}).keys() & planned.values.keys()):
            where = (absent or {})[name]
            record.problems.append(Problem(name, "not_in_crm", f"{record.stream} {record.source_id}: "
                                           f"{not_in_crm_message(record.object, name)} ({where})"))
        planned.identity, current = identity_and_current(self.connector, record, key)
        skip = None if record.problems else self.skip_reason(record, key.parts)
        return Pending(planned, record.problems, skip, record.parents, overwrite, current, record.owner_email)

    def own_current(self, prepared: list[Pending], part: KeyPart) -> None:
        """The current identity values of a window's records just prepared, each owned by the first record
        of this run that has it. Only the CRM's answers are ranked: without a CRM, nothing is kept."""
        if not self.consult:
            return
        owned = [(current_key(p.planned.object, value), p.planned.ref) for p in prepared if p.matchable
                 for value in (p.planned.identity.get(part.name, []) if p.current is None else p.current)]
        self.seen.load(key for key, _ in owned)
        for key, owner in owned:
            self.seen.setdefault(key, owner)

    def current_values(self, record: MappedRecord, part: KeyPart) -> set[str] | None:
        """The normalised current values of the key's first part (its historical ones left out), or
        None when all its values are current."""
        count = record.identity_current.get(part.name)
        if count is None:
            return None
        return {n for raw in record.identity.get(part.name, [])[:count]
                for n in normalize(self.connector, record.object, part, raw)}

    def add_identity_values(self, record: MappedRecord, parts: list[KeyPart],
                            fields: dict[str, FieldSpec] | None = None) -> None:
        for part in parts:
            raws = record.identity.get(part.name) or []
            if raws:
                spec = (fields or {}).get(part.field)
                record.values[part.field] = canonical(part, raws[0], spec.type if spec else None)

    def skip_reason(self, record: MappedRecord, parts: list[KeyPart]) -> str | None:
        for part in parts:
            if not record.identity.get(part.name):
                return (f"{record.stream} {record.source_id}: no {part.name}; the identity key needs it to "
                        f"match the record")
        return None

    def decide(self, pending: Pending, identity_fields: set[str], match: Match | None) -> PlannedRecord:
        """The record's status (and changes) once the CRM's answer is known."""
        planned = pending.planned
        if pending.problems:
            planned.status, planned.problems = "invalid", pending.problems
            return planned
        if pending.skip or match is None:
            planned.status = "skipped"
            planned.notes.append(pending.skip or "not matched")
            return planned
        if match.crm_id is None and len(match.candidates) > 1:
            planned.status = "ambiguous"
            planned.candidates = [c.id for c in match.candidates]
            planned.notes.append(f"{len(match.candidates)} {planned.object} records match; "
                                 f"choose one and link it")
            return planned
        if match.crm_id is None:
            planned.changes = [Change(k, None, v) for k, v in planned.values.items()]
            self.drop_unwritable(planned, self.later, "create")
            return planned
        planned.crm_id = match.crm_id
        unknown: list[str] = []
        planned.changes = self.changes(pending.overwrite, planned.values, match, identity_fields, unknown)
        if unknown:
            planned.notes.append(f"not in the CRM's look-up answer, so their current values are unknown: "
                                 f"{', '.join(unknown)} not written (overwrite is off)")
        self.drop_unwritable(planned, self.fixed, "update")
        planned.kept = kept_back(pending.overwrite, planned.values, match, identity_fields)
        planned.status = "update" if planned.changes else "synced"
        if match.current is None:
            planned.notes.append("the CRM's current values are not known; "
                                 "only fields with overwrite on are written")
        return planned

    def drop_unwritable(self, planned: PlannedRecord, unwritable: dict[str, set[str]], kind: str) -> None:
        """A field this user may not set on this kind of write (field-level security, as the CRM's
        metadata says: creatable but not updatable, or the reverse) is left out, with a note: the CRM
        would refuse the whole record."""
        fields = unwritable.get(planned.object)
        if not fields or not any(c.field in fields for c in planned.changes):
            return
        for change in [c for c in planned.changes if c.field in fields]:
            planned.changes.remove(change)
            planned.notes.append(f"{change.field}: not writable on {kind} for this user (the CRM's metadata "
                                 f"says so); {_shown(change.current)} in the CRM, {_shown(change.new)} "
                                 "not written")

    def changes(self, overwrite: dict[str, bool], values: dict[str, Any], match: Match,
                identity_fields: set[str], unknown: list[str] | None = None) -> list[Change]:
        """The fields to write to the matched record. A field the look-up answer does not carry is not
        known to be empty: with overwrite off it is not written, and named in `unknown`."""
        out = []
        for name, new in values.items():
            if name in identity_fields:
                continue
            current = None if match.current is None else match.current.get(name)
            may_overwrite = overwrite.get(name, False)
            if match.current is None or name not in match.current:
                if may_overwrite:
                    out.append(Change(name, None, new))
                elif match.current is not None and unknown is not None:
                    unknown.append(name)
            elif ((current in (None, "") or (may_overwrite and not same(current, new)))
                  and not same(current, new)):
                out.append(Change(name, current, new))
        return out

    def claim(self, planned: PlannedRecord, match: Match | None, key_part: KeyPart) -> None:
        """One CRM record is written from one source record in a run: a second record matching it (a
        historical email that is another contact's current one) is ambiguous, naming the first. A match
        by a historical value only gives way to a record of this run (of any stream) whose current value
        it is, whichever is decided first."""
        if planned.status not in ("update", "synced") or planned.crm_id is None or match is None:
            return
        part = key_part.name
        how = {RANK_CURRENT: f"its current {part}", RANK_OTHER_FIELD: f"a current {part} of another field"}
        owner = self.current_owner(planned, match, key_part) if match.rank == RANK_HISTORICAL else None
        if owner:
            first = (owner, RANK_CURRENT)
        else:
            rank, _, ref = self.seen.setdefault(claim_key(planned.object, planned.crm_id),
                                                f"{match.rank} {planned.ref}").partition(" ")
            first = (ref, int(rank))
        if first[0] == planned.ref:
            return
        planned.status, planned.changes, planned.associate = "ambiguous", [], []
        planned.candidates, planned.crm_id = [planned.crm_id], None
        planned.notes.append(f"{planned.object} {planned.candidates[0]} is the target of {first[0]} in this "
                             f"run (matched by {how.get(first[1], f'a historical {part}')}); this record "
                             f"matches it by {how.get(match.rank, f'a historical {part}')}: one CRM record "
                             "is written from one source record; choose and link it")

    def current_owner(self, planned: PlannedRecord, match: Match, key_part: KeyPart) -> str | None:
        """Another record of this run whose current identity value is the matched CRM record's own."""
        if match.linked or not match.candidates:
            return None
        crm = match.candidates[0]
        for value in normalize(self.connector, planned.object, key_part, crm.fields.get(key_part.field)):
            owner = self.seen.get(current_key(planned.object, value))
            if owner is not None and owner != planned.ref:
                return owner
        return None

    @staticmethod
    def seen_keys(planned: PlannedRecord) -> tuple[str, str]:
        """(its source id's key, its identity's key) in `seen`: its ref after a NUL, and the JSON of its
        object and each identity part's name and first value (their repr, which starts otherwise, where
        one is not text), so that no two differ in `seen` but by what they stand for."""
        parts = [planned.object]
        for name, values in planned.identity.items():
            parts += (name, values[0] if values else "")
        return "\0" + planned.ref, identity_text(parts)

    def dedupe(self, planned: PlannedRecord, seen: SeenMap, keys: tuple[str, str] | None = None) -> None:
        """Two source records with one identity in the same run (of one stream or of two streams of one
        object): the second is skipped, naming the first, which its children are written under. So is a
        source id given twice in a stream (a line repeated): it is one record, written once. `keys`: its
        `seen_keys`, if made already."""
        source_key, identity_key = keys or self.seen_keys(planned)
        first_where = seen.setdefault(source_key, planned.where)
        if first_where != planned.where:
            planned.status, planned.changes, planned.associate = "skipped", [], []
            planned.notes.append(f"{planned.where}: source id {planned.source_id} again (first at "
                                 f"{first_where}); it is written once, from the first")
            return
        if planned.status not in ("net_new", "update", "synced"):
            return
        first = seen.setdefault(identity_key, planned.ref)
        if first != planned.ref:
            planned.status, planned.changes, planned.merged_into = "skipped", [], first
            planned.notes.append(f"same identity as {first} in this run; it is written once, from {first}")

    def resolve_parents(self, planned: PlannedRecord, parents: list[ParentRef],
                        match: Match | None = None) -> None:
        for parent in parents:
            parent_ref = ref(parent.stream, parent.source_id)
            target = self.planned.get(parent_ref)
            if target is not None and target.merged_into is not None:  # written as the record it merged into
                planned.notes.append(f"parent {parent_ref} is written as {target.merged_into} "
                                     "(same identity)")
                parent_ref, target = target.merged_into, self.planned.get(target.merged_into)
            link = self.links.get((target.stream, target.source_id) if target else
                                  (parent.stream, parent.source_id))
            crm_id = (target.crm_id if target else None) or (link.crm_id if link else None)
            pending = target is not None and target.status == "net_new"
            if crm_id is None and not pending:
                why = f"parent {parent_ref} is not in the CRM" + (f" ({target.status})" if target else "")
                if parent.required and planned.status in ("net_new", "update", "synced"):
                    planned.status, planned.changes = "skipped", []
                planned.notes.append(why)
                continue
            planned.parents.append((parent.relation, parent_ref, crm_id or ""))
            association = (planned.object, parent.relation) in self.associations
            if planned.status == "net_new":
                self.add_relation_change(planned, parent.relation, parent_ref, crm_id)
                if association:
                    planned.associate.append(parent.relation)
            elif planned.status in ("update", "synced") and association:
                self.reassociate(planned, parent.relation, parent_ref, new_parent=pending, parent_id=crm_id)
            elif planned.status in ("update", "synced"):
                self.relink(planned, parent.relation, parent_ref, crm_id, match)

    def reassociate(self, planned: PlannedRecord, relation_name: str, parent_ref: str,
                    new_parent: bool, parent_id: str | None = None) -> None:
        """An existing record is associated with its parent when that parent is created in this run (the
        two cannot be associated yet) or an earlier push meant to and did not; with a parent that exists
        too, when the CRM does not have the association (read once the window is decided:
        `check_associations`)."""
        if new_parent or (planned.ref, relation_name) in self.associations_due:
            planned.associate.append(relation_name)
            self.add_relation_change(planned, relation_name, parent_ref, None)
        elif parent_id and planned.crm_id:
            self.association_checks.append(
                AssociationCheck(planned.ref, planned.object, planned.crm_id, relation_name, parent_id))
            self.association_parents[(planned.ref, relation_name)] = (planned, parent_ref)

    async def check_associations(self, turn: Turn, client: CrmClient | None) -> None:
        """The window's existing records with existing parents: associated where the CRM does not have
        the association yet. The reads are listed with the look-ups; without a CRM nothing is known, and
        nothing is planned."""
        checks, self.association_checks = self.association_checks, []
        parents, self.association_parents = self.association_parents, {}
        if not checks:
            return
        requests = render_reads(self.connector, checks, self.base_url)
        turn.lookups += requests
        if client is None:
            return
        for check in missing(self.connector, checks, await read_existing(self.connector, requests, client)):
            planned, parent_ref = parents[(check.ref, check.relation)]
            planned.associate.append(check.relation)
            self.add_relation_change(planned, check.relation, parent_ref, check.parent_id)

    def relink(self, planned: PlannedRecord, relation_name: str, parent_ref: str, crm_id: str | None,
               match: Match | None) -> None:
        """A record in the CRM whose parent field is empty (written while its parent could not be, say)
        gets it filled; one linked to another parent is left as it is, with a note: as for any field
        whose overwrite is off. Only a parent the look-up read can be compared (a field relation, a bind
        relation that says where it is read)."""
        read = self.connector.objects[planned.object].relations[relation_name].read_as
        if read is None or match is None or match.current is None or read not in match.current:
            return  # a parent the look-up answer does not carry is not known to be empty
        current = match.current.get(read)
        if current in (None, ""):
            self.add_relation_change(planned, relation_name, parent_ref, crm_id)
            planned.status = "update"
        elif crm_id and not same(current, crm_id):
            planned.notes.append(f"{read} is {current} in the CRM, not {crm_id} ({parent_ref}): "
                                 "left as it is")

    def add_relation_change(self, planned: PlannedRecord, relation_name: str, parent_ref: str,
                            crm_id: str | None) -> None:
        relation = self.connector.objects[planned.object].relations[relation_name]
        shown = crm_id or f"<id of {parent_ref}>"
        if isinstance(relation, FieldRelation):
            planned.changes.append(Change(relation.written_as, None, shown))
        elif isinstance(relation, BindRelation):
            planned.changes.append(Change(relation.written_as, None, self.bind_path(relation, shown)))
        else:
            planned.notes.append(f"associated with {parent_ref} ({relation_name}) after both exist")

    def bind_path(self, relation: BindRelation, crm_id: str) -> str:
        target = self.connector.objects[relation.to]
        return fill(relation.path, {"id": crm_id, "vars": target.vars, "object": target.api_name})

    # ----- render ------------------------------------------------------------------------------
    def render_writes(self, records: Sequence[PlannedRecord]) -> Sequence[Request]:
        """Per stream: its creates, upserts, then updates; then the associations. Each item is made as
        its block is rendered (`BatchWriter`), reading the records once per stream: the associations'
        items are added in the same pass (a spilled plan's records are read from disk)."""
        parts: list[Sequence[Request]] = []
        associations: dict[tuple[str, str], BatchWriter] = {}
        for stream in stream_order(self.profile):
            object_name = self.profile.streams[stream].object
            writers: dict[str, BatchWriter] = {}
            for record in self.records_of(records, stream):
                kind = self.write_kind(record) if record.status == "net_new" else (
                    "update" if record.status == "update" else None)
                if record.associate and record.status in ("net_new", "update", "synced"):
                    self.add_associations(record, associations)
                if kind is None:
                    continue
                if kind not in writers:
                    writers[kind] = self.batch_writer(kind, object_name)
                writers[kind].add(record.ref, self.write_item(record, kind))
            parts += [writers[kind].done() for kind in ("create", "upsert", "update") if kind in writers]
        parts += [writer.done() for writer in associations.values()]
        return Concatenation(parts) if self.spill else [request for part in parts for request in part]

    def gathered_writes(self, order: list[str]) -> Sequence[Request]:
        """The writes rendered as each stream's windows were decided, as `render_writes` lists them: a
        stream held back (taken out of `stream_writes`) writes nothing."""
        parts: list[Sequence[Request]] = []
        associations: dict[tuple[str, str], BatchWriter] = {}
        for stream in order:
            if stream in self.stream_writes:
                parts += self.stream_writes[stream].done(associations)
        parts += [writer.done() for writer in associations.values()]
        return Concatenation(parts)

    def records_of(self, records: Sequence[PlannedRecord], stream: str) -> Iterable[PlannedRecord]:
        """A stream's records: its own part of a spilled plan (streams are in stream order)."""
        if isinstance(records, Concatenation):
            return records.parts[stream_order(self.profile).index(stream)]
        return (r for r in records if r.stream == stream)

    def batch_writer(self, kind: str, object_name: str) -> BatchWriter:
        endpoint = endpoint_for(self.connector, object_name, kind)  # type: ignore[arg-type]
        size = endpoint.batch.max if endpoint is not None and endpoint.batch else 1
        return BatchWriter(lambda items: render_batches(self.connector, kind, object_name, items,  # type: ignore[arg-type]
                                                        self.base_url), size, spill=self.spill)

    def write_kind(self, record: PlannedRecord) -> str:
        """How a new record is written: by native upsert on the stream's upsert key when it has a value
        for it, else by create."""
        key = self.profile.streams[record.stream].upsert_key
        return "upsert" if key and record.values.get(key) not in (None, "") else "create"

    def upsert_context(self, record: PlannedRecord) -> dict[str, Any]:
        key = self.profile.streams[record.stream].upsert_key
        return {"key_field": key, "key_value": record.values[key]}  # type: ignore[index]

    def write_item(self, record: PlannedRecord, kind: str) -> dict[str, Any]:
        if kind == "update":
            return self.update_item(record)
        if kind == "upsert":
            return {**self.create_item(record), **self.upsert_context(record)}
        return self.create_item(record)

    def create_item(self, record: PlannedRecord) -> dict[str, Any]:
        fields = {c.field: c.new for c in record.changes}
        return {"fields": fields, "ref": record.ref}

    def update_item(self, record: PlannedRecord) -> dict[str, Any]:
        return {"fields": {c.field: c.new for c in record.changes}, "id": record.crm_id, "ref": record.ref}

    def add_associations(self, record: PlannedRecord, writers: dict[tuple[str, str], BatchWriter]) -> None:
        """The associations `record` is to make, batched per object and relation (in the order the
        groups first come)."""
        for group, record_ref, item in self.association_items(record):
            if group not in writers:
                writers[group] = self.association_writer(*group)
            writers[group].add(record_ref, item)

    def association_items(self, record: PlannedRecord) -> Iterator[AssociationItem]:
        """The associations `record` is to make (`PlannedRecord.associate`): (object and relation, ref,
        item), batched per object and relation in the order the groups first come."""
        for relation_name, parent_ref, parent_id in record.parents:
            if relation_name not in record.associate:
                continue
            relation = self.connector.objects[record.object].relations[relation_name]
            assert isinstance(relation, AssociationRelation)
            yield (record.object, relation_name), record.ref, association_item(
                self.connector, relation, record.crm_id or f"<id of {record.ref}>",
                parent_id or f"<id of {parent_ref}>", record.ref)

    def association_writer(self, object_name: str, relation_name: str) -> BatchWriter:
        relation = self.connector.objects[object_name].relations[relation_name]
        assert isinstance(relation, AssociationRelation)
        endpoint = relation_endpoint(self.connector, object_name, relation, "associate")
        size = endpoint.batch.max if endpoint is not None and endpoint.batch else 1
        return BatchWriter(lambda items: render_associate(self.connector, object_name, relation_name, items,
                                                          self.base_url), size, spill=self.spill)


def identity_and_current(connector: ConnectorSpec, record: MappedRecord,
                         key: IdentityKey) -> tuple[dict[str, list[str]], set[str] | None]:
    """(match.record_identity, Planner.current_values of the key's first part) in one pass: each raw
    value normalised once, where the two normalised the current ones twice."""
    call = first_result("crmsync_normalize_identity", connector.name)
    identity: dict[str, list[str]] = {}
    current = None
    for part in key.parts:
        raws = record.identity.get(part.name, [])
        each = [normalize(connector, record.object, part, raw, call) for raw in raws]
        identity[part.name] = [n for forms in each for n in forms]
        count = record.identity_current.get(part.name)
        if part is key.parts[0] and count is not None:
            current = {n for forms in each[:count] for n in forms}
    return identity, current


def identity_text(parts: list[Any]) -> str:
    """A text telling `parts` apart from any other list: JSON of text parts (orjson), else their repr."""
    if all(type(part) is str for part in parts):
        try:
            return orjson.dumps(parts).decode("utf-8")
        except orjson.JSONEncodeError:  # a lone surrogate
            pass
    return repr(tuple(parts))


def claim_key(object_name: str, crm_id: str) -> str:
    """The key in `Planner.seen` of the record that claimed a CRM record."""
    return "\1" + repr(("claimed", object_name, crm_id))  # \1: no source or identity key starts so


def current_key(object_name: str, value: str) -> str:
    """The key in `Planner.seen` of the first record whose current identity value is `value`."""
    return "\1" + repr(("current", object_name, value))


def _shown(value: Any) -> str:
    return "empty" if value in (None, "") else repr(value)


def kept_back(overwrite: dict[str, bool], values: dict[str, Any], match: Match,
              identity_fields: set[str]) -> list[Change]:
    """The changes `overwrite: false` holds back: the CRM has another value there, which stays. Shown,
    so that a user sees why a change did not go."""
    if match.current is None:
        return []
    return [Change(name, current, new) for name, new in values.items()
            if name not in identity_fields and not overwrite.get(name, False) and new not in (None, "")
            and (current := match.current.get(name)) not in (None, "") and not same(current, new)]


def estimate_cost(connector: ConnectorSpec, plan: Plan) -> dict[str, Any]:
    """Requests by kind and the least time the CRM's published rate limits allow for them."""
    kinds: Counter[str] = Counter()
    applied = [0] * len(connector.limits.rate)  # requests each rate rule counts
    for request in chain(plan.lookups, plan.writes):  # one pass: a spilled plan's are read from disk
        kinds[request.kind] += 1
        path = unquote(urlsplit(request.url).path)  # parsed once: look-up URLs are long
        for position, rule in enumerate(connector.limits.rate):
            applied[position] += rule.applies(request.kind, path)
    counts = {"lookups": kinds.get("lookup", 0) + kinds.get("associations", 0),  # reads of associations
              "writes": kinds.get("create", 0) + kinds.get("update", 0)
              + kinds.get("upsert", 0), "associations": kinds.get("associate", 0)}
    floor = 0.0
    for rule, n in zip(connector.limits.rate, applied, strict=True):
        if n:
            floor = max(floor, max(0, n - rule.requests) / rule.requests * rule.per_seconds)
    return {"requests": counts, "total_requests": sum(counts.values()), "min_seconds": round(floor, 2),
            "rate_limits": [rule.describe() for rule in connector.limits.rate]}


def daily_budget(usage: tuple[int, int], needed: int, reserve: float) -> dict[str, Any]:
    """What a push of `needed` requests would leave of the CRM's daily allocation (`usage`: used,
    allocation), and whether it fits above the reserve a push keeps for the org's other integrations."""
    used, allocation = usage
    kept = int(reserve * allocation)
    usable = max(0, allocation - used - kept)
    return {"used": used, "allocation": allocation, "reserve": kept, "needed": needed,
            "enough": needed <= usable, "usable": usable}


async def make_plan(bundle: ProfileBundle, source_dir: Path, *, base_url: str | None = None,
                    client: CrmClient | None = None, links: dict[tuple[str, str], Link] | None = None,
                    live_fields: LiveFields | Awaitable[LiveFields] | None = None,
                    associations_due: set[tuple[str, str]] | None = None,
                    allow_missing: bool = False, permissions: Permissions | None = None,
                    on_stream: StreamDecided | None = None) -> Plan:
    """`on_stream` sees (and may restrict, in place) each stream's records once it is decided."""
    planner = Planner(bundle, base_url=base_url, links=links or {}, live_fields=live_fields,
                      associations_due=associations_due, allow_missing=allow_missing,
                      permissions=permissions)
    return await planner.run(source_dir, client, on_stream)


def make_plan_sync(bundle: ProfileBundle, source_dir: Path, **options: Any) -> Plan:
    return asyncio.run(make_plan(bundle, source_dir, **options))


__all__ = ["Plan", "PlannedRecord", "Change", "make_plan", "make_plan_sync", "crm_identity"]

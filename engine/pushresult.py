"""What a push did, record by record (Outcome) and as a whole (PushResult). A push's outcomes are not a
list in memory: the CRM's answers are on disk (spool/outcomes.OutcomeLog) and the planned records too
(spool/records.RecordSpool); `PushOutcomes` reads them back together, a window at a time, in plan order,
and its counts are taken in one pass once the run is done."""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.plan import PlannedRecord
from engine.spool.outcomes import OutcomeLog, Row
from engine.spool.sequence import windows_of

DELETED = "deleted_in_crm"  # the error code of an update whose linked record was deleted in the CRM
SENT = ("net_new", "update")  # the statuses of the records a push writes


@dataclass
class Outcome:
    record: PlannedRecord
    action: str | None  # insert | update | None (nothing sent)
    result: str  # success | error | unchanged | skipped | restricted
    crm_id: str | None = None
    error_code: str | None = None
    error: str | None = None
    record_url: str | None = None
    warnings: list[str] = field(default_factory=list)  # written, but not quite as planned
    recreated: bool = False  # created again: its linked record had been deleted in the CRM

    def as_dict(self) -> dict[str, Any]:
        r = self.record
        return {"stream": r.stream, "source_id": r.source_id, "object": r.object, "status": r.status,
                "action": self.action, "result": self.result, "crm_id": self.crm_id,
                "record_url": self.record_url, "error_code": self.error_code, "error": self.error,
                "warnings": self.warnings, "recreated": self.recreated}


def summary_of(outcomes: Iterator[Outcome] | Sequence[Outcome]) -> tuple[dict[str, int], dict[str, int]]:
    """(the summary's counts, the owners' counts) of `outcomes`, in one pass."""
    s = {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0, "recreated": 0,
         "deleted_in_crm": 0, "restricted": 0}
    owners: Counter[str] = Counter()
    for o in outcomes:
        if o.result == "restricted":
            s["restricted"] += 1
        elif o.result == "error":
            s["failed"] += 1
            s["deleted_in_crm"] += o.error_code == DELETED
        elif o.result == "unchanged":
            s["unchanged"] += 1
        elif o.result == "skipped":
            s["skipped"] += 1
        elif o.action == "insert":
            s["recreated" if o.recreated else "created"] += 1
        elif o.action == "update":
            s["updated"] += 1
        if o.result == "success" and o.record.owner:
            owners[o.record.owner] += 1
    return s, {what: owners.get(what, 0) for what in ("set", "not_found", "inactive")}


@dataclass(repr=False)  # Python 3.11's asyncio.run reprs its result: a full repr would hold every outcome
class PushResult:
    run_id: str
    outcomes: Sequence[Outcome]  # a list, or read back from disk (PushOutcomes)
    stopped: str | None = None  # why the run stopped early (auth refused, daily allocation reserve reached)
    unplanned: list[str] = field(default_factory=list)  # streams the run stopped before deciding
    requests_sent: int = 0
    associations: dict[str, int] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)  # for the user, about the run as a whole
    interrupted: bool = False  # stopped by Ctrl-C
    stale: list[str] = field(default_factory=list)  # push --plan: records changed since, not written
    input_findings: list[str] = field(default_factory=list)  # where the source lost data
    warnings: list[dict[str, Any]] = field(default_factory=list)  # about the profile (validate's findings)
    held_back: dict[str, int] = field(default_factory=dict)  # not sent, by why (--limit, --only, a parent)
    counted: tuple[dict[str, int], dict[str, int]] | None = None  # summary_of(outcomes), once taken

    def __repr__(self) -> str:
        return f"PushResult(run_id={self.run_id!r}, outcomes={len(self.outcomes)}, stopped={self.stopped!r})"

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        if self.counted is None:
            self.counted = summary_of(self.outcomes)
        return self.counted

    def summary(self) -> dict[str, int]:
        """`recreated`: created again, their linked records deleted in the CRM (not in `created`);
        `deleted_in_crm`: of the failed, those whose linked record was deleted in the CRM."""
        return {**self.counts()[0], "held_back": sum(self.held_back.values())}

    def owners(self) -> dict[str, int]:
        """Records written with the owner the profile gives them (`set`), and without it."""
        return dict(self.counts()[1])

    def as_dict(self) -> dict[str, Any]:
        return {key: list(value) if key == "records" else value for key, value in self.json_parts().items()}

    def json_parts(self) -> dict[str, Any]:
        """The result's JSON document, its records an iterator (written one by one: spool/jsonout)."""
        return {"run_id": self.run_id, "summary": self.summary(), "stopped": self.stopped,
                "unplanned_streams": self.unplanned, "owners": self.owners(),
                "requests_sent": self.requests_sent, "associations": self.associations,
                "notices": self.notices, "interrupted": self.interrupted, "stale": self.stale,
                "input_findings": self.input_findings,
                "warnings": self.warnings, "held_back": self.held_back,
                "records": (o.as_dict() for o in self.outcomes)}


Unsent = Callable[[PlannedRecord], Outcome]  # the outcome of a record the run did not send


class PushOutcomes(Sequence[Outcome]):
    """Each planned record's outcome, in plan order: the CRM's answer for a record sent (the first record
    of its ref with something to write: a source id repeated is one record), else `unsent`'s. Read from
    disk at each iteration (new objects each time), a window at a time."""

    def __init__(self, parts: list[Sequence[PlannedRecord]], log: OutcomeLog, warnings: dict[str, list[str]],
                 unsent: Unsent) -> None:
        self.parts, self.log, self.warnings, self.unsent = parts, log, warnings, unsent

    def windows(self) -> Iterator[list[Outcome]]:
        for part in self.parts:
            for records in windows_of(part):
                rows = self.log.many(r.ref for r in records if r.status in SENT)
                yield [self.outcome(record, rows) for record in records]

    def outcome(self, record: PlannedRecord, rows: dict[str, Row]) -> Outcome:
        row = rows.pop(record.ref, None) if record.status in SENT else None  # popped: a repeat is unsent
        if row is None:
            return self.unsent(record)
        action, result, crm_id, error_code, error, record_url, recreated, stored = row
        return Outcome(pickle.loads(stored) if stored else record, action, result, crm_id, error_code, error,
                       record_url, self.warnings.get(record.ref, []), bool(recreated))

    def __iter__(self) -> Iterator[Outcome]:
        for window in self.windows():
            yield from window

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts)

    def __getitem__(self, index: int | slice) -> Any:  # read through: rarely wanted (tests, one record)
        return list(self)[index]

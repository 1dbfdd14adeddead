"""Creates whose answer was lost, accounted for by the run that resumes them.

A run killed (or cut off) after sending a batch of creates and before hearing the answer leaves those
records `pending` in its journal. The CRM may have made them. The next run re-plans against the CRM by
identity, so it finds them and sends nothing twice; but the activity log would hold no create for
records the CRM now holds. Here the resumed run writes, for each such record it finds, the create its
maker never logged: under the run that sent it, with the CRM id found, and the journal entry set to
`found`. Either way an entry is reconciled once.

A record planned as new may only be missing *yet*: a CRM still applying the dead run's batch (slow, or
queued behind the dead run's other requests) answers the look-up without it. Its create is held back
(`Held`): looked up again once the stream's other writes are done, and again until the dead run's
request must have ended (its run's end, recorded in the store, plus the request timeout: the dead run
sent nothing after it ended); only what is still missing then is created (its old entry `not_found`).
An upsert is not held: sent again, it updates what its first sending made."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from engine.plan import PlannedRecord
from engine.state import StateStore, now

FOUND = ("update", "synced")  # what a record the CRM already holds is planned as
Unanswered = dict[str, tuple[str, str]]  # ref -> (the run that sent its create, when that run ended)


@dataclass
class Held:
    """A create a dead run sent without hearing the answer, held back from this run's creates."""

    record: PlannedRecord
    run_id: str
    answer_by: float  # epoch seconds: by then the dead run's request has ended, answered or not


def answer_by(ended_at: str, timeout_s: float) -> float:
    return dt.datetime.fromisoformat(ended_at.replace("Z", "+00:00")).timestamp() + timeout_s


def reconcile(store: StateStore, profile: str, unanswered: Unanswered, triggered_by: str,
              records: Iterable[PlannedRecord], hold: Callable[[PlannedRecord], bool] = lambda _: False,
              timeout_s: float = 0.0) -> list[Held]:
    """Write the lost creates among `records` (taken off `unanswered` as each is reconciled); returns
    those planned as new that `hold` says to hold back (their entries stay `pending` until settled)."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    states: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    held: list[Held] = []
    for record in records:
        sent_by = unanswered.pop(record.ref, None)
        if sent_by is None:
            continue
        run_id, ended_at = sent_by
        if record.status in FOUND and record.crm_id:
            states[run_id].append((record.ref, "insert", "found"))
            found[run_id].append(lost_create(record, run_id, triggered_by))
        elif record.status == "net_new" and hold(record):
            held.append(Held(record, run_id, answer_by(ended_at, timeout_s)))
        elif record.status == "net_new":
            states[run_id].append((record.ref, "insert", "not_found"))
    for run_id, journal in states.items():
        store.record_outcomes(profile, run_id, [], journal, found.get(run_id, []))
    return held


def settled_held(store: StateStore, profile: str, triggered_by: str, held: list[Held]) -> None:
    """The held creates' entries, once each was looked up for the last time: `found` (its create
    logged under the run that sent it: the record carries the CRM id) or `not_found`."""
    reconcile(store, profile, {h.record.ref: (h.run_id, "") for h in held}, triggered_by,
              [h.record for h in held])


def lost_create(record: PlannedRecord, run_id: str, triggered_by: str) -> dict[str, Any]:
    return {"at": now(), "run_id": run_id, "triggered_by": triggered_by, "object": record.object,
            "action": "insert", "result": "success", "crm_id": record.crm_id, "record_url": None,
            "error_code": None, "error": None, "stream": record.stream, "source_id": record.source_id,
            "request": None, "changed": None}

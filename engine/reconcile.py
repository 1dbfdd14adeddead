"""Creates whose answer was lost, accounted for by the run that resumes them.

A run killed (or cut off) after sending a batch of creates and before hearing the answer leaves those
records `pending` in its journal. The CRM may have made them. The next run re-plans against the CRM by
identity, so it finds them and sends nothing twice; but the activity log would hold no create for
records the CRM now holds. Here the resumed run writes, for each such record it finds, the create its
maker never logged: under the run that sent it, with the CRM id found, and the journal entry set to
`found`. A record not found (the batch never reached the CRM) is created by the resumed run as any
other; its old entry is set to `not_found`. Either way an entry is reconciled once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from engine.plan import PlannedRecord
from engine.state import StateStore, now

FOUND = ("update", "synced")  # what a record the CRM already holds is planned as


def reconcile(store: StateStore, profile: str, unanswered: dict[str, str], triggered_by: str,
              records: Iterable[PlannedRecord]) -> int:
    """Write the lost creates among `records` (ref -> the run that sent it, taken off `unanswered` as
    each is reconciled); the number found in the CRM."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    states: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for record in records:
        run_id = unanswered.pop(record.ref, None)
        if run_id is None:
            continue
        if record.status in FOUND and record.crm_id:
            states[run_id].append((record.ref, "insert", "found"))
            found[run_id].append(lost_create(record, run_id, triggered_by))
        elif record.status == "net_new":
            states[run_id].append((record.ref, "insert", "not_found"))
    for run_id, journal in states.items():
        store.record_outcomes(profile, run_id, [], journal, found.get(run_id, []))
    return sum(len(rows) for rows in found.values())


def lost_create(record: PlannedRecord, run_id: str, triggered_by: str) -> dict[str, Any]:
    return {"at": now(), "run_id": run_id, "triggered_by": triggered_by, "object": record.object,
            "action": "insert", "result": "success", "crm_id": record.crm_id, "record_url": None,
            "error_code": None, "error": None, "stream": record.stream, "source_id": record.source_id,
            "request": None, "changed": None}

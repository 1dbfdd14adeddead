"""A run cut off with creates at the CRM (sent, applied, never answered) leaves them `pending` in its
journal; the run that resumes finds them by identity and sends nothing twice. The activity log must
still account for every record the CRM holds: the resumed run writes each lost create, once, under
the run that sent it (engine/reconcile.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.pushkit import push, served
from tests.statekit import store_at


def cut_off_with_answers_lost(state: Path, refs: list[str]) -> str:
    """The state as a run killed with `refs`' creates at the CRM leaves it: the run `running`, their
    journal entries `pending`, no link and no activity row for them. Returns the run's id."""
    store = store_at(state)
    try:
        run_id = store.db.execute("SELECT run_id FROM runs").fetchone()["run_id"]
        with store.transaction():
            for ref in refs:
                stream, source_id = ref.split("/", 1)
                store.db.execute("UPDATE journal SET state = 'pending' WHERE run_id = ? AND ref = ?",
                                 (run_id, ref))
                store.db.execute("DELETE FROM activity WHERE stream = ? AND source_id = ?",
                                 (stream, source_id))
                store.db.execute("DELETE FROM links WHERE stream = ? AND source_id = ?", (stream, source_id))
            store.db.execute("UPDATE runs SET status = 'running', finished_at = NULL WHERE run_id = ?",
                             (run_id,))
    finally:
        store.close()
    return run_id


def inserts_logged(state: Path) -> list[tuple[str, str, str]]:
    store = store_at(state)
    try:
        return [(f"{r['stream']}/{r['source_id']}", r["run_id"], r["crm_id"]) for r in store.db.execute(
            "SELECT stream, source_id, run_id, crm_id FROM activity WHERE action = 'insert' "
            "AND result = 'success' ORDER BY id")]
    finally:
        store.close()


def journal_states(state: Path, run_id: str, refs: list[str]) -> dict[str, str]:
    store = store_at(state)
    try:
        return {r["ref"]: r["state"] for r in store.db.execute(
            "SELECT ref, state FROM journal WHERE run_id = ? AND action = 'insert'", (run_id,))
            if r["ref"] in refs}
    finally:
        store.close()


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_creates_whose_answer_was_lost_are_logged_once_by_the_run_that_resumes(
        crm: str, examples: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with served(crm) as (_, url):
        first = push(crm, examples, url, state)
        created = {o.record.ref: o.crm_id for o in first.outcomes
                   if o.action == "insert" and o.result == "success"}
        lost = sorted(created)[:3]
        killed = cut_off_with_answers_lost(state, lost)
        assert not {ref for ref, _, _ in inserts_logged(state)} & set(lost)

        resumed = push(crm, examples, url, state)
        assert resumed.summary()["created"] == 0  # nothing sent twice: found by identity
        logged = inserts_logged(state)
        # every record the CRM holds, once
        assert Counter(ref for ref, _, _ in logged) == Counter(list(created))
        assert {ref: (run, crm_id) for ref, run, crm_id in logged if ref in lost} == \
            {ref: (killed, created[ref]) for ref in lost}  # under the run that sent it, with the CRM's id
        assert journal_states(state, killed, lost) == dict.fromkeys(lost, "found")

        push(crm, examples, url, state)  # reconciled once: a later run writes no second row
        assert Counter(ref for ref, _, _ in inserts_logged(state)) == Counter(list(created))

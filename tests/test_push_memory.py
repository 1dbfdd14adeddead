"""A push's memory does not grow with its records: each stream is on disk and written a window at a
time, the CRM's answers and ids go to temporary SQLite tables, and the result reads them back. Counted
in live objects (gc.get_objects), never in time: a push of N and of 3N records holds at most a bounded
number of planned records and outcomes at any moment, and none once it is done."""

from __future__ import annotations

import gc
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import plan as plan_module
from engine import render as render_module
from engine.exampledata import generate
from engine.plan import PlannedRecord
from engine.pushresult import Outcome
from engine.spool.ids import IdIndex
from engine.spool.outcomes import OutcomeLog
from tests.pushkit import push, records, served

WINDOW = 50
SALESFORCE_BATCH = 200  # sObject Collections: records a request
SAMPLED = 10  # outcomes written between two counts of the live objects


def live(kind: type) -> int:
    return sum(1 for o in gc.get_objects() if type(o) is kind)


def pushed_at_most(tmp_path: Path, total: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """Push `total` generated records to the Salesforce sandbox; the most planned records and outcomes
    alive at once while the CRM's answers were being written down."""
    generate(tmp_path / "data", total)
    most = Counter[str]()
    put, calls = OutcomeLog.put, [0]

    def counted(self: OutcomeLog, ref: str, row: tuple[Any, ...]) -> None:
        calls[0] += 1
        if calls[0] % SAMPLED == 0:
            most["planned"] = max(most["planned"], live(PlannedRecord))
            most["outcomes"] = max(most["outcomes"], live(Outcome))
        put(self, ref, row)
    monkeypatch.setattr(OutcomeLog, "put", counted)
    with served("salesforce") as (_, url):
        result = push("salesforce", tmp_path / "data", url, tmp_path / "state")
        summary = result.summary()
        assert summary["created"] + summary["skipped"] + summary["failed"] == total
        assert summary["created"] == sum(len(rows) for rows in records(url).values())
        assert calls[0] >= summary["created"] and calls[0] // SAMPLED >= total // (10 * WINDOW)
        # done, the result in hand: its outcomes are on disk, read back as they are asked for
        assert live(PlannedRecord) == 0 and live(Outcome) == 0
        assert sum(1 for _ in result.outcomes) == total
    return most["planned"], most["outcomes"]


def test_a_push_holds_a_bounded_number_of_records_whatever_its_size(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_module, "WINDOW", WINDOW)
    monkeypatch.setattr(render_module, "FULL_LENGTH", 0.0)  # every look-up full: no window held back
    small = pushed_at_most(tmp_path / "small", 600, monkeypatch)
    large = pushed_at_most(tmp_path / "large", 1_800, monkeypatch)
    # five streams, planned at once (a window or two each) and written a few windows at a time
    bound = 5 * 6 * WINDOW  # measured: 340 planned records at most at 600 records, 480 at 1,800
    assert max(large) <= bound < 1_800
    # not 3x: a few writes at once, each a window or, since batches are carried across windows
    # (engine/batching.py), a full batch when the window is smaller (here; never with the plan's 2,000)
    step = 4 * max(WINDOW, SALESFORCE_BATCH)
    assert large[0] <= small[0] + step and large[1] <= small[1] + step


text = st.text(alphabet="abc/", max_size=4)
ids_steps = st.lists(st.one_of(st.tuples(st.just("set"), text, text), st.tuples(st.just("get"), text),
                               st.tuples(st.just("owners"), st.lists(text, max_size=4))), max_size=60)


@settings(max_examples=100, deadline=None)
@given(ids_steps, st.integers(min_value=1, max_value=5))
def test_ids_on_disk_answer_as_a_dict(steps: list[tuple[Any, ...]], buffered: int) -> None:
    """IdIndex against the dict it replaces (`{ref: crm_id}`, inverted for `owners`)."""
    ids, expected = IdIndex(), {}
    ids.BUFFERED = buffered  # written to disk every few ids, and read across the buffer and the table
    for step in steps:
        if step[0] == "set":
            ids[step[1]] = expected[step[1]] = step[2]
        elif step[0] == "get":
            assert ids.get(step[1]) == expected.get(step[1]) and (step[1] in ids) == (step[1] in expected)
        else:
            holders: dict[str, set[str]] = {}
            for ref, crm_id in expected.items():
                holders.setdefault(crm_id, set()).add(ref)
            found = ids.owners(step[1])
            assert found.keys() == {c for c in step[1] if c in holders}
            assert all(ref in holders[crm_id] for crm_id, ref in found.items())
    assert len(ids) == len(expected)


rows = st.tuples(st.sampled_from(["insert", "update"]), st.sampled_from(["success", "error"]), text,
                 st.none() | text, st.none() | text, st.none() | text, st.booleans(), st.none() | st.binary())
log_steps = st.lists(st.one_of(st.tuples(st.just("put"), text, rows),
                               st.tuples(st.just("relink"), text, text),
                               st.tuples(st.just("many"), st.lists(text, max_size=4))), max_size=60)


@settings(max_examples=100, deadline=None)
@given(log_steps, st.integers(min_value=1, max_value=5))
def test_outcomes_on_disk_answer_as_a_dict(steps: list[tuple[Any, ...]], buffered: int) -> None:
    """OutcomeLog against the dict of outcomes by ref it replaces."""
    log, expected = OutcomeLog(), {}
    log.BUFFERED = buffered
    for step in steps:
        if step[0] == "put":
            log.put(step[1], step[2])
            expected[step[1]] = step[2]
        elif step[0] == "relink":
            log.relink(step[1], step[2], f"url/{step[2]}")
            if step[1] in expected:
                row = list(expected[step[1]])
                row[2], row[5] = step[2], f"url/{step[2]}"
                expected[step[1]] = tuple(row)
        else:
            assert log.many(step[1]) == {ref: expected[ref] for ref in step[1] if ref in expected}
        assert all(log.get(ref) == row for ref, row in expected.items())
    assert log.succeeded() == dict(Counter(row[0] for row in expected.values() if row[1] == "success"))
    assert len(log) == len(expected)

"""The parents' index of a plan is on disk (engine/spool/parents.py): it answers as the dict of
ParentStates it replaces, and a plan holds no more ParentStates, nor reads more of them per record, as
its input grows 3x. Counted in live objects and reads, never in time nor memory."""

from __future__ import annotations

import gc
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import plan as plan_module
from engine.catalog import load_profile
from engine.exampledata import generate
from engine.plan import make_plan_sync
from engine.spool.parents import ParentIndex, ParentState
from tests.pushkit import PROFILES

STATUSES = ["net_new", "update", "synced", "skipped", "invalid"]
record = st.builds(lambda stream, sid, status, crm_id, merged: SimpleNamespace(
    stream=stream, ref=f"{stream}/{sid}", status=status, crm_id=crm_id, merged_into=merged),
    st.sampled_from(["a", "ab", "b"]), st.text(alphabet="x/0", max_size=3), st.sampled_from(STATUSES),
    st.none() | st.text(alphabet="12", max_size=2), st.none() | st.sampled_from(["a/x", "b/0"]))
steps = st.lists(st.one_of(st.tuples(st.just("remember"), st.lists(record, max_size=6)),
                           st.tuples(st.just("refresh"), st.lists(record, max_size=6)),
                           st.tuples(st.just("hold_back"), st.sampled_from(["a", "ab", "b"]))), max_size=25)


class DictIndex(dict[str, ParentState]):
    """The in-memory index it replaces (the code before it went to disk), with hold_back as
    Planner.take_stock did it: each state of the stream's refs changed in place."""

    def remember(self, records: Any) -> None:
        for r in records:
            if r.ref not in self:
                self[r.ref] = ParentState.of(r)

    def refresh(self, records: Any) -> None:
        fresh = DictIndex()
        fresh.remember(records)
        self.update(fresh)

    def hold_back(self, stream: str) -> None:
        for state in (self[r] for r in self if r.startswith(f"{stream}/")):
            if state.status in ("net_new", "update", "synced"):
                state.status = "skipped"


def as_tuple(state: ParentState | None) -> tuple[Any, ...] | None:
    return None if state is None else (state.stream, state.ref, state.status, state.crm_id, state.merged_into)


@settings(max_examples=150, deadline=None)
@given(steps, st.lists(st.text(alphabet="abx/0", max_size=4), max_size=5))
def test_the_index_on_disk_answers_as_the_dict(actions: list[tuple[str, Any]], asked: list[str]) -> None:
    disk, expected = ParentIndex(), DictIndex()
    for action, argument in actions:
        getattr(disk, action)(argument)
        getattr(expected, action)(argument)
        refs = {*expected, *asked}
        assert ({ref: as_tuple(disk.get(ref)) for ref in refs}
                == {ref: as_tuple(expected.get(ref)) for ref in refs})
    assert sorted(disk) == sorted(expected) and len(disk) == len(expected)
    assert all((ref in disk) == (ref in expected) for ref in asked)


def planned_at_most(tmp_path: Path, total: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int, int]:
    """An offline plan of `total` generated records: (the most ParentStates alive at once, the index's
    reads from disk, how many records name a parent)."""
    generate(tmp_path / "data", total)
    most, get = [0], ParentIndex.get

    def counted(self: ParentIndex, ref: str, default: ParentState | None = None) -> ParentState | None:
        if self.reads % 50 == 0:
            most[0] = max(most[0], sum(1 for o in gc.get_objects() if type(o) is ParentState))
        return get(self, ref, default)
    monkeypatch.setattr(ParentIndex, "get", counted)
    indexes: list[ParentIndex] = []
    init = ParentIndex.__init__

    def kept(self: ParentIndex) -> None:
        init(self)
        indexes.append(self)
    monkeypatch.setattr(ParentIndex, "__init__", kept)
    plan = make_plan_sync(load_profile(PROFILES["salesforce"]), tmp_path / "data")
    with_parents = sum(1 for r in plan.records if r.stream in ("broker_office", "employer_contact",
                                                                 "broker_contact"))
    assert len(plan.records) == total
    [index] = indexes
    parents = sum(1 for r in plan.records if r.stream in ("employer", "broker", "broker_office"))
    assert len(index) == parents > total // 4  # every parent record is in it: the index is the disk one
    return most[0], index.reads, with_parents


def test_a_plan_holds_a_bounded_number_of_parent_states_whatever_its_size(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_module, "WINDOW", 50)
    small = planned_at_most(tmp_path / "small", 600, monkeypatch)
    large = planned_at_most(tmp_path / "large", 1_800, monkeypatch)
    assert small[1] > 0 and large[1] > 0  # children did read their parents from it
    assert large[0] <= small[0] + 2 <= 10  # a couple at a time, not a third of the records
    for _, reads, with_parents in (small, large):
        assert with_parents <= reads <= 2 * with_parents  # its parent, or the one it merged into: no scan

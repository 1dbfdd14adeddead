"""A dry-run keeps its planned records, look-ups and writes on disk as each window is decided
(engine/spool): read back they equal the plan kept in memory, its JSON is the same text as the whole
document dumped at once, and no planned record outlives its window."""

from __future__ import annotations

import asyncio
import gc
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine import plan as plan_module
from engine import render as render_module
from engine.catalog import load_profile
from engine.exampledata import generate
from engine.mapping import Problem
from engine.plan import STATUSES, Change, Plan, PlannedRecord, make_plan, make_plan_sync
from engine.spool import jsonin, sequence
from engine.spool import records as records_module
from engine.spool.jsonout import write_json
from engine.spool.records import RecordSpool
from engine.spool.seen import SeenMap
from engine.spool.sequence import Concatenation, Spool
from tests.crms import CRMS
from tests.pushkit import PROFILES

text = st.text(max_size=12)
wire = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text
changes = st.lists(st.builds(Change, text, wire, wire), max_size=4)
planned = st.builds(
    PlannedRecord, st.sampled_from(["employer", "broker_contact"]), text,
    st.sampled_from(["Account", "Contact"]), st.sampled_from(STATUSES), text, crm_id=st.none() | text,
    changes=changes, kept=changes,
    problems=st.lists(st.builds(Problem, st.none() | text, text, text), max_size=2),
    notes=st.lists(text, max_size=2), values=st.dictionaries(text, wire, max_size=4),
    identity=st.dictionaries(text, st.lists(text, max_size=2), max_size=2),
    parents=st.lists(st.tuples(text, text, text), max_size=2), associate=st.lists(text, max_size=2),
    merged_into=st.none() | text, reason=st.none() | text,
    owner=st.none() | st.sampled_from(["set", "not_found", "inactive"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(planned, max_size=40), st.integers(min_value=1, max_value=9))
def test_records_read_back_from_disk_equal_those_written(records: list[PlannedRecord], chunk: int) -> None:
    old = sequence.CHUNK
    sequence.CHUNK = chunk  # many chunks, and a last one part-full
    try:
        spool = RecordSpool()
        spool.extend(records)
    finally:
        sequence.CHUNK = old
    assert list(spool) == records and list(spool) == records  # read as often as wanted, in order
    assert [r.ref for r in spool] == [r.ref for r in records]
    assert len(spool) == len(records)
    if records:
        assert spool[-1] == records[-1] and spool[len(records) // 2] == records[len(records) // 2]
    with pytest.raises(IndexError):
        spool[len(records)]
    statuses, owners = spool.counts()
    assert statuses == Counter(r.status for r in records)
    assert owners == Counter(r.owner for r in records if r.owner and r.status in records_module.WRITTEN)


def test_an_amendment_changes_the_records_read_back_and_their_counts() -> None:
    spool = RecordSpool()
    spool.extend([PlannedRecord("employer", f"e{i}", "Account", "net_new", f"f:{i}") for i in range(5)])
    spool.extend([PlannedRecord("employer", "e9", "Account", "invalid", "f:9")])

    def hold_back(record: PlannedRecord) -> None:
        if record.status == "net_new":
            record.status = "skipped"
    spool.amend(hold_back)
    assert [r.status for r in spool] == ["skipped"] * 5 + ["invalid"]
    assert spool.counts()[0] == Counter({"skipped": 5, "invalid": 1})


def test_concatenated_spools_read_as_one_sequence() -> None:
    first, second = Spool([1, 2]), Spool([3])
    both = Concatenation([first, second, [4, 5]])
    assert list(both) == [1, 2, 3, 4, 5] and len(both) == 5 and both[2] == 3 and both[-1] == 5
    assert [0, *both] == [0] + both and both + [6] == [1, 2, 3, 4, 5, 6]


json_values = st.recursive(wire, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(text, inner, max_size=3), max_leaves=12)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(text, json_values, max_size=4), st.lists(json_values, max_size=4))
def test_a_streamed_document_is_the_text_json_dumps_writes(head: dict[str, Any], items: list[Any]) -> None:
    document = {**head, "records": items, "more": []}
    out = io.StringIO()
    write_json({**head, "records": iter(items), "more": iter([])}, out)
    assert out.getvalue() == json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"


def handed_nothing(stream: str, records: list[PlannedRecord], writable: Any) -> None:
    """A stream callback that changes nothing: the plan keeps its records in lists, as a push's."""


def plans(bundle: Any, source: Path) -> tuple[Plan, Plan]:
    spilled = make_plan_sync(bundle, source)
    kept = make_plan_sync(bundle, source, on_stream=handed_nothing)
    return spilled, kept


@pytest.mark.parametrize("crm", CRMS)
def test_a_plan_on_disk_equals_the_plan_kept_in_memory(crm: str, examples: Path) -> None:
    spilled, kept = plans(load_profile(PROFILES[crm]), examples)
    assert isinstance(spilled.records, Concatenation) and isinstance(kept.records, list)
    assert [r.as_dict() for r in spilled.records] == [r.as_dict() for r in kept.records]
    assert [r.as_dict() for r in spilled.writes] == [r.as_dict() for r in kept.writes]
    assert [r.as_dict() for r in spilled.lookups] == [r.as_dict() for r in kept.lookups]
    assert spilled.summary() == kept.summary() and spilled.owners() == kept.owners()
    assert spilled.cost == kept.cost and len(spilled.records) == len(kept.records) > 0


@pytest.mark.parametrize("crm", CRMS)
def test_the_streamed_plan_json_is_the_text_of_the_whole_document(crm: str, examples: Path) -> None:
    spilled, kept = plans(load_profile(PROFILES[crm]), examples)
    for plan in (spilled, kept):
        out = io.StringIO()
        write_json(plan.json_parts(), out)
        assert out.getvalue() == json.dumps(plan.as_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
    kept.made_at = spilled.made_at
    assert spilled.as_dict() == kept.as_dict()


def test_a_stream_held_back_is_held_back_on_disk_too(examples: Path, tmp_path: Path) -> None:
    source = tmp_path / "data"
    source.mkdir()
    for path in examples.glob("*.jsonl"):  # brokers without the field a mapped path reads
        text_ = path.read_text(encoding="utf-8")
        (source / path.name).write_text(text_.replace('"broker_type"', '"kind"') if path.stem == "broker"
                                        else text_, encoding="utf-8")
    spilled, kept = plans(load_profile(PROFILES["salesforce"]), source)
    brokers = [r for r in spilled.records if r.stream == "broker"]
    assert brokers and all(r.status in ("skipped", "invalid") for r in brokers)
    assert any("held back" in note for r in brokers for note in r.notes)
    assert [r.as_dict() for r in spilled.records] == [r.as_dict() for r in kept.records]
    assert spilled.summary() == kept.summary()


def live_planned_records() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is PlannedRecord)


def test_no_planned_record_outlives_its_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate(tmp_path / "data", 1_500)
    monkeypatch.setattr(plan_module, "WINDOW", 50)
    # a window's last look-up, when not full, waits for the next window with its records (held_back):
    # at 50 a window that holds up to one look-up's worth (hundreds of records). Every look-up counted
    # full here, the bound below is the windows' alone.
    monkeypatch.setattr(render_module, "FULL_LENGTH", 0.0)
    alive: list[int] = []
    appended = RecordSpool.appended

    def counted(self: RecordSpool, chunk: list[Any]) -> None:
        alive.append(live_planned_records())
        appended(self, chunk)
    monkeypatch.setattr(RecordSpool, "appended", counted)
    plan = asyncio.run(make_plan(load_profile(PROFILES["salesforce"]), tmp_path / "data"))
    assert len(plan.records) == 1_500 and len(alive) >= 1_500 // 50
    # the streams are planned at once: a window or two each, never the records decided before
    assert max(alive) <= 5 * 2 * 50
    assert live_planned_records() == 0  # the finished plan holds none: they are on disk
    assert sum(plan.summary().values()) == 1_500


operations = st.lists(st.one_of(st.tuples(st.just("set"), st.sampled_from("abcdef"), text),
                                st.tuples(st.just("load"), st.lists(st.sampled_from("abcdefg"), max_size=4)),
                                st.tuples(st.just("flush"))), max_size=40)


@settings(max_examples=100, deadline=None)
@given(operations)
def test_what_a_plan_has_seen_on_disk_answers_as_a_dict(steps: list[tuple[Any, ...]]) -> None:
    seen, expected = SeenMap(), {}
    for step in steps:
        if step[0] == "set":
            assert seen.setdefault(step[1], step[2]) == expected.setdefault(step[1], step[2])
        elif step[0] == "load":
            seen.load(step[1])
        else:
            seen.flush()
        assert all(seen.get(key) == expected.get(key) for key in "abcdefg")
    assert len(seen) == len(expected)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(text, json_values, max_size=3), st.lists(planned, max_size=12),
       st.integers(min_value=1, max_value=50))
@example(head={"": 0.0}, records=[], read=1)  # `0.` read first as 0 (a number cut by the buffer)
@example(head={"n": 125}, records=[], read=2)
def test_a_saved_plan_read_as_a_stream_gives_its_keys_and_records(head: dict[str, Any],
                                                                     records: list[PlannedRecord],
                                                                     read: int) -> None:
    head = {k: v for k, v in head.items() if k not in ("records", "requests")}
    saved = [r.as_dict() for r in records]
    document = json.dumps({**head, "records": saved, "requests": [{"method": "GET"}] * 3}, indent=2,
                          ensure_ascii=False)
    old = jsonin.READ
    jsonin.READ = read  # values cut by every buffer's end
    try:
        data = jsonin.read_saved_plan(io.StringIO(document))
    finally:
        jsonin.READ = old
    assert {k: v for k, v in data.items() if k not in ("records", "requests")} == head
    assert data["requests"] == 3 and len(data["records"]) == len(saved)
    last = {f"{r['stream']}/{r['source_id']}": r for r in saved}  # as a dict of the list: the last wins
    for ref, record in last.items():
        assert data["records"].get(ref) == {k: record[k] for k in jsonin.KEPT}
    assert data["records"].get("no/such") is None


@pytest.mark.parametrize("broken", ["", "[]", '{"records": [1, 2', '{"a": 1,}', '{"a" 1}'])
def test_a_saved_plan_that_is_not_json_is_refused(broken: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        jsonin.read_saved_plan(io.StringIO(broken))

"""The offline plan's fast paths give what the slow paths they replace give: the plan's JSON written by
orjson is the text json.dumps(indent=2) writes; a planned record pickled as plain values is read back
equal, field for field, to the record pickle's own way gives; JSONPath parsed by one shared parser is what
jsonpath-ng's parse gives (or refuses)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import pickle
from dataclasses import fields
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jsonpath_ng.ext import parse as parse_jsonpath

from engine import jsoncodec, paths
from engine.catalog import load_connector
from engine.mapping import MappedRecord, Problem
from engine.match import record_identity
from engine.plan import STATUSES, Change, PlannedRecord, Planner, identity_and_current
from engine.spool import jsonout, sequence


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Text(str):
    pass


# every character, lone surrogates too; numbers of any size; what default=str writes
ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=6)
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
           | st.sampled_from([Colour.RED, Level.HIGH, Text("t"), dt.date(2026, 12, 2),
                              dt.datetime(2026, 12, 2, 8, 30), decimal.Decimal("1.5")]))
KEYS = ANY_TEXT | st.integers() | st.floats() | st.booleans() | st.none()
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
                      | st.dictionaries(KEYS, inner, max_size=3), max_leaves=15)


@settings(max_examples=1000, deadline=None)
@given(VALUES, st.integers(min_value=0, max_value=3))
@example(1e-05, 0)
@example(float("nan"), 1)
@example({"a": [float("inf"), 2**64]}, 2)
@example(["\ud800"], 0)
@example({1: "one"}, 1)
def test_a_value_is_written_as_json_dumps_writes_it(value: Any, depth: int) -> None:
    expected = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    assert jsonout.dumps(value, depth) == expected.replace("\n", "\n" + "  " * depth)


PATH_PIECES = st.sampled_from(["$", ".", "a", "b", "[*]", "[0]", "[1:]", "..", "*", "[", "]", "'c d'",
                               "[?(@.a == 1)]", "[?(@.b)]", "`this`", "@", "(", ")", " "])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(PATH_PIECES, max_size=7).map("".join), min_size=1, max_size=4))
@example(["$..[", "$.a.b"])  # a refused expression, then one read by the same parser
def test_one_parser_parses_as_jsonpath_ngs_parse(expressions: list[str]) -> None:
    paths.compiled.cache_clear()
    for expression in expressions:
        try:
            expected = parse_jsonpath(expression)
        except Exception as exc:  # noqa: BLE001 - whatever jsonpath-ng raises, the shared parser raises
            with pytest.raises(type(exc)):
                paths.compiled(expression)
            continue
        got = paths.compiled(expression)
        assert (type(got), str(got), repr(got)) == (type(expected), str(expected), repr(expected))


WIRE = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT
CHANGES = st.lists(st.builds(Change, ANY_TEXT, WIRE, WIRE), max_size=4)
PLANNED = st.builds(
    PlannedRecord, ANY_TEXT, ANY_TEXT, ANY_TEXT, st.sampled_from(STATUSES), ANY_TEXT,
    crm_id=st.none() | ANY_TEXT, changes=CHANGES, kept=CHANGES,
    problems=st.lists(st.builds(Problem, st.none() | ANY_TEXT, ANY_TEXT, ANY_TEXT), max_size=2),
    notes=st.lists(ANY_TEXT, max_size=2), candidates=st.lists(ANY_TEXT, max_size=2),
    values=st.dictionaries(ANY_TEXT, WIRE | st.lists(WIRE, max_size=2), max_size=4),
    identity=st.dictionaries(ANY_TEXT, st.lists(ANY_TEXT, max_size=2), max_size=2),
    parents=st.lists(st.tuples(ANY_TEXT, ANY_TEXT, ANY_TEXT), max_size=2),
    associate=st.lists(ANY_TEXT, max_size=2), merged_into=st.none() | ANY_TEXT, reason=st.none() | ANY_TEXT,
    owner=st.none() | st.sampled_from(["set", "not_found", "inactive"]))


def default_pickling(record: PlannedRecord) -> PlannedRecord:
    """What pickle's own way with a slotted dataclass gives (its state, slot by slot)."""
    rebuilt = object.__new__(PlannedRecord)
    for name in PlannedRecord.__slots__:
        object.__setattr__(rebuilt, name, pickle.loads(pickle.dumps(getattr(record, name))))
    return rebuilt


@settings(max_examples=300, deadline=None)
@given(st.lists(PLANNED, max_size=5))
def test_a_planned_record_is_read_back_as_pickle_reads_it(records: list[PlannedRecord]) -> None:
    back = pickle.loads(pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL))
    for record, read in zip(records, back, strict=True):
        slow = default_pickling(record)
        for name in PlannedRecord.__slots__:
            assert getattr(read, name) == getattr(slow, name), name
            assert type(getattr(read, name)) is type(getattr(slow, name)), name
        assert all(type(c) is Change for c in read.changes + read.kept)
        assert all(type(p) is Problem for p in read.problems)
    assert back == records


def test_every_field_of_a_planned_record_is_pickled() -> None:
    """A field added to PlannedRecord and not to its __reduce__ would be lost on disk."""
    record = PlannedRecord("s", "1", "Account", "net_new", "f:1")
    assert len(record.__reduce__()[1]) == len([f for f in fields(PlannedRecord) if f.init])


def repr_keys(planned: PlannedRecord) -> tuple[str, str]:
    """The keys `seen` was given before: the repr of tuples."""
    identity = (planned.object, *((k, v[0] if v else "") for k, v in planned.identity.items()))
    return repr(("source id", planned.ref)), repr(identity)


FEW = st.sampled_from(["", "a", "b", "1", "\0", "a\0", "[", "\ud800", '"', "a\0b"])
FEW_VALUES = FEW | st.sampled_from([1, 1.0, None, ("a",)])
ALIKE = st.builds(PlannedRecord, FEW, FEW, FEW, st.just("net_new"), FEW,
                  identity=st.dictionaries(FEW, st.lists(FEW_VALUES, max_size=2), max_size=2))


@settings(max_examples=500, deadline=None)
@given(ALIKE, ALIKE)
@example(PlannedRecord("s", "1", "a", "net_new", "f", identity={"\0": ["a"]}),
         PlannedRecord("s", "1", "a\0", "net_new", "f", identity={"": ["a"]}))
@example(PlannedRecord("s", "1", "a", "net_new", "f", identity={"b": [1]}),
         PlannedRecord("s", "1", "a", "net_new", "f", identity={"b": ["1"]}))
def test_seen_keys_tell_records_apart_as_their_reprs_did(one: PlannedRecord, other: PlannedRecord) -> None:
    new = Planner.seen_keys(one), Planner.seen_keys(other)
    old = repr_keys(one), repr_keys(other)
    assert len({*new[0], *new[1]}) == len({*old[0], *old[1]})  # no source key is an identity key
    assert (new[0][0] == new[1][0]) == (old[0][0] == old[1][0])
    assert (new[0][1] == new[1][1]) == (old[0][1] == old[1][1])


def holds_huge_float_by_recursion(value: Any) -> bool:
    """jsoncodec._holds_huge_float as it was: a call per value."""
    kind = type(value)
    if kind is float:
        return abs(value) >= float(2**63)
    if kind is dict:
        return any(holds_huge_float_by_recursion(v) for v in value.values())
    if kind is list:
        return any(holds_huge_float_by_recursion(v) for v in value)
    return False


LINE_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
                | st.sampled_from([2.0**63, -(2.0**63), 2.0**63 - 1024, 1e300]))
LINE_VALUES = st.recursive(LINE_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(ANY_TEXT, inner, max_size=3), max_leaves=15)


@settings(max_examples=1000, deadline=None)
@given(LINE_VALUES)
def test_a_huge_float_is_found_where_the_recursion_found_it(value: Any) -> None:
    assert jsoncodec._holds_huge_float(value) == holds_huge_float_by_recursion(value)


SHARED = st.lists(PLANNED, max_size=3).map(lambda records: records + records[:1])  # one object twice


@settings(max_examples=300, deadline=None)
@given(st.lists(PLANNED | VALUES | SHARED, max_size=6))
def test_a_chunk_pickled_without_memo_reads_back_as_pickle_dumps_does(chunk: list[Any]) -> None:
    """spool.sequence.dumped (Pickler.fast) against pickle.dumps, the slow path it replaces."""
    fast, slow = pickle.loads(sequence.dumped(chunk)), pickle.loads(pickle.dumps(chunk, protocol=5))
    assert repr(fast) == repr(slow)
    assert [type(item) for item in fast] == [type(item) for item in slow]


CONNECTORS = {crm: load_connector(crm).model for crm in ("salesforce", "hubspot", "dynamics", "zoho")}
KEYS_OF = [(crm, name, key) for crm, connector in CONNECTORS.items()
           for name, obj in connector.objects.items() for key in obj.identity_keys.values()]
RAW = (st.none() | st.integers() | st.sampled_from(["a@b.co", " A@B.CO ", "x@y.org;z@w.net", "https://www.Ex.com/a",
                                                    "ex.com", "California", "CA", " san  jose ", "", ";"])
       | ANY_TEXT)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(KEYS_OF), st.data())
def test_identity_and_current_in_one_pass_are_the_two_passes(crm_key: tuple[Any, ...], data: Any) -> None:
    crm, object_name, key = crm_key
    connector = CONNECTORS[crm]
    identity = {part.name: data.draw(st.lists(RAW | st.lists(RAW, max_size=2), max_size=4))
                for part in key.parts}
    current = {part.name: data.draw(st.integers(0, len(identity[part.name])))
               for part in key.parts if data.draw(st.booleans())}
    record = MappedRecord("s", "1", object_name, "f:1", identity=identity, identity_current=current)
    slow_current = Planner.current_values(SimpleNamespace(connector=connector), record,  # type: ignore[arg-type]
                                          key.parts[0])
    assert identity_and_current(connector, record, key) == (record_identity(connector, record, key),
                                                            slow_current)

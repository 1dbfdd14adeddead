"""engine/batching.py against the way a push cut batches before (each window's records of a kind in
batches of their own): the same records of each kind in the same order, and no more requests than the
batch limits need for the whole stream (never more than before)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from engine.batching import full_batches

SIZES = {"create": 3, "upsert": 5, "update": 1}
windows_of_groups = st.lists(st.lists(st.tuples(st.sampled_from(sorted(SIZES)),
                                                st.lists(st.integers(), max_size=12)), max_size=3),
                             max_size=5)


def requests(kind: str, records: list[int]) -> int:
    return math.ceil(len(records) / SIZES[kind])


def per_window(windows: list[list[tuple[str, list[int]]]]) -> list[tuple[str, list[int]]]:
    """The slow path it replaces: every window's groups as they are."""
    return [group for groups in windows for group in groups]


Windows = list[list[tuple[str, list[int]]]]


@given(windows_of_groups)
def test_full_batches_send_the_same_records_in_fewest_requests(windows: Windows) -> None:
    tagged = [[(kind, [(i, j, k, v) for k, v in enumerate(records)])
               for j, (kind, records) in enumerate(groups)]
              for i, groups in enumerate(windows)]  # every record told apart, to check the order
    before, after = per_window(tagged), list(full_batches(tagged, SIZES.__getitem__))
    for kind in SIZES:
        sent_before = [r for k, records in before if k == kind for r in records]
        sent_after = [r for k, records in after if k == kind for r in records]
        assert sent_after == sent_before
        used = sum(requests(kind, records) for k, records in after if k == kind)
        assert used == requests(kind, sent_before)
        assert used <= sum(requests(kind, records) for k, records in before if k == kind)
    assert all(records for _, records in after)  # no empty write


def test_a_remainder_waits_for_the_next_window_of_its_kind() -> None:
    windows = [[("create", [1, 2, 3, 4])], [("update", [9])], [("create", [5, 6])], []]
    assert list(full_batches(windows, SIZES.__getitem__)) == [
        ("create", [1, 2, 3]), ("update", [9]), ("create", [4, 5, 6])]

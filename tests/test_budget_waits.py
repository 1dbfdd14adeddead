"""The shared budget's answers (engine/state/budget.py), at given times (no clock read, no sleeping): a
place that frees a moment from now is waited for that moment (not a 50 ms poll, which left the CRM idle
after each of the push's own answers), and a limit whose places are all unanswered says only an answer
can free one (None), which the limiter waits for."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.connector import RateLimit
from engine.state import Store
from engine.state.budget import MIN_WAIT_S, SharedBudget

RULE = RateLimit(requests=2, per_seconds=10)


@pytest.fixture
def budget(tmp_path: Path) -> SharedBudget:
    return SharedBudget(Store(tmp_path / "state"), "https://org.example")


def test_a_place_that_frees_a_moment_from_now_is_waited_for_that_moment(budget: SharedBudget) -> None:
    first, _ = budget.take([RULE], now=100.0)
    second, _ = budget.take([RULE], now=100.0)
    assert first and second
    budget.release(first, now=100.5)
    assert budget.take([RULE], now=110.49) == (None, pytest.approx(0.01))
    assert budget.take([RULE], now=110.4999) == (None, MIN_WAIT_S)  # never a busy loop
    third, wait = budget.take([RULE], now=110.5)
    assert third and wait == 0.0


def test_a_limit_whose_places_are_all_unanswered_waits_for_an_answer(budget: SharedBudget) -> None:
    held = [budget.take([RULE], now=100.0)[0] for _ in range(RULE.requests)]
    assert all(held)
    assert budget.take([RULE], now=200.0) == (None, None)
    budget.release(held[0], now=200.0)
    assert budget.take([RULE], now=205.0) == (None, pytest.approx(5.0))

"""The end of a push groups its failures by cause as the outcomes are read back from disk
(engine/summary.py): it holds a bounded number of Failures however many records failed, and its counts
are those of every record. Counted in live objects, never in time nor memory."""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from rich.console import Console

from engine import summary as summary_module
from engine.plan import PlannedRecord
from engine.pushresult import Outcome, PushResult
from engine.summary import Failure, print_push_summary


class ReadBack(Sequence[Outcome]):
    """Outcomes made anew at each reading, as PushOutcomes reads them from disk: a third failed, a third
    skipped, a third written with a warning."""

    def __init__(self, total: int) -> None:
        self.total = total

    def __iter__(self) -> Iterator[Outcome]:
        for n in range(self.total):
            record = PlannedRecord("employer", f"e{n}", "Account", "net_new", f"employer.jsonl:{n + 1}")
            kind = ("error", "skipped", "success")[n % 3]
            yield Outcome(record, "insert", kind, error_code="REFUSED" if kind == "error" else None,
                          error=f"bad value {n}" if kind != "success" else None,
                          warnings=[f"owner {n} not found"] if kind == "success" else [])

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: Any) -> Any:
        return list(self)[index]


def printed_holding(total: int, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """The summary of a push of `total` records, and the most Failures alive at once while it was made."""
    most, made = [0], summary_module.failure_of

    def counted(outcome: Outcome) -> Failure:
        most[0] = max(most[0], sum(1 for o in gc.get_objects() if type(o) is Failure))
        return made(outcome)
    monkeypatch.setattr(summary_module, "failure_of", counted)
    result = PushResult("run1", [])
    result.outcomes = ReadBack(total)
    out = io.StringIO()
    print_push_summary(result, Console(file=out, width=200))
    return out.getvalue(), most[0]


def test_the_summary_holds_a_bounded_number_of_failures_whatever_the_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    small_text, small = printed_holding(300, monkeypatch)
    large_text, large = printed_holding(900, monkeypatch)
    assert "REFUSED — 300 records" in large_text and "REFUSED — 100 records" in small_text
    assert "Warnings[/]" not in large_text and "300, by cause" in large_text
    assert large <= small + 2 <= 5  # one being grouped, not a list of every failed record

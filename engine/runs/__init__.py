"""What each run did: the runs a state dir recorded (`list_runs`, `get_run`), a run's rejected rows
(`rejected_rows`, `rejected_csv`) and sending its failed records again (`retry_failed`). Pure calls
over the store, for the command line and the web app alike."""

from __future__ import annotations

from typing import Any

from engine.runs.listing import count_runs, get_run, list_runs
from engine.runs.model import STATES, RejectedRow, RunSummary
from engine.runs.rejected import rejected_csv, rejected_rows


def __getattr__(name: str) -> Any:
    """The retry pushes (engine.pushrun, which imports engine.runs.selection): loaded when asked for."""
    if name in ("retry_failed", "RetryRequest", "RetryResult"):
        from engine.runs import retry

        return getattr(retry, name)
    raise AttributeError(name)


__all__ = ["list_runs", "count_runs", "get_run", "rejected_rows", "rejected_csv", "retry_failed",
           "RetryRequest", "RetryResult", "RunSummary", "RejectedRow", "STATES"]

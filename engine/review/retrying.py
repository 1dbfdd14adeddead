"""Retry failed, from a run's page: engine.runs' `retry_failed` (the call `crmsync retry RUN` makes) in
a background thread. Its progress is read from what the retry's own run records as it goes (found by
its `retry_of`), polled by the page every second."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from engine.review import background
from engine.runs import RunSummary, list_runs
from engine.store import now

if TYPE_CHECKING:
    from engine.review.app import PushOptions
    from engine.runs.retry import RetryResult

NEWEST_LOOKED_AT = 10  # runs of the profile looked through for the retry's own


@dataclass
class RetryJob:
    run: RunSummary  # the run retried
    state_dir: Path
    expected: int  # its records still failing when the retry started
    started_at: str = field(default_factory=now)
    done: bool = False
    result: RetryResult | None = None
    error: str | None = None
    thread: threading.Thread | None = None

    @property
    def new_run_id(self) -> str | None:
        return self.result.push.run_id if self.result and self.result.push else None

    def new_run(self) -> RunSummary | None:
        """The run the retry started (once it has), as engine.runs reads it."""
        for run in list_runs(self.state_dir, profile=self.run.profile, limit=NEWEST_LOOKED_AT):
            if run.run_id == self.new_run_id or (run.options.get("retry_of") == self.run.run_id
                                                 and run.started_at >= self.started_at):
                return run
        return None

    def progress(self) -> dict[str, Any]:
        """How far it is: the records written, those refused again, and how many it sends."""
        run = self.new_run()
        counts = run.counts if run else {}
        total = len(self.result.refs) if self.result else self.expected
        sent = counts.get("created", 0) + counts.get("updated", 0)
        failed = counts.get("failed", 0)
        return {"run": run, "written": sent, "failed": failed, "total": total,
                "percent": int(100 * (sent + failed) / total) if total else 100,
                "notes": self.result.notes() if self.result else []}


def run_retry(job: RetryJob, options: PushOptions) -> None:
    from engine.runs import RetryRequest, retry_failed

    request = RetryRequest(job.run.run_id, state_dir=job.state_dir, base_url=options.base_url,
                           credentials_file=options.credentials_file, as_user=options.as_user,
                           team_file=options.team_file, progress=False)
    with open("/dev/null", "w", encoding="utf-8") as sink:  # noqa: PTH123 - the push prints nothing here
        job.result = retry_failed(request, Console(file=sink, force_terminal=False))
    if job.result.push is not None and job.result.push.stopped:
        job.error = job.result.push.stopped


def start_retry(run: RunSummary, state_dir: Path, expected: int, options: PushOptions) -> RetryJob:
    job = RetryJob(run, state_dir, expected)
    background.start(job, lambda: run_retry(job, options), "retry")
    return job

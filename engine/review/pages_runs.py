"""The Runs pages: every run of the state dir (state, counts, duration, who, profile; newest first, a
page at a time), one run with its rejected rows (filtered, a page at a time, downloadable as CSV) and
Retry failed, sent in the background with its progress polled by the page."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.cli_runs import seconds
from engine.errors import UsageError
from engine.review import runs_view
from engine.review.pages_plan import page_number
from engine.review.partials import part_or_page
from engine.review.retrying import RetryJob, start_retry
from engine.review.runs_view import RejectedFilter
from engine.runs import STATES, RejectedRow, RunSummary, get_run, rejected_csv, rejected_rows
from engine.store import default_state_dir

if TYPE_CHECKING:
    from engine.review.app import Pages

STATE_LABELS = {"succeeded": "Succeeded", "with_failures": "With failures", "stopped": "Stopped",
                "interrupted": "Interrupted", "running": "Running", "failed": "Failed"}
assert set(STATE_LABELS) == set(STATES)


Handler = Callable[["RunsPages", Request, RunSummary], Awaitable[Response]]


def of_run(handler: Handler) -> Callable[[RunsPages, Request], Awaitable[Response]]:
    """The handler given the run its path names; a run the state dir does not know is a 404 page."""

    @functools.wraps(handler)
    async def found(self: RunsPages, request: Request) -> Response:
        try:
            run = get_run(self.state_dir, request.path_params["run_id"])
        except UsageError as exc:
            return self.missing(request, exc)
        return await handler(self, request, run)

    return found


class RunsPages:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.retries: dict[str, RetryJob] = {}  # run retried -> its retry from this page

    @property
    def state_dir(self) -> Path:
        return self.pages.review.push.state_dir or default_state_dir()

    def render(self, request: Request, name: str, status_code: int = 200, **context: object) -> Response:
        return self.pages.render(request, name, status_code, active_section="Runs", states=STATE_LABELS,
                                 **context)

    def missing(self, request: Request, error: UsageError) -> Response:
        return self.render(request, "runs_missing.html", status_code=404, error=str(error))

    async def runs(self, request: Request) -> Response:
        listed = runs_view.runs_page(self.state_dir, page_number(request))
        return self.render(request, "runs.html", listed=listed, state_dir=self.state_dir)

    def run_context(self, request: Request, run_id: str,
                    every: list[RejectedRow] | None = None) -> dict[str, object]:
        chosen = RejectedFilter.of(request.query_params)
        return {"filter": chosen, "rows": runs_view.rejected_page(self.state_dir, run_id, chosen,
                                                                  page_number(request), every)}

    @of_run
    async def run(self, request: Request, run: RunSummary) -> Response:
        run_id = run.run_id
        job = self.retries.get(run_id)
        every = rejected_rows(self.state_dir, run_id)
        return self.render(request, "run.html", run=run, choices=runs_view.choices_of(every),
                           failing=runs_view.still_failing(every), retry_job=job,
                           retry=job.progress() if job else None, **self.run_context(request, run_id, every))

    @of_run
    async def rejected(self, request: Request, run: RunSummary) -> Response:
        """The rejected rows' table alone (htmx swaps it in)."""
        context = self.run_context(request, run.run_id)
        shown = f"/runs/{run.run_id}?" + context["filter"].query()  # type: ignore[attr-defined]
        return part_or_page(request, shown,
                            lambda: self.render(request, "_rejected.html", run=run, **context))

    @of_run
    async def csv(self, request: Request, run: RunSummary) -> Response:
        """The rejected rows the filter shows, every page of them, as `crmsync runs RUN --failed --format
        csv` writes them (cells that a spreadsheet would run as a formula made text)."""
        chosen = RejectedFilter.of(request.query_params)
        rows = runs_view.filtered_rejected(self.state_dir, run.run_id, chosen)
        return Response(rejected_csv(rows), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{runs_view.csv_filename(run)}"',
            "X-Content-Type-Options": "nosniff"})

    @of_run
    async def retry(self, request: Request, run: RunSummary) -> Response:
        run_id = run.run_id
        job = self.retries.get(run_id)
        if job is not None and not job.done:
            return self.render(request, "_retry.html", status_code=409, run=run, retry_job=job,
                               retry=job.progress(), note="a retry of this run is already running")
        if run.kind != "push":
            return self.render(request, "_retry.html", status_code=409, run=run, retry_job=None, retry=None,
                               note="this run holds a person's link/import decisions: nothing to send again")
        failing = runs_view.still_failing(rejected_rows(self.state_dir, run_id))
        job = self.retries[run_id] = start_retry(run, self.state_dir, failing, self.pages.review.push)
        return self.render(request, "_retry.html", run=run, retry_job=job, retry=job.progress(), note=None)

    async def retry_progress(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        job = self.retries.get(run_id)
        if job is None:
            return self.render(request, "_retry.html", run=None, retry_job=None, retry=None,
                               note="no retry of this run was started from this page")
        return self.render(request, "_retry.html", run=job.run, retry_job=job, retry=job.progress(),
                           note=None)


def when(stamp: str | None) -> str:
    """A stored UTC time as a person reads it: `2026-12-02 07:08:16 UTC`."""
    return f"{stamp.replace('T', ' ')[:19]} UTC" if stamp else "—"


def runs_routes(pages: Pages) -> list[BaseRoute]:
    pages.templates.env.filters.update(when=when, took=seconds)  # as `crmsync runs` says it
    runs = RunsPages(pages)
    return [Route("/runs", runs.runs), Route("/runs/{run_id}", runs.run),
            Route("/runs/{run_id}/rejected", runs.rejected), Route("/runs/{run_id}/rejected.csv", runs.csv),
            Route("/runs/{run_id}/retry", runs.retry, methods=["POST"]),
            Route("/runs/{run_id}/retry", runs.retry_progress, methods=["GET"])]

"""Push now: the approved selection sent from the page by the same engine call as `crmsync push --plan`,
in a background thread. Its progress is read from what the push itself records as it goes (the state
dir's run and its activity rows), polled by the page every second."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.errors import CrmsyncError
from engine.review import background
from engine.review.choose import Approved, approve
from engine.state import StateStore, default_state_dir, now, open_store

if TYPE_CHECKING:
    from engine.review.app import Pages, Review


@dataclass
class PushJob:
    approved: Approved
    state_dir: Path
    profile: str
    started_at: str = field(default_factory=now)
    done: bool = False
    summary: dict[str, int] | None = None
    run_id: str | None = None
    error: str | None = None
    thread: threading.Thread | None = None

    def progress(self) -> dict[str, Any]:
        """The run this push started (once it has), the records it has written and the total."""
        run_id, counts = self.run_id, {"success": 0, "error": 0}
        store = open_store(self.state_dir)  # the push's own store: the state URL's, when one is set
        try:
            run_id = run_id or _run_since(store, self.profile, self.started_at)
            if run_id:
                counts.update((r[0], r[1]) for r in store.db.execute(
                    "SELECT result, COUNT(DISTINCT stream || '/' || source_id) FROM activity "
                    "WHERE run_id = ? AND action IN ('insert', 'update') GROUP BY result", (run_id,)))
        finally:
            store.close()
        total, written = self.approved.records, counts["success"]  # written: what the CRM accepted
        return {"run_id": run_id, "written": written, "refused": counts["error"], "total": total,
                "percent": int(100 * written / total) if total else 100}


def _run_since(store: StateStore, profile: str, started_at: str) -> str | None:
    found = store.db.execute("SELECT run_id FROM runs WHERE profile = ? AND started_at >= ? "
                       "ORDER BY started_at DESC LIMIT 1", (profile, started_at)).fetchone()
    return found[0] if found else None


def run_job(review: Review, job: PushJob) -> None:
    """The push of the approved selection, as `crmsync push --plan` sends it; it prints nothing here."""
    from engine.pushrun import PushRequest, run_push

    options = review.push
    request = PushRequest(None, None, plan_file=job.approved.path, base_url=options.base_url,
                          as_user=options.as_user, state_dir=job.state_dir,
                          credentials_file=options.credentials_file, progress=False,
                          team_file=options.team_file)
    result = run_push(request, Console(file=io.StringIO(), force_terminal=False))
    job.run_id, job.summary = result.run_id, result.summary()
    job.error = result.stopped


def start(review: Review) -> PushJob:
    approved = approve(review)
    state_dir = review.push.state_dir or default_state_dir()
    job = PushJob(approved, state_dir, review.plan_head()["profile"])
    background.start(job, lambda: run_job(review, job), "push")
    return job


def push_routes(pages: Pages) -> list[BaseRoute]:
    review = pages.review

    async def push_now(request: Request) -> Response:
        if review.job is not None and not review.job.done:
            return pages.render(request, "_progress.html", status_code=409, progress=review.job.progress(),
                                note="a push from this page is already running")
        try:
            review.job = await run_in_threadpool(start, review)
        except CrmsyncError as exc:
            return pages.render(request, "_progress.html", status_code=409, progress=None, note=str(exc))
        return pages.render(request, "_progress.html", progress=review.job.progress(), note=None)

    async def progress(request: Request) -> Response:
        job = review.job
        return pages.render(request, "_progress.html", progress=job.progress() if job else None, note=None)

    return [Route("/push", push_now, methods=["POST"]), Route("/push/progress", progress)]

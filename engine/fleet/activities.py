"""The push's steps as Temporal activities, run by `crmsync worker`:

- `crmsync.prepare`: the profile, its connector and the source read and checked, and the state store
  reached, before anything is sent (a malformed profile fails the workflow at once, not after retries);
- `crmsync.push`: `crmsync push` itself, in a thread, heartbeating its progress. The engine journals
  each batch in the state store before sending it, so when a worker dies (kill -9 too) the next attempt,
  on any worker, finds what the dead one wrote and links it instead of creating it again.

A worker stopped (SIGTERM, Ctrl-C: the worker's shutdown) or an activity cancelled (the workflow
cancelled, or Temporal taking the worker for dead) stops its push as a first Ctrl-C does: nothing more
is sent, the batches in flight are answered and journaled, the run is recorded `interrupted`; the
activity then fails (a shutdown: retryable, type WorkerStopped) or reports cancelled, and the next
attempt, on any worker, resumes from the journal.

Errors a retry cannot mend (exit code 2 of the CLI: bad input) are non-retryable; the push lock being
held (another push of this profile and org, e.g. a dead attempt whose lock the server has not dropped
yet) and an unreachable state store are retried."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from engine.errors import CrmsyncError
from engine.fleet.model import Progress, PushJob, PushSummary
from engine.fleet.watch import Watch, quiet_console
from engine.interrupt import Halt, halted_by
from engine.state import PushRunning

log = logging.getLogger("crmsync.fleet")
BAD_INPUT = "BadInput"
WORKER_STOPPED = "WorkerStopped"
ANSWERED = "the requests in flight were answered and recorded; the next attempt resumes from the journal"
STOPPED = f"interrupted: the worker was stopped (SIGTERM or Ctrl-C); {ANSWERED}"
CANCELLED = f"interrupted: Temporal cancelled the activity; {ANSWERED}"


def refused(exc: CrmsyncError) -> ApplicationError:
    """A crmsync error as Temporal records it: its message (which never holds a secret, DESIGN.md rule 5)
    and whether another attempt may succeed."""
    from engine.state.postgres import StateUnavailable

    transient = isinstance(exc, PushRunning | StateUnavailable)
    return ApplicationError(str(exc), type=type(exc).__name__ if transient else BAD_INPUT,
                            non_retryable=not transient)


@activity.defn(name="crmsync.prepare")
def prepare(job: PushJob) -> int:
    """The checks `crmsync push` makes before it sends; the number of streams the profile pushes."""
    from engine.catalog import load_profile
    from engine.pushrun import refuse_missing_files
    from engine.state import open_store
    from engine.validate import refuse_unplannable

    try:
        bundle = load_profile(Path(job.profile))
        refuse_unplannable(bundle)
        refuse_missing_files(bundle, Path(job.source))
        open_store().close()  # reachable, migrations applied
    except CrmsyncError as exc:
        raise refused(exc) from None
    return len(bundle.profile.model.streams)


def push_blocking(job: PushJob, watch: Watch, halt: Halt) -> PushSummary:
    from engine.pushrun import PushRequest, run_push

    optional = {"credentials_file": job.credentials_file, "team_file": job.team_file}
    request = PushRequest(Path(job.profile), Path(job.source), base_url=job.base_url, as_user=job.as_user,
                          progress=False, daily_reserve=job.daily_reserve, watch=watch,
                          **{k: Path(v) for k, v in optional.items() if v})
    try:
        with halted_by(halt):
            result = run_push(request, quiet_console())
    except CrmsyncError as exc:
        raise refused(exc) from None
    return PushSummary(run_id=result.run_id, summary=result.summary(), stopped=result.stopped,
                       interrupted=result.interrupted, notices=list(result.notices),
                       warnings=[str(w) for w in result.warnings], attempts=watch.now.attempt)


def resumed_note(info: activity.Info) -> str:
    if info.attempt == 1:
        return ""
    before = info.heartbeat_details[0] if info.heartbeat_details else {}
    sent = sum(s.get("sent", 0) for s in (before.get("streams") or {}).values()) if isinstance(before, dict) \
        else 0
    return (f"attempt {info.attempt}: resumed from the journal after attempt {info.attempt - 1} "
            f"({before.get('worker', 'a worker') if isinstance(before, dict) else 'a worker'}, "
            f"{sent} record(s) sent) stopped")


@activity.defn(name="crmsync.push")
async def push(job: PushJob) -> PushSummary:
    """The push in a thread; a heartbeat with its progress every third of the heartbeat timeout, and
    the same progress, when it changed, signalled to the workflow for its `progress` query. Stopped at
    the next batch boundary when the worker stops or the activity is cancelled."""
    info = activity.info()
    watch = Watch(info.attempt, resumed_note(info))
    if watch.now.note:
        log.info("%s %s", info.workflow_id, watch.now.note)
    halt = Halt()
    pushing = asyncio.get_running_loop().run_in_executor(None, push_blocking, job, watch, halt)
    try:
        summary = await heartbeating(info, job, watch, pushing, halt)
    except asyncio.CancelledError:
        halt.request(CANCELLED)
        log.warning("%s: activity cancelled; stopping its push at the next batch boundary", info.workflow_id)
        await ended(pushing)
        raise
    if halt.why is not None and summary.interrupted:
        log.warning("%s: push stopped, run %s recorded interrupted", info.workflow_id, summary.run_id)
        raise ApplicationError(f"{halt.why} (run {summary.run_id})", type=WORKER_STOPPED)
    return summary


async def heartbeating(info: activity.Info, job: PushJob, watch: Watch, pushing: asyncio.Future[PushSummary],
                       halt: Halt) -> PushSummary:
    """The push's summary once its thread ends; its progress heartbeated and reported meanwhile; a stop
    asked of it once the worker begins to shut down."""
    shutdown = asyncio.ensure_future(activity.wait_for_worker_shutdown())
    reported: Progress | None = None
    try:
        while True:
            done, _ = await asyncio.wait({pushing, shutdown}, timeout=max(job.heartbeat_seconds / 3, 0.2),
                                         return_when=asyncio.FIRST_COMPLETED)
            if shutdown in done and halt.why is None:
                halt.request(STOPPED)
                log.warning("%s: worker stopping; stopping its push at the next batch boundary",
                            info.workflow_id)
            progress = watch.snapshot()
            activity.heartbeat(asdict(progress))
            if progress != reported:
                await report(info, progress)
                reported = progress
            if pushing in done:
                return pushing.result()
    finally:
        shutdown.cancel()


async def ended(pushing: asyncio.Future[PushSummary]) -> None:
    """Wait for the push's thread to end (its in-flight batches answered), whatever else is cancelled."""
    while not pushing.done():
        try:
            await asyncio.shield(pushing)
        except asyncio.CancelledError:
            continue
        except Exception:  # noqa: BLE001 - the activity is cancelled: how the push ended is in its run
            return


async def report(info: activity.Info, progress: Progress) -> None:
    """The workflow told how the push goes; a report lost (the workflow closing) costs nothing."""
    try:
        handle = activity.client().get_workflow_handle(info.workflow_id, run_id=info.workflow_run_id)
        await handle.signal("report", progress)
    except Exception as exc:  # noqa: BLE001 - progress only: the push goes on whatever happens here
        log.debug("progress of %s not reported: %s", info.workflow_id, exc)

"""`crmsync worker`, `crmsync enqueue` and `crmsync schedule`: crmsync on Temporal. Registered on
engine.cli's app by `register`; temporalio is imported only when one of them runs (extra `fleet`).
Exit codes as the contract says: 0 all well; 1 findings (records that failed, a push of the same
profile and org already running); 2 bad usage (no state URL for a worker, Temporal unreachable, a
malformed profile)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from engine.cli_pull import CredentialsFile, consoles, fail
from engine.cli_state import chosen
from engine.errors import CrmsyncError, UsageError
from engine.fleet.model import DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE, PushJob

if TYPE_CHECKING:
    from temporalio.client import Client

    from engine.fleet.connection import TemporalConnection
    from engine.fleet.model import PushSummary

T = TypeVar("T")
COUNTS = ("created", "updated", "unchanged", "skipped", "failed")
Temporal = Annotated[str, typer.Option("--temporal", envvar="CRMSYNC_TEMPORAL", show_envvar=True,
                                       help="the Temporal frontend, HOST:PORT")]
Namespace = Annotated[str, typer.Option("--namespace", "--temporal-namespace", help="the Temporal namespace")]
Tls = Annotated[bool, typer.Option("--temporal-tls", help="reach Temporal over TLS (the system's CAs unless "
                                   "--temporal-tls-ca); implied by the certificate options and by an API key "
                                   "(Temporal Cloud), which is read from $CRMSYNC_TEMPORAL_API_KEY only")]
TlsCa = Annotated[Path | None, typer.Option("--temporal-tls-ca", metavar="FILE", help="PEM file of the CA "
                                            "that signed the Temporal server's certificate")]
TlsCert = Annotated[Path | None, typer.Option("--temporal-tls-cert", metavar="FILE", help="PEM client "
                                              "certificate, for a server that requires mTLS (with "
                                              "--temporal-tls-key)")]
TlsKey = Annotated[Path | None, typer.Option("--temporal-tls-key", metavar="FILE", help="PEM private key of "
                                             "--temporal-tls-cert")]
TaskQueue = Annotated[str, typer.Option("--task-queue", help="the task queue the workers poll")]
Source = Annotated[Path | None, typer.Option("--source", help="folder of source files (the same path on "
                                             "every worker)")]
BaseUrl = Annotated[str | None, typer.Option("--base-url", help="the CRM's API base URL: the org")]
AsUser = Annotated[str | None, typer.Option("--as", help="who triggers the runs (activity log)")]
Team = Annotated[Path | None, typer.Option("--team", help="the team file (default team.yaml beside the "
                                           "profile)")]
Heartbeat = Annotated[float, typer.Option("--heartbeat-timeout", min=1, help="seconds without a heartbeat "
                                          "after which a push's worker is taken for dead and the push "
                                          "resumed by another")]
WorkerStateUrl = Annotated[str | None, typer.Option(
    "--state-url", envvar="CRMSYNC_STATE_URL", show_envvar=True, callback=chosen,
    help="the PostgreSQL state store every worker shares (postgresql://user@host:5432/db; the password "
    "from PGPASSWORD or ~/.pgpass rather than in the URL): required")]
Reserve = Annotated[int, typer.Option("--daily-reserve", min=0, max=100, help="percent of the CRM's daily "
                                      "API allocation left to the org's other integrations")]


def needs_temporal() -> None:
    try:
        import temporalio  # noqa: F401
    except ImportError:
        raise UsageError("crmsync on Temporal needs the SDK: pip install 'crmsync[fleet]'") from None


CONNECTED: list[bool] = []  # a Temporal client was made (or tried: the SDK's runtime started) here


def leave(code: int) -> typer.Exit:
    """The exit, with the code: where a Temporal client was made, the process ends without the
    interpreter's finalization, in which the SDK's Rust threads may abort it after the work is done
    (temporalio/sdk-python issue 300: `PyGILState_Release ... finalizing`, exit -6)."""
    if CONNECTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return typer.Exit(code)


def run(work: Callable[[], Awaitable[T]]) -> T:
    """An async command's body, its crmsync errors as the exit codes say."""
    import asyncio  # ~20 ms to import: only a fleet command that runs needs it

    try:
        needs_temporal()
        return asyncio.run(refusals_told(work))
    except CrmsyncError as exc:
        fail(exc)
        raise leave(exc.exit_code) from None


async def refusals_told(work: Callable[[], Awaitable[T]]) -> T:
    """A request Temporal refuses (a namespace it does not have, a permission the API key lacks): bad
    usage, saying what Temporal said, not a traceback."""
    from temporalio.service import RPCError

    from engine.fleet.connection import API_KEY_ENV, TemporalConnection

    try:
        return await work()
    except RPCError as exc:
        key = TemporalConnection.api_key()
        said = str(exc).replace(key, "***") if key else str(exc)
        raise UsageError(f"Temporal refused the request: {said} (check --namespace, and the rights of the "
                         f"API key in {API_KEY_ENV} if one is set)") from None


def connection(temporal: str, namespace: str, tls: bool, ca: Path | None, cert: Path | None,
               key: Path | None) -> TemporalConnection:
    from engine.fleet.connection import TemporalConnection

    if not temporal:
        raise UsageError("give --temporal HOST:PORT (or CRMSYNC_TEMPORAL)")
    return TemporalConnection(temporal, namespace, tls, ca, cert, key)


async def client_for(temporal: TemporalConnection) -> Client:
    from engine.fleet.connection import connect

    temporal.tls_config()  # the certificate files read (or refused) before the SDK's runtime starts
    CONNECTED.append(True)  # a failed connection starts the SDK's runtime too, and aborts the same way
    return await connect(temporal)


async def connected_job(temporal: TemporalConnection, profile: Path, source: Path | None,
                        base_url: str | None, credentials: Path | None, team: Path | None,
                        **options: Any) -> tuple[Client, PushJob]:
    """A client of Temporal, and the push job (told whether the server has crmsync's search attributes)."""
    from engine.fleet.client import has_search_attributes

    client = await client_for(temporal)
    job = job_from(profile, source, base_url, credentials, team_file=str(team.resolve()) if team else None,
                   search_attributes=await has_search_attributes(client, temporal.namespace), **options)
    return client, job


def job_from(profile: Path, source: Path | None, base_url: str | None, credentials: Path | None,
             **options: Any) -> PushJob:
    from engine.fleet.jobs import make_job

    if source is None:
        raise UsageError("give --source DIR: the folder of source files")
    return make_job(profile, source, base_url, credentials, **options)


def worker(
    temporal: Temporal,
    state_url: WorkerStateUrl = None,
    task_queue: TaskQueue = DEFAULT_TASK_QUEUE,
    namespace: Namespace = DEFAULT_NAMESPACE,
    max_pushes: Annotated[int, typer.Option("--max-pushes", min=1, help="pushes carried at once")] = 4,
    tls: Tls = False,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
) -> None:
    """Run a Temporal worker that carries out crmsync pushes (until SIGTERM or Ctrl-C)."""
    from engine.state import state_url as chosen_url

    def body() -> Awaitable[None]:
        temporal_at = connection(temporal, namespace, tls, tls_ca, tls_cert, tls_key)
        temporal_at.tls_config()  # the certificate files read (or refused) before anything else
        if chosen_url() is None:
            raise UsageError("a worker needs --state-url postgresql://… (or CRMSYNC_STATE_URL): the state "
                             "store every worker shares (links, journal, activity log)")
        from engine.fleet.worker import WorkerOptions, serve
        from engine.state import open_store

        open_store().close()  # reachable, migrations applied, before the worker takes any work
        CONNECTED.append(True)
        return serve(WorkerOptions(temporal_at, task_queue, max_pushes))

    run(body)
    raise leave(0)


def enqueue(
    profile: Annotated[Path, typer.Argument(help="the profile YAML file")],
    temporal: Temporal,
    source: Source = None,
    base_url: BaseUrl = None,
    as_user: AsUser = None,
    credentials: CredentialsFile = None,
    team: Team = None,
    task_queue: TaskQueue = DEFAULT_TASK_QUEUE,
    namespace: Namespace = DEFAULT_NAMESPACE,
    wait: Annotated[bool, typer.Option("--wait", help="wait for the push to end; print its summary")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    heartbeat: Heartbeat = 30.0,
    daily_reserve: Reserve = 10,
    tls: Tls = False,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
) -> None:
    """Start a push of PROFILE on Temporal (one per profile and CRM org at a time)."""
    async def body() -> PushSummary | None:
        from engine.fleet.client import enqueue as start

        temporal_at = connection(temporal, namespace, tls, tls_ca, tls_cert, tls_key)
        client, job = await connected_job(temporal_at, profile, source, base_url, credentials, team,
                                          as_user=as_user, heartbeat_seconds=heartbeat,
                                          daily_reserve=daily_reserve / 100)
        handle = await start(client, job, task_queue)
        consoles()[1].print(f"enqueued {handle.id} (run {handle.result_run_id}) on task queue {task_queue}",
                            markup=False, highlight=False)
        return await finished(handle) if wait else None

    summary = run(body)
    if summary is not None:
        print_summary(summary, fmt)
        raise leave(1 if summary.summary.get("failed") or summary.stopped else 0)
    raise leave(0)


async def finished(handle: Any) -> PushSummary:
    from temporalio.client import WorkflowFailureError

    try:
        return await handle.result()
    except WorkflowFailureError as exc:
        cause = exc.cause
        raise CrmsyncError(f"{handle.id}: {getattr(cause, 'message', None) or cause or exc}") from None


def print_summary(summary: PushSummary, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(asdict(summary), indent=2, ensure_ascii=False) + "\n")
        return
    s = summary.summary
    if summary.skipped:
        print(f"skipped: {summary.skipped}")
        return
    counts = ", ".join(f"{s.get(k, 0):,} {k}" for k in COUNTS)
    resumed = f" (in {summary.attempts} attempts: resumed from the journal)" if summary.attempts > 1 else ""
    print(f"Run {summary.run_id}: {counts}{resumed}")
    stopped = [f"stopped: {summary.stopped}"] if summary.stopped else []
    for line in [*summary.warnings, *summary.notices, *stopped]:
        print(line)
    print(f"See every operation with: crmsync log --run {summary.run_id} --state-url …")


def schedule(
    profile: Annotated[Path | None, typer.Argument(help="the profile YAML file")] = None,
    temporal: Temporal = "",
    every: Annotated[str | None, typer.Option("--every", help="how often: 1h, 30m, 1h30m, 1d…")] = None,
    delete: Annotated[bool, typer.Option("--delete", help="delete the profile's schedule")] = False,
    trigger: Annotated[bool, typer.Option("--trigger", help="start the scheduled push now")] = False,
    list_them: Annotated[bool, typer.Option("--list", help="list crmsync's schedules")] = False,
    source: Source = None,
    base_url: BaseUrl = None,
    as_user: AsUser = None,
    credentials: CredentialsFile = None,
    team: Team = None,
    task_queue: TaskQueue = DEFAULT_TASK_QUEUE,
    namespace: Namespace = DEFAULT_NAMESPACE,
    heartbeat: Heartbeat = 30.0,
    daily_reserve: Reserve = 10,
    tls: Tls = False,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
) -> None:
    """Push PROFILE on a Temporal Schedule (`--every`), or --delete / --trigger it, or --list them all."""
    try:
        temporal_at = connection(temporal, namespace, tls, tls_ca, tls_cert, tls_key)
    except UsageError as exc:
        raise fail(exc) from None
    if list_them:
        return list_schedules(temporal_at)
    if profile is None or sum([every is not None, delete, trigger]) != 1:
        raise fail(UsageError("give PROFILE with one of --every INTERVAL, --delete or --trigger (or --list)"))

    async def body() -> str:
        from engine.fleet import client as fleet
        from engine.fleet.jobs import interval, make_job

        if every is None:  # --delete or --trigger: the profile and org name the schedule
            job = make_job(profile, source or Path.cwd(), base_url, credentials)
            client = await client_for(temporal_at)
            if delete:
                await fleet.delete_schedule(client, job.profile_name, job.org)
                return f"deleted the schedule of {job.profile_name} to {job.org}"
            await fleet.trigger_schedule(client, job.profile_name, job.org)
            return f"triggered the schedule of {job.profile_name} to {job.org}"
        period = interval(every)
        client, job = await connected_job(temporal_at, profile, source, base_url, credentials, team,
                                          as_user=as_user, heartbeat_seconds=heartbeat,
                                          daily_reserve=daily_reserve / 100)
        done = await fleet.create_schedule(client, job, period, task_queue)
        return (f"{done} the schedule {fleet.schedule_id(job.profile_name, job.org)}: a push every {period} "
                "(skipped while one of this profile and org runs)")

    print(run(body))
    raise leave(0)


def list_schedules(temporal: TemporalConnection) -> None:
    async def body() -> list[Any]:
        from engine.fleet.client import list_schedules as listed

        return await listed(await client_for(temporal))

    rows = run(body)
    if not rows:
        print("no crmsync schedules")
    for row in rows:
        print(f"{row.id}  every {row.every}  next {row.next_at or '-'}  last {row.last or '-'}")
    raise leave(0)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.command("enqueue")(enqueue)
    app.command("schedule")(schedule)

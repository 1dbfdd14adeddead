"""Helpers for the fleet tests and benchmark: `crmsync worker` processes (a state schema, a home and a
task queue of their own per test), `crmsync enqueue` as a user types it, and a Temporal client to follow
the workflows."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.sandbox.common import running
from engine.sandbox.hubspot import HubSpotSandbox
from tests.pushkit import PROFILES, credentials_file, duplicates, expected_objects
from tests.test_push import identity_values

if TYPE_CHECKING:
    from tests.pgserver import Server

ROOT = Path(__file__).resolve().parent.parent
COUNTS = ("created", "updated", "unchanged", "skipped", "failed")  # a push summary's, as runs shows them


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "CRMSYNC_HOME": str(home), "CRMSYNC_NO_ENTRY_POINTS": "1"}


def crmsync(*args: str, home: Path, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], env={**env_for(home), **(env or {})},
                          capture_output=True, text=True, timeout=timeout, check=False)


@dataclass
class Workers:
    """`crmsync worker` processes on one task queue, each started and waited for until it is ready."""

    address: str
    state_url: str
    task_queue: str
    home: Path
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    def start(self, max_pushes: int = 4) -> subprocess.Popen[str]:
        log_path = self.home / f"worker-{len(self.processes)}.log"
        log = log_path.open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "worker", "--temporal", self.address, "--state-url",
             self.state_url, "--task-queue", self.task_queue, "--max-pushes", str(max_pushes)],
            env=env_for(self.home), stdout=subprocess.PIPE, stderr=log, text=True)
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.rstrip().endswith("ready"):
                self.processes.append(process)
                return process
            if not line and process.poll() is not None:
                break
        process.kill()
        raise RuntimeError(f"worker not ready: {log_path.read_text(errors='replace')}")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.home.glob("worker-*.log")))


@contextmanager
def running_workers(address: str, state_url: str, task_queue: str, home: Path, count: int = 2,
                    max_pushes: int = 4) -> Iterator[Workers]:
    home.mkdir(parents=True, exist_ok=True)
    workers = Workers(address, state_url, task_queue, home)
    try:
        for _ in range(count):
            workers.start(max_pushes)
        yield workers
    finally:
        workers.stop()


async def received_whole(receive: Receive) -> Receive:
    """The request's body read now, as a server that has received a request applies it whether or not
    its client is still there to hear the answer; the app reads it afterwards from the returned one."""
    body, more = b"", True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return receive
        body, more = body + message.get("body", b""), message.get("more_body", False)
    replayed = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return replayed.pop() if replayed else await receive()

    return replay


class OneWriteAtATime(HubSpotSandbox):
    """HubSpot answering batch writes one at a time, each after `pause` seconds (a CRM that throttles):
    a push of a few hundred records sends for seconds, long enough to kill its worker in the middle. A
    batch received is applied even when its sender died waiting for the answer. `unique_ids=False`: the
    BenefitFlow id property without hasUniqueValue (a custom property as a portal may have made it),
    so that, with duplicate_rules=False as well, nothing at the CRM refuses a record created twice."""

    def __init__(self, pause: float, unique_ids: bool = True, **options: Any) -> None:
        super().__init__(**options)
        self.pause = pause
        for properties in self.schema.values():
            if "benefitflow_id" in properties:
                properties["benefitflow_id"]["hasUniqueValue"] = unique_ids
        self.gate: asyncio.Lock | None = None
        self.creating = 0  # batch creates of records received whole and not answered yet

    def app(self) -> ASGIApp:
        inner = super().app()

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or "/batch/" not in scope["path"] or scope["path"].endswith("/read"):
                await inner(scope, receive, send)
                return
            self.gate = self.gate or asyncio.Lock()
            creates = scope["path"].startswith("/crm/v3/objects/") and scope["path"].endswith("/batch/create")
            whole = await received_whole(receive)
            self.creating += creates
            try:
                async with self.gate:
                    await asyncio.sleep(self.pause)
                    await inner(scope, whole, send)
            finally:
                self.creating -= creates

        return app


@contextmanager
def served_slow_hubspot(pause: float, **options: Any) -> Iterator[tuple[OneWriteAtATime, str]]:
    """`options`: OneWriteAtATime's and HubSpotSandbox's (unique_ids=False, duplicate_rules=False: a
    HubSpot without a unique identity, where a record created twice is held twice)."""
    sandbox = OneWriteAtATime(pause, **options)
    with running(sandbox) as url:
        yield sandbox, url


def generated(factory: Any, records: int, seed: int) -> Path:
    """A generated source of about `records` records (several full batches per stream) in a temp dir."""
    from engine.exampledata import generate

    directory: Path = factory.mktemp("source")
    generate(directory, records, seed=seed)
    return directory


@contextmanager
def fresh_fleet(address: str, pg: Server, home: Path, count: int = 2,
                password: str = "") -> Iterator[Workers]:
    """Two workers for one test: a state schema, a home (credentials) and a task queue of their own,
    so that no test sees another's links, runs or workflows (a module-wide store let one test's links
    of a profile meet the next test's empty sandbox). `password`: in the state URL (the test server
    trusts every local connection, so any password is accepted and none is needed)."""
    url = pg.fresh_schema()
    if password:
        url = url.replace("://crmsync@", f"://crmsync:{password}@", 1)
    with running_workers(address, url, f"crmsync-{home.name}", home, count) as workers:
        yield workers


def enqueue(fleet: Workers, crm: str, source: Path, url: str, *more: str,
            env: dict[str, str] | None = None, heartbeat: float = 2) -> subprocess.CompletedProcess[str]:
    creds = credentials_file(crm, fleet.home / "creds")
    return crmsync("enqueue", str(PROFILES[crm]), "--source", str(source), "--base-url", url,
                   "--credentials", str(creds), "--temporal", fleet.address, "--task-queue", fleet.task_queue,
                   "--heartbeat-timeout", str(heartbeat), *more, home=fleet.home, env=env)


@cache
def wid(crm: str, url: str) -> str:
    """The workflow id of the profile's push to the emulator at `url`: its org is the account id the
    emulator answers (`<crm>:<id>`), as `enqueue` learns it with the profile's credentials."""
    from engine.auth import Credentials
    from engine.catalog import load_profile
    from engine.fleet.jobs import _learn
    from engine.fleet.model import workflow_id

    bundle = load_profile(PROFILES[crm])
    creds = Credentials.read(credentials_file(crm, Path(tempfile.mkdtemp()) / "wid"))
    org = asyncio.run(_learn(bundle, creds, url))
    assert org.account_id is not None and org.key.startswith(f"{crm}:"), org
    return workflow_id(bundle.profile.model.name, org.key)


async def progress_of(address: str, workflow: str) -> Any:
    from temporalio.client import Client

    from engine.fleet.workflows import PushWorkflow

    client = await Client.connect(address)
    return await client.get_workflow_handle(workflow).query(PushWorkflow.progress)


@dataclass
class Seen:
    """What Temporal shows of a workflow besides its result."""

    memo: dict[str, Any]
    search_attributes: dict[str, Any]  # crmsync's, by name


async def result_of(address: str, workflow: str) -> tuple[Any, Seen]:
    """The push's summary once it ended, and its workflow's memo and search attributes."""
    from temporalio.client import Client

    from engine.fleet.workflows import PushWorkflow

    client = await Client.connect(address)
    handle = client.get_workflow_handle_for(PushWorkflow.run, workflow)  # type: ignore[arg-type]
    summary = await asyncio.wait_for(handle.result(), timeout=120)
    described = await handle.describe()
    attributes = {pair.key.name: pair.value for pair in described.typed_search_attributes
                  if pair.key.name.startswith("Crmsync")}
    return summary, Seen(await described.memo(), attributes)


def finished(address: str, workflow: str) -> tuple[Any, Seen]:
    return asyncio.run(result_of(address, workflow))


def sent_so_far(address: str, workflow: str) -> tuple[int, str]:
    progress = asyncio.run(progress_of(address, workflow))
    return sum(s.sent for s in progress.streams.values()), progress.worker


def wait_for(check: Any, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.1)
    raise AssertionError(f"not so within {seconds}s")


def holds_each_record_once(crm: str, url: str, source: Path) -> int:
    """The number of records the CRM holds, once each asserted: no duplicate, none missing."""
    companies, people = identity_values(crm, url)
    expected = expected_objects(crm, source)
    assert duplicates(companies) == {} and duplicates(people) == {}
    assert len(companies) + len(people) == sum(expected.values()), (crm, expected)
    return len(companies) + len(people)


def activity_log(fleet: Workers, profile: str) -> list[dict[str, Any]]:
    listed = crmsync("log", "--profile", profile, "--state-url", fleet.state_url, "--format", "json",
                     home=fleet.home)
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)


def runs_of(fleet: Workers, profile: str) -> list[dict[str, Any]]:
    listed = crmsync("runs", "--profile", profile, "--state-url", fleet.state_url, "--format", "json",
                     home=fleet.home)
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)

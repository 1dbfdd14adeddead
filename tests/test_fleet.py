"""crmsync on Temporal, end to end: a Temporal dev server and PostgreSQL started by the tests on
127.0.0.1, two `crmsync worker` processes, pushes enqueued for several profiles against served
sandboxes, a worker killed with SIGKILL mid-push, and every CRM holding each record once; a second
enqueue of a running profile and org refused; a schedule that fires."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.exampledata import generate
from tests.fleetkit import Workers, crmsync, running_workers, served_slow_hubspot
from tests.pgserver import Server
from tests.pushkit import PROFILES, credentials_file, duplicates, expected_objects, served
from tests.temporalserver import TemporalServer, temporal_running
from tests.test_push import identity_values

CRMS = ("hubspot", "salesforce", "dynamics")
pytestmark = pytest.mark.sqlite_only("the workers use their own PostgreSQL schema, whatever the tests use")


@pytest.fixture(scope="module")
def temporal() -> Iterator[TemporalServer]:
    with temporal_running() as server:
        yield server


@pytest.fixture(scope="module")
def fleet(temporal: TemporalServer, pg_server: Server,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    home = tmp_path_factory.mktemp("fleet")
    with running_workers(temporal.address, pg_server.fresh_schema(), "crmsync-tests", home) as workers:
        yield workers


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 600 generated records: several full batches per stream, a push of a few seconds."""
    directory = tmp_path_factory.mktemp("source")
    generate(directory, 600, seed=11)
    return directory


def enqueue(fleet: Workers, crm: str, source: Path, url: str, *more: str) -> Any:
    creds = credentials_file(crm, fleet.home / "creds")
    return crmsync("enqueue", str(PROFILES[crm]), "--source", str(source), "--base-url", url,
                   "--credentials", str(creds), "--temporal", fleet.address, "--task-queue", fleet.task_queue,
                   "--heartbeat-timeout", "2", *more, home=fleet.home)


def wid(crm: str, url: str) -> str:
    from engine.fleet.model import workflow_id

    return workflow_id(PROFILES[crm].stem, url)


async def progress_of(address: str, workflow: str) -> Any:
    from temporalio.client import Client

    from engine.fleet.workflows import PushWorkflow

    client = await Client.connect(address)
    return await client.get_workflow_handle(workflow).query(PushWorkflow.progress)


async def result_of(address: str, workflow: str) -> Any:
    from temporalio.client import Client

    from engine.fleet.workflows import PushWorkflow

    client = await Client.connect(address)
    handle = client.get_workflow_handle_for(PushWorkflow.run, workflow)  # type: ignore[arg-type]
    summary = await asyncio.wait_for(handle.result(), timeout=120)
    return summary, await (await handle.describe()).memo_value("state")


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


def holds_each_record_once(crm: str, url: str, source: Path) -> None:
    companies, people = identity_values(crm, url)
    expected = expected_objects(crm, source)
    assert duplicates(companies) == {} and duplicates(people) == {}
    assert len(companies) + len(people) == sum(expected.values()), (crm, expected)


def test_pushes_of_several_profiles_survive_a_worker_killed_mid_push(fleet: Workers, source: Path) -> None:
    with served_slow_hubspot(0.6) as hubspot, served("salesforce") as (_, sf), served("dynamics") as (_, dyn):
        urls = {"salesforce": sf, "dynamics": dyn, "hubspot": hubspot}  # the one to follow, last
        for crm, url in urls.items():
            started = enqueue(fleet, crm, source, url)
            assert started.returncode == 0, started.stderr
            assert f"enqueued {wid(crm, url)}" in started.stderr
        target = wid("hubspot", hubspot)
        sent, worker = wait_for(lambda: (now := sent_so_far(fleet.address, target)) and now[0] > 0 and now)
        assert sent < sum(expected_objects("hubspot", source).values())  # some sent, not all
        pid = int(worker.rsplit(" ", 1)[1])
        assert pid in [p.pid for p in fleet.processes]
        os.kill(pid, signal.SIGKILL)  # mid-push: records sent, more to send
        for crm, url in urls.items():
            summary, state = asyncio.run(result_of(fleet.address, wid(crm, url)))
            assert summary.run_id and state == "finished", (crm, summary, state)
            holds_each_record_once(crm, url, source)
        hubspot_summary, _ = asyncio.run(result_of(fleet.address, target))
        assert hubspot_summary.attempts >= 2  # resumed by the other worker, from the journal
    fleet.start()  # two workers again for the tests that follow


def test_a_second_enqueue_of_a_running_profile_and_org_is_refused_naming_the_running_one(
        fleet: Workers, source: Path) -> None:
    with served_slow_hubspot(0.6) as url:
        first = enqueue(fleet, "hubspot", source, url)
        assert first.returncode == 0, first.stderr
        second = enqueue(fleet, "hubspot", source, url)
        assert second.returncode == 1
        assert f"already running on Temporal: workflow {wid('hubspot', url)}, run " in second.stderr
        assert "nothing was enqueued" in second.stderr
        asyncio.run(result_of(fleet.address, wid("hubspot", url)))
        again = enqueue(fleet, "hubspot", source, url, "--wait", "--format", "json")  # it ended: allowed
        summary = json.loads(again.stdout)
        assert summary["summary"]["created"] == 0 and summary["summary"]["unchanged"] > 0
        assert again.returncode == (1 if summary["summary"]["failed"] else 0)
        holds_each_record_once("hubspot", url, source)


def exists(address: str, workflow: str) -> bool:
    async def described() -> bool:
        from temporalio.client import Client
        from temporalio.service import RPCError

        try:
            await (await Client.connect(address)).get_workflow_handle(workflow).describe()
        except RPCError:
            return False
        return True

    return asyncio.run(described())


async def scheduled_results(address: str) -> list[Any]:
    """The summaries of the workflows the schedules started, oldest first."""
    from temporalio.client import Client

    from engine.fleet.workflows import ScheduledPushWorkflow

    client = await Client.connect(address)
    found = [w async for w in client.list_workflows("WorkflowType = 'crmsync.scheduled-push'")]
    handles = [client.get_workflow_handle_for(ScheduledPushWorkflow.run, w.id, run_id=w.run_id)  # type: ignore[arg-type]
               for w in sorted(found, key=lambda w: w.start_time)]
    return [await asyncio.wait_for(h.result(), timeout=120) for h in handles]


def test_a_schedule_fires_its_push_and_skips_while_one_of_the_profile_and_org_runs(
        fleet: Workers, source: Path) -> None:
    with served_slow_hubspot(0.6) as url:
        creds = credentials_file("hubspot", fleet.home / "creds")
        common = (str(PROFILES["hubspot"]), "--source", str(source), "--base-url", url, "--credentials",
                  str(creds), "--temporal", fleet.address)
        made = crmsync("schedule", *common, "--every", "1h", "--task-queue", fleet.task_queue,
                       "--heartbeat-timeout", "2", home=fleet.home)
        assert made.returncode == 0, made.stderr
        assert "created the schedule crmsync-schedule/hubspot-benefitflow/" in made.stdout
        assert enqueue(fleet, "hubspot", source, url).returncode == 0  # a push of the profile and org runs
        assert crmsync("schedule", *common, "--trigger", home=fleet.home).returncode == 0
        skipped = wait_for(lambda: asyncio.run(scheduled_results(fleet.address)))
        assert skipped[0].skipped and wid("hubspot", url) in skipped[0].skipped and not skipped[0].summary
        first, _ = asyncio.run(result_of(fleet.address, wid("hubspot", url)))
        assert first.summary["created"] > 0
        assert crmsync("schedule", *common, "--trigger", home=fleet.home).returncode == 0  # none runs now
        fired = wait_for(lambda: (done := asyncio.run(scheduled_results(fleet.address))) and len(done) == 2
                         and done)[1]
        assert fired.skipped is None and fired.summary["created"] == 0 and fired.summary["unchanged"] > 0
        holds_each_record_once("hubspot", url, source)
        listed = crmsync("schedule", "--list", "--temporal", fleet.address, home=fleet.home)
        assert f"crmsync-schedule/hubspot-benefitflow/{url.split('://')[1]}  every 1:00:00" in listed.stdout
        assert crmsync("schedule", *common, "--delete", home=fleet.home).returncode == 0
        listed = crmsync("schedule", "--list", "--temporal", fleet.address, home=fleet.home)
        assert "crmsync-schedule/hubspot-benefitflow/" not in listed.stdout

"""crmsync on Temporal, end to end: a Temporal dev server and PostgreSQL started by the tests on
127.0.0.1, two `crmsync worker` processes per test (each test its own state schema and task queue),
pushes enqueued for several profiles against served sandboxes, a worker killed with SIGKILL mid-push,
and every CRM holding each record once, the activity log each record's outcome once; a second enqueue
of a running profile and org refused; a schedule that fires."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fleetkit import (
    COUNTS,
    KILL_HEARTBEAT_TIMEOUT,
    Workers,
    activity_log,
    crmsync,
    enqueue,
    finished,
    fresh_fleet,
    generated,
    holds_each_record_once,
    runs_of,
    sent_so_far,
    served_slow_hubspot,
    wait_for,
    wid,
)
from tests.pgserver import Server
from tests.pushkit import PROFILES, credentials_file, duplicates, expected_objects, served
from tests.temporalserver import TemporalServer, temporal_running
from tests.test_push import identity_values

pytestmark = pytest.mark.sqlite_only("the workers use their own PostgreSQL schema, whatever the tests use")


@pytest.fixture(scope="module")
def temporal() -> Iterator[TemporalServer]:
    with temporal_running() as server:
        yield server


@pytest.fixture
def fleet(temporal: TemporalServer, pg_server: Server, tmp_path: Path) -> Iterator[Workers]:
    with fresh_fleet(temporal.address, pg_server, tmp_path / "fleet") as workers:
        yield workers


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated(tmp_path_factory, 600, seed=11)  # a push of a few seconds at the slow CRM


@dataclass
class Landed:
    """One profile's push after the kill, as Temporal, the CRM and the state store show it."""

    summary: Any  # the workflow's result: PushSummary
    memo: dict[str, Any]
    companies: list[str]  # identity values in the CRM, a duplicate listed twice
    people: list[str]
    expected: int  # records a complete push leaves in the CRM
    log: list[dict[str, Any]]  # the profile's activity log
    runs: list[dict[str, Any]]  # `crmsync runs` of the profile

    @property
    def held(self) -> int:
        return len(self.companies) + len(self.people)

    def written(self) -> Counter[str]:
        """Successful writes (insert, update) in the activity log per record, whichever run made them."""
        return Counter(f"{r['stream']}/{r['source_id']}" for r in self.log
                       if r["action"] in ("insert", "update") and r["result"] == "success")


@pytest.fixture(scope="module")
def after_a_kill(temporal: TemporalServer, pg_server: Server, source: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> dict[str, Landed]:
    """Three profiles enqueued on two workers; the worker carrying the HubSpot push killed with
    SIGKILL while a batch of its creates is at the CRM (journaled, sent, not answered: the CRM makes
    the records, the worker never hears of them); then every push's
    end as the CRM, Temporal and the state store show it."""
    with fresh_fleet(temporal.address, pg_server, tmp_path_factory.mktemp("killed")) as fleet, \
            served_slow_hubspot(0.6) as (slow, hubspot), served("salesforce") as (_, sf), \
            served("dynamics") as (_, dyn):
        urls = {"salesforce": sf, "dynamics": dyn, "hubspot": hubspot}  # the one to follow, last
        for crm, url in urls.items():
            started = enqueue(fleet, crm, source, url, heartbeat=KILL_HEARTBEAT_TIMEOUT)
            assert started.returncode == 0, started.stderr
            assert f"enqueued {wid(crm, url)}" in started.stderr
        target = wid("hubspot", hubspot)
        sent, worker = wait_for(lambda: (now := sent_so_far(fleet.address, target)) and now[0] > 0
                                and slow.creating and now)
        assert sent < sum(expected_objects("hubspot", source).values())  # some sent, not all
        pid = int(worker.rsplit(" ", 1)[1])
        assert pid in [p.pid for p in fleet.processes]
        os.kill(pid, signal.SIGKILL)  # mid-push: records sent, a batch at the CRM, more to send
        landed = {}
        for crm, url in urls.items():
            summary, seen = finished(fleet.address, wid(crm, url))
            companies, people = identity_values(crm, url)
            landed[crm] = Landed(summary, seen.memo, companies, people,
                                 sum(expected_objects(crm, source).values()),
                                 activity_log(fleet, PROFILES[crm].stem), runs_of(fleet, PROFILES[crm].stem))
        return landed


def test_pushes_of_several_profiles_survive_a_worker_killed_mid_push(after_a_kill: dict[str, Landed]) -> None:
    for crm, landed in after_a_kill.items():
        assert landed.summary.run_id and landed.memo["state"] == "finished", (crm, landed.summary)
        assert duplicates(landed.companies) == {} and duplicates(landed.people) == {}, crm
        assert landed.held == landed.expected, crm
    assert after_a_kill["hubspot"].summary.attempts >= 2  # resumed by the other worker


def test_after_the_kill_no_write_is_logged_twice_and_the_summary_is_what_the_crm_holds(
        after_a_kill: dict[str, Landed]) -> None:
    for crm, landed in after_a_kill.items():
        assert [ref for ref, n in landed.written().items() if n > 1] == [], crm
        counts = landed.summary.summary
        assert counts["created"] + counts["updated"] + counts["unchanged"] == landed.held, (crm, counts)
        [run] = [r for r in landed.runs if r["run_id"] == landed.summary.run_id]
        assert {k: run["counts"][k] for k in COUNTS} == {k: counts[k] for k in COUNTS}, crm
    killed, resumed = sorted(after_a_kill["hubspot"].runs, key=lambda r: r["started_at"])
    assert killed["state"] == "interrupted" and resumed["run_id"] == after_a_kill["hubspot"].summary.run_id
    assert resumed["state"] in ("succeeded", "with_failures")  # some source records are invalid


def test_after_the_kill_each_record_the_crm_holds_has_its_write_in_the_activity_log(
        after_a_kill: dict[str, Landed]) -> None:
    for crm, landed in after_a_kill.items():
        assert sum(landed.written().values()) == landed.held, crm


def test_a_second_enqueue_of_a_running_profile_and_org_is_refused_naming_the_running_one(
        fleet: Workers, source: Path) -> None:
    with served_slow_hubspot(0.6) as (_, url):
        first = enqueue(fleet, "hubspot", source, url)
        assert first.returncode == 0, first.stderr
        second = enqueue(fleet, "hubspot", source, url)
        assert second.returncode == 1
        assert f"already running on Temporal: workflow {wid('hubspot', url)}, run " in second.stderr
        assert "nothing was enqueued" in second.stderr
        finished(fleet.address, wid("hubspot", url))
        again = enqueue(fleet, "hubspot", source, url, "--wait", "--format", "json")  # it ended: allowed
        summary = json.loads(again.stdout)
        assert summary["summary"]["created"] == 0 and summary["summary"]["unchanged"] > 0
        assert again.returncode == (1 if summary["summary"]["failed"] else 0)
        holds_each_record_once("hubspot", url, source)


async def scheduled_results(address: str, task_queue: str) -> list[Any]:
    """The summaries of the workflows the schedules of this test's task queue started, oldest first."""
    from temporalio.client import Client

    from engine.fleet.workflows import ScheduledPushWorkflow

    client = await Client.connect(address)
    found = [w async for w in client.list_workflows(
        f"WorkflowType = 'crmsync.scheduled-push' AND TaskQueue = '{task_queue}'")]
    handles = [client.get_workflow_handle_for(ScheduledPushWorkflow.run, w.id, run_id=w.run_id)  # type: ignore[arg-type]
               for w in sorted(found, key=lambda w: w.start_time)]
    return [await asyncio.wait_for(h.result(), timeout=120) for h in handles]


def test_a_schedule_fires_its_push_and_skips_while_one_of_the_profile_and_org_runs(
        fleet: Workers, source: Path) -> None:
    with served_slow_hubspot(0.6) as (_, url):
        creds = credentials_file("hubspot", fleet.home / "creds")
        common = (str(PROFILES["hubspot"]), "--source", str(source), "--base-url", url, "--credentials",
                  str(creds), "--temporal", fleet.address)
        made = crmsync("schedule", *common, "--every", "1h", "--task-queue", fleet.task_queue,
                       "--heartbeat-timeout", "2", home=fleet.home)
        assert made.returncode == 0, made.stderr
        assert "created the schedule crmsync-schedule/hubspot-benefitflow/" in made.stdout
        assert enqueue(fleet, "hubspot", source, url).returncode == 0  # a push of the profile and org runs
        assert crmsync("schedule", *common, "--trigger", home=fleet.home).returncode == 0
        def scheduled() -> list[Any]:
            return asyncio.run(scheduled_results(fleet.address, fleet.task_queue))

        skipped = wait_for(scheduled)
        assert skipped[0].skipped and wid("hubspot", url) in skipped[0].skipped and not skipped[0].summary
        first, _ = finished(fleet.address, wid("hubspot", url))
        assert first.summary["created"] > 0
        assert crmsync("schedule", *common, "--trigger", home=fleet.home).returncode == 0  # none runs now
        fired = wait_for(lambda: (done := scheduled()) and len(done) == 2 and done)[1]
        assert fired.skipped is None and fired.summary["created"] == 0 and fired.summary["unchanged"] > 0
        holds_each_record_once("hubspot", url, source)
        listed = crmsync("schedule", "--list", "--temporal", fleet.address, home=fleet.home)
        schedule = wid("hubspot", url).replace("crmsync-push/", "crmsync-schedule/", 1)  # its org: the portal
        assert f"{schedule}  every 1:00:00" in listed.stdout
        assert crmsync("schedule", *common, "--delete", home=fleet.home).returncode == 0
        listed = crmsync("schedule", "--list", "--temporal", fleet.address, home=fleet.home)
        assert "crmsync-schedule/hubspot-benefitflow/" not in listed.stdout

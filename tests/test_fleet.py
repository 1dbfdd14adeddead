"""crmsync on Temporal, end to end: a Temporal dev server and PostgreSQL started by the tests on
127.0.0.1, two `crmsync worker` processes per test (each test its own state schema and task queue),
pushes enqueued for several profiles against served sandboxes, a worker killed with SIGKILL mid-push
(with the default 2 s heartbeat timeout, on a slow HubSpot without a unique identity: the resumed
attempt looks up while the CRM still applies the dead worker's batches), and every CRM holding each
record once, the activity log each record's outcome once; a worker stopped with SIGTERM mid-push; a
second enqueue of a running profile and org refused; a schedule that fires."""

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
    OneWriteAtATime,
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


@pytest.fixture(scope="module")
def large_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """More batches than the client keeps in flight at once: a stop leaves some unsent."""
    return generated(tmp_path_factory, 2400, seed=13)


def cut_off_by_the_stop(fleet: Workers, run_id: str) -> int:
    """How many records the stopped run held back unsent (logged with error code `stopped`)."""
    return sum(1 for r in activity_log(fleet, PROFILES["hubspot"].stem)
               if r["run_id"] == run_id and r.get("error_code") == "stopped")


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
            served_slow_hubspot(0.6, unique_ids=False, duplicate_rules=False) as (slow, hubspot), \
            served("salesforce") as (_, sf), \
            served("dynamics") as (_, dyn):
        urls = {"salesforce": sf, "dynamics": dyn, "hubspot": hubspot}  # the one to follow, last
        for crm, url in urls.items():
            started = enqueue(fleet, crm, source, url)
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


def mid_push(fleet: Workers, slow: OneWriteAtATime, source: Path, url: str) -> tuple[str, int, str]:
    """The HubSpot push enqueued and under way (records sent, creates at the CRM): its workflow id, the
    records sent so far and the worker carrying it."""
    assert enqueue(fleet, "hubspot", source, url).returncode == 0
    target = wid("hubspot", url)
    sent, worker = wait_for(lambda: (now := sent_so_far(fleet.address, target)) and now[0] > 0
                            and slow.creating and now)
    return target, sent, worker


def test_a_worker_stopped_with_sigterm_mid_push_stops_it_at_a_batch_boundary_and_another_resumes_it(
        fleet: Workers, large_source: Path) -> None:
    source = large_source
    with served_slow_hubspot(0.6, unique_ids=False, duplicate_rules=False) as (slow, url):
        target, sent, worker = mid_push(fleet, slow, source, url)
        [stopped] = [p for p in fleet.processes if p.pid == int(worker.rsplit(" ", 1)[1])]
        stopped.send_signal(signal.SIGTERM)  # mid-push: batches at the CRM, more to send
        # it ends once its push stopped at a batch boundary, not after the whole push (docs/fleet.md)
        assert stopped.wait(timeout=60) == 0
        summary, seen = finished(fleet.address, target)
        held = holds_each_record_once("hubspot", url, source)
    assert seen.memo["state"] == "finished" and summary.attempts >= 2, summary
    runs = sorted(runs_of(fleet, PROFILES["hubspot"].stem), key=lambda r: r["started_at"])
    assert runs[0]["state"] == "stopped" and runs[-1]["run_id"] == summary.run_id  # a stop asked for
    assert "the worker was stopped (SIGTERM or Ctrl-C)" in runs[0]["reason"]
    assert cut_off_by_the_stop(fleet, runs[0]["run_id"]) > 0  # stopped sending part-way
    log = activity_log(fleet, PROFILES["hubspot"].stem)
    written = Counter(f"{r['stream']}/{r['source_id']}" for r in log
                      if r["action"] in ("insert", "update") and r["result"] == "success")
    assert [ref for ref, n in written.items() if n > 1] == [] and sum(written.values()) == held
    assert sent < held  # stopped part-way: the other worker wrote the rest
    assert "worker stopping; stopping its push at the next batch boundary" in fleet.logs()


async def cancel(address: str, workflow: str) -> None:
    from temporalio.client import Client

    await (await Client.connect(address)).get_workflow_handle(workflow).cancel()


def test_a_cancelled_push_stops_at_a_batch_boundary_and_the_next_one_resumes_it(
        fleet: Workers, large_source: Path) -> None:
    source = large_source
    with served_slow_hubspot(0.6, unique_ids=False, duplicate_rules=False) as (slow, url):
        target, _, _ = mid_push(fleet, slow, source, url)
        asyncio.run(cancel(fleet.address, target))
        profile = PROFILES["hubspot"].stem
        # ended, with its reason (once, unexplained, `runs` listed it `interrupted` without one first)
        [run] = wait_for(lambda: [r for r in runs_of(fleet, profile) if r.get("reason")])
        assert run["state"] == "stopped" and "Temporal cancelled the activity" in run["reason"], run
        assert all(p.poll() is None for p in fleet.processes)  # the workers live on
        assert cut_off_by_the_stop(fleet, run["run_id"]) > 0  # stopped sending part-way
        again = enqueue(fleet, "hubspot", source, url, "--wait", "--format", "json")
        assert json.loads(again.stdout)["summary"]["created"] > 0, again.stderr  # the rest, resumed
        holds_each_record_once("hubspot", url, source)


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

"""What a person running the fleet sees of a push, and what nobody may see: its progress through the
`progress` query while it runs (counts that grow), its state and counts in the workflow's search
attributes and memo once it ended, the same counts in `crmsync runs` and `crmsync log`; and no password
of the state URL nor CRM credential in the workers' logs, enqueue's output, the memo, the search
attributes or Temporal's history (the workflow's input carries paths, never a secret)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fleetkit import (
    COUNTS,
    Workers,
    activity_log,
    crmsync,
    enqueue,
    finished,
    fresh_fleet,
    generated,
    progress_of,
    runs_of,
    served_slow_hubspot,
    wait_for,
    wid,
)
from tests.pgserver import Server
from tests.pushkit import PROFILES, credentials_file, served
from tests.temporalserver import TemporalServer, temporal_running

pytestmark = pytest.mark.sqlite_only("the workers use their own PostgreSQL schema, whatever the tests use")
PROFILE = PROFILES["hubspot"].stem


@pytest.fixture(scope="module")
def temporal() -> Iterator[TemporalServer]:
    with temporal_running() as server:
        yield server


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated(tmp_path_factory, 400, seed=5)  # a push of a few seconds at the slow CRM


def progress_while_pushing(fleet: Workers, workflow: str) -> list[tuple[int, Any]]:
    """The `progress` query asked until two different counts of records sent were answered."""
    answers: list[tuple[int, Any]] = []

    def grown() -> bool:
        progress = asyncio.run(progress_of(fleet.address, workflow))
        sent = sum(s.sent for s in progress.streams.values())
        if sent and progress.state == "pushing":
            answers.append((sent, progress))
        return len({n for n, _ in answers}) >= 2

    wait_for(grown, 120)
    return answers


def test_progress_grows_mid_push_then_the_summary_is_in_temporal_runs_and_the_log(
        temporal: TemporalServer, pg_server: Server, source: Path, tmp_path: Path) -> None:
    with fresh_fleet(temporal.address, pg_server, tmp_path / "fleet") as fleet, \
            served_slow_hubspot(0.3) as (_, url):
        assert enqueue(fleet, "hubspot", source, url).returncode == 0
        answers = progress_while_pushing(fleet, wid("hubspot", url))
        (first, early), (last, late) = answers[0], answers[-1]
        assert last > first
        assert sum(s.total for s in late.streams.values()) > last  # more to send
        assert early.attempt == 1 and "pid" in early.worker
        summary, seen = finished(fleet.address, wid("hubspot", url))
        assert summary.summary["created"] > last
        portal = wid("hubspot", url).rsplit("/", 1)[1]  # the org: the portal its token is for
        assert portal.startswith("hubspot:")
        assert seen.search_attributes == {"CrmsyncProfile": PROFILE, "CrmsyncOrg": portal,
                                          "CrmsyncState": "finished"}
        assert seen.memo["state"] == "finished" and seen.memo["run_id"] == summary.run_id
        assert seen.memo["summary"] == summary.summary and seen.memo["attempts"] == 1
        ended = asyncio.run(progress_of(fleet.address, wid("hubspot", url)))
        assert ended.state == "finished"
        assert sum(s.sent for s in ended.streams.values()) == summary.summary["created"]
        [run] = [r for r in runs_of(fleet, PROFILE) if r["run_id"] == summary.run_id]
        assert run["state"] in ("succeeded", "with_failures") and run["base_url"] == url
        assert run["org"] == portal
        assert {k: run["counts"][k] for k in COUNTS} == {k: summary.summary[k] for k in COUNTS}
        logged = Counter((r["action"], r["result"]) for r in activity_log(fleet, PROFILE)
                         if r["run_id"] == summary.run_id and r["action"] in ("insert", "update"))
        assert logged["insert", "success"] == summary.summary["created"]
        assert logged["update", "success"] == summary.summary["updated"]


def decoded(node: Any) -> Any:
    """A history as JSON with every payload (workflow input, results, heartbeats, memo, search
    attributes: base64 in the JSON) decoded to its text."""
    if isinstance(node, dict):
        if isinstance(node.get("data"), str) and "metadata" in node:
            return base64.b64decode(node["data"]).decode("utf-8", "replace")
        return {key: decoded(value) for key, value in node.items()}
    if isinstance(node, list):
        return [decoded(value) for value in node]
    return node


async def history_text(address: str, workflow: str) -> str:
    from temporalio.client import Client

    history = await (await Client.connect(address)).get_workflow_handle(workflow).fetch_history()
    return json.dumps(decoded(history.to_json_dict()), ensure_ascii=False)


def test_no_secret_in_worker_logs_enqueue_output_memo_search_attributes_or_history(
        temporal: TemporalServer, pg_server: Server, source: Path, tmp_path: Path) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    with fresh_fleet(temporal.address, pg_server, tmp_path / "fleet", password=password) as fleet, \
            served("hubspot") as (_, url):
        assert password in fleet.state_url
        creds = credentials_file("hubspot", fleet.home / "creds")
        token = json.loads(creds.read_text())["access_token"]
        ran = enqueue(fleet, "hubspot", source, url, "--wait", "--format", "json",
                      env={"CRMSYNC_STATE_URL": fleet.state_url})  # exported, as docs/fleet.md does
        assert json.loads(ran.stdout)["run_id"], ran.stderr
        history = asyncio.run(history_text(fleet.address, wid("hubspot", url)))
        assert str(creds) in history and "crmsync.push" in history  # the payloads were read
        _, seen = finished(fleet.address, wid("hubspot", url))
        runs = crmsync("runs", "--state-url", fleet.state_url, "--format", "json", home=fleet.home)
        shown = {"enqueue": ran.stdout + ran.stderr, "history": history, "memo": json.dumps(seen.memo),
                 "search attributes": str(seen.search_attributes), "worker logs": fleet.logs(),
                 "runs": runs.stdout + runs.stderr}
        leaks = {where: secret for where, text in shown.items() for secret in (password, token)
                 if secret in text}
        assert leaks == {}

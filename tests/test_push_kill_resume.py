"""The kill-resume race, on one machine: `crmsync push` killed with SIGKILL while a slow CRM still has
batches of its creates queued (received whole, applied after the sender died). The run that resumes
looks its records up before the CRM has applied them; were it to believe that look-up, a CRM without a
unique identity (HubSpot here without a unique BenefitFlow id, nor its email rule) would hold those
records twice (this test fails so without the hold). The resumed run holds those creates back until
the dead run's requests must have ended, looks them up again, and creates only what is still missing
(engine/reconcile.py)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.fleetkit import (
    OneWriteAtATime,
    env_for,
    generated,
    holds_each_record_once,
    served_slow_hubspot,
    wait_for,
)
from tests.pushkit import PROFILES, credentials_file, push
from tests.statekit import store_at

REQUEST_TIMEOUT = "45"  # above the slow CRM's slowest answer to the resumed run (its batches queue too)


def successful_writes(state: Path) -> Counter[str]:
    store = store_at(state)
    try:
        return Counter(f"{r['stream']}/{r['source_id']}" for r in store.db.execute(
            "SELECT stream, source_id FROM activity WHERE action IN ('insert', 'update') "
            "AND result = 'success'"))
    finally:
        store.close()


def killed_with_creates_queued(slow: OneWriteAtATime, url: str, source: Path, state: Path, home: Path) -> int:
    """`crmsync push` killed with SIGKILL once the CRM has several of its batch creates queued; how many
    were still queued at the CRM then."""
    creds = credentials_file("hubspot", home / "creds")
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "push", str(PROFILES["hubspot"]), "--source", str(source),
         "--base-url", url, "--credentials", str(creds), "--state-dir", str(state)],
        env=env_for(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return wait_for(lambda: slow.creating >= 4 and slow.creating, seconds=120)
    finally:
        process.kill()
        process.wait()


@pytest.mark.sqlite_only("one machine's state dir: the fleet tests cover PostgreSQL")
def test_a_push_killed_with_creates_queued_at_a_slow_crm_resumes_with_every_record_once(
        tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = generated(tmp_path_factory, 400, seed=5)
    state, home = tmp_path / "state", tmp_path / "home"
    monkeypatch.setenv("CRMSYNC_REQUEST_TIMEOUT", REQUEST_TIMEOUT)
    with served_slow_hubspot(1.0, unique_ids=False, duplicate_rules=False) as (slow, url):
        queued = killed_with_creates_queued(slow, url, source, state, home)
        assert queued >= 4  # the resume starts while the CRM is still applying them
        resumed = push("hubspot", source, url, state)
        held = holds_each_record_once("hubspot", url, source)
    assert [ref for ref, n in successful_writes(state).items() if n > 1] == []
    assert sum(successful_writes(state).values()) == held  # each record the CRM holds, logged once
    [notice] = [n for n in resumed.notices if "held back until that request must have ended" in n]
    assert f"request timeout {REQUEST_TIMEOUT} s" in notice
    found = [o for o in resumed.outcomes if any("found by identity once" in w for w in o.warnings)]
    assert found and all(o.result == "unchanged" and o.crm_id for o in found)
    assert f"{len(found)} found and linked" in notice

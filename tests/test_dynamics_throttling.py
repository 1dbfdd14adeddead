"""Dataverse service protection (api-limits): a push under a tight setting of the emulator's limits
(requests per window, concurrent requests, and the Retry-After wait that each request sent too early
extends) finishes, with every record written exactly once."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from engine.catalog import connection_settings, load_connector
from engine.client import Credentials, ThrottleStopped, open_client
from engine.exampledata import generate
from tests.pushkit import (
    PROFILES,
    ROOT,
    credentials_file,
    duplicates,
    expected_objects,
    records,
    served,
)

# Bulk writes of 300 records: ~15 requests at 3 per 2 s and 2 at once. Upserts of 100 records, one request
# per record: ~100 requests at 20 per 2 s and 6 at once. Neither push can finish without being throttled.
SIZE = {"bulk": 300, "upsert": 100}
TIGHT = {"bulk": {"requests_per_window": 3, "window_s": 2.0, "concurrency_limit": 2},
         "upsert": {"requests_per_window": 20, "window_s": 2.0, "concurrency_limit": 6}}
ENDS_WITHIN_S = 240  # ~30 s each here


def upsert_profile(tmp_path: Path) -> Path:
    """The shipped profile writing new records by upsert on bf_benefitflowid: one request per record."""
    text = PROFILES["dynamics"].read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(    object: (account|contact)\n)", r"\1    upsert_key: bf_benefitflowid\n", text)
    path = tmp_path / "dynamics-upsert.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def push_within(seconds: float, profile: Path, source: Path, url: str, state: Path) -> dict[str, Any]:
    """`crmsync push` as a user runs it, in its own process so that a hang is ended (and fails the test)
    rather than holding the suite; its JSON answer."""
    creds = credentials_file("dynamics", state.parent / "creds")
    command = [sys.executable, "-m", "engine.cli", "push", str(profile), "--source", str(source),
               "--base-url", url, "--credentials", str(creds), "--state-dir", str(state), "--format", "json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds, cwd=ROOT)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("kind", ["bulk", "upsert"])
def test_a_throttled_push_writes_every_record_once(kind: str, tmp_path: Path) -> None:
    source = tmp_path / "data"
    generate(source, SIZE[kind], seed=7)
    profile = upsert_profile(tmp_path) if kind == "upsert" else PROFILES["dynamics"]
    with served("dynamics", latency_ms=200, throttle_extension_s=1.0, **TIGHT[kind]) as (emulator, url):
        result = push_within(ENDS_WITHIN_S, profile, source, url, tmp_path / "state")
        statuses = Counter(r["status"] for r in emulator.requests)
        assert statuses[429] > 0, "the setting must throttle the push"
        assert result["stopped"] is None
        unwritten = [(r["source_id"], r["error_code"]) for r in result["records"]
                     if r["result"] == "error" and r["status"] != "invalid"]
        assert unwritten == []
        crm = records(url)
        keys = [r["bf_benefitflowid"] for table in ("accounts", "contacts") for r in crm[table]]
        assert duplicates(keys) == {}
        expected = expected_objects("dynamics", source, profile)
        assert {"account": len(crm["accounts"]), "contact": len(crm["contacts"])} == dict(expected)
        assert result["summary"]["created"] == sum(expected.values())


def test_a_request_throttled_longer_than_a_run_waits_stops_the_run_and_says_why(tmp_path: Path) -> None:
    """A CRM that keeps a request waiting beyond the client's patience stops the run (a RunStopped: what
    was sent stands, the next push goes on), with a message that says what happened and what to do."""
    async def two_reads(url: str) -> None:
        creds = Credentials.read(credentials_file("dynamics", tmp_path / "creds"))
        connector = load_connector("dynamics").model
        connection = connection_settings(connector, {}, url)
        async with open_client(connector, url, creds, connection=connection, max_throttle_wait_s=5) as client:
            for _ in range(2):
                await client.send("GET", f"{url}/accounts?$select=name", kind="lookup")

    with served("dynamics", requests_per_window=1, window_s=60.0) as (_, url), \
            pytest.raises(ThrottleStopped, match=r"kept refusing requests .*push again later"):
        asyncio.run(two_reads(url))

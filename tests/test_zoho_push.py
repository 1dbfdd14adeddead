"""Zoho CRM as the other built-in CRMs are pushed to (tests/test_push_faults.py is HubSpot's): against the
served Zoho emulator, over HTTP. Overwrite off keeps what the org's people typed; one bad record fails
alone while its batch is written; faults and kill -9 lose nothing and duplicate nothing; an upsert whose
answer was lost is sent again and Zoho's `action: update` does not make it count twice."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.exampledata import generate
from tests.pushkit import (
    PROFILES,
    credentials_file,
    duplicates,
    expected_objects,
    killed_at_random,
    push,
    records,
    served,
)


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 600 generated records: several full batches of 100 per stream."""
    directory = tmp_path_factory.mktemp("zoho-medium")
    generate(directory, 600, seed=11)
    return directory


def keys(url: str) -> tuple[list[str], list[str]]:
    """Every account's and contact's BenefitFlow id in the org."""
    data = records(url)
    return ([a.get("BenefitFlow_Id") for a in data["Accounts"]],
            [c.get("BenefitFlow_Id") for c in data["Contacts"]])


def assert_complete(url: str, source: Path) -> None:
    accounts, contacts = keys(url)
    assert duplicates(accounts) == {} and duplicates(contacts) == {}
    expected = expected_objects("zoho", source)
    assert (len(accounts), len(contacts)) == (expected["accounts"], expected["contacts"])


def contact(emulator: Any, benefitflow_id: str) -> dict[str, Any]:
    return next(c for c in emulator.records["Contacts"].values() if c.get("BenefitFlow_Id") == benefitflow_id)


def test_overwrite_off_keeps_what_the_org_typed_and_overwrite_on_restores(examples: Path,
                                                                           tmp_path: Path) -> None:
    with served("zoho") as (emulator, url):
        push("zoho", examples, url, tmp_path / "state")
        jane = contact(emulator, "ec-001")
        title, first = jane["Title"], jane["First_Name"]
        jane.update({"Title": "Chief People Officer (typed in Zoho)", "First_Name": "Janie"})
        again = push("zoho", examples, url, tmp_path / "state")
        jane = contact(emulator, "ec-001")
    assert jane["Title"] == "Chief People Officer (typed in Zoho)" != title  # Title: overwrite off
    assert jane["First_Name"] == first  # First_Name: overwrite on
    updated = [o for o in again.outcomes if o.action == "update" and o.result == "success"]
    assert [o.record.source_id for o in updated] == ["ec-001"]


def test_one_bad_record_fails_alone_with_zohos_message_while_its_batch_is_written(examples: Path,
                                                                                   tmp_path: Path) -> None:
    """The org holds three of the employer contacts (found by email, so updated in one batch) and a
    squatter holding ec-002's BenefitFlow id: Zoho refuses ec-002's update (DUPLICATE_DATA on the unique
    BenefitFlow_Id); the other two of its batch are written."""
    emails = {"ec-001": "jane.doe@bluebird-bakery-example.com",
              "ec-002": "maria.lopez@cedarvalley-logistics-example.com",
              "ec-003": "tom.becker@cedarvalley-logistics-example.com"}
    seed = {"Contacts": [{"Last_Name": "Typed", "Email": email} for email in emails.values()]
            + [{"Last_Name": "Squatter", "Email": "squatter@elsewhere.example", "BenefitFlow_Id": "ec-002"}]}
    with served("zoho", seed=seed) as (emulator, url):
        result = push("zoho", examples, url, tmp_path / "state")
        contacts = keys(url)[1]
        updates = [r for r in emulator.requests if r["method"] == "PUT" and r["path"].endswith("/Contacts")]
    outcomes = {o.record.source_id: o for o in result.outcomes}
    assert outcomes["ec-002"].result == "error" and outcomes["ec-002"].error_code == "DUPLICATE_DATA"
    assert [(outcomes[i].action, outcomes[i].result) for i in ("ec-001", "ec-003")] == \
        [("update", "success")] * 2
    assert len(updates) == 1 and updates[0]["status"] == 207  # one batch, answered some written
    assert contacts.count("ec-002") == 1 and contacts.count("ec-001") == contacts.count("ec-003") == 1


@pytest.mark.parametrize("faults", ["5xx=0.15,seed=3", "drop=0.1,seed=4", "drop_before=0.1,seed=6"])
def test_faults_lose_nothing_and_duplicate_nothing(faults: str, medium: Path, tmp_path: Path) -> None:
    with served("zoho", faults=faults) as (_, url):
        push("zoho", medium, url, tmp_path / "state")
        accounts, contacts = keys(url)
        assert duplicates(accounts) == {} and duplicates(contacts) == {}
        push("zoho", medium, url, tmp_path / "state")  # finishes whatever the first could not
        assert_complete(url, medium)


def test_upserts_whose_answers_are_lost_are_sent_again_and_count_once_as_created(medium: Path,
                                                                                  tmp_path: Path) -> None:
    with served("zoho", faults="drop=0.3,seed=12") as (emulator, url):
        result = push("zoho", medium, url, tmp_path / "state")
        accounts, contacts = keys(url)
    assert duplicates(accounts) == {} and duplicates(contacts) == {}
    written = [o for o in result.outcomes if o.result == "success"]
    assert len(written) == len(accounts) + len(contacts)
    assert all(o.action == "insert" for o in written)  # Zoho said update for the resent: still one create
    upserts = [r for r in emulator.requests if r["path"].endswith("/upsert")]
    assert any(r.get("fault") == "drop" for r in upserts)  # some answers really were lost


def test_kill_9_at_random_points_then_a_new_run_leaves_no_duplicate_and_no_gap(medium: Path,
                                                                               tmp_path: Path) -> None:
    state, creds = tmp_path / "state", credentials_file("zoho", tmp_path / "creds")
    with served("zoho", latency_ms=15) as (_, url):
        command, env = killed_at_random("zoho", medium, url, state, creds, times=3)
        accounts, contacts = keys(url)
        assert duplicates(accounts) == {} and duplicates(contacts) == {}
        final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert final.returncode in (0, 1), final.stderr
        assert json.loads(final.stdout)["summary"]["failed"] >= 0
        assert_complete(url, medium)


def test_calls_beyond_the_concurrency_limit_are_answered_429_and_waited_out(medium: Path,
                                                                            tmp_path: Path) -> None:
    """An org whose app may run 2 calls at once (the emulator's `concurrency`; the connector says
    Enterprise's 20): Zoho answers the others 429 TOO_MANY_REQUESTS, a rate_limit error that is waited
    out and sent again. One push writes everything, once."""
    with served("zoho", latency_ms=40, concurrency=2) as (emulator, url):
        result = push("zoho", medium, url, tmp_path / "state")
        statuses = [r["status"] for r in emulator.requests]
        assert 429 in statuses  # the limit was really hit
        assert result.stopped is None
        assert_complete(url, medium)


@pytest.mark.parametrize("status", [200, 400])
def test_a_refused_refresh_token_stops_before_any_write_with_the_reconnect_hint(
        status: int, examples: Path, tmp_path: Path) -> None:
    """Zoho Accounts answers a refused refresh token {"error": "invalid_code"}, reportedly with HTTP 200
    (the emulator's token_error_status; 400 too): `crmsync push` as typed stops with exit 1, says how to
    reconnect, shows no secret and writes nothing."""
    creds = credentials_file("zoho", tmp_path / "creds", refresh_token="revoked-refresh-token")
    with served("zoho", token_error_status=status) as (_, url):
        result = CliRunner().invoke(app, ["push", str(PROFILES["zoho"]), "--source", str(examples),
                                          "--base-url", url, "--state-dir", str(tmp_path / "state"),
                                          "--credentials", str(creds)])
        assert records(url)["Accounts"] == [] and records(url)["Contacts"] == []
    assert result.exit_code == 1, result.output
    assert "api-console.zoho.com" in result.output
    assert "revoked-refresh-token" not in result.output and "sandbox-secret" not in result.output

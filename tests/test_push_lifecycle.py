"""A push always ends and says why: a CRM refusing a look-up after other streams were written, tokens
that expire every few requests, Ctrl-C. Each push is `crmsync push` as a user types it, in a
subprocess with a hard timeout (a hang fails the test instead of hanging the suite); the run's state
is read back from the state store."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.pushkit import (
    COMPANIES,
    PEOPLE,
    PROFILES,
    credentials_file,
    duplicates,
    expected_objects,
    push,
    records,
    served,
)
from tests.statekit import rows

ROOT = Path(__file__).resolve().parent.parent
HANG = 120  # seconds: far above what these small pushes take; reaching it means the push hung


def push_command(crm: str, source: Path, url: str, state: Path, creds: Path) -> list[str]:
    return [sys.executable, "-m", "engine.cli", "push", str(PROFILES[crm]), "--source", str(source),
            "--base-url", url, "--state-dir", str(state), "--credentials", str(creds), "--format", "json"]


def run_push(crm: str, source: Path, url: str, state: Path, creds: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        return subprocess.run(push_command(crm, source, url, state, creds), env=env, capture_output=True,
                              text=True, timeout=HANG)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"crmsync push did not end within {HANG} s") from None


def run_states(state: Path) -> list[str]:
    return [row[0] for row in rows(state, "SELECT status FROM runs ORDER BY started_at")]


def oauth_credentials(crm: str, directory: Path) -> Path:
    """Credentials that must refresh their access token (HubSpot's private-app token never expires)."""
    return credentials_file(crm, directory, access_token="", client_id="sandbox-client",
                            client_secret="sandbox-secret", refresh_token="sandbox-refresh")


# a user who may not read contacts, as each CRM says it: HubSpot's 403 MISSING_SCOPES, Salesforce's
# INVALID_TYPE (an object the profile may not read is one SOQL does not know), Dataverse's 403 0x80040220
CANNOT_READ_CONTACTS = {
    "hubspot": ({"missing_scopes": {"crm.objects.contacts.read"}}, "look-up of contacts refused (403)",
                "scopes"),
    "salesforce": ({"unreadable_objects": {"Contact"}}, "look-up of Contact refused (400)",
                   "sObject type 'Contact' is not supported"),
    "dynamics": ({"missing_read_privileges": {"contact"}}, "look-up of contact refused (403)",
                 "missing prvReadContact privilege"),
}


@pytest.mark.parametrize("crm", list(CANNOT_READ_CONTACTS))
def test_a_look_up_refused_after_companies_were_written_ends_the_push_and_says_why(
        crm: str, examples: Path, tmp_path: Path) -> None:
    """A user without read access to contacts while the companies are written: the push ends, reports
    what it wrote, says why the contacts were not planned, exits 1, and the run is not left `running`."""
    options, refused, why = CANNOT_READ_CONTACTS[crm]
    state = tmp_path / "state"
    with served(crm, **options) as (_, url):
        done = run_push(crm, examples, url, state, credentials_file(crm, tmp_path / "creds"))
        crm_records = records(url)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert refused in report["stopped"] and why in report["stopped"], report["stopped"]
    # a company stream still looked up when the contacts' look-up was refused is not planned either
    # (which ones are depends on which answer comes first); what was written is reported, and only that
    assert {"employer_contact", "broker_contact"} <= set(report["unplanned_streams"])
    created = [r for r in report["records"] if r["action"] == "insert" and r["result"] == "success"]
    assert len(created) == len(crm_records[COMPANIES[crm]]) and not crm_records[PEOPLE[crm]]
    assert run_states(state) == ["stopped"]


@pytest.mark.parametrize(("crm", "every"), [("hubspot", 2), ("salesforce", 3), ("dynamics", 2)])
def test_tokens_that_expire_every_few_requests_end_the_push_and_say_why(
        crm: str, every: int, examples: Path, tmp_path: Path) -> None:
    """Before, a look-up refused with 401 once other streams were handed over left them waiting for it
    forever (holding the profile's lock)."""
    state = tmp_path / "state"
    with served(crm, faults=f"expire_every={every},seed=1") as (_, url):
        done = run_push(crm, examples, url, state, oauth_credentials(crm, tmp_path / "creds"))
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert "expired 3 times in a row" in report["stopped"], report["stopped"]
    assert report["unplanned_streams"] or report["summary"]["failed"]
    assert run_states(state) == ["stopped"]


def writes_received(emulator: Any) -> int:
    return sum(1 for r in emulator.requests if r["method"] == "POST" and r["path"].endswith("/batch/create"))


def generated(tmp_path: Path, seed: int) -> tuple[Path, Path, Path]:
    """300 generated records (several batches per stream), a state dir and credentials."""
    from engine.exampledata import generate

    source = tmp_path / "src"
    generate(source, 300, seed=seed)
    return source, tmp_path / "state", credentials_file("hubspot", tmp_path / "creds")


def interrupted_push(emulator: Any, command: list[str], presses: int) -> tuple[int, str, str]:
    """`crmsync push` sent Ctrl-C `presses` times once the CRM has received a create: exit code, output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + HANG
    while writes_received(emulator) == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the push ended before it could be interrupted"
    for _ in range(presses):
        process.send_signal(signal.SIGINT)
        time.sleep(0.05)
    try:
        stdout, stderr = process.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"the push did not end after Ctrl-C ({presses})") from None
    return process.returncode, stdout, stderr


def check_each_record_once(crm: dict[str, list[dict[str, Any]]], source: Path) -> None:
    keys = [c["properties"].get("benefitflow_id") for c in crm["companies"]]
    emails = [c["properties"].get("email") for c in crm[PEOPLE["hubspot"]]]
    assert duplicates(keys) == {} and duplicates(emails) == {}
    assert Counter(companies=len(keys), contacts=len(emails)) == expected_objects("hubspot", source)


def test_ctrl_c_says_what_was_sent_marks_the_run_interrupted_and_the_same_command_resumes(
        tmp_path: Path) -> None:
    """SIGINT mid-push (a CRM answering slowly): exit 130, a message saying what was sent and that the
    same command resumes; the run is `interrupted`; run again, every record is there once."""
    source, state, creds = generated(tmp_path, seed=3)
    with served("hubspot", latency_ms=150) as (emulator, url):
        command = push_command("hubspot", source, url, state, creds)
        code, stdout, stderr = interrupted_push(emulator, command, 1)
        assert code == 130, stderr
        assert "Ctrl-C: stopping" in stderr  # said at once, before the requests in flight are answered
        report = json.loads(stdout)
        assert report["interrupted"] is True
        assert "interrupted (Ctrl-C)" in report["stopped"]
        assert "run the same command again" in report["stopped"]
        sent = [r for r in report["records"] if r["action"] == "insert" and r["result"] == "success"]
        assert sent  # what was sent is reported: the writes in flight were answered and recorded
        assert run_states(state) == ["interrupted"]
        again = run_push("hubspot", source, url, state, creds)
        assert again.returncode in (0, 1) and not json.loads(again.stdout)["interrupted"], again.stderr
        crm = records(url)
    assert run_states(state)[-1] == "finished"
    check_each_record_once(crm, source)


def test_ctrl_c_twice_cuts_the_requests_off_and_the_same_command_still_resumes(tmp_path: Path) -> None:
    """A second Ctrl-C cuts the requests in flight off: exit 130, what was written before it, the run
    `interrupted`; the same command run again leaves every record once (the journal reconciles)."""
    source, state, creds = generated(tmp_path, seed=4)
    with served("hubspot", latency_ms=300) as (emulator, url):
        code, _, stderr = interrupted_push(emulator, push_command("hubspot", source, url, state, creds), 2)
        assert code == 130, stderr
        assert "were cut off" in stderr and "Written and recorded before it" in stderr
        assert "run the same command again" in stderr and "Traceback" not in stderr
        assert run_states(state) == ["interrupted"]
        run_push("hubspot", source, url, state, creds)
        crm = records(url)
    check_each_record_once(crm, source)


def test_a_push_whose_output_is_closed_still_writes_and_links_every_record(examples: Path,
                                                                           tmp_path: Path) -> None:
    """`crmsync push ... 2>&1 | head -1`: the progress lines meet a closed pipe. The push must not die
    between the CRM's answer and its record of it (links lost, the next run reconciling)."""
    state, creds = tmp_path / "state", credentials_file("hubspot", tmp_path / "creds")
    with served("hubspot") as (_, url):
        command = [sys.executable, "-m", "engine.cli", "push", str(PROFILES["hubspot"]), "--source",
                   str(examples), "--base-url", url, "--state-dir", str(state), "--credentials", str(creds)]
        cut = subprocess.run(" ".join(shlex.quote(c) for c in command) + " 2>&1 | head -1", shell=True,
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert cut.stdout.strip()  # it did print before the pipe closed
        again = push("hubspot", examples, url, state, credentials=creds)
    summary = again.summary()
    assert summary["created"] == 0 and summary["updated"] == 0 and summary["unchanged"] > 0
    first_run = rows(state, "SELECT status FROM runs ORDER BY started_at LIMIT 1")[0][0]
    assert first_run == "finished"

"""`crmsync runs` and engine.runs: every run with its state and counts, told apart as a person reads them
(succeeded, with failures, stopped, interrupted, running), and a run's rejected rows with the CRM's
message, filterable and as CSV that a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.errors import UsageError
from engine.runs import get_run, list_runs, rejected_csv, rejected_rows
from engine.runs.model import RejectedRow
from engine.sandbox.common import running
from tests.pushkit import PROFILES, ROOT, push, served
from tests.runskit import Refusing, cli, creds, employer_profile, employers
from tests.statekit import state_env, store_at


def test_a_run_the_crm_refused_records_of_is_with_failures_and_its_rejected_rows_carry_the_message(
        tmp_path: Path) -> None:
    source, state = employers(tmp_path / "src", good=3, bad=2), tmp_path / "state"
    with running(Refusing()) as url:
        result = push("hubspot", source, url, state, profile=employer_profile(tmp_path), as_user="ana")
    [run] = list_runs(state)
    assert (run.run_id, run.state, run.kind) == (result.run_id, "with_failures", "push")
    assert run.triggered_by == "ana"
    assert run.counts["created"] == 3 and run.counts["failed"] == 2 and run.counts["unchanged"] == 0
    assert run.finished_at and run.duration_s is not None and run.duration_s >= 0
    assert run.source_dir == str(source.resolve()) and run.base_url == url and run.as_user == "ana"
    rows = rejected_rows(state, run.run_id)
    assert sorted(r.ref for r in rows) == ["employer/b1", "employer/b2"]
    assert all(r.action == "insert" and r.object == "companies" and r.fixed_by is None for r in rows)
    assert all("not a valid URL" in (r.error or "") and r.error_code for r in rows)  # HubSpot's own words
    assert rows[0].request and rows[0].request["benefitflow_profile_url"] == "not a url"  # what was sent


def test_rejected_rows_filter_by_stream_code_and_search(tmp_path: Path) -> None:
    source, state = employers(tmp_path / "src", good=1, bad=3), tmp_path / "state"
    with running(Refusing()) as url:
        result = push("hubspot", source, url, state, profile=employer_profile(tmp_path))
    rows = rejected_rows(state, result.run_id)
    code = rows[0].error_code
    assert len(rejected_rows(state, result.run_id, code=code)) == 3
    assert rejected_rows(state, result.run_id, code="NO_SUCH_CODE") == []
    assert rejected_rows(state, result.run_id, stream="broker") == []
    assert [r.ref for r in rejected_rows(state, result.run_id, search="B2")] == ["employer/b2"]  # any case
    assert len(rejected_rows(state, result.run_id, search="VALID url")) == 3  # in the message


def test_rejected_csv_is_safe_to_open_in_a_spreadsheet() -> None:
    hostile = RejectedRow(run_id="r1", at="2026-12-01T00:00:00Z", stream="employer",
                          source_id="=HYPERLINK(1)", object="companies", action="insert", error_code="+CODE",
                          error="-1, \"quoted\"\nline", crm_id="@x", request=None)
    plain = RejectedRow(run_id="r1", at="2026-12-01T00:00:00Z", stream="employer", source_id="e1",
                        object="companies", action="update", error_code="INVALID", error="bad", crm_id="42",
                        request=None)
    table = list(csv.reader(io.StringIO(rejected_csv([hostile, plain]))))
    header, first, second = table
    row = dict(zip(header, first, strict=True))
    assert row["source_id"] == "'=HYPERLINK(1)" and row["error_code"] == "'+CODE" and row["crm_id"] == "'@x"
    assert row["error"] == "'-1, \"quoted\"\nline"  # the comma, quotes and newline survive, quoted
    assert dict(zip(header, second, strict=True))["source_id"] == "e1"  # a plain cell is left alone


def test_runs_cli_lists_shows_one_and_exports_the_rejected_rows(tmp_path: Path) -> None:
    source, state = employers(tmp_path / "src", good=2, bad=1), tmp_path / "state"
    with running(Refusing()) as url:
        result = push("hubspot", source, url, state, profile=employer_profile(tmp_path))
    listed = cli("runs", "--state-dir", state, "--format", "json")
    assert listed.returncode == 0, listed.stderr
    [run] = json.loads(listed.stdout)
    assert run["run_id"] == result.run_id and run["state"] == "with_failures" and run["counts"]["failed"] == 1
    table = cli("runs", "--state-dir", state)
    assert result.run_id in table.stdout and "with_failures" in table.stdout and "1 run(s)" in table.stdout
    one = cli("runs", result.run_id, "--state-dir", state)
    assert "with_failures" in one.stdout and f"crmsync retry {result.run_id}" in one.stdout
    exported = cli("runs", result.run_id, "--failed", "--format", "csv", "--state-dir", state)
    assert exported.returncode == 0, exported.stderr
    [row] = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert row["source_id"] == "b1" and "not a valid URL" in row["error"]
    shown = cli("runs", result.run_id, "--failed", "--state-dir", state)
    assert "employer/b1" in shown.stdout and "1 rejected row(s)" in shown.stdout
    assert len(json.loads(cli("runs", "--profile", "prefixes", "--last", "1", "--state-dir", state,
                              "--format", "json").stdout)) == 1
    typo = cli("runs", "--profile", "prefix", "--state-dir", state)
    assert typo.returncode == 2 and "prefixes" in typo.stderr


def test_an_unknown_run_is_bad_usage_naming_the_known_ones(tmp_path: Path) -> None:
    source, state = employers(tmp_path / "src", good=1, bad=0), tmp_path / "state"
    with running(Refusing()) as url:
        result = push("hubspot", source, url, state, profile=employer_profile(tmp_path))
    with pytest.raises(UsageError, match=result.run_id):
        get_run(state, "nope")
    answer = cli("runs", "nope", "--failed", "--state-dir", state)
    assert answer.returncode == 2 and "run nope" in answer.stderr and result.run_id in answer.stderr
    assert cli("runs", "--failed", "--state-dir", state).returncode == 2  # --failed needs a run
    assert cli("runs", "--format", "csv", "--state-dir", state).returncode == 2  # csv is for rejected rows


def test_a_killed_push_is_running_while_it_lives_then_interrupted(tmp_path: Path) -> None:
    """A push killed with SIGKILL leaves its run `running` in the store; its lock died with it, so the
    run is listed interrupted (and a run still alive, running)."""
    from engine.exampledata import generate

    source, state = tmp_path / "src", tmp_path / "state"
    generate(source, 300, seed=5)
    with served("hubspot", latency_ms=200) as (emulator, url):
        command = [sys.executable, "-m", "engine.cli", "push", str(PROFILES["hubspot"]), "--source",
                   str(source), "--base-url", url, "--state-dir", str(state), "--credentials",
                   str(creds(tmp_path)), "--format", "json"]
        env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", **state_env()}
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while not any("/batch/create" in r["path"] for r in emulator.requests):
                assert process.poll() is None and time.monotonic() < deadline, "the push ended first"
                time.sleep(0.02)
            [alive] = list_runs(state)
            assert alive.state == "running" and alive.finished_at is None
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
    [dead] = list_runs(state)
    assert dead.state == "interrupted" and dead.finished_at is None
    assert alive.duration_s is not None  # so far
    assert dead.counts["created"] >= 0 and "unchanged" not in dead.counts  # counted from its log so far


def test_a_stop_is_stopped_and_a_run_closed_by_the_next_push_interrupted(tmp_path: Path) -> None:
    """The store's own words: Ctrl-C is `interrupted` with a reason (a stop asked for), a run the next
    push found left open is `interrupted` without one (its process died)."""
    state = tmp_path / "state"
    store = store_at(state)
    try:
        store.start_run("ctrlc", "p", "ana")
        store.finish_run("ctrlc", "interrupted", reason="interrupted (Ctrl-C): run the same command again")
        store.start_run("budget", "p", "ana")
        store.finish_run("budget", "stopped", reason="the daily API allocation reserve is reached")
        store.start_run("died", "p", "ana")
        store.finish_run("died", "interrupted")
    finally:
        store.close()
    states = {r.run_id: (r.state, r.reason) for r in list_runs(state)}
    assert states["ctrlc"][0] == "stopped" and "Ctrl-C" in (states["ctrlc"][1] or "")
    assert states["budget"] == ("stopped", "the daily API allocation reserve is reached")
    assert states["died"] == ("interrupted", None)
    died = get_run(state, "died")
    assert died.finished_at is None and died.duration_s is None  # closed by a later push: no end known
    assert [r.run_id for r in list_runs(state, limit=1)] == ["died"]  # newest first
    assert len(list_runs(state, profile="p")) == 3
    with pytest.raises(UsageError, match=r"--profile other: .*known: p\)"):
        list_runs(state, profile="other")


@pytest.mark.sqlite_only  # an older crmsync's SQLite file
def test_a_state_dir_made_before_runs_were_described_is_migrated_and_listed(tmp_path: Path) -> None:
    """A store written by an older crmsync (no details, summary, stop_reason, changed columns) opens,
    gains them, and lists its runs from the log."""
    state = tmp_path / "state"
    state.mkdir()
    with sqlite3.connect(state / "state.sqlite3") as db:
        db.executescript("""
            CREATE TABLE runs (run_id TEXT PRIMARY KEY, profile TEXT NOT NULL, triggered_by TEXT NOT NULL,
                started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL);
            CREATE TABLE activity (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
                run_id TEXT NOT NULL, triggered_by TEXT NOT NULL, object TEXT NOT NULL,
                action TEXT NOT NULL, result TEXT NOT NULL,
                crm_id TEXT, record_url TEXT, error_code TEXT, error TEXT, stream TEXT, source_id TEXT,
                request TEXT);
            INSERT INTO runs VALUES ('old', 'p', 'bo', '2026-01-01T00:00:00.000Z', '2026-01-01T00:01:00.000Z',
                'finished');
            INSERT INTO activity (at, run_id, triggered_by, object, action, result, crm_id, stream, source_id)
                VALUES ('2026-01-01T00:00:01Z', 'old', 'bo', 'companies', 'insert', 'success', '1', 'e',
                        'e1'),
                       ('2026-01-01T00:00:02Z', 'old', 'bo', 'companies', 'update', 'error', '2', 'e',
                        'e2');
        """)
    [run] = list_runs(state)
    assert run.state == "with_failures" and run.duration_s == 60.0
    assert run.counts == {"created": 1, "updated": 0, "failed": 1, "restricted": 0, "skipped": 0}
    assert run.source_dir is None and [r.ref for r in rejected_rows(state, "old")] == ["e/e2"]
    answer = cli("retry", "old", "--state-dir", state)  # what it was asked was not kept then
    assert answer.returncode == 2 and "--profile PROFILE and --source DIR" in answer.stderr


def test_ctrl_c_is_listed_stopped_with_why_and_a_retry_of_it_says_push_again(tmp_path: Path) -> None:
    from engine.runs import RetryRequest, retry_failed
    from tests.pushkit import quiet
    from tests.test_push_lifecycle import generated, interrupted_push, push_command

    source, state, credentials = generated(tmp_path, seed=6)
    with served("hubspot", latency_ms=150) as (emulator, url):
        command = push_command("hubspot", source, url, state, credentials)
        code, _, stderr = interrupted_push(emulator, command, 1)
        assert code == 130, stderr
        [run] = list_runs(state)
        assert run.state == "stopped" and "Ctrl-C" in (run.reason or "")
        retried = retry_failed(RetryRequest(run.run_id, state_dir=state, progress=False), quiet())
    assert any("was stopped before it ended" in note for note in retried.notes())
    assert retried.push is None or retried.push.summary()["held_back"] > 0  # only what it logged failed

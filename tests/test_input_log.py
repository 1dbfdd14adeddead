"""`crmsync log` tells every record a push did not send, and says when it cannot read a filter or a filter
names nothing known (issue 9, points 14 and 15)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import PROFILES, credentials_file, served
from tests.statekit import kept_for_module, using

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "data"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The example data pushed once to a served HubSpot: it holds invalid and skipped records."""
    tmp = tmp_path_factory.mktemp("log")
    state = tmp / "state"
    kept_for_module(request, state)
    with served("hubspot") as (_, url), using(state):
        code, stdout, _ = run("push", str(PROFILES["hubspot"]), "--source", str(EXAMPLES), "--base-url", url,
                              "--format", "json", "--as", "ana@customer.example", "--state-dir", str(state),
                              "--credentials", str(credentials_file("hubspot", tmp / "creds")))
    yield state, json.loads(stdout)


def log(state: Path, *filters: str) -> tuple[int, list[dict[str, Any]], str]:
    with using(state):
        code, stdout, stderr = run("log", "--state-dir", str(state), "--format", "json", *filters)
    return code, json.loads(stdout) if code == 0 else [], stderr


def test_records_refused_before_sending_are_in_the_log(pushed: tuple[Path, dict[str, Any]]) -> None:
    state, result = pushed
    failed = [r for r in result["records"] if r["result"] == "error"]
    skipped = [r for r in result["records"] if r["result"] == "skipped"]
    assert result["summary"]["failed"] == len(failed) > 0 and skipped

    code, errors, _ = log(state, "--result", "error", "--run", result["run_id"])
    assert code == 0 and len(errors) == len(failed)
    unsent = [r for r in errors if r["action"] == "none"]
    assert {(r["stream"], r["source_id"]) for r in unsent} == {
        (r["stream"], r["source_id"]) for r in failed if r["action"] is None}
    assert all(r["error"] and r["error_code"] for r in unsent)  # the reason, with its code
    # the summary says "failed": --result failed is a name for the same rows
    assert log(state, "--result", "failed", "--run", result["run_id"])[1] == errors

    _, held, _ = log(state, "--result", "skipped", "--action", "none")
    assert {(r["stream"], r["source_id"]) for r in held} == {(r["stream"], r["source_id"]) for r in skipped}
    assert all(r["error"] for r in held)  # why it was held back


@pytest.mark.parametrize("since", ["yesterday", "2d", "3h", "2020-01-01", "2020-01-01T00:00:00Z",
                                   "2020-01-01 09:30+02:00", "today"])
def test_since_reads_iso_dates_and_times_back_from_now(pushed: tuple[Path, dict[str, Any]],
                                                       since: str) -> None:
    state, _ = pushed
    code, rows, _ = log(state, "--since", since)
    assert code == 0 and rows


def test_until_a_day_before_the_run_shows_nothing(pushed: tuple[Path, dict[str, Any]]) -> None:
    state, _ = pushed
    code, rows, _ = log(state, "--until", "yesterday")
    assert code == 0 and rows == []


@pytest.mark.parametrize("since", ["last tuesday", "2 days ago", "2026-13-45", "-1d"])
def test_a_time_it_cannot_read_is_refused(pushed: tuple[Path, dict[str, Any]], since: str) -> None:
    state, _ = pushed
    code, _, stderr = log(state, "--since", since)
    assert code == 2
    assert f"--since {since!r}: not a time crmsync can read" in stderr and "yesterday" in stderr


@pytest.mark.parametrize(("option", "value", "known"), [("--object", "Company", "companies"),
                                                      ("--run", "nosuch", None)])
def test_a_filter_naming_nothing_known_says_so(pushed: tuple[Path, dict[str, Any]], option: str, value: str,
                                               known: str | None) -> None:
    state, result = pushed
    code, _, stderr = log(state, option, value)
    assert code == 2
    assert f"{option} {value}: no " in stderr and "in the activity log" in stderr
    assert (known or result["run_id"]) in stderr  # what the log knows instead


def test_a_user_who_never_pushed_is_said_so_but_not_refused(pushed: tuple[Path, dict[str, Any]]) -> None:
    """`--by` a typo (or a colleague who has not pushed yet): an empty log, and a note naming who did."""
    state, _ = pushed
    code, rows, stderr = log(state, "--by", "ana@customer.exmaple")
    assert code == 0 and rows == []
    assert "--by ana@customer.exmaple: nobody of that name pushed" in stderr
    assert "ana@customer.example" in stderr  # who the log knows
    code, rows, stderr = log(state, "--by", "ana@customer.example")
    assert code == 0 and rows and "note:" not in stderr


def test_day_forms_cover_the_whole_day() -> None:
    from engine.activity import parse_bound

    clock = dt.datetime(2026, 12, 2, 10, 15, tzinfo=dt.UTC)
    assert parse_bound("--since", "yesterday", end=False, clock=clock) == "2026-12-01T00:00:00.000Z"
    assert parse_bound("--until", "yesterday", end=True, clock=clock) == "2026-12-01T23:59:59.999Z"
    assert parse_bound("--since", "2d", end=False, clock=clock) == "2026-11-30T10:15:00.000Z"
    noon_at_plus_two = parse_bound("--since", "2026-12-01T12:00+02:00", end=False, clock=clock)
    assert noon_at_plus_two == "2026-12-01T10:00:00.000Z"

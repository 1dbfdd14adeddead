"""The fleet's parts that need no server: intervals as people write them, workflow ids made of the
profile and the CRM org, and a worker's bad usage (exit 2, saying what to give). An unreachable Temporal
is in tests/test_fleet_cli.py, in a process of its own: a command that tried to reach Temporal ends
with os._exit (temporalio/sdk-python#300), which would end the test process too."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.errors import UsageError
from engine.fleet.jobs import interval
from engine.fleet.model import schedule_id, workflow_id
from tests.pgserver import free_port


@pytest.mark.parametrize(("text", "seconds"), [("1h", 3600), ("30m", 1800), ("1h30m", 5400), ("90s", 90),
                                               ("1d", 86400)])
def test_intervals_as_people_write_them(text: str, seconds: int) -> None:
    assert interval(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["hourly", "1x", "", "0s", "1h 30m", "-1h"])
def test_a_bad_interval_says_how_to_write_one(text: str) -> None:
    with pytest.raises(UsageError, match="--every"):
        interval(text)


def test_the_workflow_id_is_the_profile_and_the_org_without_secrets() -> None:
    one = workflow_id("hubspot-benefitflow", "https://user:pw@api.example.com/v3?hapikey=k")
    assert one == "crmsync-push/hubspot-benefitflow/api.example.com/v3"
    assert workflow_id("hubspot-benefitflow", "https://API.example.com/v3/") == one
    assert workflow_id("hubspot-benefitflow", "https://other.example.com/v3") != one
    assert schedule_id("p", "https://a.example.com") == "crmsync-schedule/p/a.example.com"


def test_a_worker_without_a_shared_state_store_is_bad_usage() -> None:
    result = CliRunner().invoke(app, ["worker", "--temporal", f"127.0.0.1:{free_port()}"])
    assert result.exit_code == 2
    assert "a worker needs --state-url" in result.output


def test_an_enqueued_jobs_org_is_the_account_id_its_credentials_are_for(tmp_path: Path) -> None:
    from engine.fleet.jobs import make_job
    from tests.pushkit import PROFILES, credentials_file, served

    source = tmp_path / "src"
    source.mkdir()
    good = credentials_file("hubspot", tmp_path / "good")
    unknown = credentials_file("hubspot", tmp_path / "bad", access_token="a-token-of-no-portal")
    with served("hubspot", account_id=31_415_926) as (_, url), pytest.MonkeyPatch.context() as env:
        env.delenv("CRMSYNC_STATE_URL", raising=False)  # no fleet store to read a binding from
        job = make_job(PROFILES["hubspot"], source, url, good)
        assert (job.org, job.org_known_by) == ("hubspot:31415926", "account")
        assert workflow_id(job.profile_name, job.org) == "crmsync-push/hubspot-benefitflow/hubspot:31415926"
        fallback = make_job(PROFILES["hubspot"], source, url, unknown)  # refused: known by its address
        assert (fallback.org, fallback.org_known_by) == (url, "address")

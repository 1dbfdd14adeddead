"""The CRM's daily API allocation is shared by every integration of the org: a push leaves a reserve
(`--daily-reserve`, 10% by default) and stops sending once the CRM's headers say only that is left.
What it sent stands; a later push goes on from there, creating nothing twice."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from engine.catalog import load_connector
from engine.cli import app
from engine.client import BudgetStopped, daily_usage
from tests.pushkit import PROFILES, credentials_file, duplicates, expected_objects, push, records, served

SALESFORCE = load_connector("salesforce").model.limits.headers
HUBSPOT = load_connector("hubspot").model.limits.headers
DYNAMICS = load_connector("dynamics").model.limits.headers


@pytest.mark.parametrize(("names", "headers", "usage"), [
    (SALESFORCE, {"Sforce-Limit-Info": "api-usage=18/5000"}, (18, 5000)),
    # the org's usage comes first; the connected app's own share follows
    (SALESFORCE, {"Sforce-Limit-Info": "api-usage=4900/5000; per-app-api-usage=17/250(appName=crmsync)"},
     (4900, 5000)),
    (SALESFORCE, {"Sforce-Limit-Info": "api-usage=unknown"}, None),
    (SALESFORCE, {}, None),
    (HUBSPOT, {"X-HubSpot-RateLimit-Daily": "650000", "X-HubSpot-RateLimit-Daily-Remaining": "649000"},
     (1000, 650000)),
    (HUBSPOT, {"X-HubSpot-RateLimit-Daily": "650000"}, None),  # OAuth calls carry no daily headers
    (HUBSPOT, {"X-HubSpot-RateLimit-Daily": "n/a", "X-HubSpot-RateLimit-Daily-Remaining": "3"}, None),
    (DYNAMICS, {"x-ms-ratelimit-burst-remaining-xrm-requests": "5999"}, None),  # no daily allocation
])
def test_the_daily_allocation_is_read_from_each_crms_headers(names: object, headers: dict[str, str],
                                                            usage: tuple[int, int] | None) -> None:
    assert daily_usage(names, httpx.Headers(headers)) == usage  # type: ignore[arg-type]


def test_a_push_stops_at_the_reserve_and_the_next_one_finishes_without_duplicates(examples: Path,
                                                                                  tmp_path: Path) -> None:
    """The examples need 12 counted requests (2 describes, 5 look-ups, 5 upserts). With 80 of 100 used,
    the reserve (10) is reached after 10: some writes go out, the rest do not (or, on a slow machine,
    the last look-ups do not: those streams are reported as not planned)."""
    with served("salesforce", daily_api_requests=100) as (emulator, url):
        emulator.daily_used = 80  # the org's other integrations, today
        first = push("salesforce", examples, url, tmp_path / "state")
        assert first.stopped and "daily API allocation is nearly used" in first.stopped
        assert "--daily-reserve" in first.stopped
        assert [o for o in first.outcomes if o.error_code == "stopped"] or first.unplanned
        assert emulator.daily_used <= 92  # at most what was in flight when it was told
        emulator.daily_used = 0  # a day later
        second = push("salesforce", examples, url, tmp_path / "state")
        crm = records(url)
    assert second.stopped is None
    # every record is in the CRM once, and created by exactly one of the runs: the writes in flight when
    # the first stopped were answered and reported (a stop does not cut them off)
    expected = expected_objects("salesforce", examples)
    assert (len(crm["Account"]), len(crm["Contact"])) == (expected["Account"], expected["Contact"])
    created = [o.record.ref for result in (first, second) for o in result.outcomes
               if o.action == "insert" and o.result == "success"]
    assert len(created) == len(set(created)) == sum(expected.values())
    assert duplicates([r["BenefitFlow_Id__c"] for r in crm["Account"] + crm["Contact"]]) == {}


def test_a_push_that_finds_the_allocation_spent_sends_nothing_more(examples: Path, tmp_path: Path) -> None:
    with served("hubspot", daily_limit=1000) as (emulator, url):
        emulator.daily_used = 995
        with pytest.raises(BudgetStopped, match=r"99\d of 1,000 requests; 10% is left"):
            push("hubspot", examples, url, tmp_path / "state")
        assert records(url)["companies"] == [] and emulator.daily_used <= 1000


def test_the_reserve_is_a_push_option(examples: Path, tmp_path: Path) -> None:
    """--daily-reserve 0 spends the allocation to its end."""
    creds = credentials_file("hubspot", tmp_path / "creds")
    with served("hubspot", daily_limit=10_000) as (emulator, url):
        emulator.daily_used = 9_500  # 5% left: below the default reserve, above none
        result = CliRunner().invoke(app, ["push", str(Path(__file__).parent.parent / "profiles" /
                                                      "hubspot-benefitflow.yaml"), "--source", str(examples),
                                          "--base-url", url, "--state-dir", str(tmp_path / "state"),
                                          "--credentials", str(creds), "--daily-reserve", "0",
                                          "--format", "json"])
        assert result.exit_code in (0, 1), result.output  # 1: the examples hold invalid records
        assert records(url)["companies"]


@pytest.mark.parametrize(("used", "enough"), [(10, True), (85, False)])
def test_the_dry_run_says_whether_the_daily_allocation_can_take_the_push(
        used: int, enough: bool, examples: Path, tmp_path: Path) -> None:
    """A plan against the CRM reads the allocation from its answers and sets the push's needs against
    what it may use (above the default reserve); the table, the JSON and the HTML say so."""
    from engine.dryrun import dry_run
    from engine.htmlreport import html_report
    from engine.report import daily_line

    creds = credentials_file("salesforce", tmp_path / "creds")
    with served("salesforce", daily_api_requests=100) as (emulator, url):
        emulator.daily_used = used
        plan = dry_run(PROFILES["salesforce"], examples, base_url=url, state_dir=tmp_path / "state",
                       credentials_file=creds)
    budget = plan.cost["daily_allocation"]
    needed = plan.cost["total_requests"]
    assert budget["allocation"] == 100 and budget["reserve"] == 10 and budget["needed"] == needed
    assert used < budget["used"] <= used + 2 + needed  # the dry-run's own reads count too
    assert budget["enough"] is enough and budget["usable"] == max(0, 90 - budget["used"])
    shown = daily_line(budget)
    assert shown.startswith(f"Daily API allocation: {budget['used']} of 100 used; a push keeps 10 ")
    assert ("not enough: it would stop after about" in shown) is not enough
    assert ("not enough, it would stop after about" in "".join(html_report(plan))) is not enough

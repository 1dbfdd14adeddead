"""Limits as CRMs publish them, each against a made-up CRM that enforces it and answers 429 when it is
broken (tests/madeup_limits.py): a fixed window, a limit on one endpoint, a credit cost per endpoint and
a daily budget given only as what is left."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from typer.testing import CliRunner

from engine.catalog import load_connector, load_profile
from engine.cli import app
from engine.client import Credentials, CrmClient, RateLimiter, _FixedWindow
from engine.connector import EndpointName, LimitsSpec, RateLimit
from engine.metadata import fetch_live_fields
from engine.sandbox.common import running
from tests.madeup_limits import TinyLimits, write_files
from tests.pushkit import PROFILES, served
from tests.test_loader import assert_error_at, errors_of


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_fixed_window_resets_at_each_boundary_and_carries_what_is_in_flight() -> None:
    clock = Clock(9.5)
    window = _FixedWindow(RateLimit(requests=2, per_seconds=10, window="fixed"), clock)
    window.take()
    window.take()
    assert window.wait(0) is None  # both unanswered: they may count in the next window too
    window.free(0)  # answered within the window: its place stays taken until the window ends
    assert window.wait(0) == pytest.approx(0.5)  # where a sliding window would wait 10 s after the answer
    clock.now = 10.0  # a new window; the request still unanswered may be counted in it
    assert window.wait(0) == 0.0 and len(window) == 1
    window.free(0)  # answered in the new window: counted in it
    window.take()
    assert len(window) == 2 and window.wait(0) == pytest.approx(10.0)
    clock.now = 20.0
    assert window.wait(0) == 0.0 and len(window) == 1  # the one still unanswered


def push(profile: Path, url: str, state: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(app, ["push", str(profile), "--source", str(profile.parent / "source"),
                                      "--base-url", url, "--state-dir", str(state), "--format", "json",
                                      *extra],
                                env={"CRMSYNC_ACCESS_TOKEN": "tiny-key"})
    try:
        return result.exit_code, json.loads(result.stdout), result.output
    except ValueError:
        return result.exit_code, {}, result.output


def rename_all(profile: Path) -> None:
    source = profile.parent / "source" / "employer.jsonl"
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    source.write_text("".join(json.dumps({**r, "name": r["name"] + " Inc."}) + "\n" for r in rows),
                      encoding="utf-8")


def test_a_push_spanning_several_fixed_windows_never_gets_a_429(tmp_path: Path) -> None:
    """3 requests per fixed 0.5 s window: the first push (metadata, a look-up, 6 batch creates) and the
    second (a look-up, 12 updates) each span several windows, and the CRM never refuses one."""
    profile = write_files(tmp_path, "limits:\n  rate:\n    - {requests: 3, per_seconds: 0.5, window: fixed}")
    crm = TinyLimits(fixed=(3, 0.5))
    with running(crm) as url:  # type: ignore[arg-type]
        code, first, output = push(profile, url, tmp_path / "state")
        assert code == 0, output
        assert first["summary"]["created"] == 12 and crm.refused == 0
        rename_all(profile)
        # a new run knows nothing of the window the last one used (as of another app's requests): it
        # starts in a fresh one
        time.sleep(0.5 - time.time() % 0.5)
        code, second, output = push(profile, url, tmp_path / "state")
        assert code == 0, output
    assert second["summary"]["updated"] == 12 and crm.refused == 0
    assert len(crm.requests) > 3 * 4  # at least five windows' worth
    names = sorted(r["name"] for r in crm.records["companies"])
    assert names == sorted(f"Company {i} Inc." for i in range(12))


def test_a_limit_on_one_endpoint_holds_its_requests_only(tmp_path: Path) -> None:
    """The CRM allows one look-up per 0.3 s, the writes free: 6 look-ups of 2 values are spaced, no 429."""
    profile = write_files(tmp_path, "limits:\n  rate:\n    - {requests: 1, per_seconds: 0.3, "
                                    "applies_to: [lookup]}", max_values=2, batch=50)
    crm = TinyLimits(lookups=(1, 0.3))
    with running(crm) as url:  # type: ignore[arg-type]
        code, result, output = push(profile, url, tmp_path / "state")
    assert code == 0, output
    assert result["summary"]["created"] == 12 and crm.refused == 0
    assert sum(1 for r in crm.requests if r["method"] == "GET" and "/meta/" not in r["path"]) == 6


@pytest.mark.parametrize("name", get_args(EndpointName))
def test_applies_to_counts_the_requests_of_each_endpoint_name(name: str) -> None:
    async def held_by(kind: str) -> int:
        limiter = RateLimiter(LimitsSpec(rate=[RateLimit(requests=5, per_seconds=60, applies_to=[name])]))
        await limiter.acquire(kind, "/any")
        return len(limiter.windows[0])

    others = [n for n in get_args(EndpointName) if n != name]
    assert asyncio.run(held_by(name)) == 1
    assert [asyncio.run(held_by(other)) for other in others] == [0] * len(others)


def test_field_rules_requests_are_counted_as_field_rules(tmp_path: Path) -> None:
    """They went out as `metadata`, so a limit `applies_to: [field_rules]` never held them."""
    bundle = load_profile(PROFILES["hubspot"])
    connector = bundle.connector.model
    limits = connector.limits.model_copy(update={"rate": [RateLimit(requests=50, per_seconds=60,
                                                                    applies_to=["field_rules"])]})
    bundle.connector.model = connector.model_copy(update={"limits": limits})

    async def fetch(url: str) -> int:
        client = CrmClient(bundle.connector.model, url, Credentials(access_token="sandbox-token"))
        try:
            await fetch_live_fields(bundle, client)
        finally:
            await client.close()
        return len(client.limiter.windows[0])

    with served("hubspot") as (_, url):
        held = asyncio.run(fetch(url))
        sent = [r for r in httpx.get(url + "/_sandbox/requests").json()
                if "validation" in r["path"]]
    assert sent and held == len(sent)


def test_a_remaining_only_budget_stops_at_the_reserve_and_the_same_command_resumes(tmp_path: Path) -> None:
    """8 credits left, one credit per started 5 records of a batch create: metadata and the look-up take
    2, five batches of 5 take 5, and the sixth would leave less than the reserve (10% of the 7 there were
    when the run found the budget). The run stops with exit 1 before the CRM refuses anything; a day
    later the same command creates the other 15, none twice."""
    profile = write_files(tmp_path, "limits:\n  headers: {daily_remaining: X-Credits-Remaining}",
                          companies=40, batch=5, create_cost="{credits: 1, per_records: 5}")
    crm = TinyLimits(credits=8, per_records=5)
    with running(crm) as url:  # type: ignore[arg-type]
        code, first, output = push(profile, url, tmp_path / "state")
        assert code == 1, output
        assert crm.refused == 0 and len(crm.records["companies"]) == 25
        assert "1 credits remain" in output
        assert "the same command goes on from where this run stopped" in output
        assert "nothing sent is lost" in output
        crm.credits = 100  # a day later
        code, second, output = push(profile, url, tmp_path / "state")
        assert code == 0, output
    assert second["summary"]["created"] == 15 and crm.refused == 0
    domains = [r["domain"] for r in crm.records["companies"]]
    assert len(domains) == len(set(domains)) == 40


def test_a_remaining_only_budget_out_of_the_published_daily_one(tmp_path: Path) -> None:
    """With `daily`, the reserve is a share of the whole budget: 10% of 100 is 10 credits, so a CRM with
    12 left takes the metadata read and the look-up, and nothing more."""
    profile = write_files(tmp_path, "limits:\n  daily: 100\n"
                                    "  headers: {daily_remaining: X-Credits-Remaining}")
    crm = TinyLimits(credits=12)
    with running(crm) as url:  # type: ignore[arg-type]
        code, _, output = push(profile, url, tmp_path / "state")
    assert code == 1, output
    assert crm.records["companies"] == [] and crm.refused == 0
    assert "90 of 100 requests" in output.replace(",", "")


CASES = [  # (connector limits or create cost, line:col, message fragment)
    pytest.param("limits:\n  rate:\n    - {requests: 3, per_seconds: 1, window: fixd}", "11:45",
                 "'sliding' or 'fixed'", id="window-kind"),
    pytest.param("limits:\n  daily: 0", "10:10", "greater than or equal to 1", id="daily-positive"),
]


@pytest.mark.parametrize(("limits", "where", "fragment"), CASES)
def test_misused_limits_are_located(tmp_path: Path, limits: str, where: str, fragment: str) -> None:
    profile = write_files(tmp_path, limits)
    assert_error_at(errors_of(profile.parent / "tinylimits.yaml", "connector"),
                    profile.parent / "tinylimits.yaml", where, fragment)


@pytest.mark.parametrize(("cost", "fragment"), [
    ("-1", "greater than or equal to 0"),
    ("{credits: 1, per_record: 5}", "unknown key 'per_record'; did you mean 'per_records'?"),
    ("{credits: 1, per_records: 0}", "greater than or equal to 1"),
])
def test_misused_costs_are_located(tmp_path: Path, cost: str, fragment: str) -> None:
    profile = write_files(tmp_path, "", create_cost=cost)
    path = profile.parent / "tinylimits.yaml"
    errors = errors_of(path, "connector")
    assert any(fragment in e.message and e.position and e.position.line >= 36 for e in errors), errors


def test_a_cost_per_records_needs_a_batch(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    profile = write_files(tmp_path, "")
    text = (profile.parent / "tinylimits.yaml").read_text(encoding="utf-8").replace(
        "  update: {method: PATCH,", "  update: {cost: {credits: 1, per_records: 10}, method: PATCH,")
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index(next(t for t in text.splitlines() if "per_records: 10" in t)) + 1
    assert_error_at(errors_of(path, "connector"), path, f"{line}:11", "this endpoint has no `batch`")


def test_the_built_in_connectors_count_requests() -> None:
    from engine.client import budget_unit

    units = {budget_unit(load_connector(n).model) for n in ("hubspot", "salesforce", "dynamics")}
    assert units == {"requests"}
    assert budget_unit(load_connector("zoho").model) == "credits"  # Zoho's endpoints declare their cost


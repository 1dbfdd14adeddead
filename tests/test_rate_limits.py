"""Published rate limits: which requests each one counts (by endpoint kind and by URL path)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from engine.catalog import load_connector, load_profile
from engine.client import RateLimiter
from engine.connector import LimitsSpec, RateLimit
from engine.plan import make_plan_sync

SEARCH = RateLimit(requests=5, per_seconds=1, paths=["/search$"])
LOOKUPS = RateLimit(requests=5, per_seconds=1, applies_to=["lookup"])
EVERYTHING = RateLimit(requests=190, per_seconds=10)


@pytest.mark.parametrize(("rule", "kind", "path", "counts"), [
    (SEARCH, "lookup", "/crm/v3/objects/companies/search", True),
    (SEARCH, "lookup", "/crm/v3/objects/contacts/batch/read", False),
    (SEARCH, "create", "/crm/v3/objects/companies/batch/create", False),
    (LOOKUPS, "lookup", "/crm/v3/objects/contacts/batch/read", True),
    (LOOKUPS, "create", "/crm/v3/objects/companies/search", False),
    (EVERYTHING, "associate", "/crm/v4/associations/contacts/companies/batch/create", True),
])
def test_a_limit_counts_the_requests_its_kinds_and_paths_name(rule: RateLimit, kind: str, path: str,
                                                               counts: bool) -> None:
    assert rule.applies(kind, path) is counts


def test_a_bad_path_regex_is_a_load_error() -> None:
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        RateLimit(requests=1, per_seconds=1, paths=["(unclosed"])


def test_the_limiter_fills_only_the_windows_of_the_limits_that_apply() -> None:
    limiter = RateLimiter(LimitsSpec(rate=[EVERYTHING, SEARCH]))

    async def send() -> None:
        for _ in range(3):
            await limiter.acquire("lookup", "/crm/v3/objects/contacts/batch/read")
        await limiter.acquire("lookup", "/crm/v3/objects/companies/search")

    asyncio.run(send())
    assert [len(limiter.windows[i]) for i in range(2)] == [4, 1]


def test_a_place_frees_a_period_after_the_answer_not_the_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CRM may count a request as late as its answer: a place frees a period after that."""
    clock = [100.0]
    monkeypatch.setattr("engine.client.time.monotonic", lambda: clock[0])
    limiter = RateLimiter(LimitsSpec(rate=[RateLimit(requests=1, per_seconds=1)]))
    [window] = limiter.windows

    async def scenario() -> None:
        slot = await limiter.acquire("lookup", "/x")
        assert window.wait(clock[0]) is None  # in flight: only its answer can free the place
        clock[0] += 0.3  # answered 0.3 s after it was sent
        limiter.release(slot)
        clock[0] += 0.9
        assert window.wait(clock[0]) == pytest.approx(0.1)  # 1 s after the answer, not after the sending
        clock[0] += 0.1
        assert window.wait(clock[0]) == 0.0

    asyncio.run(scenario())


def test_a_request_waits_only_for_the_limits_that_count_it() -> None:
    """A write is not held behind searches waiting for the search limit."""
    limiter = RateLimiter(LimitsSpec(rate=[EVERYTHING, SEARCH]))
    order: list[str] = []

    async def one(kind: str, path: str) -> None:
        slot = await limiter.acquire(kind, path)
        order.append(path)
        limiter.release(slot)

    async def scenario() -> None:
        searches = [asyncio.create_task(one("lookup", "/crm/v3/objects/companies/search")) for _ in range(7)]
        await asyncio.sleep(0)  # five searches go; two wait for the search window
        await one("create", "/crm/v3/objects/companies/batch/create")
        assert order.count("/crm/v3/objects/companies/search") == 5
        await asyncio.gather(*searches)

    asyncio.run(scenario())
    assert order[5] == "/crm/v3/objects/companies/batch/create"


@pytest.mark.parametrize(("asked", "published", "bound"), [(None, None, 16), (None, 25, 25), (None, 52, 52),
                                                           (4, 52, 4), (100, 52, 52), (20, None, 20)])
def test_the_concurrency_bound_is_the_published_limit_unless_asked_lower(
        asked: int | None, published: int | None, bound: int) -> None:
    from engine.client import CrmClient

    assert CrmClient.concurrency_bound(LimitsSpec(concurrency=published), asked) == bound


def test_hubspots_search_limit_counts_company_searches_not_contact_batch_reads(
        root: Path, examples: Path) -> None:
    hubspot = load_connector("hubspot").model
    [search_limit] = [r for r in hubspot.limits.rate if r.paths]
    plan = make_plan_sync(load_profile(root / "profiles" / "hubspot-benefitflow.yaml"), examples)
    counted = [r.url for r in plan.lookups if search_limit.applies(r.kind, httpx.URL(r.url).path)]
    assert counted and all("/companies/search" in url for url in counted)
    assert len(counted) < len(plan.lookups)  # the contacts' batch reads are not counted


def test_a_spent_budget_is_waited_until_our_oldest_place_frees(monkeypatch: pytest.MonkeyPatch) -> None:
    """X-HubSpot-RateLimit-Remaining: 0 pauses until the oldest place this client holds in a 10 s window
    frees (the CRM counted that request too), not a whole interval from the answer."""
    clock = [100.0]
    monkeypatch.setattr("engine.client.time.monotonic", lambda: clock[0])
    hubspot = load_connector("hubspot").model
    limiter = RateLimiter(hubspot.limits)
    headers = {"X-HubSpot-RateLimit-Remaining": "0", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}

    async def scenario() -> None:
        limiter.release(await limiter.acquire("lookup", "/crm/v3/objects/contacts/batch/read"))  # at 100
        clock[0] = 108.0
        limiter.observe(httpx.Response(200, headers=headers))

    asyncio.run(scenario())
    assert limiter.pause_until == pytest.approx(110.0)


def test_a_spent_budget_with_no_place_of_ours_waits_an_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("engine.client.time.monotonic", lambda: clock[0])
    limiter = RateLimiter(load_connector("hubspot").model.limits)
    headers = {"X-HubSpot-RateLimit-Remaining": "0", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    limiter.observe(httpx.Response(200, headers=headers))
    assert limiter.pause_until == pytest.approx(110.0)

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


def test_hubspots_search_limit_counts_company_searches_not_contact_batch_reads(
        root: Path, examples: Path) -> None:
    hubspot = load_connector("hubspot").model
    [search_limit] = [r for r in hubspot.limits.rate if r.paths]
    plan = make_plan_sync(load_profile(root / "profiles" / "hubspot-benefitflow.yaml"), examples)
    counted = [r.url for r in plan.lookups if search_limit.applies(r.kind, httpx.URL(r.url).path)]
    assert counted and all("/companies/search" in url for url in counted)
    assert len(counted) < len(plan.lookups)  # the contacts' batch reads are not counted

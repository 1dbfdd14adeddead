"""The review app in a real browser (Debian's Chromium through Playwright): the token, filtering,
searching, selecting, resolving an ambiguous record, approving and pushing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browserkit import fresh_page, launched, review_of, serving
from tests.pushkit import PROFILES

HUBSPOT = PROFILES["hubspot"]


@pytest.fixture(scope="module")  # not the session's: while open, asyncio.run fails in this thread
def browser() -> Iterator[Any]:
    yield from launched()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from fresh_page(browser)


@pytest.fixture
def offline(examples: Path, tmp_path: Path) -> Iterator[str]:
    """The example data's offline plan, served: its address with the token."""
    with serving(review_of(HUBSPOT, examples, tmp_path / "state")) as url:
        yield url


def test_without_the_token_the_app_refuses_the_browser(page: Any, offline: str) -> None:
    bare = offline.split("?")[0]
    answer = page.goto(bare)
    assert answer.status == 403 and "403 Forbidden" in page.content()
    answer = page.goto(bare + "?token=not-the-token")
    assert answer.status == 403
    answer = page.goto(offline)  # the printed address: the token becomes a cookie, then leaves the URL
    assert answer.status == 200 and "token=" not in page.url
    assert page.locator("[data-status=net_new] b").inner_text() == "50"


def test_filter_by_status_shows_only_those_records(page: Any, offline: str) -> None:
    page.goto(offline)
    page.select_option("select[name=status]", "invalid")
    page.wait_for_function("document.querySelectorAll('#table tr[data-ref]').length == 2")
    refs = page.locator("#table tr[data-ref]").evaluate_all("rows => rows.map(r => r.dataset.ref)")
    assert sorted(refs) == ["employer/emp-008", "employer/emp-009"]
    assert "status=invalid" in page.url  # the address says the filter: reload or share it
    page.reload()
    assert page.locator("#table tr[data-ref]").count() == 2

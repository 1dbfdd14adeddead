"""The review app in a real browser (Debian's Chromium through Playwright): the token, filtering,
searching, selecting, resolving an ambiguous record, approving and pushing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browserkit import NARROW, WIDE, fresh_page, launched, review_of, serving
from tests.pushkit import PROFILES

HUBSPOT = PROFILES["hubspot"]


@pytest.fixture(scope="session")
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


def shown_refs(page: Any) -> list[str]:
    return page.locator("#table tr[data-ref]").evaluate_all("rows => rows.map(r => r.dataset.ref)")


def test_search_finds_a_name_with_an_apostrophe_and_an_email(page: Any, offline: str) -> None:
    page.goto(offline)
    page.select_option("select[name=within]", "name")
    page.fill("#q", "o'malley")
    page.wait_for_function("document.querySelector('#table [data-total]').dataset.total == '3'")
    names = page.locator("#table td.name > a").all_inner_texts()
    assert "O'Malley Insurance Partners" in names and all("O'Malley" in n for n in names), names
    page.fill("#q", "JANE.DOE@bluebird")
    page.select_option("select[name=within]", "email")
    page.wait_for_function("document.querySelector('#table [data-total]').dataset.total == '1'")
    assert shown_refs(page) == ["employer_contact/ec-001"]
    page.fill("#q", "nothing-like-this")
    page.wait_for_selector("#table td.empty")


def test_select_one_and_every_record_a_filter_finds(page: Any, offline: str) -> None:
    page.goto(offline)
    counter = page.locator("#selection b")
    assert counter.inner_text() == "50"
    page.locator("tr[data-ref='broker/brk-001'] input[type=checkbox]").uncheck()
    page.wait_for_function("document.querySelector('#selection b').innerText == '49'")
    page.select_option("select[name=stream]", "employer")
    page.wait_for_function("document.querySelector('#table [data-total]').dataset.total == '12'")
    page.click("text=Deselect all matching")
    # 9 of the 12 employers are written (the others are invalid or skipped)
    page.wait_for_function("document.querySelector('#selection b').innerText == '40'")
    page.wait_for_function("document.querySelectorAll('#table input[type=checkbox]:checked').length == 0")
    invalid = page.locator("tr[data-ref='employer/emp-008'] input[type=checkbox]")
    assert invalid.is_disabled()  # an invalid record is never pushed: it cannot be chosen
    page.click("text=Select all 12 matching")
    page.wait_for_function("document.querySelector('#selection b').innerText == '49'")


def test_screens_read_at_1280_and_at_400_wide(browser: Any, offline: str, tmp_path: Path) -> None:
    for name, viewport in (("wide", WIDE), ("narrow", NARROW)):
        for tab in fresh_page(browser, viewport):
            tab.goto(offline)
            tab.screenshot(path=str(tmp_path / f"plan-{name}.png"))
            width = tab.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{name}: the page scrolls sideways"
            tab.click("tr[data-ref='employer/emp-008'] td.name a")
            tab.wait_for_selector("h1:has-text('Lakeshore Schools Foundation')")
            assert "not_in_picklist" in tab.content()
            tab.screenshot(path=str(tmp_path / f"record-{name}.png"))
            assert tab.evaluate("document.documentElement.scrollWidth") <= viewport["width"]

"""The review app in a real browser (Debian's Chromium through Playwright): the token, filtering,
searching, selecting, resolving an ambiguous record, approving and pushing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browserkit import NARROW, WIDE, fresh_page, review_against, review_of, serving
from tests.pushkit import PROFILES, records, served
from tests.statekit import store_at
from tests.test_pull_decisions import twin_companies

HUBSPOT = PROFILES["hubspot"]



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


def test_approve_then_push_now_sends_the_selection_to_the_crm(page: Any, examples: Path,
                                                              tmp_path: Path) -> None:
    with served("hubspot") as (_, crm):
        review = review_against(crm, examples, tmp_path)
        with serving(review) as url:
            page.goto(url)
            page.click("text=Deselect all matching")
            page.wait_for_function("document.querySelector('#selection b').innerText == '0'")
            page.wait_for_function("!document.querySelector('#table input[type=checkbox]:checked')")
            page.locator("tr[data-ref='broker/brk-002'] input[type=checkbox]").check()
            page.wait_for_function("document.querySelector('#selection b').innerText == '1'")
            page.fill("#q", "emp-010")
            page.wait_for_function("document.querySelector('#table [data-total]').dataset.total == '1'")
            page.locator("tr[data-ref='employer/emp-010'] input[type=checkbox]").check()
            page.wait_for_function("document.querySelector('#selection b').innerText == '2'")
            page.click("#selection button:has-text('Approve')")
            page.wait_for_selector("h1:has-text('Approved: 2 records')")
            command = page.locator("[data-command]").inner_text()
            assert command.startswith("crmsync push --plan ") and "--state-dir" in command
            assert records(crm).get("companies", []) == []  # approving sends nothing
            page.on("dialog", lambda dialog: dialog.accept())  # "Push the 2 selected records now?"
            page.click("main button:has-text('Push now')")
            page.wait_for_selector("#push .finished", timeout=60_000)
            assert "2/2 written" in page.locator("#push").inner_text()
            assert "2 created" in page.locator("#push [data-summary]").inner_text()
        names = sorted(c["properties"]["name"] for c in records(crm)["companies"])
    assert names == sorted(["O'Malley Insurance Partners", review_name(review, "employer/emp-010")]), names


def review_name(review: Any, ref: str) -> str:
    return str(review.db.execute("SELECT name FROM records WHERE ref = ?", (ref,)).fetchone()[0])


def test_resolve_an_ambiguous_record_by_choosing_its_candidate(page: Any, examples: Path,
                                                               tmp_path: Path) -> None:
    with served("hubspot", seed=twin_companies("hubspot")) as (_, crm):
        with serving(review_against(crm, examples, tmp_path)) as url:
            page.goto(url)
            page.click("[data-status=ambiguous]")
            page.wait_for_selector("tr[data-ref='employer/emp-001']")
            assert page.locator("tr[data-ref='employer/emp-001'] input[type=checkbox]").is_disabled()
            page.click("text=2 candidates — choose")
            options = page.locator("input[name=crm_id]")
            assert options.count() == 2
            chosen = options.nth(1).get_attribute("value")
            options.nth(1).check()
            page.click("text=Link to the chosen record")
            page.wait_for_selector(f"p.ok:has-text('Linked to {chosen}')")
            page.goto(url.split("?")[0] + "?status=ambiguous")
            assert page.locator("tr[data-ref='employer/emp-001'] input[type=checkbox]").is_checked()
        links = {lk.crm_id for lk in store_at(tmp_path / "state").links("hubspot-benefitflow").values()}
    assert chosen in links  # the link `crmsync link` makes: the next plan and push honour it

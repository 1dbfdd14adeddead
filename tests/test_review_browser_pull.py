"""The Pull page in a real browser (Debian's Chromium through Playwright), against a served HubSpot
portal holding what the example data pushed (from another state dir: nothing linked here) and one
company no local record is: Pull now, then link a Match Found record to its best candidate, import the
New one, and link in bulk every confident match a filter finds, the state dir (and the imported file)
checked after each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browserkit import NARROW, fresh_page, review_of, serving
from tests.pushkit import PROFILES, credentials_file, push, records, served
from tests.statekit import PULL_PAGE_READS_SQLITE, store_at
from tests.test_review_browser_runs import aside, shot

pytestmark = pytest.mark.sqlite_only(PULL_PAGE_READS_SQLITE)

HUBSPOT = PROFILES["hubspot"]
STRANGER = {"name": "Zephyr Lantern Works", "domain": "zephyr-lantern.example"}  # no local record is it



@pytest.fixture
def portal(examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.chdir(tmp_path)  # imports go to ./crmsync-import, as `crmsync import` writes them
    creds = credentials_file("hubspot", tmp_path / "creds")
    with served("hubspot", seed={"companies": [STRANGER]}) as (_, url):
        aside(push, "hubspot", examples, url, tmp_path / "pusher", credentials=creds)
        state = tmp_path / "state"
        review = review_of(HUBSPOT, examples, state, base_url=url, credentials_file=creds)
        with serving(review) as address:
            yield {"address": address, "state": state, "imported": tmp_path / "crmsync-import", "url": url}


def crm_records(url: str) -> dict[str, list[dict[str, Any]]]:
    return aside(records, url)


def links(state: Path) -> dict[str, str]:
    store = store_at(state)
    try:
        return {lk.crm_id: f"{lk.stream}/{lk.source_id}" for lk in store.links(HUBSPOT.stem).values()}
    finally:
        store.close()


def count(page: Any, decision: str) -> int:
    return int(page.locator(f"#pulled .counts [data-decision={decision}] b").inner_text().replace(",", ""))


def rows(page: Any) -> Any:
    return page.locator("#pulled tr[data-crm-id]")


def test_pull_link_import_and_bulk_link_from_the_page(page: Any, portal: dict[str, Any]) -> None:
    in_crm = crm_records(portal["url"])
    page.goto(portal["address"])
    page.click("nav >> text=Pull")
    page.wait_for_selector("text=Nothing pulled yet")
    page.click("text=Pull now")
    page.wait_for_selector("[data-pull=done]", timeout=60_000)
    page.click("#pull-job >> text=show")
    matched, new = count(page, "match_found"), count(page, "new")
    assert new == 1 and matched >= 3 and count(page, "linked") == 0
    shot(page, "pull-wide")

    page.select_option("select[name=decision]", "match_found")
    page.wait_for_function("[...document.querySelectorAll('#pulled tr[data-crm-id]')]"
                           ".every(r => r.dataset.decision == 'match_found')")
    first = rows(page).first
    crm_id = first.get_attribute("data-crm-id")
    best = first.locator("[data-action=link]").first.get_attribute("data-ref")
    assert first.locator(".candidate .small").first.inner_text()  # the reasons it is ranked so
    first.locator("[data-action=link]").first.click()
    page.wait_for_selector("[data-outcome=link]")
    assert "1 linked" in page.locator("[data-outcome]").inner_text()
    assert links(portal["state"]) == {crm_id: best}
    assert count(page, "linked") == 1 and count(page, "match_found") == matched - 1

    page.select_option("select[name=decision]", "new")
    page.wait_for_function("document.querySelectorAll('#pulled tr[data-crm-id]').length == 1")
    stranger = rows(page).first
    assert STRANGER["name"] in stranger.inner_text()
    stranger_id = stranger.get_attribute("data-crm-id")
    stranger.locator("[data-action=import]").click()
    page.wait_for_selector("[data-outcome=import]")
    assert "1 imported" in page.locator("[data-outcome]").inner_text()
    assert links(portal["state"])[stranger_id] == f"employer/hubspot-{stranger_id}"
    [written] = [json.loads(line) for line in
                 (portal["imported"] / "employer.jsonl").read_text(encoding="utf-8").splitlines()]
    assert written["id"] == f"hubspot-{stranger_id}" and written["name"] == STRANGER["name"]

    page.select_option("select[name=decision]", "match_found")
    page.fill("input[name=min_score]", "0.9")
    page.press("input[name=min_score]", "Enter")
    page.wait_for_function("location.search.includes('min_score=0.9')")
    scores = page.locator("#pulled tr[data-crm-id] .candidate:first-child .score").all_inner_texts()
    assert scores and all(float(s) >= 0.9 for s in scores)
    confident = {r.get_attribute("data-crm-id"): r.locator("[data-action=link]").first.get_attribute(
        "data-ref") for r in rows(page).all()}
    total = int(page.locator("#pulled [data-total]").get_attribute("data-total"))
    assert confident and total == len(confident)
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("[data-bulk=link-best]")
    page.wait_for_selector("[data-outcome=link]")
    now = links(portal["state"])
    done = {c: r for c, r in confident.items() if now.get(c) == r}
    assert f"{len(done)} linked" in page.locator("[data-outcome]").inner_text()
    assert len(done) >= len(confident) - 1  # two records sharing a best candidate: the second is refused
    assert len(now) == 2 + len(done) and count(page, "linked") == 2 + len(done)
    shot(page, "pull-bulk-wide")
    assert crm_records(portal["url"]) == in_crm  # links and imports are local: the CRM is as it was


def test_the_pull_page_reads_on_a_narrow_window(browser: Any, portal: dict[str, Any]) -> None:
    for page in fresh_page(browser, NARROW):
        page.goto(portal["address"])
        page.goto(page.url.rstrip("/") + "/pull")
        page.click("text=Pull now")
        page.wait_for_selector("[data-pull=done]", timeout=60_000)
        page.click("#pull-job >> text=show")
        page.wait_for_load_state()  # its stylesheet too: the width is measured as the page is shown
        assert rows(page).count() > 0
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        shot(page, "pull-narrow")

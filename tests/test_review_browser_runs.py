"""The Runs pages in a real browser (Debian's Chromium through Playwright): a push to a served HubSpot
portal that refuses two companies shows as a run with failures, its rejected rows carry the portal's
own message, filter and download as CSV, and Retry failed sends those two only (counted at the portal)
and lists the new run."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from engine.runs import list_runs
from engine.sandbox.common import running
from tests.browserkit import NARROW, fresh_page, review_of, serving
from tests.pushkit import push, rewrite
from tests.runskit import Refusing, creds, employer_profile, employers

SHOTS = os.environ.get("CRMSYNC_SCREENSHOTS")  # a folder: the pages are saved there to be looked at



def shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))  # the window as a person sees it


def aside(work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`work` in a thread of its own: Playwright's sync API keeps an event loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work, *args, **kwargs).result()


@pytest.fixture
def refused(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A push of 3 good and 2 refused employers to a served portal, and the review app over its state."""
    source, state = employers(tmp_path / "src", good=3, bad=2), tmp_path / "state"
    portal = Refusing()
    with running(portal) as url:
        profile = employer_profile(tmp_path)
        first = aside(push, "hubspot", source, url, state, profile=profile, credentials=creds(tmp_path))
        assert first.summary()["failed"] == 2
        review = review_of(profile, source, state, base_url=url, credentials_file=creds(tmp_path))
        with serving(review) as address:
            yield {"address": address, "portal": portal, "run": first.run_id, "source": source,
                   "state": state}


def test_a_run_with_failures_its_rejected_rows_their_csv_and_retry_failed(page: Any,
                                                                         refused: dict[str, Any]) -> None:
    page.goto(refused["address"])
    page.click("nav >> text=Runs")
    row = page.locator(f"tr[data-run='{refused['run']}']")
    assert row.get_attribute("data-state") == "with_failures"
    assert "With failures" in row.inner_text() and "3 created" in row.inner_text()
    assert "2 failed" in row.inner_text() and "tester" in row.inner_text()
    shot(page, "runs-wide")
    row.locator("a").first.click()
    rejected = page.locator("#rejected tr[data-ref]")
    refs = rejected.evaluate_all("rows => rows.map(r => r.dataset.ref)")
    assert sorted(refs) == ["employer/b1", "employer/b2"]
    assert "not a url is not a valid URL" in rejected.first.inner_text()  # the portal's own words
    shot(page, "run-wide")

    page.fill("#rq", "b2")
    page.wait_for_function("document.querySelectorAll('#rejected tr[data-ref]').length == 1")
    assert page.locator("#rejected tr[data-ref]").get_attribute("data-ref") == "employer/b2"
    assert "q=b2" in page.url
    # the link comes with the filtered table (an htmx swap): click the one that carries the filter, once
    # the swap has settled, not the one being replaced
    link = page.locator("a.download[href*='q=b2']")
    link.wait_for(state="visible")
    page.wait_for_load_state("networkidle")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == f"rejected-{refused['run']}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(r["stream"], r["source_id"], r["error_code"]) for r in rows] == [("employer", "b2",
                                                                              "VALIDATION_ERROR")]
    assert "not a valid URL" in rows[0]["error"]
    page.fill("#rq", "")
    page.wait_for_function("document.querySelectorAll('#rejected tr[data-ref]').length == 2")

    for bad in ("b1", "b2"):  # the data fixed at its source
        rewrite(refused["source"] / "employer.jsonl", bad, profile=f"https://bf.example/{bad}")
    refused["portal"].writes.clear()
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("text=Retry failed (2)")
    page.wait_for_selector("[data-retry=done]")
    assert page.locator(".retry .error").count() == 0
    assert sorted(refused["portal"].sent()) == ["create b1", "create b2"]  # what the CRM got: those two only
    assert "2/2 written" in page.locator("#retry").inner_text()
    shot(page, "retry-wide")
    new_run = page.locator("[data-new-run]").get_attribute("data-new-run")
    page.click("[data-new-run]")
    assert page.locator("h1 [data-state]").get_attribute("data-state") == "succeeded"
    assert "2 created" in page.locator("[data-counts]").inner_text()
    assert refused["run"] in page.locator(".facts").inner_text()  # retry of
    page.click("text=every run")
    assert page.locator(f"tr[data-run='{new_run}']").get_attribute("data-state") == "succeeded"
    assert [r.run_id for r in list_runs(refused["state"])] == [new_run, refused["run"]]
    page.goto(page.url.replace("/runs", f"/runs/{refused['run']}"))
    assert page.locator("#rejected .ok").count() == 2  # each written since by the retry
    assert page.locator("text=Retry failed").count() == 0  # nothing left to retry


def test_the_runs_pages_read_on_a_narrow_window(browser: Any, refused: dict[str, Any]) -> None:
    for page in fresh_page(browser, NARROW):
        page.goto(refused["address"])
        page.goto(page.url.rstrip("/") + f"/runs/{refused['run']}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 400  # nothing wider than the window
        shot(page, "run-narrow")
        page.click("text=every run")
        page.wait_for_load_state()  # its stylesheet too: the width is measured as the page is shown
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        shot(page, "runs-narrow")

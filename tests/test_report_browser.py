"""The static HTML report in a real browser (Debian's Chromium through Playwright): it opens from the
file with nothing fetched, its search box and filters narrow the rows, source text shows as text, a
record's own request shows with --requests, and it reads on a narrow window."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.browserkit import NARROW, fresh_page
from tests.pushkit import PROFILES, copy_source, rewrite
from tests.reportkit import report, shown_records

PROFILE = PROFILES["hubspot"]
HOSTILE = "<img src=x onerror=alert(1)> O'Brien & Co</script>"



def made(out: Path, *args: str) -> str:
    """The report of the example data, made in a thread of its own (Playwright's sync API keeps an
    event loop running in the test's thread; the plan runs one of its own)."""
    with ThreadPoolExecutor(1) as pool:
        result, page = pool.submit(report, str(PROFILE), *args, out=out).result()
    assert result.exit_code == 1, result.output  # the example data has invalid records
    return page


@pytest.fixture
def source(examples: Path, tmp_path: Path) -> Path:
    copied = copy_source(examples, tmp_path / "src")
    rewrite(copied / "employer.jsonl", "emp-002", name=HOSTILE)
    return copied


def opened(page: Any, path: Path) -> list[str]:
    """Open the report; the addresses it asked for besides its own file (none, if self-contained)."""
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.on("dialog", lambda dialog: asked.append(f"dialog: {dialog.message}"))
    page.goto(path.as_uri())
    page.wait_for_selector("#rows tr")
    return [url for url in asked if url != path.as_uri()]


def names(page: Any) -> list[str]:
    return page.locator("#rows td.name > div:first-child").all_text_contents()


def test_the_search_box_narrows_the_rows(page: Any, source: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.html"
    records = shown_records(made(out, "--source", str(source)))
    assert opened(page, out) == []
    assert page.locator("#rows tr").count() == 55 and page.locator("#found").text_content() == "55 records"
    page.fill("#q", "emp-001")
    assert names(page) == ["Bluebird Bakery Co."]
    assert page.locator("#found").text_content() == "1 record of 55"
    contact = records["employer_contact/ec-003"]
    page.fill("#q", contact.email.upper())  # an email, in any case
    assert names(page) == [contact.name]
    page.fill("#q", records["broker/brk-002"].domain)
    assert "O'Malley Insurance Partners" in names(page)
    page.fill("#q", "no such record anywhere")
    assert page.locator("#rows td.empty").text_content() == "No record matches."
    page.fill("#q", "")
    assert page.locator("#rows tr").count() == 55


def test_status_stream_and_cause_filters(page: Any, source: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.html"
    records = shown_records(made(out, "--source", str(source)))
    opened(page, out)
    page.select_option("#status", "invalid")
    assert sorted(names(page)) == sorted(r.name for r in records.values() if r.status == "invalid")
    page.select_option("#status", "")
    page.select_option("#stream", "broker")
    assert page.locator("#rows tr").count() == sum(r.stream == "broker" for r in records.values())
    page.select_option("#stream", "")
    page.click('button[data-status="skipped"]')  # a status tab filters too
    assert page.locator("#rows .badge").all_text_contents() == ["Skipped"] * 3
    page.click('button[data-status="skipped"]')  # and again: all
    page.click("#problems tr:has-text('funding_type') button.show")
    assert names(page) == [records["employer/emp-008"].name]
    assert "not a value of this restricted picklist" in page.locator("#rows td.problems").text_content()


def test_source_text_shows_as_text(page: Any, source: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.html"
    made(out, "--source", str(source))
    assert opened(page, out) == []  # no image fetched, no alert
    page.fill("#q", "emp-002")
    assert names(page) == [HOSTILE]
    assert page.locator("#rows img").count() == 0


def test_with_requests_a_record_shows_its_own_item(page: Any, source: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.html"
    made(out, "--source", str(source), "--requests")
    opened(page, out)
    page.fill("#q", "emp-001")
    page.click("#rows details.request summary >> nth=0")
    shown = page.locator("#rows details.request pre").first.text_content()
    assert '"name": "Bluebird Bakery Co."' in shown and "Authorization: ••••" in shown
    assert HOSTILE not in shown  # its own item, not the whole batch (emp-002 is in the same one)


def test_it_reads_on_a_narrow_window(browser: Any, source: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.html"
    made(out, "--source", str(source))
    for narrow in fresh_page(browser, NARROW):
        opened(narrow, out)
        assert narrow.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
        assert narrow.locator("#q").is_visible() and narrow.locator("#rows tr").count() == 55

"""The Runs and Pull pages over HTTP, the app served by uvicorn on 127.0.0.1 and spoken to with httpx:
runs paged newest first, a run's rejected rows escaped in the page and formula-safe in the CSV, an
unknown run a 404 naming the known ones, the access token and the CSRF token required, and the pull
decisions made through the same calls as `crmsync link`, `unlink` and `import`."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from engine.pull.state import Listing, save_matches, save_page
from engine.review.app import Review
from engine.review.runs_view import RUNS_PAGE, runs_page
from tests.browserkit import review_of, serving
from tests.pushkit import PROFILES
from tests.statekit import PULL_PAGE_READS_SQLITE, store_at

HUBSPOT = PROFILES["hubspot"]
PROFILE = "hubspot-benefitflow"
FORMULA = '=HYPERLINK("https://evil.example","click")'
SCRIPT = "<script>alert(1)</script> refused"
PULL_PAGE = pytest.mark.sqlite_only(PULL_PAGE_READS_SQLITE)


@dataclass
class App:
    base: str
    client: httpx.Client  # holds the access cookie
    review: Review
    state: Path
    refused_run: str

    def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True,
             **headers: str) -> httpx.Response:
        sent = {"HX-Request": "true", **headers, **({"X-CSRF-Token": self.review.keys.csrf} if csrf else {})}
        return self.client.post(self.base + path, data=data or {}, headers=sent)


def record_runs(state: Path, how_many: int) -> list[str]:
    """`how_many` finished runs, oldest first; the newest refused two records, one with a message that
    a spreadsheet would run and one that a page would."""
    store = store_at(state)
    ids = [f"run{i:03d}" for i in range(how_many)]
    for run_id in ids:
        store.start_run(run_id, PROFILE, "ana")
        store.finish_run(run_id, "finished")
    store.log([{"run_id": ids[-1], "triggered_by": "ana", "object": "companies", "action": "insert",
                "result": "error", "stream": "employer", "source_id": source_id, "error_code": code,
                "error": error} for source_id, code, error in (("emp-001", "INVALID_URL", FORMULA),
                                                               ("emp-002", "DUPLICATE", SCRIPT))])
    store.close()
    return ids


@pytest.fixture
def app(examples: Path, tmp_path: Path) -> Iterator[App]:
    state = tmp_path / "state"
    ids = record_runs(state, RUNS_PAGE + 5)
    review = review_of(HUBSPOT, examples, state)
    with serving(review) as address, httpx.Client(follow_redirects=True, timeout=30) as client:
        assert client.get(address).status_code == 200  # the token becomes the cookie
        yield App(address.split("?")[0].rstrip("/"), client, review, state, ids[-1])


def test_runs_are_paged_newest_first(app: App) -> None:
    first, second = runs_page(app.state, 1), runs_page(app.state, 2)
    assert (first.total, first.last, len(first.items), len(second.items)) == (RUNS_PAGE + 5, 2, RUNS_PAGE, 5)
    assert first.items[0].run_id == app.refused_run and second.items[-1].run_id == "run000"
    assert runs_page(app.state, 99).page == 2  # past the end: the last page
    page = app.client.get(app.base + "/runs?page=2").text
    assert "run000" in page and app.refused_run not in page and "page 2 of 2" in page
    assert 'data-state="with_failures"' in app.client.get(app.base + "/runs").text


def test_rejected_rows_are_escaped_in_the_page_and_formula_safe_in_the_csv(app: App) -> None:
    page = app.client.get(f"{app.base}/runs/{app.refused_run}").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; refused" in page
    assert "Retry failed (2)" in page
    answer = app.client.get(f"{app.base}/runs/{app.refused_run}/rejected.csv")
    assert answer.headers["content-disposition"] == f'attachment; filename="rejected-{app.refused_run}.csv"'
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["source_id"], r["error"]) for r in rows] == [("emp-001", "'" + FORMULA), ("emp-002", SCRIPT)]
    narrowed = app.client.get(f"{app.base}/runs/{app.refused_run}/rejected.csv?code=DUPLICATE").text
    assert [r["source_id"] for r in csv.DictReader(io.StringIO(narrowed))] == ["emp-002"]
    table = app.client.get(f"{app.base}/runs/{app.refused_run}/rejected?q=emp-002",
                           headers={"HX-Request": "true"})
    assert table.headers["hx-push-url"] == f"/runs/{app.refused_run}?q=emp-002"
    assert 'data-ref="employer/emp-002"' in table.text and "emp-001" not in table.text


def test_an_unknown_run_is_a_404_that_names_the_known_ones(app: App) -> None:
    for path in ("/runs/nope", "/runs/nope/rejected.csv"):
        answer = app.client.get(app.base + path)
        assert answer.status_code == 404 and "run nope: no run of that id" in answer.text
        assert "(newest: run0" in answer.text  # the known ones, to pick from
    assert app.post("/runs/nope/retry").status_code == 404


def test_without_the_access_token_or_the_csrf_token_nothing_is_shown_or_done(app: App) -> None:
    with httpx.Client(timeout=30) as stranger:
        for path in ("/runs", f"/runs/{app.refused_run}/rejected.csv", "/pull"):
            assert stranger.get(app.base + path).status_code == 403
    assert app.post(f"/runs/{app.refused_run}/retry", csrf=False).status_code == 403
    no_csrf = app.post("/pull/link", {"crm_id": "1", "local_ref": "employer/emp-001"}, csrf=False)
    assert no_csrf.status_code == 403
    other_site = app.post("/pull/link", {"crm_id": "1", "local_ref": "employer/emp-001"},
                          Origin="https://evil.example")
    assert other_site.status_code == 403
    store = store_at(app.state)
    assert store.links(PROFILE) == {} and store.activity(action="link") == []
    store.close()


def test_a_retry_that_cannot_plan_says_why_on_the_page(app: App) -> None:
    answer = app.post(f"/runs/{app.refused_run}/retry")
    assert answer.status_code == 200 and "data-retry=" in answer.text  # polled until it is done
    pause = threading.Event()
    for _ in range(600):  # as the page polls it, until it says it is done
        polled = app.client.get(f"{app.base}/runs/{app.refused_run}/retry").text
        if 'data-retry="done"' in polled:
            break
        pause.wait(0.1)
    assert "recorded without its profile and source" in polled and 'class="error"' in polled


@PULL_PAGE
def test_pull_decisions_go_through_the_commands_calls(app: App) -> None:
    linked = app.post("/pull/link", {"crm_id": "9001", "local_ref": "employer/emp-001",
                                     "object": "companies"})
    assert linked.status_code == 200 and "1 linked" in linked.text
    store = store_at(app.state)
    assert {lk.crm_id: lk.source_id for lk in store.links(PROFILE).values()} == {"9001": "emp-001"}
    assert store.activity(action="link")[0]["triggered_by"] == "review"
    again = app.post("/pull/link", {"crm_id": "9002", "local_ref": "employer/emp-001", "object": "companies"})
    assert "1 refused" in again.text and "unlink it first" in again.text
    unlinked = app.post("/pull/unlink", {"crm_id": "9001", "object": "companies"})
    assert "1 unlinked" in unlinked.text and store.links(PROFILE) == {}
    unknown = app.post("/pull/import", {"crm_id": "9003", "object": "companies"})
    assert "not among the records of the last pull" in unknown.text
    bad_ref = app.post("/pull/link", {"crm_id": "9004", "local_ref": "nowhere", "object": "companies"})
    assert "is not a local record" in bad_ref.text
    store.close()


@PULL_PAGE
def test_bulk_import_takes_every_new_record_the_filter_finds_and_no_other(
        app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # imports go to ./crmsync-import, as `crmsync import` writes them
    store = store_at(app.state)
    names = ["Acme North", "Acme South", "Bolt Works"] + [f"Acme {i}" for i in range(60)]
    save_page(store, PROFILE, "companies", Listing(listing="l1"),
              [(str(5000 + i), {"hs_object_id": str(5000 + i), "name": n}) for i, n in enumerate(names)])
    save_matches(store, PROFILE, "companies", [(str(5000 + i), "new", []) for i in range(len(names))])
    answer = app.post("/pull/import-new", {"object": "companies", "q": "acme", "decision": ""})
    assert "62 imported" in answer.text
    imported = (tmp_path / "crmsync-import" / "employer.jsonl").read_text(encoding="utf-8")
    assert imported.count("\n") == 62 and "Bolt Works" not in imported  # every page of the filter's
    linked = {lk.crm_id for lk in store.links(PROFILE).values()}
    assert len(linked) == 62 and "5002" not in linked
    nothing = app.post("/pull/import-new", {"object": "companies", "q": "no such company"})
    assert "0 imported" in nothing.text and len(store.links(PROFILE)) == 62  # finding none imports none
    store.close()

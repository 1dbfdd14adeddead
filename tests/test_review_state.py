"""`crmsync review` with a PostgreSQL state store (`--state-url`, $CRMSYNC_STATE_URL): what the app reads
and writes of the state is in that store, never in an empty SQLite file of the state dir: a candidate
chosen on a record's page is linked there, a push from the page is followed there, and the Pull page,
which cannot read it, says so (501) instead of showing nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.review.choose import Approved
from engine.review.pushing import PushJob
from engine.state import Link, open_store
from tests.browserkit import review_against, review_of, signed_in
from tests.pushkit import PROFILES, served
from tests.test_pull_decisions import twin_companies
from tests.test_review_push import row_id


@pytest.fixture
def pg(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CRMSYNC_STATE_URL", pg_url)
    return pg_url


def test_a_candidate_chosen_on_the_page_is_linked_in_the_state_url_store(pg: str, examples: Path,
                                                                         tmp_path: Path) -> None:
    with served("hubspot", seed=twin_companies("hubspot")) as (_, url):
        review = review_against(url, examples, tmp_path)
        emp = row_id(review, "employer/emp-001")
        chosen = json.loads(review.db.execute("SELECT planned FROM records WHERE id = ?",
                                              (emp,)).fetchone()[0])["candidates"][1]
        with signed_in(review) as client:
            resolved = client.post(f"/resolve/{emp}", data={"crm_id": chosen},
                                   headers={"X-CSRF-Token": review.keys.csrf})
            assert resolved.status_code == 303, resolved.text
    store = open_store(url=pg)
    try:
        assert store.links("hubspot-benefitflow")[("employer", "emp-001")].crm_id == chosen
        assert [r["crm_id"] for r in store.activity(action="link")] == [chosen]
    finally:
        store.close()
    assert not (tmp_path / "state" / "state.sqlite3").exists()  # nothing written beside it


def test_a_push_from_the_page_is_followed_in_the_state_url_store(pg: str, tmp_path: Path) -> None:
    store = open_store(url=pg)
    try:
        store.start_run("r-pg", "p", "ana")
        store.record_outcomes("p", "r-pg", [Link("employer", "e1", "companies", "1")], [], [
            {"run_id": "r-pg", "triggered_by": "ana", "object": "companies", "action": "insert",
             "result": result, "stream": "employer", "source_id": source_id}
            for source_id, result in (("e1", "success"), ("e2", "error"))])
    finally:
        store.close()
    job = PushJob(Approved(tmp_path / "approved.json", records=4, dropped=[]), tmp_path / "state", "p",
                  started_at="2000-01-01T00:00:00.000Z")
    assert job.progress() == {"run_id": "r-pg", "written": 1, "refused": 1, "total": 4, "percent": 25}


def test_the_pull_page_says_it_cannot_read_a_postgresql_store(pg: str, examples: Path,
                                                               tmp_path: Path) -> None:
    review = review_of(PROFILES["hubspot"], examples, tmp_path / "state")
    with signed_in(review) as client:
        for answer in (client.get("/pull"), client.get("/pull/rows?object=companies"),
                       client.post("/pull/link", data={"crm_id": "1", "local_ref": "employer/emp-001"},
                                   headers={"X-CSRF-Token": review.keys.csrf})):
            assert answer.status_code == 501, answer.text
            assert "not available with the PostgreSQL state store postgresql://crmsync@" in answer.text
            assert "crmsync pull, link, import --state-url" in answer.text
        assert client.get("/runs").status_code == 200  # the rest of the app reads the store as it is

"""Pull, link, unlink and import against the served sandboxes of every built-in CRM, through the CLI as a
user types it: a pull after a push (everything Linked), into an empty local side (everything New), an
import then a push (nothing created twice), links from a decisions file and --accept-best, unlink."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests.crms import CRMS
from tests.pushkit import COMPANIES, PEOPLE, PROFILES, ROOT, credentials_file, push, records, served
from tests.statekit import store_at, using

EXAMPLES = ROOT / "examples" / "data"
__all__ = ["CRMS"]  # the shared list, as test_pull_decisions takes it from here


def cli(*args: str | Path, input: str | None = None) -> Any:
    result = CliRunner().invoke(app, [str(a) for a in args], input=input)
    return result


def pull_json(crm: str, url: str, source: Path, state: Path, *more: str) -> dict[str, Any]:
    with using(state):
        result = cli("pull", PROFILES[crm], "--source", source, "--base-url", url, "--state-dir", state,
                     "--credentials", credentials_file(crm, state.parent / "creds"), "--format", "json",
                     *more)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def crm_count(url: str, crm: str) -> int:
    crm_records = records(url)
    return len(crm_records[COMPANIES[crm]]) + len(crm_records[PEOPLE[crm]])


def empty_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize("crm", CRMS)
def test_a_pull_after_a_push_finds_every_record_linked_to_what_pushed_it(crm: str, tmp_path: Path) -> None:
    with served(crm) as (_, url):
        state = tmp_path / "state"
        pushed = push(crm, EXAMPLES, url, state)
        links = store_at(state).links(PROFILES[crm].stem)
        report = pull_json(crm, url, EXAMPLES, state)
        assert report["summary"] == {"match_found": 0, "new": 0, "linked": crm_count(url, crm)}
        assert report["summary"]["linked"] == pushed.summary()["created"]
        by_crm_id = {lk.crm_id: f"{lk.stream}/{lk.source_id}" for lk in links.values()}
        for record in report["records"]:
            assert record["linked_to"] == by_crm_id[record["crm_id"]]
            assert record["candidates"] == [] and record["record_url"]
        assert set(report["records"][0]) >= {"object", "crm_id", "status", "values", "candidates",
                                              "linked_to", "record_url"}


@pytest.mark.parametrize("crm", CRMS)
def test_a_pull_into_an_empty_local_side_finds_every_record_new(crm: str, tmp_path: Path) -> None:
    with served(crm) as (_, url):
        push(crm, EXAMPLES, url, tmp_path / "pusher")
        report = pull_json(crm, url, empty_dir(tmp_path / "empty"), tmp_path / "state")
        assert report["summary"] == {"match_found": 0, "new": crm_count(url, crm), "linked": 0}
        company = next(r for r in report["records"] if r["object"] == PROFILES_OBJECTS[crm][0]
                       and r["values"].get("name") == "Bluebird Bakery Co.")
        assert company["values"]["website"].endswith("bluebird-bakery-example.com")


PROFILES_OBJECTS = {"hubspot": ("companies", "contacts"), "salesforce": ("Account", "Contact"),
                    "dynamics": ("account", "contact"), "zoho": ("accounts", "contacts")}


@pytest.mark.parametrize("crm", CRMS)
def test_a_pull_against_the_local_records_ranks_the_record_itself_first(crm: str, tmp_path: Path) -> None:
    """Another state dir (no links): every CRM record pushed from the examples has its local record as
    best candidate, with the reasons."""
    with served(crm) as (_, url):
        push(crm, EXAMPLES, url, tmp_path / "pusher")
        links = store_at(tmp_path / "pusher").links(PROFILES[crm].stem)
        report = pull_json(crm, url, EXAMPLES, tmp_path / "state")
        assert report["summary"]["match_found"] == crm_count(url, crm)
        truth = {lk.crm_id: f"{lk.stream}/{lk.source_id}" for lk in links.values()}
        for record in report["records"]:
            best = record["candidates"][0]
            assert best["ref"] == truth[record["crm_id"]], record
            assert best["score"] >= 0.9 and best["reasons"]


@pytest.mark.parametrize("crm", CRMS)
def test_import_then_push_creates_nothing_twice(crm: str, tmp_path: Path) -> None:
    with served(crm) as (_, url):
        push(crm, EXAMPLES, url, tmp_path / "pusher")
        before = crm_count(url, crm)
        state = tmp_path / "state"
        pull_json(crm, url, empty_dir(tmp_path / "empty"), state)
        imported = tmp_path / "imported"
        result = cli("import", PROFILES[crm], "--all-new", "--out", imported, "--state-dir", state,
                     "--by", "ana@customer.example", "--format", "json")
        assert result.exit_code == 0, result.output
        done = json.loads(result.stdout)["done"]
        assert len(done) == before
        lines = [json.loads(line) for f in imported.glob("*.jsonl") for line in f.read_text().splitlines()]
        assert len(lines) == before and all(line["id"].startswith(f"{crm}-") for line in lines)
        again = cli("import", PROFILES[crm], "--all-new", "--out", imported, "--state-dir", state)
        assert again.exit_code == 0 and "0 imported" in again.stdout
        for stream in ("broker", "broker_office", "broker_contact"):  # imported as employers and their people
            (imported / f"{stream}.jsonl").touch()
        pushed = push(crm, imported, url, state)
        assert pushed.summary()["created"] == 0 and pushed.summary()["recreated"] == 0
        assert crm_count(url, crm) == before
        report = pull_json(crm, url, imported, state)
        assert report["summary"] == {"match_found": 0, "new": 0, "linked": before}
        log = store_at(state).activity(action="import")
        assert len(log) == before and {row["triggered_by"] for row in log} == {"ana@customer.example"}


@pytest.mark.parametrize("crm", CRMS)
def test_links_from_a_decisions_file_are_what_the_next_push_updates(crm: str, tmp_path: Path) -> None:
    with served(crm) as (_, url):
        push(crm, EXAMPLES, url, tmp_path / "pusher")
        before = crm_count(url, crm)
        state = tmp_path / "state"
        report = pull_json(crm, url, EXAMPLES, state)
        chosen = report["records"][:3]
        decisions = tmp_path / "decisions.csv"
        rows = [f"{r['crm_id']},{r['candidates'][0]['ref']}" for r in chosen[:2]]
        rows.append(f"{chosen[2]['crm_id']},skip")
        decisions.write_text("crm_id,local_ref\n" + "\n".join(rows) + "\n")
        result = cli("link", PROFILES[crm], "--decisions", decisions, "--state-dir", state, "--as", "ana")
        assert result.exit_code == 0, result.output
        assert "2 linked, 1 skipped, 0 refused" in result.stdout
        report = pull_json(crm, url, EXAMPLES, state)
        linked = {r["crm_id"]: r["linked_to"] for r in report["records"] if r["status"] == "linked"}
        assert linked == {r["crm_id"]: r["candidates"][0]["ref"] for r in chosen[:2]}
        logged = store_at(state).activity()
        assert [(row["action"], row["triggered_by"], row["crm_id"]) for row in logged] == [
            ("link", "ana", r["crm_id"]) for r in chosen[:2]]
        pushed = push(crm, EXAMPLES, url, state)
        assert pushed.summary()["created"] == 0 and crm_count(url, crm) == before


@pytest.mark.parametrize("crm", CRMS)
def test_accept_best_links_the_confident_and_a_push_then_creates_nothing(crm: str, tmp_path: Path) -> None:
    with served(crm) as (_, url):
        push(crm, EXAMPLES, url, tmp_path / "pusher")
        before = crm_count(url, crm)
        state = tmp_path / "state"
        pull_json(crm, url, EXAMPLES, state)
        result = cli("link", PROFILES[crm], "--accept-best", "--min-score", "0.95", "--state-dir", state,
                     "--format", "json")
        assert result.exit_code == 0, result.output
        assert len(json.loads(result.stdout)["done"]) == before
        pushed = push(crm, EXAMPLES, url, state)
        assert pushed.summary()["created"] == 0 and crm_count(url, crm) == before


@pytest.mark.parametrize("crm", CRMS)
def test_unlink_undoes_a_link_and_says_so_in_the_log(crm: str, tmp_path: Path) -> None:
    with served(crm) as (_, url):
        state = tmp_path / "state"
        push(crm, EXAMPLES, url, state)
        report = pull_json(crm, url, EXAMPLES, state)
        record = report["records"][0]
        result = cli("unlink", PROFILES[crm], record["linked_to"], "--state-dir", state, "--as", "bo")
        assert result.exit_code == 0, result.output
        after = {r["crm_id"]: r for r in pull_json(crm, url, EXAMPLES, state)["records"]}
        assert after[record["crm_id"]]["status"] == "match_found"
        assert after[record["crm_id"]]["candidates"][0]["ref"] == record["linked_to"]
        rows = store_at(state).activity(action="unlink")
        assert [(r["triggered_by"], r["crm_id"]) for r in rows] == [("bo", record["crm_id"])]
        missing = cli("unlink", PROFILES[crm], "employer/nobody", "--state-dir", state)
        assert missing.exit_code == 1 and "no link" in missing.stderr


def test_the_table_and_the_html_show_the_three_statuses_with_the_candidates(tmp_path: Path) -> None:
    with served("hubspot") as (_, url):
        push("hubspot", EXAMPLES, url, tmp_path / "pusher")
        common = ["--source", EXAMPLES, "--base-url", url, "--state-dir", tmp_path / "state",
                  "--credentials", credentials_file("hubspot", tmp_path / "creds")]
        table = cli("pull", PROFILES["hubspot"], *common)
        assert table.exit_code == 0, table.output
        assert "Match Found: 50" in table.stdout and "New: 0" in table.stdout and "Linked: 0" in table.stdout
        assert "employer/emp-001" in table.stdout and "email =" in table.stdout
        page = tmp_path / "pull.html"
        html = cli("pull", PROFILES["hubspot"], *common, "--format", "html", "--out", page)
        assert html.exit_code == 0, html.output
        text = page.read_text(encoding="utf-8")
        assert "companies: Match Found" in text and "employer/emp-001" in text
        assert cli("pull", PROFILES["hubspot"], *common, "--format", "html").exit_code == 2  # no --out

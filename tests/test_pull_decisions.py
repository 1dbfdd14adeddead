"""Decisions a person makes after a pull, on every built-in CRM's sandbox: the interactive walk (typer's
CliRunner feeding the terminal), a push plan's ambiguous record resolved by `crmsync link`, contacts
imported with their companies, and the mistakes a stranger makes, each located."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.pushkit import COMPANIES, PROFILES, credentials_file, push, records, served
from tests.statekit import store_at
from tests.test_pull_sandboxes import CRMS, EXAMPLES, PROFILES_OBJECTS, cli, empty_dir, pull_json

DOMAIN = "bluebird-bakery-example.com"  # employer emp-001's


def twin_companies(crm: str) -> dict[str, list[dict[str, Any]]]:
    """Two CRM companies on emp-001's domain: a push cannot tell which one it is."""
    names = ("Bluebird Bakery", "Bluebird Bakery (old)")
    rows = {"hubspot": [{"name": n, "domain": DOMAIN} for n in names],
            "salesforce": [{"Name": n, "Website": f"https://{DOMAIN}"} for n in names],
            "dynamics": [{"name": n, "websiteurl": f"https://{DOMAIN}"} for n in names],
            "zoho": [{"Account_Name": n, "Website": f"https://{DOMAIN}"} for n in names]}
    return {COMPANIES[crm]: rows[crm]}


def plan_of(crm: str, url: str, state: Path) -> dict[str, Any]:
    result = cli("plan", PROFILES[crm], "--source", EXAMPLES, "--base-url", url, "--state-dir", state,
                 "--credentials", credentials_file(crm, state.parent / "creds"), "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("crm", CRMS)
def test_link_resolves_a_push_plan_s_ambiguous_record_and_the_push_updates_the_chosen(crm: str,
                                                                                      tmp_path: Path) -> None:
    state = tmp_path / "state"
    with served(crm, seed=twin_companies(crm)) as (_, url):
        ambiguous = next(r for r in plan_of(crm, url, state)["records"] if r["source_id"] == "emp-001")
        assert ambiguous["status"] == "ambiguous" and len(ambiguous["candidates"]) == 2
        chosen = ambiguous["candidates"][1]
        result = cli("link", PROFILES[crm], chosen, "employer/emp-001", "--state-dir", state, "--as", "ana")
        assert result.exit_code == 0, result.output
        resolved = next(r for r in plan_of(crm, url, state)["records"] if r["source_id"] == "emp-001")
        assert resolved["status"] in ("update", "synced") and resolved["crm_id"] == chosen
        push(crm, EXAMPLES, url, state)
        twins = [r for r in records(url)[COMPANIES[crm]] if DOMAIN in json.dumps(r)]
        assert len(twins) == 2  # the chosen one updated, nothing created on the domain
        assert [r for r in store_at(state).activity(action="link")][0]["crm_id"] == chosen


@pytest.mark.parametrize("crm", CRMS)
def test_the_walk_links_what_the_person_chooses_and_skips_the_rest(crm: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    companies = PROFILES_OBJECTS[crm][0]
    with served(crm) as (_, url):
        push(crm, EXAMPLES, url, tmp_path / "pusher")
        report = pull_json(crm, url, EXAMPLES, state, "--object", companies)
        first, second, third = report["records"][:3]
        name = third["values"]["name"]
        typed = f"1\ns\n/{name}\n1\nq\n"
        result = cli("link", PROFILES[crm], "--walk", "--source", EXAMPLES, "--object", companies,
                     "--state-dir", state, "--as", "ana", input=typed)
        assert result.exit_code == 0, result.output
        assert "[1/" in result.stdout and first["candidates"][0]["reasons"][0] in result.stdout
        links = {lk.crm_id: f"{lk.stream}/{lk.source_id}"
                 for lk in store_at(state).links(PROFILES[crm].stem).values()}
        assert links == {first["crm_id"]: first["candidates"][0]["ref"],
                         third["crm_id"]: third["candidates"][0]["ref"]}
        assert "2 linked, 1 skipped, 0 refused" in result.stdout


@pytest.mark.parametrize("crm", ["salesforce", "dynamics", "zoho"])
def test_contacts_imported_with_their_companies_come_with_the_company_s_local_id(crm: str,
                                                                                tmp_path: Path) -> None:
    state, imported = tmp_path / "state", tmp_path / "imported"
    companies, people = PROFILES_OBJECTS[crm]
    with served(crm) as (_, url):
        push(crm, EXAMPLES, url, tmp_path / "pusher")
        report = pull_json(crm, url, empty_dir(tmp_path / "empty"), state)
        jane = next(r for r in report["records"] if r["object"] == people
                    and r["values"].get("email", "").lower() == "jane.doe@bluebird-bakery-example.com")
        result = cli("import", PROFILES[crm], jane["crm_id"], "--with-companies", "--out", imported,
                     "--state-dir", state, "--format", "json")
        assert result.exit_code == 0, result.output
        done = json.loads(result.stdout)["done"]
        assert len(done) == 2  # the company first, then the contact
        employer = json.loads((imported / "employer.jsonl").read_text())
        contact = json.loads((imported / "employer_contact.jsonl").read_text())
        assert employer["name"] == "Bluebird Bakery Co." and contact["employer_id"] == employer["id"]
        assert {d["local_ref"] for d in done} == {f"employer/{employer['id']}",
                                                  f"employer_contact/{contact['id']}"}


def test_contacts_whose_company_is_an_association_are_imported_saying_the_company_could_not_come(
        tmp_path: Path) -> None:
    state, imported = tmp_path / "state", tmp_path / "imported"
    with served("hubspot") as (_, url):
        push("hubspot", EXAMPLES, url, tmp_path / "pusher")
        report = pull_json("hubspot", url, empty_dir(tmp_path / "empty"), state, "--object", "contacts")
        contact = report["records"][0]
        result = cli("import", PROFILES["hubspot"], contact["crm_id"], "--with-companies", "--out", imported,
                     "--state-dir", state)
        assert result.exit_code == 1
        assert "employer cannot come along" in result.stderr and "1 imported" in result.stdout


def test_a_stranger_s_mistakes_are_bad_usage_and_say_where(tmp_path: Path) -> None:
    state = tmp_path / "state"
    profile = PROFILES["hubspot"]
    assert cli("link", profile, "--state-dir", state).exit_code == 2  # nothing to do, not on a terminal
    wrong = cli("link", profile, "123", "employers/emp-001", "--state-dir", state)
    assert wrong.exit_code == 2 and "employers/emp-001" in wrong.stderr and "employer" in wrong.stderr
    bad = tmp_path / "decisions.csv"
    bad.write_text("crm_id,local_ref\n1,employer/emp-001\n2,\n")
    result = cli("link", profile, "--decisions", bad, "--state-dir", state)
    assert result.exit_code == 2 and f"{bad}:3" in result.stderr and "local_ref" in result.stderr
    header = tmp_path / "header.csv"
    header.write_text("id,ref\n1,employer/emp-001\n")
    assert cli("link", profile, "--decisions", header, "--state-dir", state).exit_code == 2
    unknown = cli("pull", profile, "--source", EXAMPLES, "--object", "deals", "--state-dir", state,
                  "--base-url", "http://127.0.0.1:9")
    assert unknown.exit_code == 2 and "companies, contacts" in unknown.stderr
    assert cli("import", profile, "--state-dir", state).exit_code == 2
    stream = cli("import", profile, "--all-new", "--as", "broker_contact", "--object", "companies",
                 "--state-dir", state)
    assert stream.exit_code == 0  # nothing New known yet: nothing to import

"""Matching a source record to its CRM counterpart when the identity key alone is not enough: a
broker and its offices share a domain, so several CRM companies can carry a broker's identity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from engine.catalog import load_connector
from engine.cli import app
from engine.match import CrmRecord, Matcher
from tests.pushkit import PROFILES, copy_source, push, records, rewrite, served

runner = CliRunner()
HUBSPOT = load_connector("hubspot").model
DOMAIN_KEY = HUBSPOT.objects["companies"].identity_keys["domain"]
BROKER = {"benefitflow_id": "brk-001", "name": "Harbor & Pine"}


def company(crm_id: str, benefitflow_id: str | None) -> CrmRecord:
    fields = {"domain": "harborpine.com", "hs_object_id": crm_id}
    return CrmRecord(crm_id, {**fields, "benefitflow_id": benefitflow_id} if benefitflow_id else fields)


def match(crm: list[CrmRecord], values: dict[str, Any]) -> Any:
    matcher = Matcher(HUBSPOT, "companies", DOMAIN_KEY, crm, {}, unique=["benefitflow_id"])
    return matcher.match("broker", "brk-001", {"domain": ["harborpine.com"]}, values)


def test_a_broker_is_told_from_its_offices_by_its_external_id() -> None:
    found = match([company("1", "bo-001"), company("2", "brk-001"), company("3", "bo-002")], BROKER)
    assert found.crm_id == "2" and [c.id for c in found.candidates] == ["2"]


def test_a_broker_absent_from_the_crm_is_not_matched_to_its_one_office() -> None:
    found = match([company("1", "bo-001")], BROKER)
    assert found.crm_id is None and found.candidates == []  # so it is created, not written over the office


def test_companies_without_the_external_id_stay_candidates() -> None:
    found = match([company("1", None), company("2", "bo-001"), company("3", None)], BROKER)
    assert found.crm_id is None and [c.id for c in found.candidates] == ["1", "3"]


def plan(source: Path, url: str, state: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["plan", str(PROFILES["hubspot"]), "--source", str(source), "--base-url", url,
                                 "--format", "json", "--state-dir", str(state)],
                           env={"CRMSYNC_ACCESS_TOKEN": "sandbox-token"})
    assert result.exit_code in (0, 1), result.output  # 1: the example data has invalid records
    return json.loads(result.stdout)


def test_two_crm_companies_with_an_employers_domain_make_it_ambiguous(examples: Path,
                                                                       tmp_path: Path) -> None:
    with served("hubspot") as (_, url):
        for name in ("Bluebird Bakery", "Bluebird Bakery (old)"):
            response = httpx.post(f"{url}/crm/v3/objects/companies",
                                  headers={"Authorization": "Bearer sandbox-token"},
                                  json={"properties": {"name": name,
                                                       "domain": "bluebird-bakery-example.com"}})
            assert response.status_code == 201, response.text
        planned = plan(examples, url, tmp_path / "state")
    employer = next(r for r in planned["records"] if r["source_id"] == "emp-001")
    assert employer["status"] == "ambiguous" and len(employer["candidates"]) == 2
    assert employer["notes"] == ["2 companies records match; choose one and link it"]
    assert not any("employer/emp-001" in q["records"] for q in planned["requests"] if q["kind"] != "lookup")


def test_a_crm_filled_by_an_earlier_sync_matches_without_links(examples: Path, tmp_path: Path) -> None:
    """The state dir is lost (or another machine plans): every record is found again by its identity,
    brokers among their offices by their external id, and nothing would be written twice."""
    source = copy_source(examples, tmp_path / "src")
    with served("hubspot") as (_, url):
        push("hubspot", source, url, tmp_path / "first-state")
        planned = plan(source, url, tmp_path / "fresh-state")
    statuses = {r["status"] for r in planned["records"]}
    assert "ambiguous" not in statuses and "net_new" not in statuses
    brokers = [r for r in planned["records"] if r["stream"] == "broker" and r["status"] != "invalid"]
    assert brokers and all(r["status"] == "synced" for r in brokers)
    assert not [q for q in planned["requests"] if q["kind"] in ("create", "upsert")]


# where each CRM keeps what the test reads: (account table, its external id, its id), (contact table,
# its email, the field holding its account's id)
LINKED = {"salesforce": (("Account", "BenefitFlow_Id__c", "Id"), ("Contact", "Email", "AccountId")),
          "dynamics": (("accounts", "bf_benefitflowid", "accountid"),
                       ("contacts", "emailaddress1", "parentcustomerid"))}


@pytest.mark.parametrize("crm", sorted(LINKED))
def test_a_contact_written_without_its_account_is_linked_once_the_account_exists(crm: str, examples: Path,
                                                                                 tmp_path: Path) -> None:
    """emp-008 is refused (its funding type is not in the restricted picklist), so its contact ec-012
    is created without its account (Salesforce AccountId, a Dynamics parentcustomerid bind). Once the
    source is fixed, the next push creates the account and fills the contact's empty parent with it,
    after the account exists; the push after that changes nothing."""
    (accounts_at, external_id, account_id), (contacts_at, email, parent) = LINKED[crm]
    source = copy_source(examples, tmp_path / "src")
    with served(crm) as (_, url):
        first = push(crm, source, url, tmp_path / "state")
        contact = next(o for o in first.outcomes if o.record.source_id == "ec-012")
        assert contact.result == "success"
        assert "parent employer/emp-008 is not in the CRM (invalid)" in contact.record.notes
        rewrite(source / "employer.jsonl", "emp-008", funding_type="Self-Funded")
        second = push(crm, source, url, tmp_path / "state")
        by_id = {o.record.source_id: o for o in second.outcomes}
        assert by_id["emp-008"].action == "insert" and by_id["emp-008"].result == "success"
        assert by_id["ec-012"].action == "update" and by_id["ec-012"].result == "success"
        accounts = {a[external_id]: a[account_id] for a in records(url)[accounts_at]}
        contacts = {c[email]: c for c in records(url)[contacts_at]}
        third = push(crm, source, url, tmp_path / "state")
    assert contacts["pdunmore@lakeshore-schools-example.org"][parent] == accounts["emp-008"]
    assert {o.result for o in third.outcomes if o.record.source_id in ("emp-008", "ec-012")} == {"unchanged"}


def test_a_contact_linked_in_the_crm_to_another_account_is_left_there(examples: Path, tmp_path: Path) -> None:
    """Someone moved Jane Doe (ec-001, of emp-001) to emp-002's account in Dynamics: the next push
    leaves her parent as it is (as a field whose overwrite is off) and says so."""
    with served("dynamics") as (emulator, url):
        push("dynamics", examples, url, tmp_path / "state")
        accounts = {a["bf_benefitflowid"]: a["accountid"] for a in records(url)["accounts"]}
        jane = next(c for c in emulator.records["contacts"].values() if c.get("bf_benefitflowid") == "ec-001")
        jane["parentcustomerid"] = accounts["emp-002"]
        again = push("dynamics", examples, url, tmp_path / "state")
        after = next(c for c in records(url)["contacts"] if c.get("bf_benefitflowid") == "ec-001")
    outcome = next(o for o in again.outcomes if o.record.source_id == "ec-001")
    assert outcome.result == "unchanged" and after["parentcustomerid"] == accounts["emp-002"]
    assert (f"_parentcustomerid_value is {accounts['emp-002']} in the CRM, not {accounts['emp-001']} "
            "(employer/emp-001): left as it is") in outcome.record.notes

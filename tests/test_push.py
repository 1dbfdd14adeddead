"""Push against served sandboxes: created once, idempotent, overwrite rules, bad records alone,
faults lose nothing, token refresh, a refused refresh stops the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.activity import query_log
from tests.crms import CRMS
from tests.pushkit import COMPANIES, PEOPLE, copy_source, duplicates, push, records, rewrite, served


def identity_values(crm: str, base_url: str) -> tuple[list[str], list[str]]:
    """Company ids-from-source and person emails in the CRM, for counting duplicates and gaps."""
    data = records(base_url)
    company_ids = {"hubspot": "benefitflow_id", "salesforce": "BenefitFlow_Id__c",
                   "dynamics": "bf_benefitflowid", "zoho": "BenefitFlow_Id"}[crm]
    email = {"hubspot": "email", "salesforce": "Email", "dynamics": "emailaddress1", "zoho": "Email"}[crm]
    companies = [r.get(company_ids) or r.get("properties", {}).get(company_ids) for r in data[COMPANIES[crm]]]
    people = [r.get(email) or r.get("properties", {}).get(email) for r in data[PEOPLE[crm]]]
    return [c for c in companies if c], [p for p in people if p]


@pytest.fixture(params=CRMS)
def crm(request: pytest.FixtureRequest) -> str:
    return request.param


def test_first_push_creates_each_record_once_and_second_changes_nothing(crm: str, examples: Path,
                                                                         tmp_path: Path) -> None:
    with served(crm) as (_, url):
        first = push(crm, examples, url, tmp_path / "state")
        s1 = first.summary()
        assert s1["created"] > 0 and first.stopped is None
        companies, people = identity_values(crm, url)
        assert duplicates(companies) == {} and duplicates(people) == {}
        assert len(companies) + len(people) == s1["created"]
        second = push(crm, examples, url, tmp_path / "state")
        s2 = second.summary()
        assert s2["created"] == 0 and s2["updated"] == 0
        assert s2["unchanged"] == s1["created"] + s1["updated"] + s1["unchanged"]
        assert identity_values(crm, url) == (companies, people)


def test_bad_records_fail_alone_with_the_crms_message(crm: str, examples: Path, tmp_path: Path) -> None:
    with served(crm) as (_, url):
        result = push(crm, examples, url, tmp_path / "state")
        failed = [o for o in result.outcomes if o.result == "error"]
        created = [o for o in result.outcomes if o.action == "insert" and o.result == "success"]
        assert failed, "the example data carries invalid records"
        assert all(o.error for o in failed)
        assert len(created) == result.summary()["created"]
        log = query_log(tmp_path / "state", run_id=result.run_id)
        writes = [r for r in log if r["action"] in ("insert", "update")]
        assert len([r for r in writes if r["result"] == "success"]) == len(created)
        # each association (HubSpot's are requests of their own) is a row too
        associations = [r for r in log if r["action"] == "associate"]
        assert len(associations) == sum(result.associations.values())
        assert all(r["record_url"] and r["crm_id"] for r in log if r["result"] == "success")


def test_activity_log_filters(examples: Path, tmp_path: Path) -> None:
    with served("hubspot") as (_, url):
        result = push("hubspot", examples, url, tmp_path / "state", as_user="ana@customer.example")
    state = tmp_path / "state"
    everything = query_log(state)
    assert everything and {r["triggered_by"] for r in everything} == {"ana@customer.example"}
    assert query_log(state, by="someone-else") == []
    contacts = query_log(state, object_name="contacts")
    assert contacts and all(r["object"] == "contacts" for r in contacts)
    assert all(r["action"] == "insert" for r in query_log(state, action="insert"))
    assert query_log(state, action="update") == []
    assert query_log(state, run_id=result.run_id) == everything
    assert query_log(state, since="2999-01-01") == []
    assert len(query_log(state, until="2999-01-01")) == len(everything)


def test_overwrite_off_keeps_a_filled_value_and_fills_an_empty_one(examples: Path, tmp_path: Path) -> None:
    source = copy_source(examples, tmp_path / "src")
    with served("hubspot") as (_, url):
        push("hubspot", source, url, tmp_path / "state")
        employer = json.loads((source / "employer.jsonl").read_text(encoding="utf-8").splitlines()[0])
        rewrite(source / "employer.jsonl", employer["id"], phone="+1 (646) 555-0177", name="Renamed Holdings")
        result = push("hubspot", source, url, tmp_path / "state")
        company = next(c for c in records(url)["companies"]
                       if c["properties"].get("benefitflow_id") == employer["id"])
        # phone has overwrite off and was filled on the first push: left alone; name has overwrite on
        assert company["properties"]["phone"] != "+16465550177"
        assert company["properties"]["name"] == "Renamed Holdings"
        updated = [o for o in result.outcomes if o.action == "update"]
        assert [o.record.source_id for o in updated] == [employer["id"]]
        assert [c.field for c in updated[0].record.changes] == ["name"]

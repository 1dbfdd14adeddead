"""Live metadata in the plan, against served sandboxes (issue 9): a field this user may create but not
update is not planned as an update (point 8); live metadata wins over the profile's declarations, and a
mapped field the CRM lacks is said, located, by validate and plan (point 9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import copy_source, push, records, served

runner = CliRunner()
ENV = {"CRMSYNC_ACCESS_TOKEN": "sandbox-token"}

SF_CONTACT = {"Contact": [{"Email": "jane.doe@bluebird-bakery-example.com", "FirstName": "Jane",
                           "LastName": "Doe"}]}


def outcome(result: Any, source_id: str) -> Any:
    return next(o for o in result.outcomes if o.record.source_id == source_id)


def test_a_field_creatable_but_not_updatable_is_not_planned_as_an_update(examples: Path,
                                                                         tmp_path: Path) -> None:
    """Salesforce field-level security: Title is creatable, not updateable, for this user (describe
    says so). An existing contact is updated without Title, with a note; a new one gets it."""
    not_updatable = {"Contact": [{"name": "Title", "type": "string", "label": "Title", "length": 128,
                                  "updateable": False}]}
    source = copy_source(examples, tmp_path / "src")
    with served("salesforce", seed=SF_CONTACT, extra_fields=not_updatable) as (_, url):
        result = push("salesforce", source, url, tmp_path / "state")
        contacts = {c["Email"]: c for c in records(url)["Contact"]}
    jane = outcome(result, "ec-001")
    assert jane.record.status == "update" and jane.result == "success", jane
    assert "Title" not in {c.field for c in jane.record.changes}
    assert any(n.startswith("Title: not writable on update for this user") for n in jane.record.notes)
    assert contacts["jane.doe@bluebird-bakery-example.com"]["BenefitFlow_Id__c"] == "ec-001"
    assert contacts["jane.doe@bluebird-bakery-example.com"].get("Title") is None
    created = outcome(result, "ec-002")
    assert created.action == "insert" and created.result == "success"
    assert contacts["maria.lopez@cedarvalley-logistics-example.com"]["Title"] == "Benefits Manager"


def test_a_picklist_the_admin_made_unrestricted_takes_values_the_profile_declared_restricted(
        examples: Path, tmp_path: Path) -> None:
    """The profile declares Funding_Type__c restricted; the org's admin unticked "Restrict picklist to
    the values defined in the value set". emp-008's "self funded" is written, not refused."""
    unrestricted = {"Account": [{"name": "Funding_Type__c", "type": "picklist", "label": "Funding Type",
                                 "picklistValues": ["Fully Insured", "Self-Funded", "Level-Funded"],
                                 "restrictedPicklist": False}]}
    with served("salesforce", extra_fields=unrestricted) as (_, url):
        result = push("salesforce", examples, url, tmp_path / "state")
        accounts = {a["BenefitFlow_Id__c"]: a for a in records(url)["Account"]}
    lakeshore = outcome(result, "emp-008")
    assert lakeshore.record.status == "net_new" and lakeshore.result == "success", lakeshore
    assert accounts["emp-008"]["Funding_Type__c"] == "self funded"


def test_a_picklist_the_crm_restricts_refuses_values_the_profile_declared_free(examples: Path,
                                                                             tmp_path: Path) -> None:
    """The reverse: the profile says the picklist is free; the CRM restricts it. The value is refused
    in the plan, never sent."""
    profile = tmp_path / "free.yaml"
    shipped = (Path(__file__).resolve().parent.parent / "profiles" / "salesforce-benefitflow.yaml")
    declared = "      label: Funding Type\n      restricted: "
    text = shipped.read_text(encoding="utf-8").replace(f"{declared}true", f"{declared}false")
    profile.write_text(text, encoding="utf-8")
    with served("salesforce") as (_, url):
        result = push("salesforce", examples, url, tmp_path / "state", profile=profile)
    lakeshore = outcome(result, "emp-008")
    assert lakeshore.record.status == "invalid" and lakeshore.action is None
    assert lakeshore.record.problems[0].code == "not_in_picklist"


def profile_with_a_property_the_portal_lacks(tmp_path: Path) -> Path:
    """The shipped HubSpot profile, with one more custom company property (which the portal lacks)
    mapped by the employer stream."""
    shipped = Path(__file__).resolve().parent.parent / "profiles" / "hubspot-benefitflow.yaml"
    text = shipped.read_text(encoding="utf-8")
    contacts = "  contacts:\n    benefitflow_id:"
    text = text.replace(contacts, f"    carrier_name: {{type: string, label: Carrier}}\n{contacts}", 1)
    text = text.replace("      lifecyclestage: {value: customer}\n\n  employer_contact:",
                        "      lifecyclestage: {value: customer}\n      carrier_name: $.name\n\n"
                        "  employer_contact:", 1)
    path = tmp_path / "hubspot-custom.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_validate_against_the_portal_names_a_custom_property_it_lacks(tmp_path: Path) -> None:
    profile = profile_with_a_property_the_portal_lacks(tmp_path)
    with served("hubspot") as (_, url):
        checked = runner.invoke(app, ["validate", str(profile), "--base-url", url, "--format", "json"],
                                env=ENV)
    assert checked.exit_code == 1, checked.output
    findings = [f for f in json.loads(checked.stdout)["findings"] if f["code"] == "not_in_crm"]
    line = line_of(profile, "      carrier_name: $.name")
    assert [(f["stream"], f["field"], f["where"]) for f in findings] == [
        ("employer", "carrier_name", f"{profile}:{line}:7")]
    assert "has no field 'carrier_name' on companies" in findings[0]["message"]


def test_plan_and_push_refuse_a_value_for_a_property_the_portal_lacks_before_sending(
        examples: Path, tmp_path: Path) -> None:
    """Without the check every employer failed with the CRM's raw JSON; now each is invalid, located,
    never sent, and the other streams are written."""
    profile = profile_with_a_property_the_portal_lacks(tmp_path)
    line = line_of(profile, "      carrier_name: $.name")
    with served("hubspot") as (_, url):
        planned = runner.invoke(app, ["plan", str(profile), "--source", str(examples), "--base-url", url,
                                      "--format", "json", "--state-dir", str(tmp_path / "plan-state")],
                                env=ENV)
        result = push("hubspot", examples, url, tmp_path / "state", profile=profile)
        companies = records(url)["companies"]
    assert planned.exit_code == 1
    emp = next(r for r in json.loads(planned.stdout)["records"] if r["source_id"] == "emp-001")
    assert emp["status"] == "invalid" and emp["problems"][0]["code"] == "not_in_crm"
    assert f"{profile}:{line}:7" in emp["problems"][0]["message"]
    sent = outcome(result, "emp-001")
    assert sent.action is None and sent.error_code == "not_in_crm" and "{" not in sent.error
    assert {c["properties"].get("benefitflow_id") for c in companies} >= {"brk-001", "bo-001"}
    assert not any(str(c["properties"].get("benefitflow_id")).startswith("emp-") for c in companies)


def test_saved_metadata_names_the_property_the_portal_lacks_offline(tmp_path: Path) -> None:
    profile = profile_with_a_property_the_portal_lacks(tmp_path)
    saved = tmp_path / "metadata.json"
    with served("hubspot") as (_, url):
        runner.invoke(app, ["validate", str(profile), "--base-url", url, "--save-metadata", str(saved)],
                      env=ENV)
    offline = runner.invoke(app, ["validate", str(profile), "--metadata", str(saved), "--format", "json"])
    assert offline.exit_code == 1, offline.output
    codes = [(f["code"], f["field"]) for f in json.loads(offline.stdout)["findings"]]
    assert codes == [("not_in_crm", "carrier_name")]


def profile_with_the_url_rule_property(tmp_path: Path, mapping: str) -> Path:
    """The shipped HubSpot profile, whose employers also write benefitflow_profile_url: a portal
    property with a URL validation rule (Settings > Properties > Rules), declared as plain text."""
    shipped = Path(__file__).resolve().parent.parent / "profiles" / "hubspot-benefitflow.yaml"
    text = shipped.read_text(encoding="utf-8")
    contacts = "  contacts:\n    benefitflow_id:"
    text = text.replace(contacts, f"    benefitflow_profile_url: {{type: string}}\n{contacts}", 1)
    employer_end = "      lifecyclestage: {value: customer}\n"
    text = text.replace(f"{employer_end}\n  employer_contact:",
                        f"{employer_end}      benefitflow_profile_url: {mapping}\n\n  employer_contact:", 1)
    path = tmp_path / "hubspot-url.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_value_breaking_the_portals_url_rule_is_invalid_in_the_plan_not_refused_by_the_crm(
        examples: Path, tmp_path: Path) -> None:
    profile = profile_with_the_url_rule_property(
        tmp_path, '{template: "benefitflow-example.com/employers/{{ id }}"}')
    with served("hubspot") as (_, url):
        result = push("hubspot", examples, url, tmp_path / "state", profile=profile)
        companies = records(url)["companies"]
    emp = outcome(result, "emp-001")
    assert emp.record.status == "invalid" and emp.action is None, emp
    problem = emp.record.problems[0]
    assert (problem.field, problem.code) == ("benefitflow_profile_url", "pattern")
    assert "the property's validation rule in HubSpot" in problem.message
    assert not any(str(c["properties"].get("benefitflow_id")).startswith("emp-") for c in companies)


def test_validate_against_the_portal_names_a_constant_breaking_its_url_rule(tmp_path: Path) -> None:
    profile = profile_with_the_url_rule_property(tmp_path, "{value: benefitflow-example.com}")
    with served("hubspot") as (_, url):
        checked = runner.invoke(app, ["validate", str(profile), "--base-url", url, "--format", "json"],
                                env=ENV)
    assert checked.exit_code == 1, checked.output
    finding = next(f for f in json.loads(checked.stdout)["findings"] if f["code"] == "constant_breaks_rule")
    line = line_of(profile, "benefitflow_profile_url: {value")
    assert finding["where"] == f"{profile}:{line}:40" and finding["field"] == "benefitflow_profile_url"
    assert "validation rule in HubSpot" in finding["message"]

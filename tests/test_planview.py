"""What people are shown of a planned record: its name, its View in CRM link, grouped problems."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from engine.catalog import connection_settings, load_profile
from engine.dryrun import dry_run
from engine.errors import CrmsyncError
from engine.plan import PlannedRecord
from engine.planview import display_name, group_problems, problem_cause, search_values, view_url
from engine.validate import validate
from tests.pushkit import PROFILES, copy_source, push, rewrite, served

HUBSPOT = PROFILES["hubspot"]


def test_a_record_is_named_by_its_stream_name_fields_joined_by_a_space() -> None:
    record = PlannedRecord("employer_contact", "ec-1", "contacts", "net_new", "x.jsonl:1",
                           values={"firstname": "Anke", "lastname": "Schröder"},
                           identity={"email": ["anke@example.com"]})
    assert display_name(record, ["firstname", "lastname"]) == "Anke Schröder"
    assert display_name(record, ["lastname"]) == "Schröder"


def test_without_name_values_the_first_identity_value_then_the_source_id_names_it() -> None:
    record = PlannedRecord("employer_contact", "ec-1", "contacts", "net_new", "x.jsonl:1",
                           values={"firstname": " "}, identity={"email": ["anke@example.com"]})
    assert display_name(record, ["firstname", "lastname"]) == "anke@example.com"
    assert display_name(record, []) == "anke@example.com"
    record.identity = {"email": []}
    assert display_name(record, ["firstname"]) == "ec-1"


def test_the_built_in_profile_names_companies_and_contacts(examples: Path) -> None:
    plan = dry_run(HUBSPOT, examples)
    bundle = load_profile(HUBSPOT)
    names = {r.ref: display_name(r, bundle.profile.model.streams[r.stream].name) for r in plan.records}
    assert names["employer/emp-001"] == "Bluebird Bakery Co."
    contact = next(r for r in plan.records if r.stream == "employer_contact" and r.status == "net_new")
    first, last = contact.values["firstname"], contact.values["lastname"]
    assert names[contact.ref] == f"{first} {last}"
    assert search_values(bundle, contact)["email"] == contact.identity["email"][0]
    assert search_values(bundle, plan.records[0]) == {"domain": "harborpine-benefits-example.com"}


def _profile_with_name(tmp_path: Path, name_line: str) -> Path:
    text = HUBSPOT.read_text(encoding="utf-8")
    marker = "  employer_contact:\n    object: contacts\n    name: [firstname, lastname]\n"
    assert marker in text
    path = tmp_path / "profile.yaml"
    path.write_text(text.replace(marker, f"  employer_contact:\n    object: contacts\n{name_line}\n")
                    , encoding="utf-8")
    return path


def test_an_unknown_name_field_is_an_error_at_its_line_and_stops_a_plan(tmp_path: Path,
                                                                       examples: Path) -> None:
    path = _profile_with_name(tmp_path, "    name: [firstname, lastnme]")
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "lastnme" in text)
    findings = [f for f in validate(load_profile(path)) if f.code == "unknown_name_field"]
    assert len(findings) == 1
    assert findings[0].where.startswith(f"{path}:{line}:")
    assert "did you mean 'lastname'?" in findings[0].message
    with pytest.raises(CrmsyncError, match="unknown_name_field"):
        dry_run(path, examples)


def test_a_name_field_the_stream_does_not_map_is_a_warning(tmp_path: Path) -> None:
    path = _profile_with_name(tmp_path, "    name: mobilephone")
    findings = [f for f in validate(load_profile(path)) if f.code == "name_field_unmapped"]
    assert [f.severity for f in findings] == ["warning"] and findings[0].field == "mobilephone"


def test_a_bare_name_string_is_one_field(tmp_path: Path) -> None:
    path = _profile_with_name(tmp_path, "    name: lastname")
    assert load_profile(path).profile.model.streams["employer_contact"].name == ["lastname"]


def test_view_in_crm_links_follow_each_crms_record_url_shape() -> None:
    expected = {  # each CRM's own record page (a My Domain host redirects to its Lightning host)
        "salesforce": ("Account", "https://acme.my.salesforce.com/lightning/r/Account/001XX/view"),
        "hubspot": ("companies", "https://app.hubspot.com/contacts/123456/record/0-2/001XX"),
        "dynamics": ("account", "https://benefitflow-customer.crm.dynamics.com/main.aspx?pagetype="
                                "entityrecord&etn=account&id=001XX"),  # the profile's app_url
        "zoho": ("accounts", "https://crm.zoho.com/crm/org000000000/tab/Accounts/001XX"),
    }
    bases = {"salesforce": "https://acme.my.salesforce.com", "hubspot": "https://api.hubapi.com",
             "dynamics": "https://org.crm.dynamics.com", "zoho": "https://www.zohoapis.com/crm/v7"}
    for crm, (obj, url) in expected.items():
        bundle = load_profile(PROFILES[crm])
        connection = connection_settings(bundle.connector.model, bundle.profile.model.connection, bases[crm])
        link = view_url(bundle.connector.model, connection, obj, "001XX")
        assert link == url, crm
        assert view_url(bundle.connector.model, connection, obj, None) is None  # not in the CRM yet


@pytest.mark.parametrize("crm", ["hubspot", "salesforce", "dynamics", "zoho"])
def test_against_a_sandbox_the_link_opens_its_record_page(crm: str, examples: Path, tmp_path: Path) -> None:
    with served(crm) as (_, url):
        push(crm, examples, url, tmp_path / "state")
        plan = dry_run(PROFILES[crm], examples, base_url=url, state_dir=tmp_path / "state",
                       credentials_file=tmp_path / "creds" / f"{crm}-credentials.json")
        bundle = load_profile(PROFILES[crm])
        connection = connection_settings(bundle.connector.model, bundle.profile.model.connection, url)
        record = next(r for r in plan.records if r.ref == "employer/emp-001")
        assert record.crm_id
        link = view_url(bundle.connector.model, connection, record.object, record.crm_id)
        assert link is not None and link.startswith(url.split("/crm/")[0].split("/api/")[0])
        page = httpx.get(link, timeout=10)
        assert page.status_code == 200 and "Bluebird Bakery" in page.text, (link, page.status_code)
        missing = httpx.get(link.replace(record.crm_id, "0" + record.crm_id[1:] + "9"), timeout=10)
        assert missing.status_code == 404


def test_problems_are_grouped_by_cause_with_counts_and_the_profile_line(examples: Path,
                                                                       tmp_path: Path) -> None:
    source = copy_source(examples, tmp_path / "src")
    for record_id in ("emp-001", "emp-002", "emp-003"):
        rewrite(source / "employer.jsonl", record_id, funding_type="self funded")
    plan = dry_run(HUBSPOT, source)
    bundle = load_profile(HUBSPOT)
    groups = group_problems(bundle, plan.records)
    top = groups[0]
    # emp-008 has the same bad value in the example data: four records, one cause
    assert (top.stream, top.field, top.code, top.count) == ("employer", "funding_type", "not_in_picklist", 4)
    assert top.line().startswith("funding_type: 'self funded' is not a value of this restricted picklist")
    assert top.line().endswith("— 4 records")
    line = next(i for i, text in enumerate(HUBSPOT.read_text().splitlines(), 1)
                if text.strip().startswith("funding_type: $.funding_type"))
    assert top.profile_at == f"{HUBSPOT}:{line}"
    assert sorted(top.refs) == [f"employer/emp-00{n}" for n in (1, 2, 3, 8)]
    assert sum(g.count for g in groups) == sum(len(r.problems) for r in plan.records)


def test_the_cause_leaves_the_record_out() -> None:
    record = PlannedRecord("employer", "emp-1", "companies", "invalid", "employer.jsonl:4")
    assert problem_cause(record, "employer emp-1: phone: bad") == "phone: bad"
    assert problem_cause(record, "employer.jsonl:4: not JSON") == "not JSON"
    assert problem_cause(record, "something else") == "something else"

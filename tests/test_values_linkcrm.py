"""Issue 10, points 3-5, against LinkCRM (tests/madeup_values.py) served on 127.0.0.1: field values
that are not scalars on the wire (`read`, `write`, `path`, `query_name`), the customer's own identity
key declared in the profile, a field relation read from another place than it is written, and an
association made by a link record of its own, with no association type."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.catalog import load_connector, load_profile
from engine.dryrun import dry_run
from engine.push import PushResult
from engine.pushrun import PushRequest, run_push
from engine.validate import validate
from tests.madeup_values import LinkCrm, served
from tests.pushkit import quiet
from tests.test_docs import example_block

EMPLOYER = {"id": "e1", "name": "Acme", "website": "https://www.acme.com/"}
BROKER = {"id": "b1", "name": "Brokers Inc", "website": "brokers.example"}
PEOPLE = [
    {"id": "p1", "employer_id": "e1", "broker_id": "b1", "first_name": "Ada", "last_name": "Byron",
     "email": "ada@acme.com", "phone": "(212) 736-5000", "industry": "NAICS-52"},
    {"id": "p2", "employer_id": "e1", "broker_id": "b1", "first_name": "Alan", "last_name": "Turing",
     "email": "alan@acme.com", "phone": "(212) 736-5001", "industry": "NAICS-54"},
]
WRITES = ("POST", "PATCH")


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture
def linkcrm(tmp_path: Path) -> Path:
    """The LinkCRM connector and profile of docs/connector-spec.md, and source data for them."""
    (tmp_path / "linkcrm.yaml").write_text(example_block("connector-spec.md", "values-connector"),
                                           encoding="utf-8")
    (tmp_path / "profile.yaml").write_text(example_block("connector-spec.md", "values-profile"),
                                           encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "employer.jsonl", [EMPLOYER])
    write_jsonl(data / "broker.jsonl", [BROKER])
    write_jsonl(data / "employee.jsonl", PEOPLE)
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps({"access_token": "linkcrm-token"}), encoding="utf-8")
    creds.chmod(0o600)
    return tmp_path


@pytest.fixture
def crm() -> Iterator[tuple[LinkCrm, str]]:
    with served() as (emulator, url):
        yield emulator, url


def push(home: Path, url: str, profile: str = "profile.yaml") -> PushResult:
    request = PushRequest(home / profile, home / "data", base_url=url, as_user="tester",
                          state_dir=home / "state", credentials_file=home / "creds.json", progress=False)
    return run_push(request, quiet())


def sent_writes(emulator: LinkCrm) -> list[tuple[str, str, Any]]:
    """The writes sent (searches are POSTs that write nothing)."""
    return [s for s in emulator.sent if s[0] in WRITES and not s[1].endswith("/search")]


def person(emulator: LinkCrm, source_id: str) -> tuple[int, dict[str, Any]]:
    [(crm_id, record)] = [(i, r) for i, r in emulator.records["people"].items()
                          if r.get("custom_fields", {}).get("src_ref") == source_id]
    return crm_id, record


def test_the_doc_example_loads_and_validates(linkcrm: Path) -> None:
    spec = load_connector(str(linkcrm / "linkcrm.yaml")).model
    assert spec.objects["person"].fields["industry_code"].path == "custom_fields.ind_7f"
    bundle = load_profile(linkcrm / "profile.yaml")
    assert "source_ref" in bundle.connector.model.objects["person"].identity_keys  # the profile's own key
    assert validate(bundle) == []


def test_first_push_creates_each_record_once_in_the_wire_shape_and_links_it(
        linkcrm: Path, crm: tuple[LinkCrm, str]) -> None:
    emulator, url = crm
    push(linkcrm, url)
    assert len(emulator.records["orgs"]) == 2 and len(emulator.records["people"]) == 2
    [acme] = [i for i, o in emulator.records["orgs"].items() if o["domain"] == "acme.com"]
    [broker] = [i for i, o in emulator.records["orgs"].items() if o["domain"] == "brokers.example"]
    ada_id, ada = person(emulator, "p1")
    assert ada["emails"] == [{"value": "ada@acme.com", "primary": True, "label": "work"}]
    assert ada["phones"] == [{"value": "+12127365000", "primary": True, "label": "work"}]
    assert ada["custom_fields"] == {"ind_7f": "NAICS-52", "src_ref": "p1"}
    assert ada["org_id"] == acme
    assert emulator.links[ada_id] == [broker]
    links = [s for s in emulator.sent if s[1].endswith("/links") and s[0] == "POST"]
    assert sorted(s[1] for s in links) == sorted(f"/v1/people/{i}/links" for i in emulator.records["people"])


def test_second_push_sends_no_write_the_scalars_compare_equal(linkcrm: Path,
                                                              crm: tuple[LinkCrm, str]) -> None:
    emulator, url = crm
    push(linkcrm, url)
    emulator.sent.clear()
    result = push(linkcrm, url)
    assert sent_writes(emulator) == []
    assert result.stopped is None
    # the people were found by the profile's own key, asked for by the field's nested name
    assert ("POST", "/v1/people/search", {"field": "custom_fields.src_ref", "values": ["p1", "p2"]}) \
        in emulator.sent
    # the links were read back, each person's own
    assert sorted(s[1] for s in emulator.sent if s[0] == "GET" and s[1].endswith("/links")) == \
        sorted(f"/v1/people/{i}/links" for i in emulator.records["people"])


def test_a_crm_edit_is_kept_with_overwrite_off_and_a_changed_email_is_sent_as_a_list(
        linkcrm: Path, crm: tuple[LinkCrm, str]) -> None:
    emulator, url = crm
    push(linkcrm, url)
    ada_id, ada = person(emulator, "p1")
    ada["phones"] = [{"value": "+15550001111", "primary": True, "label": "mobile"},
                     {"value": "+12127365000", "primary": False, "label": "work"}]
    changed = [{**PEOPLE[0], "email": "ada.byron@acme.com", "phone": "(212) 736-5999"}, PEOPLE[1]]
    write_jsonl(linkcrm / "data" / "employee.jsonl", changed)
    plan = dry_run(linkcrm / "profile.yaml", linkcrm / "data", base_url=url, state_dir=linkcrm / "state",
                   credentials_file=linkcrm / "creds.json")
    [planned] = [r for r in plan.records if r.source_id == "p1"]
    assert [(c.field, c.current, c.new) for c in planned.kept] == [("phones", "+15550001111", "+12127365999")]
    assert [(c.field, c.current, c.new) for c in planned.changes] == [
        ("emails", "ada@acme.com", "ada.byron@acme.com")]
    emulator.sent.clear()
    push(linkcrm, url)
    assert sent_writes(emulator) == [("PATCH", f"/v1/people/{ada_id}", {
        "emails": [{"value": "ada.byron@acme.com", "primary": True, "label": "work"}]})]
    assert emulator.records["people"][ada_id]["phones"][0]["value"] == "+15550001111"  # the CRM's edit


def test_identity_matches_any_of_the_emails_read(linkcrm: Path, crm: tuple[LinkCrm, str]) -> None:
    """A person the CRM holds with the source's email second in its list is that person: found by the
    connector's `email` key through its query name, and not created again."""
    emulator, url = crm
    acme = emulator.add("orgs", {"name": "Acme", "domain": "acme.com"})
    ada_id = emulator.add("people", {"name": "Ada Byron", "org_id": acme, "emails": [
        {"value": "countess@lovelace.example", "primary": True, "label": "home"},
        {"value": "ada@acme.com", "primary": False, "label": "work"}]})
    profile = (linkcrm / "profile.yaml").read_text(encoding="utf-8")
    by_email = profile.replace("identity: {key: source_ref, source: {id: $.id}}",
                               "identity: {key: email, source: {email: $.email}}")
    by_email = by_email.replace("      emails: {source: $.email, overwrite: true}\n", "")
    (linkcrm / "by_email.yaml").write_text(by_email, encoding="utf-8")
    write_jsonl(linkcrm / "data" / "employee.jsonl", PEOPLE[:1])
    push(linkcrm, url, "by_email.yaml")
    assert list(emulator.records["people"]) == [ada_id]
    assert ("POST", "/v1/people/search", {"field": "email", "values": ["ada@acme.com"]}) in emulator.sent
    assert emulator.records["people"][ada_id]["emails"][0]["value"] == "countess@lovelace.example"


def test_a_parent_read_from_the_answer_is_filled_when_empty_and_kept_when_another(
        linkcrm: Path, crm: tuple[LinkCrm, str]) -> None:
    """The relation reads the current parent from `org.id` (written as `org_id`): an existing person
    without one gets it; one at another org keeps it, with a note."""
    emulator, url = crm
    acme = emulator.add("orgs", {"name": "Acme", "domain": "acme.com"})
    other = emulator.add("orgs", {"name": "Other", "domain": "other.example"})
    alone = emulator.add("people", {"name": "Ada Byron", "custom_fields": {"src_ref": "p1"}})
    elsewhere = emulator.add("people", {"name": "Alan Turing", "org_id": other,
                                        "custom_fields": {"src_ref": "p2"}})
    plan = dry_run(linkcrm / "profile.yaml", linkcrm / "data", base_url=url, state_dir=linkcrm / "state",
                   credentials_file=linkcrm / "creds.json")
    notes = {r.source_id: r.notes for r in plan.records}
    assert any(f"org_id is {other} in the CRM" in n for n in notes["p2"])
    push(linkcrm, url)
    assert emulator.records["people"][alone]["org_id"] == acme
    assert emulator.records["people"][elsewhere]["org_id"] == other
    assert len(emulator.records["people"]) == 2


def test_an_existing_link_is_not_made_again_and_a_missing_one_is(linkcrm: Path,
                                                                 crm: tuple[LinkCrm, str]) -> None:
    """Both people and both orgs exist; one person is linked to the broker already. The plan reads the
    links (no association type: any link counts) and links the other person only."""
    emulator, url = crm
    acme = emulator.add("orgs", {"name": "Acme", "domain": "acme.com"})
    broker = emulator.add("orgs", {"name": "Brokers Inc", "domain": "brokers.example"})
    ada = emulator.add("people", {"name": "Ada Byron", "org_id": acme, "custom_fields": {"src_ref": "p1"}})
    alan = emulator.add("people", {"name": "Alan Turing", "org_id": acme, "custom_fields": {"src_ref": "p2"}})
    emulator.links[ada] = [broker]
    push(linkcrm, url)
    assert [s[1] for s in emulator.sent if s[0] == "POST" and s[1].endswith("/links")] == \
        [f"/v1/people/{alan}/links"]
    assert emulator.links == {ada: [broker], alan: [broker]}
    emulator.sent.clear()
    push(linkcrm, url)
    assert sent_writes(emulator) == []

"""The contact owner, on every built-in CRM's served sandbox: the CRM user whose email the source gives
is found once per run and written on create; an owner the CRM does not have, or has inactive, leaves
the record without one and says so; an update writes it only with overwrite; a CRM that refuses to
list its users stops the push with its reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.sandbox.salesforce_ids import make_id
from tests.crms import CRMS
from tests.pushkit import COMPANIES, PEOPLE, PROFILES, push, records, rewrite, served

REP, GONE, NOBODY, REP2 = ("rep@customer.example", "gone@customer.example", "nobody@customer.example",
                           "rep2@customer.example")
OWNER_IDS = {"hubspot": {REP: "501", GONE: "502", REP2: "503"},
             "salesforce": {email: make_id("User", n) for email, n in ((REP, 501), (GONE, 502), (REP2, 503))},
             "dynamics": {REP: "00000000-0000-4000-8000-000000000501",
                          GONE: "00000000-0000-4000-8000-000000000502",
                          REP2: "00000000-0000-4000-8000-000000000503"},
             "zoho": {REP: "5550000000000501", GONE: "5550000000000502", REP2: "5550000000000503"}}
# how an owner the CRM has deactivated is seen: HubSpot lists a deactivated user's owner only as archived
# and Zoho's users API is asked for its active users only
GONE_IS = {"hubspot": "not_found", "salesforce": "inactive", "dynamics": "inactive", "zoho": "not_found"}
USERS_PATH = {"hubspot": "/crm/v3/owners", "dynamics": "/systemusers", "zoho": "/crm/v7/users"}
OWNED_BY = {"ec-001": REP, "ec-004": REP, "ec-002": GONE, "ec-003": NOBODY}


def seed(crm: str) -> dict[str, list[dict[str, Any]]]:
    ids = OWNER_IDS[crm]
    if crm == "hubspot":
        return {"owners": [{"id": ids[REP], "email": REP, "firstName": "Rita"},
                           {"id": ids[GONE], "email": GONE, "archived": True},
                           {"id": ids[REP2], "email": REP2}]}
    if crm == "salesforce":
        return {"User": [{"Id": ids[REP], "Email": REP}, {"Id": ids[GONE], "Email": GONE, "IsActive": False},
                         {"Id": ids[REP2], "Email": REP2}]}
    if crm == "zoho":
        return {"users": [{"id": ids[REP], "email": REP, "full_name": "Rita"},
                          {"id": ids[GONE], "email": GONE, "status": "inactive"},
                          {"id": ids[REP2], "email": REP2}]}
    return {"systemusers": [{"systemuserid": ids[REP], "internalemailaddress": REP},
                            {"systemuserid": ids[GONE], "internalemailaddress": GONE, "isdisabled": True},
                            {"systemuserid": ids[REP2], "internalemailaddress": REP2}]}


def owner_of(crm: str, record: dict[str, Any]) -> str | None:
    if crm == "hubspot":
        return record["properties"].get("hubspot_owner_id")
    if crm == "zoho":
        return (record.get("Owner") or {}).get("id")
    return record.get("OwnerId") if crm == "salesforce" else record.get("ownerid")


def source_ids(crm: str, url: str) -> dict[str, dict[str, Any]]:
    """The CRM's people by the source id they were written from."""
    key = {"hubspot": "benefitflow_id", "salesforce": "BenefitFlow_Id__c",
           "dynamics": "bf_benefitflowid", "zoho": "BenefitFlow_Id"}[crm]
    return {(r.get("properties") or r).get(key): r for r in records(url)[PEOPLE[crm]]}


def contact(crm: str, url: str, source_id: str) -> dict[str, Any]:
    return source_ids(crm, url)[source_id]


def owned_profile(crm: str, directory: Path, overwrite: bool = False) -> Path:
    """The shipped profile whose employer contacts are owned by the user in `owner_email`."""
    directory.mkdir(parents=True, exist_ok=True)
    text = PROFILES[crm].read_text(encoding="utf-8")
    start = text.index("  employer_contact:\n")
    at = text.index("    identity:", start)
    owner = f"    owner: {{source: $.owner_email, overwrite: {str(overwrite).lower()}}}\n"
    path = directory / PROFILES[crm].name
    path.write_text(text[:at] + owner + text[at:], encoding="utf-8")
    return path


def owned_source(examples: Path, directory: Path) -> Path:
    shutil.copytree(examples, directory)
    for source_id, email in OWNED_BY.items():
        rewrite(directory / "employer_contact.jsonl", source_id, owner_email=email)
    return directory


@pytest.mark.parametrize("crm", CRMS)
def test_the_contact_owner_is_found_by_email_and_written_on_create(crm: str, examples: Path,
                                                                   tmp_path: Path) -> None:
    profile = owned_profile(crm, tmp_path / "profiles")
    source = owned_source(examples, tmp_path / "source")
    state = tmp_path / "state"
    ids = OWNER_IDS[crm]
    with served(crm, seed=seed(crm)) as (emulator, url):
        result = push(crm, source, url, state, profile)
        by_ref = {o.record.source_id: o for o in result.outcomes if o.record.stream == "employer_contact"}
        assert all(by_ref[s].result == "success" and by_ref[s].action == "insert" for s in OWNED_BY)
        assert owner_of(crm, contact(crm, url, "ec-001")) == ids[REP]
        assert owner_of(crm, contact(crm, url, "ec-004")) == ids[REP]
        for source_id in ("ec-002", "ec-003", "ec-005"):  # the CRM's own default: the integration user
            assert owner_of(crm, contact(crm, url, source_id)) not in ids.values()
        assert by_ref["ec-002"].record.owner == GONE_IS[crm]
        assert by_ref["ec-003"].record.owner == "not_found"
        assert f"owner {NOBODY} is not an active user of the CRM: written without an owner" in \
            by_ref["ec-003"].record.notes
        assert result.owners() == {"set": 2, "not_found": 1 + (GONE_IS[crm] == "not_found"),
                                   "inactive": int(GONE_IS[crm] == "inactive")}
        if crm != "salesforce":  # (its user look-ups share /query with the record look-ups)
            asked = [r for r in emulator.requests if r["path"].endswith(USERS_PATH[crm])]
            # once per email (rep@ owns two contacts); Zoho's users API has no email filter: its active
            # users are listed once for every email
            assert len(asked) == (1 if crm == "zoho" else 3)
        for company in records(url)[COMPANIES[crm]]:
            assert owner_of(crm, company) not in ids.values()  # an account never gets one

        rewrite(source / "employer_contact.jsonl", "ec-001", owner_email=REP2)
        again = push(crm, source, url, state, profile)
        assert owner_of(crm, contact(crm, url, "ec-001")) == ids[REP]  # overwrite off: on create only
        assert again.summary()["updated"] == 0

        overwriting = owned_profile(crm, tmp_path / "overwriting", overwrite=True)
        moved = push(crm, source, url, state, overwriting)
        assert owner_of(crm, contact(crm, url, "ec-001")) == ids[REP2]
        assert moved.summary()["updated"] == 1 and moved.owners()["set"] == 1


@pytest.mark.parametrize("crm", CRMS)
def test_a_crm_that_will_not_list_its_users_stops_the_push_saying_so(crm: str, examples: Path,
                                                                    tmp_path: Path) -> None:
    refusal = {"hubspot": {"missing_scopes": {"crm.objects.owners.read"}},
               "salesforce": {"unreadable_objects": {"User"}},
               "dynamics": {"missing_read_privileges": {"systemuser"}},
               "zoho": {"missing_scopes": {"ZohoCRM.users.READ"}}}[crm]
    profile = owned_profile(crm, tmp_path / "profiles")
    source = owned_source(examples, tmp_path / "source")
    with served(crm, seed=seed(crm), **refusal) as (_, url):
        result = push(crm, source, url, tmp_path / "state", profile)
        assert result.stopped and "needs read access to the CRM's users" in result.stopped
        assert "employer_contact" in result.unplanned or all(
            o.action is None for o in result.outcomes if o.record.stream == "employer_contact")
        assert not [ref for ref in source_ids(crm, url) if ref and ref.startswith("ec-")]


def test_the_plan_and_the_push_summary_say_which_records_go_without_their_owner(examples: Path,
                                                                               tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from engine.cli import app
    from tests.pushkit import credentials_file

    profile = owned_profile("hubspot", tmp_path / "profiles")
    source = owned_source(examples, tmp_path / "source")
    common = ["--state-dir", str(tmp_path / "state"),
              "--credentials", str(credentials_file("hubspot", tmp_path / "creds"))]
    with served("hubspot", seed=seed("hubspot")) as (_, url):
        planned = CliRunner().invoke(app, ["plan", str(profile), "--source", str(source), "--base-url", url,
                                           "--format", "json", *common])
        plan = json.loads(planned.stdout)
        assert plan["owners"] == {"set": 2, "not_found": 2, "inactive": 0}
        owners = {r["source_id"]: r.get("owner") for r in plan["records"]
                  if r["stream"] == "employer_contact"}
        assert (owners["ec-001"], owners["ec-002"], owners["ec-003"], owners["ec-005"]) == (
            "set", "not_found", "not_found", None)
        asked = [r["url"] for r in plan["requests"] if "/crm/v3/owners" in r["url"]]
        assert len(asked) == 3 and any("email=nobody%40customer.example" in u for u in asked)
        pushed = CliRunner().invoke(app, ["push", str(profile), "--source", str(source), "--base-url", url,
                                          *common], env={"COLUMNS": "400"})
        assert "2 written without their owner (not an active user of the CRM)" in pushed.stdout


def test_zoho_owners_are_found_on_every_page_of_its_users_listed_once(examples: Path, tmp_path: Path) -> None:
    """Zoho's users API cannot filter by email and gives 200 users a page: an owner on the third page is
    found, and the users are listed once for the run (three pages), not once per email."""
    filler = [{"id": str(5550000000100000 + n), "email": f"user{n}@customer.example"} for n in range(450)]
    users = seed("zoho")["users"]
    far = [{**users[0], "id": "5550000000000999"}]  # rep@ after 450 others: on page 3
    profile = owned_profile("zoho", tmp_path / "profiles")
    source = owned_source(examples, tmp_path / "source")
    with served("zoho", seed={"users": filler + far + users[1:2]}) as (emulator, url):
        result = push("zoho", source, url, tmp_path / "state", profile)
        assert owner_of("zoho", contact("zoho", url, "ec-001")) == "5550000000000999"
        assert owner_of("zoho", contact("zoho", url, "ec-004")) == "5550000000000999"
        assert result.owners()["set"] == 2
        asked = [r["query"] for r in emulator.requests if r["path"].endswith(USERS_PATH["zoho"])]
        assert asked == ["type=ActiveUsers&per_page=200", "type=ActiveUsers&per_page=200&page=2",
                         "type=ActiveUsers&per_page=200&page=3"]


@pytest.mark.parametrize(("crm", "listed"), [("hubspot", 3), ("zoho", 1)])
def test_an_offline_plan_lists_the_users_look_ups_a_push_would_send(crm: str, listed: int, examples: Path,
                                                                     tmp_path: Path) -> None:
    """One per owner's email where the CRM filters users by email; Zoho's listing once for all."""
    from typer.testing import CliRunner

    from engine.cli import app

    profile = owned_profile(crm, tmp_path / "profiles")
    source = owned_source(examples, tmp_path / "source")
    planned = CliRunner().invoke(app, ["plan", str(profile), "--source", str(source), "--format", "json",
                                       "--state-dir", str(tmp_path / "state")])
    assert planned.exit_code in (0, 1), planned.output  # 1: the example data has records refused
    asked = [r["url"] for r in json.loads(planned.stdout)["requests"] if USERS_PATH[crm] in r["url"]]
    assert len(asked) == listed
    if crm == "zoho":
        assert asked[0].endswith("/users?type=ActiveUsers&per_page=200")

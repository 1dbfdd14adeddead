"""The team as a stranger types it: `--as` and `--team` on plan and push, restricted records shown in
the plan table and JSON with the reason, an unknown user refused (exit 2), a team file's mistakes at
file:line:col, and leads inheriting the contacts' permissions."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import PROFILES, credentials_file, records, served
from tests.teamkit import STANDARD, approved, before_source, profile_with_team, team_yaml

RUN = CliRunner()


def test_plan_as_a_standard_user_shows_restricted_records_with_the_reason(examples: Path,
                                                                          tmp_path: Path) -> None:
    profile = profile_with_team("salesforce", tmp_path / "profiles", team_yaml({"contact": "create_only"}))
    before = before_source(examples, tmp_path / "before")
    state, creds = tmp_path / "state", credentials_file("salesforce", tmp_path / "creds")
    with served("salesforce") as (_, url):
        common = ["--base-url", url, "--state-dir", str(state), "--credentials", str(creds)]
        pushed = RUN.invoke(app, ["push", str(profile), "--source", str(before), "--as", "ana", *common])
        assert pushed.exit_code in (0, 1), pushed.output  # the examples hold records the CRM refuses
        planned = RUN.invoke(app, ["plan", str(profile), "--source", str(examples), "--as", STANDARD,
                                   "--format", "json", *common])
        assert planned.exit_code in (0, 1), planned.output
        plan = json.loads(planned.stdout)
        restricted = [r for r in plan["records"] if r["status"] == "restricted"]
        assert plan["summary"]["restricted"] == len(restricted) == 2  # accounts: create only, the default
        by_ref = {(r["stream"], r["source_id"]): r for r in restricted}
        assert set(by_ref) == {("employer_contact", "ec-001"), ("employer", "emp-001")}
        record = by_ref["employer_contact", "ec-001"]
        assert record["reason"].startswith("standard users may only create contacts; this one exists in "
                                           "the CRM")
        assert record["changes"] == [] and record["crm_id"]
        table = RUN.invoke(app, ["plan", str(profile), "--source", str(examples), "--as", STANDARD, *common],
                           env={"COLUMNS": "400"})
        assert "Restricted: 2" in table.stdout and "standard users may only create contacts" in table.stdout
        as_admin = RUN.invoke(app, ["plan", str(profile), "--source", str(examples), "--format", "json",
                                    *common])
        assert json.loads(as_admin.stdout)["summary"]["restricted"] == 0  # no --as: what an admin's does


def test_an_unknown_user_is_bad_usage_on_plan_and_push(examples: Path, tmp_path: Path) -> None:
    profile = profile_with_team("hubspot", tmp_path / "profiles", team_yaml())
    for command in (["plan", str(profile), "--source", str(examples)],
                    ["push", str(profile), "--source", str(examples), "--base-url", "http://127.0.0.1:9"]):
        result = RUN.invoke(app, [*command, "--as", "zed"])
        assert result.exit_code == 2, result.output
        assert "--as zed: no such user in" in result.stderr
        assert "team.yaml (its users: ana, bo)" in result.stderr


def test_a_push_with_a_team_file_needs_to_know_who_pushes(examples: Path, tmp_path: Path) -> None:
    profile = profile_with_team("hubspot", tmp_path / "profiles", team_yaml())
    with served("hubspot") as (_, url):
        result = RUN.invoke(app, ["push", str(profile), "--source", str(examples), "--base-url", url,
                                  "--credentials", str(credentials_file("hubspot", tmp_path / "creds"))])
        assert result.exit_code == 2, result.output
        assert "say who you are with --as USER" in result.stderr
        assert records(url)["contacts"] == []


def test_team_given_with_team_and_found_by_email(examples: Path, tmp_path: Path) -> None:
    """`--team FILE` anywhere, and `--as` naming a user by email in another case."""
    team = tmp_path / "elsewhere" / "people.yaml"
    team.parent.mkdir()
    team.write_text(team_yaml({"contact": "update_only", "account": "update_only"}), encoding="utf-8")
    result = RUN.invoke(app, ["plan", str(PROFILES["hubspot"]), "--source", str(examples),
                              "--team", str(team), "--as", "BO@customer.example", "--format", "json"])
    plan = json.loads(result.stdout)
    assert plan["summary"]["net_new"] == 0 and plan["summary"]["restricted"] > 0  # nothing exists offline
    assert all("standard users may only update" in r["reason"] for r in plan["records"]
               if r["status"] == "restricted")


def test_a_team_file_mistake_is_reported_at_its_line_and_column(examples: Path, tmp_path: Path) -> None:
    profile = profile_with_team("hubspot", tmp_path / "profiles", "users:\n  - id: ana\n"
                                "    email: ana@customer.example\n    role: boss\npermissions:\n"
                                "  Contacts: create_only\n")
    result = RUN.invoke(app, ["plan", str(profile), "--source", str(examples), "--as", "ana"])
    assert result.exit_code == 2
    assert f"{profile.parent / 'team.yaml'}:4:11:" in result.stderr and "admin" in result.stderr
    fixed = (profile.parent / "team.yaml").read_text().replace("boss", "admin")
    (profile.parent / "team.yaml").write_text(fixed)
    result = RUN.invoke(app, ["plan", str(profile), "--source", str(examples), "--as", "ana"])
    assert result.exit_code == 2
    assert f"{profile.parent / 'team.yaml'}:6:13:" in result.stderr and "'Contacts' is not an object kind" \
        in result.stderr


def test_leads_inherit_the_contacts_permissions(examples: Path, tmp_path: Path) -> None:
    leads = PROFILES["salesforce"].parent / "salesforce-leads.yaml"
    profile = profile_with_team("salesforce", tmp_path / "profiles",
                                team_yaml({"contact": "update_only", "account": "create_and_update"}), leads)
    state = tmp_path / "state"
    approved(profile, state)
    with served("salesforce") as (_, url):
        result = RUN.invoke(app, ["push", str(profile), "--source", str(examples), "--base-url", url,
                                  "--as", STANDARD, "--state-dir", str(state), "--format", "json",
                                  "--credentials", str(credentials_file("salesforce", tmp_path / "creds"))])
        pushed = json.loads(result.stdout)
        assert result.exit_code == (1 if pushed["summary"]["failed"] else 0)  # restricted is no failure
        assert pushed["summary"]["restricted"] > 0 and pushed["summary"]["created"] == 0
        assert records(url)["Lead"] == []
        reasons = {r["error"] for r in pushed["records"] if r["result"] == "restricted"}
        assert reasons == {"standard users may only update contacts; this one is not in the CRM "
                           "(bo is a standard user)"}
        logged = RUN.invoke(app, ["log", "--by", STANDARD, "--result", "restricted", "--format", "json",
                                  "--state-dir", str(state)])
        rows = json.loads(logged.stdout)
        assert len(rows) == pushed["summary"]["restricted"]
        assert {(r["triggered_by"], r["action"], r["result"]) for r in rows} == {
            (STANDARD, "none", "restricted")}


def test_a_permission_for_a_kind_no_object_is_is_warned_not_ignored(examples: Path, tmp_path: Path) -> None:
    team = team_yaml({"contacts": "create_and_update"})  # the object's name, not its kind
    profile = profile_with_team("hubspot", tmp_path / "profiles", team)
    planned = RUN.invoke(app, ["plan", str(profile), "--source", str(examples), "--as", STANDARD,
                               "--format", "json"])
    [warning] = [w for w in json.loads(planned.stdout)["warnings"] if w["code"] == "unknown_kind"]
    assert warning["where"] == str(profile.parent / "team.yaml")
    assert warning["message"] == ("permissions for 'contacts', which no object of hubspot is (its kinds: "
                                  "account, contact); standard users get create_only for those")

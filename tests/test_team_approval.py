"""Admin approval as a stranger types it: `crmsync approve PROFILE --as ADMIN`; a standard user's push of
a profile, or team file, changed since is refused (exit 1) naming what changed, before anything is sent;
admins push anything; a standard user cannot approve, nor make themselves an admin by editing the team
file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests.crms import CRMS
from tests.pushkit import PEOPLE, credentials_file, records, served
from tests.teamkit import ADMIN, STANDARD, USERS, profile_with_team, team_yaml

RUN = CliRunner()


def cli(*args: str, state: Path) -> object:
    return RUN.invoke(app, [*args, "--state-dir", str(state)])


def push(profile: Path, source: Path, url: str, state: Path, user: str) -> object:
    creds = credentials_file(profile.stem.split("-")[0], state.parent / "creds")
    return cli("push", str(profile), "--source", str(source), "--base-url", url, "--as", user,
               "--credentials", str(creds), "--format", "json", state=state)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("crm", CRMS)
def test_a_standard_user_pushes_the_approved_profile_and_not_a_changed_one(crm: str, examples: Path,
                                                                          tmp_path: Path) -> None:
    profile = profile_with_team(crm, tmp_path / "profiles", team_yaml({"contact": "create_and_update",
                                                                       "account": "create_and_update"}))
    state = tmp_path / "state"
    with served(crm) as (_, url):
        refused = push(profile, examples, url, state, STANDARD)
        assert refused.exit_code == 1 and "no admin has approved this profile" in refused.stderr
        approved = cli("approve", str(profile), "--as", ADMIN, state=state)
        assert approved.exit_code == 0, approved.output
        assert f"approved by {ADMIN}" in approved.stdout
        kept = state / "approvals" / f"{profile.stem}.json"
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        edit(profile, "\nstreams:", "\n# a comment changes no mapping\nstreams:")
        ok = push(profile, examples, url, state, STANDARD)
        assert ok.exit_code in (0, 1) and json.loads(ok.stdout)["summary"]["created"] > 0
        people = len(records(url)[PEOPLE[crm]])

        edit(profile, "    object: ", "    unsafe_fields: {phone: not ours}\n    object: ")
        refused = push(profile, examples, url, state, STANDARD)
        assert refused.exit_code == 1, refused.output
        assert "changed since ana approved it" in refused.stderr and "nothing was sent" in refused.stderr
        assert "unsafe_fields added" in refused.stderr and f"crmsync approve {profile}" in refused.stderr
        assert len(records(url)[PEOPLE[crm]]) == people
        assert push(profile, examples, url, state, ADMIN).exit_code in (0, 1)  # admins push anything


def test_what_changed_names_the_keys_and_the_team_file(examples: Path, tmp_path: Path) -> None:
    profile = profile_with_team("hubspot", tmp_path / "profiles", team_yaml())
    state = tmp_path / "state"
    assert cli("approve", str(profile), "--as", "ana@customer.example", state=state).exit_code == 0
    edit(profile, "jobtitle: $.title", "jobtitle: $.position")
    team = profile.parent / "team.yaml"
    team.write_text(team_yaml({"contact": "create_and_update"}), encoding="utf-8")
    refused = push(profile, examples, "http://127.0.0.1:9", state, STANDARD)
    assert refused.exit_code == 1
    assert 'streams.employer_contact.fields.jobtitle changed ("$.title" → "$.position")' in refused.stderr
    assert f"team {team}: permissions.contact added" in refused.stderr


def test_a_standard_user_can_neither_approve_nor_become_an_admin(examples: Path, tmp_path: Path) -> None:
    profile = profile_with_team("hubspot", tmp_path / "profiles", team_yaml())
    state = tmp_path / "state"
    refused = cli("approve", str(profile), "--as", STANDARD, state=state)
    assert refused.exit_code == 1 and "only an admin approves a profile" in refused.stderr
    assert cli("approve", str(profile), "--as", ADMIN, state=state).exit_code == 0
    promoted = [{**user, "role": "admin"} for user in USERS]
    (profile.parent / "team.yaml").write_text(team_yaml({"contact": "create_and_update"}, promoted))
    refused = cli("approve", str(profile), "--as", STANDARD, state=state)
    assert refused.exit_code == 1 and "standard user in the team file last approved" in refused.stderr
    refused = push(profile, examples, "http://127.0.0.1:9", state, STANDARD)
    assert refused.exit_code == 1 and "users.1.role changed" in refused.stderr
    assert cli("approve", str(profile), "--as", ADMIN, state=state).exit_code == 0  # an admin then too
    assert cli("approve", str(profile), "--as", STANDARD, state=state).exit_code == 0  # now one


def test_an_unknown_admin_is_bad_usage_and_without_a_team_anyone_approves(tmp_path: Path) -> None:
    profile = profile_with_team("hubspot", tmp_path / "profiles", team_yaml())
    state = tmp_path / "state"
    unknown = cli("approve", str(profile), "--as", "zed", state=state)
    assert unknown.exit_code == 2 and "no such user" in unknown.stderr
    (profile.parent / "team.yaml").unlink()
    assert cli("approve", str(profile), "--as", "whoever", state=state).exit_code == 0


def test_a_plan_warns_a_standard_user_whose_push_would_be_refused(examples: Path, tmp_path: Path) -> None:
    profile = profile_with_team("hubspot", tmp_path / "profiles", team_yaml())
    state = tmp_path / "state"
    planned = cli("plan", str(profile), "--source", str(examples), "--as", STANDARD, "--format", "json",
                  state=state)
    assert planned.exit_code == 1, planned.output  # the examples hold invalid records; not for the warning
    [warning] = [w for w in json.loads(planned.stdout)["warnings"] if w["code"] == "not_approved"]
    assert "a push by bo would be refused" in warning["message"]
    assert "no admin has approved" in warning["message"]
    assert cli("approve", str(profile), "--as", ADMIN, state=state).exit_code == 0
    planned = cli("plan", str(profile), "--source", str(examples), "--as", STANDARD, "--format", "json",
                  state=state)
    assert not [w for w in json.loads(planned.stdout)["warnings"] if w["code"] == "not_approved"]

"""Standard users' permissions per object kind, against the served sandboxes of every built-in CRM: on a
populated CRM, a record the user may not write is restricted (with the reason), never sent, counted in
the summary and logged with who pushed; admins and users without a team file write everything."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.activity import query_log
from engine.team.model import Access
from tests.crms import CRMS
from tests.pushkit import served
from tests.teamkit import (
    ADMIN,
    NEW,
    STANDARD,
    UPDATED,
    approved,
    before_source,
    in_crm,
    outcome,
    profile_with_team,
    push_as,
    team_yaml,
)

# each kind with another access than the other kind, so that every access meets every kind
COMBINATIONS = [(Access.create_only, Access.update_only), (Access.update_only, Access.create_and_update),
                (Access.create_and_update, Access.create_only)]


def expected(access: Access, new: bool) -> str:
    allowed = access.may_create if new else access.may_update
    return ("created" if new else "updated") if allowed else "restricted"


def seen(result: object, stream: str, source_id: str) -> str:
    o = outcome(result, stream, source_id)  # type: ignore[arg-type]
    if o.result == "restricted":
        return "restricted"
    assert o.result == "success", (o.result, o.error)
    return "created" if o.action == "insert" else "updated"


@pytest.mark.parametrize("crm", CRMS)
@pytest.mark.parametrize(("contact", "account"), COMBINATIONS)
def test_a_standard_user_writes_what_each_kind_allows_and_nothing_else(
        crm: str, contact: Access, account: Access, examples: Path, tmp_path: Path) -> None:
    profile = profile_with_team(crm, tmp_path / "profiles",
                                team_yaml({"contact": contact.value, "account": account.value}))
    before = before_source(examples, tmp_path / "before")
    state = tmp_path / "state"
    approved(profile, state)
    with served(crm) as (_, url):
        populated = push_as(crm, profile, before, url, state, ADMIN)
        assert populated.summary()["created"] > 0 and populated.summary()["restricted"] == 0
        result = push_as(crm, profile, examples, url, state, STANDARD)
        access = {"contact": contact, "account": account}
        for kind, (stream, source_id, _, value) in UPDATED.items():
            assert seen(result, stream, source_id) == expected(access[kind], new=False), kind
            assert in_crm(url, source_id, value) == access[kind].may_update, kind
        for kind, (stream, source_id) in NEW.items():
            assert seen(result, stream, source_id) == expected(access[kind], new=True), kind
            assert in_crm(url, source_id) == access[kind].may_create, kind
        restricted = [o for o in result.outcomes if o.result == "restricted"]
        assert result.summary()["restricted"] == len(restricted) > 0
        for o in restricted:
            assert o.error and o.error.startswith("standard users may only ") and "bo is a standard user" \
                in o.error
        log = query_log(state, run_id=result.run_id)
        assert {row["triggered_by"] for row in log} == {STANDARD}
        assert len([row for row in log if row["result"] == "restricted"]) == len(restricted)


@pytest.mark.parametrize("crm", CRMS)
def test_an_admin_writes_everything_whatever_the_permissions(crm: str, examples: Path,
                                                             tmp_path: Path) -> None:
    profile = profile_with_team(crm, tmp_path / "profiles",
                                team_yaml({"contact": "update_only", "account": "update_only"}))
    before = before_source(examples, tmp_path / "before")
    with served(crm) as (_, url):
        push_as(crm, profile, before, url, tmp_path / "state", ADMIN)
        result = push_as(crm, profile, examples, url, tmp_path / "state", "ana@customer.example")
        assert result.summary()["restricted"] == 0
        for stream, source_id, _, value in UPDATED.values():
            assert seen(result, stream, source_id) == "updated" and in_crm(url, source_id, value)
        for stream, source_id in NEW.values():
            assert seen(result, stream, source_id) == "created" and in_crm(url, source_id)


def test_without_a_team_file_everyone_is_an_admin(examples: Path, tmp_path: Path) -> None:
    before = before_source(examples, tmp_path / "before")
    profile = profile_with_team("hubspot", tmp_path / "profiles", "")
    (profile.parent / "team.yaml").unlink()
    with served("hubspot") as (_, url):
        push_as("hubspot", profile, before, url, tmp_path / "state", "whoever")
        result = push_as("hubspot", profile, examples, url, tmp_path / "state", "whoever")
        assert result.summary()["restricted"] == 0 and result.summary()["updated"] >= 2
        assert {r["triggered_by"] for r in query_log(tmp_path / "state", run_id=result.run_id)} == {"whoever"}

"""The permission check lives in the engine: the planner, called directly with a standard user's
permissions, marks what that user may not write restricted and renders no request for it; a push made
through the engine's own entry point with a standard user sends nothing of a restricted record."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.catalog import connection_settings, load_profile
from engine.client import Credentials, open_client
from engine.plan import make_plan_sync
from engine.push import push
from engine.team.load import Actor
from engine.team.model import Access, Role, Team, User
from engine.team.permissions import Permissions
from tests.pushkit import PEOPLE, PROFILES, records, served
from tests.statekit import store_at

TEAM = Team(users=[User(id="bo", email="bo@customer.example", role=Role.standard)],
            permissions={"contact": Access.update_only, "account": Access.create_and_update})


def permissions(bundle: object, role: Role = Role.standard) -> Permissions:
    return Permissions(Actor("bo", role), TEAM, bundle.profile.model.name, bundle.connector.model)  # type: ignore[attr-defined]


def test_the_planner_restricts_and_renders_no_write_for_a_restricted_record(examples: Path) -> None:
    bundle = load_profile(PROFILES["dynamics"])
    plan = make_plan_sync(bundle, examples, permissions=permissions(bundle))
    people = [r for r in plan.records if r.object == "contact"]
    assert people and all(r.status in ("restricted", "invalid", "skipped") for r in people)
    assert {r.reason for r in people if r.status == "restricted"} == {
        "standard users may only update contacts; this one is not in the CRM (bo is a standard user)"}
    written = {ref for request in plan.writes for ref in request.refs}
    assert not written & {r.ref for r in people}
    assert {r.ref for r in plan.records if r.status == "net_new"} <= written  # the accounts go
    assert plan.summary()["restricted"] == len([r for r in people if r.status == "restricted"])
    as_admin = make_plan_sync(bundle, examples, permissions=permissions(bundle, Role.admin))
    assert as_admin.summary()["restricted"] == 0


def test_the_engine_push_never_sends_a_restricted_record(examples: Path, tmp_path: Path) -> None:
    bundle = load_profile(PROFILES["hubspot"])
    credentials = Credentials(access_token="sandbox-token")
    store = store_at(tmp_path / "state")

    async def run(url: str) -> object:
        async with open_client(bundle.connector.model, url, credentials) as client:
            connection = connection_settings(bundle.connector.model, bundle.profile.model.connection, url)
            _, result = await push(bundle, examples, client=client, store=store, triggered_by="bo",
                                   connection=connection, permissions=permissions(bundle))
            return result

    with served("hubspot") as (emulator, url):
        result = asyncio.run(run(url))
        assert records(url)[PEOPLE["hubspot"]] == [] and records(url)["companies"]
        writes = ("/crm/v3/objects/contacts/batch/create", "/crm/v3/objects/contacts/batch/update",
                  "/crm/v3/objects/contacts/batch/upsert", "/crm/v3/objects/contacts")
        assert not [r for r in emulator.requests if r["method"] != "GET" and r["path"] in writes]
        assert result.summary()["restricted"] > 0  # type: ignore[attr-defined]
    store.close()

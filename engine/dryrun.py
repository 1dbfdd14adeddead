"""The dry-run as one call: load the profile, open the link store, consult the CRM when a base URL is
given (reads only, with live metadata merged over the spec), and make the plan."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from engine.account import account_request, learn_org
from engine.address import Given, resolve_address
from engine.auth import Redactor
from engine.catalog import ProfileBundle, connection_settings, load_profile
from engine.client import DEFAULT_DAILY_RESERVE, Credentials, open_client
from engine.errors import CrmsyncError
from engine.pipeline import StreamDecided
from engine.plan import Plan, daily_budget, make_plan
from engine.runs.selection import batch_selection
from engine.spool.sequence import Concatenation
from engine.state import Link, default_state_dir, open_store
from engine.state.orgs import Org, check_org
from engine.team.gate import admit_plan
from engine.team.permissions import Permissions


def dry_run(profile_path: Path, source_dir: Path, *, base_url: str | None = None,
            state_dir: Path | None = None, credentials_file: Path | None = None,
            metadata_file: Path | None = None, allow_missing: bool = False, team_file: Path | None = None,
            as_user: str | None = None, limit: int | None = None, only: list[str] | None = None) -> Plan:
    """`metadata_file`: without a base URL, live metadata saved earlier (`validate --save-metadata`).
    `allow_missing`: plan a stream whose source lost data (a mapped path matched nothing) all the same.
    `as_user`: plan with what that user of the team (`team_file`, else team.yaml beside the profile)
    may do. `limit`, `only`: the plan of the small batch `push --limit/--only` would send."""
    bundle = load_profile(profile_path)
    selection = batch_selection(bundle, source_dir, limit, only)
    permissions, refusals = admit_plan(bundle, team_file, as_user, state_dir or default_state_dir())
    # a batch (--limit, --only) is chosen stream by stream from lists; a whole plan is kept on disk
    chosen: StreamDecided | None = (lambda stream, records, _: selection(stream, records)) \
        if selection.active else None
    plan = _dry_run(bundle, source_dir, base_url, state_dir, credentials_file, metadata_file, allow_missing,
                    permissions, chosen)
    plan.warnings += refusals
    plan.held_back, plan.held_notice = selection.held_back, selection.notice()
    return plan


def _dry_run(bundle: ProfileBundle, source_dir: Path, base_url: str | None, state_dir: Path | None,
             credentials_file: Path | None, metadata_file: Path | None, allow_missing: bool,
             permissions: Permissions | None, on_stream: StreamDecided | None = None) -> Plan:
    state_dir = state_dir or default_state_dir()
    if base_url is not None:
        credentials = Credentials.load(credentials_file, state_dir=state_dir, names=bundle.credential_names)
        base_url = resolve_address(bundle, credentials, Given(base_url, "--base-url"))
    if base_url is None:
        links, due = state_of(bundle, state_dir, None)
        from engine.metadata import load

        live = load(metadata_file) if metadata_file is not None else None
        plan = asyncio.run(make_plan(bundle, source_dir, links=links, live_fields=live,
                                     associations_due=due, allow_missing=allow_missing,
                                     permissions=permissions, on_stream=on_stream))
        plan.redactor = Redactor.of(bundle.connector.model.auth, held_secrets(bundle, credentials_file,
                                                                               state_dir))
        return plan

    async def consult() -> Plan:
        from engine.metadata import fetch_live_fields

        connection = connection_settings(bundle.connector.model, bundle.profile.model.connection, base_url)
        # reads only: the reserve is a push's to keep; the dry-run says whether the push would reach it
        async with open_client(bundle.connector.model, base_url, credentials, connection=connection,
                               daily_reserve=0.0) as client:
            org = await learn_org(client, base_url)
            links, due = state_of(bundle, state_dir, org)
            plan = await make_plan(bundle, source_dir, base_url=base_url, client=client, links=links,
                                   live_fields=fetch_live_fields(bundle, client),  # read while mapping
                                   associations_due=due, allow_missing=allow_missing,
                                   permissions=permissions, on_stream=on_stream)
            plan.redactor = Redactor.of(bundle.connector.model.auth, client.auth.secrets(), client.auth.flow)
            told(plan, bundle, base_url, org)
            if client.limiter.daily is not None:  # the CRM said how much of its daily allocation is used
                cost = plan.cost
                cost["daily_allocation"] = daily_budget(client.limiter.daily, cost["total_requests"],
                                                        DEFAULT_DAILY_RESERVE)
            return plan

    return asyncio.run(consult())


def told(plan: Plan, bundle: ProfileBundle, base_url: str, org: Org) -> None:
    """The account request first in the plan's requests, and the org it found in the plan."""
    if (asked := account_request(bundle.connector.model, base_url)) is not None:
        plan.lookups = Concatenation([[asked], plan.lookups])
    plan.org = org.details()
    if org.warning:
        plan.warnings.append({"where": org.address, "stream": None, "field": None, "message": org.warning,
                              "code": "org_by_address"})


def state_of(bundle: ProfileBundle, state_dir: Path, org: Org | None) -> tuple[dict[Any, Link],
                                                                                   set[tuple[str, str]]]:
    """The profile's links and associations due; against a CRM, refused (OrgMismatch) when the profile's
    state is another org's."""
    store = open_store(state_dir)
    try:
        if org is not None:
            check_org(store, bundle.profile.model.name, org)
        return store.links(bundle.profile.model.name), store.associations_due(bundle.profile.model.name)
    finally:
        store.close()


def held_secrets(bundle: ProfileBundle, credentials_file: Path | None, state_dir: Path) -> list[str]:
    """The secrets an offline plan could show (a plugin may put one in a request): the credentials a
    push of this profile would use, where they can be read."""
    try:
        credentials = Credentials.load(credentials_file, state_dir=state_dir, names=bundle.credential_names)
    except CrmsyncError:  # unreadable credentials are a push's problem, not a plan's
        return []
    return [s for s in (credentials.access_token, credentials.refresh_token, credentials.client_secret) if s]

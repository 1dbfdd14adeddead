"""A push job made from what a user types (`crmsync enqueue` / `schedule`), and an interval as people
write it (`1h`, `30m`, `1h30m`, `90s`, `1d`). No Temporal here: the job is checked before a server is
asked."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import CrmsyncError, UsageError
from engine.fleet.model import PushJob
from engine.state.orgs import org_of

if TYPE_CHECKING:
    from engine.auth import Credentials
    from engine.catalog import ProfileBundle
    from engine.state.orgs import Org

UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
DURATION = re.compile(r"(\d+)([dhms])")


def interval(text: str) -> timedelta:
    parts = DURATION.findall(text.strip().lower())
    if not parts or "".join(n + u for n, u in parts) != text.strip().lower():
        raise UsageError(f"--every {text}: not an interval; say e.g. 1h, 30m, 1h30m, 90s or 1d")
    seconds = sum(int(n) * UNITS[u] for n, u in parts)
    if seconds < 1:
        raise UsageError(f"--every {text}: an interval of at least one second")
    return timedelta(seconds=seconds)


def absolute(path: Path | None) -> str | None:
    return str(path.resolve()) if path is not None else None


def make_job(profile: Path, source: Path, base_url: str | None, credentials: Path | None,
             **options: object) -> PushJob:
    """The job, with the profile's name and the CRM org it sends to (the address a push would use,
    found without sending anything): what the workflow id is made of."""
    from engine.address import Given, resolve_address
    from engine.auth import Credentials
    from engine.catalog import load_profile
    from engine.state import default_state_dir

    bundle = load_profile(profile)
    if not source.is_dir():
        raise UsageError(f"--source {source}: not a folder")
    found = Credentials.load(credentials, state_dir=default_state_dir(), names=bundle.credential_names)
    address = resolve_address(bundle, found, Given(base_url, "--base-url") if base_url else None, probe=False)
    org, known_by = fleet_org(bundle, found, address)
    return PushJob(profile=str(profile.resolve()), source=str(source.resolve()),
                   profile_name=bundle.profile.model.name, org=org, org_known_by=known_by, base_url=base_url,
                   credentials_file=absolute(credentials), **options)  # type: ignore[arg-type]


def fleet_org(bundle: ProfileBundle, credentials: Credentials, address: str) -> tuple[str, str]:
    """The org key the workflow id is made of, and how it was known: the org the fleet's store has
    bound the profile to ("binding"), else the account id learned with the profile's credentials here
    ("account"; the credentials may live on the workers only), else the address ("address"). A push
    keys its lock by the org it learns itself, so two ids of one org (before and after its binding
    moved from the address to the account id) still never push at once."""
    from engine.state import open_store, state_url
    from engine.state.orgs import bound_org

    if state_url():
        store = open_store()
        try:
            held = bound_org(store, bundle.profile.model.name)
        finally:
            store.close()
        if held is not None:
            return held, "binding"
    if bundle.connector.model.account is None:
        return org_of(address), "address"
    try:  # enqueue runs inside the CLI's event loop: the look-up gets a loop of its own
        with ThreadPoolExecutor(1) as pool:
            org = pool.submit(asyncio.run, _learn(bundle, credentials, address)).result()
    except CrmsyncError:
        return org_of(address), "address"
    return (org.key, "account") if org.account_id is not None else (org.key, "address")


async def _learn(bundle: ProfileBundle, credentials: Credentials, address: str) -> Org:
    from engine.account import learn_org
    from engine.catalog import connection_settings
    from engine.client import open_client

    connector = bundle.connector.model
    connection = connection_settings(connector, bundle.profile.model.connection, address)
    async with open_client(connector, address, credentials, connection=connection,
                           daily_reserve=0.0) as client:
        return await learn_org(client, address)

"""A push job made from what a user types (`crmsync enqueue` / `schedule`), and an interval as people
write it (`1h`, `30m`, `1h30m`, `90s`, `1d`). No Temporal here: the job is checked before a server is
asked."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from engine.errors import UsageError
from engine.fleet.model import PushJob

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
    org = resolve_address(bundle, found, Given(base_url, "--base-url") if base_url else None, probe=False)
    return PushJob(profile=str(profile.resolve()), source=str(source.resolve()),
                   profile_name=bundle.profile.model.name, org=org, base_url=base_url,
                   credentials_file=absolute(credentials), **options)  # type: ignore[arg-type]

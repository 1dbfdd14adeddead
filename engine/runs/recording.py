"""What a push records of what it was asked, so that `crmsync runs` can say it and `crmsync retry` can
plan it again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from engine.catalog import ProfileBundle
from engine.runs.selection import BatchSelection

if TYPE_CHECKING:
    from engine.pushrun import PushRequest


@dataclass(frozen=True)
class Recorded:
    """What a run records of what it was asked (`crmsync runs`, `crmsync retry`), and its batch."""

    details: dict[str, Any]
    selection: BatchSelection


def run_details(request: PushRequest, bundle: ProfileBundle, source: Path, base_url: str) -> dict[str, Any]:
    """Enough to plan the run again: paths made absolute, the base URL without any user:password."""
    url = httpx.URL(base_url)
    options = {"limit": request.limit, "only": request.only, "retry_of": request.retry_of,
               "recreate_deleted": request.recreate_deleted, "allow_missing": request.allow_missing,
               "daily_reserve": request.daily_reserve}
    return {"profile_path": str(bundle.profile.path.resolve()), "source_dir": str(source.resolve()),
            "base_url": str(url.copy_with(username=None, password=None)) if url.userinfo else base_url,
            "as_user": request.as_user, "plan_file": str(request.plan_file.resolve()) if request.plan_file
            else None, "team_file": str(request.team_file.resolve()) if request.team_file else None,
            # where the credentials were read (a path, never what it holds), for a retry to read again
            "credentials_file": str(request.credentials_file.resolve()) if request.credentials_file else None,
            "options": {k: v for k, v in options.items() if v not in (None, False)}}



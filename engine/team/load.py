"""Finding and reading the team file, and who `--as` names in it.

The team file is `--team FILE`, else `team.yaml` beside the profile. Without one, everyone is an
admin (crmsync as it was before teams): `--as` is only the name the activity log records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import UsageError
from engine.loader import Loaded, load_model
from engine.team.model import Role, Team, User, team_problems

TEAM_FILE = "team.yaml"
NOBODY = "cli"  # who the activity log names when no one said


@dataclass(frozen=True)
class Actor:
    """Who runs the command: a user of the team, or (no team file) whoever `--as` says."""

    name: str  # recorded as who pushed
    role: Role
    user: User | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin


def team_path(profile_path: Path, team_file: Path | None) -> Path | None:
    """`--team FILE` (which must exist), else team.yaml beside the profile if there is one."""
    if team_file is not None:
        return team_file
    beside = profile_path.parent / TEAM_FILE
    return beside if beside.is_file() else None


def load_team(profile_path: Path, team_file: Path | None = None) -> Loaded[Team] | None:
    path = team_path(profile_path, team_file)
    return load_model(path, Team, team_problems) if path is not None else None


def actor(team: Loaded[Team] | None, as_user: str | None, *, required: bool = True) -> Actor | None:
    """Who `--as` names. With a team file it must name one of its users (exit 2 otherwise); without
    `--as` that is bad usage where who acts decides what may be done (`required`), else None (a dry-run
    that checks no permission). Without a team file everyone is an admin."""
    if team is None:
        return Actor(as_user or NOBODY, Role.admin)
    if as_user is None:
        if not required:
            return None
        raise UsageError(f"{team.path}: the team file decides who may do what; say who you are with "
                         f"--as USER (one of: {known(team.model)})")
    user = team.model.user(as_user)
    if user is None:
        raise UsageError(f"--as {as_user}: no such user in {team.path} (its users: {known(team.model)})")
    return Actor(user.id, user.role, user)


def known(team: Team) -> str:
    return ", ".join(user.id for user in team.users)

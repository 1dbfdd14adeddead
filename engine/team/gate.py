"""Who acts, and what they may do, for each command: the team file read, `--as` resolved, a standard
user's push of a changed profile refused, and the permissions the plan applies."""

from __future__ import annotations

from pathlib import Path

from engine.catalog import ProfileBundle
from engine.errors import UsageError
from engine.loader import Loaded, to_plain
from engine.team.approval import (
    Approval,
    NotApproved,
    approve,
    content_hash,
    current_contents,
    read_approval,
    what_changed,
)
from engine.team.load import Actor, actor, load_team
from engine.team.model import Role, Team
from engine.team.permissions import Permissions


def permissions_for(bundle: ProfileBundle, team: Loaded[Team] | None, who: Actor) -> Permissions:
    return Permissions(who, team.model if team else None, bundle.profile.model.name, bundle.connector.model,
                       str(team.path) if team else "")


def admit_plan(bundle: ProfileBundle, team_file: Path | None, as_user: str | None,
               state_dir: Path | None = None) -> tuple[Permissions | None, list[dict[str, str | None]]]:
    """A dry-run's permissions: those of `--as` when given (an unknown user is bad usage), else none
    checked (the plan shows what an admin's push would do); and, for a standard user, a warning when
    their push of this profile would be refused (not approved as it is), which the plan is not."""
    team = load_team(bundle.profile.path, team_file)
    who = actor(team, as_user, required=False)
    if who is None or team is None:
        return (permissions_for(bundle, team, who) if who is not None else None), []
    approval = read_approval(state_dir, bundle.profile.model.name) if state_dir else None
    who = approved_role(who, team, approval)
    warnings = []
    if not who.is_admin:
        try:
            refuse_unapproved(bundle, team, approval)
        except NotApproved as refused:
            warnings.append({"severity": "warning", "code": "not_approved", "where": str(bundle.profile.path),
                             "stream": None, "field": None, "message": f"a push by {who.name} would be "
                             f"refused: {refused}"})
    permissions = permissions_for(bundle, team, who)
    return permissions, warnings + permissions.warnings()


def admit_push(bundle: ProfileBundle, team_file: Path | None, as_user: str | None,
               state_dir: Path) -> Permissions:
    """A push's permissions. With a team file `--as` must name one of its users; a standard user's push
    of a profile (or connector, or team file) other than the one an admin approved is refused."""
    team = load_team(bundle.profile.path, team_file)
    who = actor(team, as_user)
    assert who is not None
    if team is not None:
        approval = read_approval(state_dir, bundle.profile.model.name)
        who = approved_role(who, team, approval)
        if not who.is_admin:
            refuse_unapproved(bundle, team, approval)
    return permissions_for(bundle, team, who)


def approved_role(who: Actor, team: Loaded[Team], approval: Approval | None) -> Actor:
    """A team file changed since the last approval makes no one an admin: an admin now is one only if
    the approved team file made them one too (else standard), until an admin approves it again."""
    approved_team = approval.contents.get("team") if approval is not None else None
    if approval is None or approved_team is None or \
            approval.hashes.get("team") == content_hash(to_plain(team.document)):
        return who
    before = Team.model_validate(approved_team).user(who.name)
    was_admin = before is not None and before.role is Role.admin
    return Actor(who.name, Role.admin if who.is_admin and was_admin else Role.standard, who.user)


def refuse_unapproved(bundle: ProfileBundle, team: Loaded[Team], approval: Approval | None) -> None:
    files = {"profile": str(bundle.profile.path), "connector": str(bundle.connector.path),
             "team": str(team.path)}
    if approval is None:
        raise NotApproved(f"{bundle.profile.path}: no admin has approved this profile; nothing was sent. "
                          f"An admin approves it first: crmsync approve {bundle.profile.path} --as ADMIN")
    changed = what_changed(approval, current_contents(bundle, team), files)
    if changed:
        raise NotApproved(f"{bundle.profile.path}: changed since {approval.approved_by} approved it "
                          f"({approval.at}); standard users push approved profiles only, and nothing was "
                          "sent. Changed: " + "; ".join(changed) + ". An admin approves it again: crmsync "
                          f"approve {bundle.profile.path} --as ADMIN")


def approve_profile(bundle: ProfileBundle, team_file: Path | None, as_user: str,
                    state_dir: Path) -> Approval:
    """`crmsync approve`: only an admin (of the approved team file, if the team file changed since)."""
    team = load_team(bundle.profile.path, team_file)
    who = actor(team, as_user)
    assert who is not None
    if team is not None:
        who = approved_role(who, team, read_approval(state_dir, bundle.profile.model.name))
    if not who.is_admin:
        raise NotApproved(f"--as {as_user}: only an admin approves a profile ({who.name} is a standard user"
                          + (" in the team file last approved" if team is not None and who.user
                             and who.user.role is Role.admin else "") + ")")
    return approve(bundle, team, who, state_dir)


__all__ = ["admit_plan", "admit_push", "approve_profile", "NotApproved", "UsageError"]

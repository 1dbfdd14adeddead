"""The team file's language: `team.yaml` beside the profiles, or `--team FILE`.

Users have a role: `admin` (connects, maps, approves, pushes anything) or `standard` (pushes what an
admin allowed per object kind). The object kind of each CRM object is the connector's (`kind:` of an
object; a Salesforce Lead is of kind contact), so the team file speaks of kinds, never of one CRM's
objects.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

KIND_PATTERN = r"^[a-z][a-z0-9_]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class Role(StrEnum):
    admin = "admin"
    standard = "standard"


class Access(StrEnum):
    """What a standard user may do to records of one object kind."""

    create_and_update = "create_and_update"
    create_only = "create_only"
    update_only = "update_only"

    @property
    def may_create(self) -> bool:
        return self is not Access.update_only

    @property
    def may_update(self) -> bool:
        return self is not Access.create_only


DEFAULT_ACCESS = Access.create_only


class User(Strict):
    id: str = Field(min_length=1, description="what `--as` names (the email is accepted too), and what the "
                    "activity log records as who pushed")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", description="the user's email address")
    role: Role = Field(description="admin: full sync access, approves profiles; standard: what the "
                       "permissions allow")


class ProfilePermissions(Strict):
    """The standard users' permissions for one profile, over those set for all."""

    permissions: dict[str, Access] = Field(default_factory=dict, description="object kind (contact, "
                                           "account...) -> create_and_update | create_only | update_only")


class Team(Strict):
    users: list[User] = Field(min_length=1)
    permissions: dict[str, Access] = Field(
        default_factory=dict, description="for every profile: object kind (contact, account...) -> "
        "create_and_update | create_only | update_only; a kind not named is create_only")
    profiles: dict[str, ProfilePermissions] = Field(
        default_factory=dict, description="profile name -> its own permissions, over those for all")

    def user(self, name: str) -> User | None:
        """The user `--as` names: by id, or by email (any case)."""
        return next((u for u in self.users if u.id == name or u.email.casefold() == name.casefold()), None)

    def access(self, profile: str, kind: str) -> Access:
        own = self.profiles.get(profile)
        if own is not None and kind in own.permissions:
            return own.permissions[kind]
        return self.permissions.get(kind, DEFAULT_ACCESS)


Problem = tuple[tuple[str | int, ...], str]


def team_problems(team: Team) -> list[Problem]:
    """What the schema cannot say, each with the key path where it is: a name `--as` could not tell
    apart, a permission for something that is not an object kind."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, user in enumerate(team.users):
        for key, name in (("id", user.id), ("email", user.email.casefold())):
            first = seen.setdefault(name, i)
            if first != i:
                problems.append((("users", i, key), f"{name!r} is also user {first + 1}'s; --as must name "
                                                    "one user"))
    scopes = [(("permissions",), team.permissions),
              *((("profiles", name, "permissions"), p.permissions) for name, p in team.profiles.items())]
    for where, permissions in scopes:
        for kind in permissions:
            if not re.fullmatch(KIND_PATTERN, kind):
                problems.append(((*where, kind), f"{kind!r} is not an object kind (lower case, as the "
                                                 "connector's objects declare them: contact, account)"))
    return problems

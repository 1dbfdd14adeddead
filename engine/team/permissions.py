"""Whether the acting user may do what the plan chose for a record: create or update, per object kind
(the connector's `kind:` of each object). Admins may do anything; a standard user what the team file
allows (create only, unless it says otherwise). A record the user may not write is `restricted`: shown
with the reason, never sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.connector import ConnectorSpec
from engine.team.load import Actor
from engine.team.model import Access, Team

if TYPE_CHECKING:
    from engine.plan import PlannedRecord

RESTRICTED = "restricted"


def object_kind(connector: ConnectorSpec, object_name: str) -> str:
    """The kind the connector declares for an object (a Lead is a contact), else its own name."""
    return connector.objects[object_name].kind or object_name.lower()


def plural(kind: str) -> str:
    return f"{kind[:-1]}ies" if kind.endswith("y") and kind[-2:-1] not in "aeiou" else f"{kind}s"


@dataclass(frozen=True)
class Permissions:
    """What one user may do in one profile's run."""

    actor: Actor
    team: Team | None
    profile: str
    connector: ConnectorSpec
    team_path: str = "the team file"

    def access(self, object_name: str) -> Access:
        if self.actor.is_admin or self.team is None:
            return Access.create_and_update
        return self.team.access(self.profile, object_kind(self.connector, object_name))

    def refusal(self, record: PlannedRecord) -> str | None:
        """Why the user may not do the record's operation, or None when they may."""
        access = self.access(record.object)
        kinds = plural(object_kind(self.connector, record.object))
        if record.status == "net_new" and not access.may_create:
            return f"standard users may only update {kinds}; this one is not in the CRM"
        changes_existing = record.status == "update" or (record.status == "synced" and record.associate)
        if changes_existing and not access.may_update:
            return f"standard users may only create {kinds}; this one exists in the CRM"
        return None

    def warnings(self) -> list[dict[str, str | None]]:
        """Kinds the team gives permissions for that no object of the connector is: a typo there would
        leave standard users with the default (create only) without a word."""
        if self.team is None:
            return []
        own = self.team.profiles.get(self.profile)
        named = {*self.team.permissions, *(own.permissions if own else {})}
        kinds = sorted({object_kind(self.connector, name) for name in self.connector.objects})
        return [{"severity": "warning", "code": "unknown_kind", "where": self.team_path, "stream": None,
                 "field": None, "message": f"permissions for {kind!r}, which no object of "
                 f"{self.connector.name} is (its kinds: {', '.join(kinds)}); standard users get create_only "
                 "for those"} for kind in sorted(named - set(kinds))]

    def apply(self, record: PlannedRecord) -> None:
        """Mark the record restricted (nothing of it is written) when the user may not write it."""
        reason = self.refusal(record)
        if reason is None:
            return
        record.status, record.changes, record.associate = RESTRICTED, [], []
        record.reason = f"{reason} ({self.actor.name} is a standard user)"
        record.notes.append(record.reason)

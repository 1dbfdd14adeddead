"""The org's users, as the Object Reference's `User` describes them (Id with key prefix 005, Username,
Email, FirstName, LastName, Name, IsActive): queried with SOQL (`SELECT Id, Email, IsActive FROM User
WHERE Email = '...'`), and the only records a record's OwnerId may name. An OwnerId naming no user is
refused INVALID_CROSS_REFERENCE_KEY; naming an inactive user, INACTIVE_OWNER_OR_USER ("operation
performed with inactive user ... as owner of ..."). An org whose integration user may not read users
(`unreadable_objects={"User"}`) answers SOQL on User with INVALID_TYPE.

Seeded under `User`; the integration user every token acts as is always there (active).
"""

from __future__ import annotations

from typing import Any

from engine.sandbox.common import SandboxConfigError
from engine.sandbox.salesforce_ids import make_id, normalize, object_of
from engine.sandbox.salesforce_rules import RecordError
from engine.sandbox.salesforce_schema import field

INTEGRATION_EMAIL = "integration@sandbox.example"


def user_fields() -> dict[str, dict[str, Any]]:
    read_only = {"createable": False, "updateable": False}
    fields = [
        field("Id", "id", "User ID", 18, nillable=False, defaultedOnCreate=True, idLookup=True, **read_only),
        field("IsDeleted", "boolean", "Deleted", nillable=False, defaultedOnCreate=True, **read_only),
        field("Username", "string", "Username", 80, nillable=False, idLookup=True),
        field("Email", "email", "Email", 128, nillable=False),
        field("FirstName", "string", "First Name", 40),
        field("LastName", "string", "Last Name", 80, nillable=False),
        field("Name", "string", "Full Name", 121, **read_only),
        field("IsActive", "boolean", "Active", nillable=False, defaultedOnCreate=True),
    ]
    return {f["name"]: f for f in fields}


def user_record(seed: dict[str, Any], record_id: str) -> dict[str, Any]:
    first, last = seed.get("FirstName"), seed.get("LastName") or seed["Email"].partition("@")[0]
    return {
        "Id": record_id,
        "IsDeleted": False,
        "Username": seed.get("Username", seed["Email"]),
        "Email": seed["Email"],
        "FirstName": first,
        "LastName": last,
        "Name": " ".join(p for p in (first, last) if p),
        "IsActive": bool(seed.get("IsActive", True)),
    }


class UsersMixin:
    """Needs from the host: records, next_number."""

    records: dict[str, dict[str, dict[str, Any]]]
    next_number: int

    def reset_users(self, integration_user: str) -> None:
        self.user_schema = user_fields()
        self.records["User"] = {
            integration_user: user_record(
                {"Email": INTEGRATION_EMAIL, "LastName": "Integration"}, integration_user
            )
        }

    def seed_user(self, seed: dict[str, Any]) -> None:
        raw_id = seed.get("Id")
        record_id = normalize(str(raw_id)) if raw_id else None
        if raw_id and (record_id is None or object_of(record_id) != "User"):
            raise SandboxConfigError(f"seed: {raw_id!r} is not an 18- or 15-character User id")
        if record_id is None:
            self.next_number += 1
            record_id = make_id("User", self.next_number)
        self.records["User"][record_id] = user_record(seed, record_id)

    def owner_error(self, object_name: str, name: str, user_id: str) -> RecordError | None:
        """An OwnerId naming an inactive user (one naming nobody is refused as any lookup)."""
        user = self.records["User"].get(user_id)
        if name != "OwnerId" or user is None or user["IsActive"]:
            return None
        return RecordError(
            "INACTIVE_OWNER_OR_USER",
            f"operation performed with inactive user [{user_id}] as owner of {object_name.lower()}",
            [name],
        )

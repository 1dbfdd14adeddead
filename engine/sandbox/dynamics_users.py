"""Dataverse's users: the `systemuser` table (entity set `systemusers`, primary key systemuserid,
internalemailaddress the user's primary email, isdisabled true for a disabled user), read with
`GET systemusers?$select=...&$filter=internalemailaddress eq '...'` or `GET systemusers(<id>)`, and the
only records an `ownerid@odata.bind` may name (`/systemusers(<id>)`). A user the org does not have is
refused 404 0x80040217 "systemuser With Id = ... Does Not Exist", a disabled one 400 with the message
Dynamics shows ("The specified user is either disabled or is not a member of any business unit", KB
2755914). A security role without read access to users (`missing_read_privileges={"systemuser"}`)
answers 403 0x80040220 missing prvReadUser.

Seeded under `systemusers`; the application user every token acts as is always there (enabled).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from engine.sandbox.dynamics_errors import (
    DataverseError,
    DvResponse,
    json_answer,
    missing_privilege,
    record_not_found,
)

COLUMNS = (
    "systemuserid",
    "internalemailaddress",
    "fullname",
    "firstname",
    "lastname",
    "domainname",
    "isdisabled",
)
SYSTEMUSER_OTC = 8
EMAIL_FILTER = re.compile(r"\s*internalemailaddress\s+eq\s+'((?:[^']|'')*)'\s*", re.IGNORECASE)
BY_ID = re.compile(r"systemusers\(\{?([0-9a-fA-F-]{36})\}?\)")


def user_row(seed: dict[str, Any]) -> dict[str, Any]:
    email = seed["internalemailaddress"]
    first, last = seed.get("firstname"), seed.get("lastname") or email.partition("@")[0]
    return {
        "systemuserid": str(seed.get("systemuserid") or uuid.uuid4()).lower(),
        "internalemailaddress": email,
        "firstname": first,
        "lastname": last,
        "fullname": " ".join(p for p in (first, last) if p),
        "domainname": seed.get("domainname", email),
        "isdisabled": bool(seed.get("isdisabled", False)),
    }


class UsersMixin:
    """Needs from the host: user_id, seed_users, missing_read_privileges."""

    user_id: str
    seed_users: list[dict[str, Any]]
    missing_read_privileges: set[str]

    def reset_users(self) -> None:
        application = user_row(
            {
                "systemuserid": self.user_id,
                "internalemailaddress": "app@sandbox.example",
                "lastname": "Application",
            }
        )
        self.systemusers = {application["systemuserid"]: application}
        for seed in self.seed_users:
            row = user_row(seed)
            self.systemusers[row["systemuserid"]] = row

    def owner_reference(self, record_id: str) -> tuple[str, str]:
        """The systemuser an ownerid bind names: one the org has, and enabled."""
        row = self.systemusers.get(record_id)
        if row is None:
            raise record_not_found("systemuser", record_id)
        if row["isdisabled"]:
            raise DataverseError(
                400,
                "0x80040225",
                "The specified user is either disabled or is not a member of any business unit.",
            )
        return "systemuser", record_id

    def systemusers_request(self, path: str, query: list[tuple[str, str]], api: str) -> DvResponse:
        if "systemuser" in self.missing_read_privileges:
            raise missing_privilege(
                self.user_id, "prvReadUser", "systemuser", SYSTEMUSER_OTC, "RetrieveMultiple"
            )
        options = dict(query)
        select = [c.strip() for c in options.get("$select", ",".join(COLUMNS)).split(",") if c.strip()]
        unknown = [c for c in select if c not in COLUMNS]
        if unknown:
            raise DataverseError(
                400,
                "0x80060888",
                f"Could not find a property named '{unknown[0]}' on type "
                "'Microsoft.Dynamics.CRM.systemuser'.",
            )
        context = f"{api}/$metadata#systemusers({','.join(select)})"
        by_id = BY_ID.fullmatch(path)
        if by_id:
            row = self.systemusers.get(by_id.group(1).lower())
            if row is None:
                raise record_not_found("systemuser", by_id.group(1).lower())
            return json_answer(200, {"@odata.context": f"{context}/$entity", **shown(row, select)})
        rows = list(self.systemusers.values())
        if "$filter" in options:
            wanted = EMAIL_FILTER.fullmatch(options["$filter"])
            if wanted is None:
                raise DataverseError(
                    400,
                    "0x80060888",
                    "this sandbox filters systemusers by internalemailaddress eq '...' only",
                )
            email = wanted.group(1).replace("''", "'").casefold()
            rows = [r for r in rows if r["internalemailaddress"].casefold() == email]
        return json_answer(200, {"@odata.context": context, "value": [shown(r, select) for r in rows]})


def shown(row: dict[str, Any], select: list[str]) -> dict[str, Any]:
    return {"@odata.etag": 'W/"1"', **{c: row[c] for c in select}, "systemuserid": row["systemuserid"]}

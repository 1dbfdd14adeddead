"""Which CRM org a profile's state belongs to. Links, the journal, associations due and what pulls keep
are keyed by profile: the same profile pushed to a second org (a sandbox, then production; two
customers whose profiles share a name in one PostgreSQL store) would take the first org's record ids
for its own — records failed as deleted_in_crm, or the wrong records updated. So a store binds each
profile to the org of its first push or pull (table `profile_orgs`, migration 5), and refuses, before
anything is sent, a push, plan or pull of the profile against another (exit 2).

The org is known by its key (engine/account.py): `<crm>:<account id>` where the connector says how to
learn the account id (every HubSpot portal answers at one address), else its address. A profile bound
by an address before its account id was learned is re-bound to the account id at its next push or
pull from that address. Refused rather than kept apart per org: an org known by its address may answer
at several (a renamed domain): state kept per address would silently lose the links when the address
changed. Refused, the same org at its new address is one `push --org-moved` away (an org known by its
account id needs none); another org gets a state of its own."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from engine.errors import UsageError
from engine.state.base import now

if TYPE_CHECKING:
    from engine.state.base import Database, StateStore


class OrgMismatch(UsageError):
    """The profile's state in this store belongs to another CRM org than the one a command is for."""


@dataclass(frozen=True)
class Org:
    """The org a push, pull or plan is for: its key in the store, its address, and how it was known."""

    key: str  # what state, locks, budgets and workflow ids are keyed by: `<crm>:<id>`, else the address
    address: str  # the address
    account_id: str | None = None
    facts: dict[str, str] = field(default_factory=dict)
    warning: str | None = None  # why the account id is not known, when the connector says how to learn it

    def details(self) -> dict[str, Any]:
        """What a run records of its org (`crmsync runs RUN_ID`): never a secret."""
        found: dict[str, Any] = {"org": self.key, "account_id": self.account_id}
        if self.facts:
            found["account_facts"] = self.facts
        if self.warning:
            found["org_warning"] = self.warning
        return found


def by_address(base_url: str) -> Org:
    """The org known by its address alone (a connector without `account:`)."""
    return Org(key=org_of(base_url), address=org_of(base_url))


def org_of(base_url: str) -> str:
    """The org as the store keeps it: the CRM address without user info, query or fragment, nor a
    trailing slash (never a secret in the store)."""
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL:
        return base_url.rstrip("/")
    return str(url.copy_with(username=None, password=None, query=None, fragment=None)).rstrip("/")


def bound_org(store: StateStore, profile: str) -> str | None:
    row = store.db.execute("SELECT org FROM profile_orgs WHERE profile = ?", (profile,)).fetchone()
    return str(row[0]) if row else None


def bind_org(store: StateStore, profile: str, org: Org | str, *, moved: bool = False) -> str | None:
    """Bind the profile's state to `org` if it is bound to none; OrgMismatch when it is bound to another.
    A profile bound to this org's address before its account id was known is re-bound to the account id
    (a store of before `account:`); `moved` (the same org at a new address) binds it to this one unless
    both account ids are known and differ. Returns what changed, in words, or None."""
    org = org if isinstance(org, Org) else by_address(org)
    with store.transaction():
        store.db.execute("INSERT INTO profile_orgs VALUES (?, ?, ?) ON CONFLICT (profile) DO NOTHING",
                         (profile, org.key, now()))
        held = bound_org(store, profile)
        if held is None or held == org.key:
            return None
        if org.account_id is not None and held == org.address:
            _rebind(store, profile, org.key)
            return (f"the state of {profile} in {store.location} was bound to the CRM org at {held} by its "
                    f"address; it is now bound to its account id: {org.key}")
        if not moved or (org.account_id is not None and is_account_key(held)):
            raise mismatch(store, profile, held, org)
        _rebind(store, profile, org.key)
        return (f"the state of {profile} in {store.location} now belongs to the CRM org at "
                f"{org.address if org.key == org.address else org.key} (moved from {held})")


def _rebind(store: StateStore, profile: str, key: str) -> None:
    store.db.execute("UPDATE profile_orgs SET org = ?, bound_at = ? WHERE profile = ?", (key, now(), profile))


def is_account_key(key: str) -> bool:
    """`<crm>:<id>` rather than an address (which has `://`)."""
    return "://" not in key


def check_org(store: StateStore, profile: str, org: Org | str) -> None:
    """What a command that only reads the CRM (a plan) checks: OrgMismatch when the profile's state is
    another org's (a binding by this org's address is this org's too); nothing is bound."""
    org = org if isinstance(org, Org) else by_address(org)
    held = bound_org(store, profile)
    if held is not None and held not in (org.key, org.address):
        raise mismatch(store, profile, held, org)


def mismatch(store: StateStore, profile: str, held: str | None, org: Org) -> OrgMismatch:
    this = f"the org at {org.address}" if org.key == org.address else f"{org.key} (at {org.address})"
    other = f"at {held}" if held is None or not is_account_key(held) else str(held)
    moved = (f"if {org.address} is the same org at a new address, push once with --org-moved"
             if org.account_id is None or not is_account_key(str(held)) else
             "its account id says it is another org, so --org-moved does not apply")
    why = f" ({org.warning})" if org.warning else ""
    return OrgMismatch(
        f"profile {profile}: its state in {store.location} (links, journal, pulls) belongs to the CRM org "
        f"{other}, not to {this}{why}; nothing was sent. Its links there would be taken for this org's "
        f"records (records failed as deleted_in_crm, or the wrong records updated). For another org, give "
        f"it a state of its own (--state-dir DIR, or a --state-url database or schema of its own) or a "
        f"profile of another name; {moved}")


def bind_old_runs(db: Database) -> None:
    """Migration 5 on a store made before it: each profile belongs to the org of its newest run that
    recorded one (a run's details hold its base URL)."""
    newest: dict[str, tuple[str, str]] = {}
    for row in db.execute("SELECT profile, started_at, details FROM runs WHERE details IS NOT NULL"):
        base_url = _base_url(row[2])
        if base_url and (row[0] not in newest or row[1] >= newest[row[0]][0]):
            newest[row[0]] = (row[1], base_url)
    db.executemany("INSERT INTO profile_orgs VALUES (?, ?, ?) ON CONFLICT (profile) DO NOTHING",
                   [(profile, org_of(base_url), now()) for profile, (_, base_url) in newest.items()])


def _base_url(details: str) -> str | None:
    try:
        found = json.loads(details).get("base_url")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) and found else None

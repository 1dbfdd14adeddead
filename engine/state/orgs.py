"""Which CRM org a profile's state belongs to. Links, the journal, associations due and what pulls keep
are keyed by profile: the same profile pushed to a second org (a sandbox, then production; two
customers whose profiles share a name in one PostgreSQL store) would take the first org's record ids
for its own — records failed as deleted_in_crm, or the wrong records updated. So a store binds each
profile to the org of its first push or pull (table `profile_orgs`, migration 5), and refuses, before
anything is sent, a push, plan or pull of the profile against another (exit 2).

Refused rather than kept apart per org: the org is known only by its address, and one org answers at
several (a Salesforce instance URL and its My Domain, a renamed domain): state kept per address would
silently lose the links when the address changed, and create every record again. Refused, the same
org at its new address is one `push --org-moved` away; another org gets a state of its own."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx

from engine.errors import UsageError
from engine.state.base import now

if TYPE_CHECKING:
    from engine.state.base import Database, StateStore


class OrgMismatch(UsageError):
    """The profile's state in this store belongs to another CRM org than the one a command is for."""


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


def bind_org(store: StateStore, profile: str, base_url: str, *, moved: bool = False) -> str | None:
    """Bind the profile's state to the org at `base_url` if it is bound to none; OrgMismatch when it is
    bound to another, unless `moved` (the same org at a new address): then it is bound to this one, and
    the org it was bound to is returned."""
    org = org_of(base_url)
    with store.transaction():
        store.db.execute("INSERT INTO profile_orgs VALUES (?, ?, ?) ON CONFLICT (profile) DO NOTHING",
                         (profile, org, now()))
        held = bound_org(store, profile)
        if held == org:
            return None
        if not moved:
            raise mismatch(store, profile, held, org)
        store.db.execute("UPDATE profile_orgs SET org = ?, bound_at = ? WHERE profile = ?",
                         (org, now(), profile))
        return held


def check_org(store: StateStore, profile: str, base_url: str) -> None:
    """What a command that only reads the CRM (a plan) checks: OrgMismatch when the profile's state is
    another org's; nothing is bound."""
    held = bound_org(store, profile)
    if held is not None and held != org_of(base_url):
        raise mismatch(store, profile, held, org_of(base_url))


def mismatch(store: StateStore, profile: str, held: str | None, org: str) -> OrgMismatch:
    return OrgMismatch(
        f"profile {profile}: its state in {store.location} (links, journal, pulls) belongs to the CRM org at "
        f"{held}, not to {org}; nothing was sent. Its links there would be taken for this org's records "
        f"(records failed as deleted_in_crm, or the wrong records updated). For another org, give it a "
        f"state of its own (--state-dir DIR, or a --state-url database or schema of its own) or a profile "
        f"of another name; if {org} is the same org at a new address, push once with --org-moved")


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

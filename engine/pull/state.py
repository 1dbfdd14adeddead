"""What a pull keeps in the state dir's SQLite (tables `pulled` and `pull_state`, made by engine.store):
every CRM record pulled, and per object where its listing stands, so a pull killed between two pages goes
on from the next one, and a later pull asks only for the records modified since the last complete one."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engine.store import Store


@dataclass(frozen=True)
class Listing:
    """Where one object's listing stands: `listing` names one in progress (its first page's time),
    `listing_since` the time it asks from (None: every record), `next` its next page."""

    since: str | None = None
    listing: str | None = None
    listing_since: str | None = None
    next: dict[str, Any] | None = None
    pages: int = 0


def listing_of(store: Store, profile: str, object_name: str) -> Listing:
    row = store.db.execute("SELECT since, listing, listing_since, next, pages FROM pull_state "
                           "WHERE profile = ? AND object = ?", (profile, object_name)).fetchone()
    if row is None:
        return Listing()
    return Listing(row["since"], row["listing"], row["listing_since"],
                   json.loads(row["next"]) if row["next"] else None, row["pages"])


def save_page(store: Store, profile: str, object_name: str, listing: Listing,
              records: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """One page's records and where the listing goes next, in one transaction."""
    with store.transaction():
        store.db.executemany(
            "INSERT INTO pulled VALUES (?, ?, ?, ?, ?) ON CONFLICT (profile, object, crm_id) DO UPDATE SET "
            "fields = excluded.fields, listing = excluded.listing",
            [(profile, object_name, crm_id, json.dumps(fields, default=str), listing.listing)
             for crm_id, fields in records])
        _save_listing(store, profile, object_name, listing)


def finish_listing(store: Store, profile: str, object_name: str, listing: Listing, asks_from: str) -> None:
    """The listing ended: a later pull asks from `asks_from`. A listing of every record also forgets
    the records it did not meet (deleted in the CRM since an earlier pull)."""
    with store.transaction():
        if listing.listing_since is None:
            store.db.execute("DELETE FROM pulled WHERE profile = ? AND object = ? AND listing != ?",
                             (profile, object_name, listing.listing))
        _save_listing(store, profile, object_name, Listing(since=asks_from, pages=listing.pages))


def _save_listing(store: Store, profile: str, object_name: str, listing: Listing) -> None:
    store.db.execute(
        "INSERT INTO pull_state VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (profile, object) DO UPDATE SET "
        "since = excluded.since, listing = excluded.listing, listing_since = excluded.listing_since, "
        "next = excluded.next, pages = excluded.pages",
        (profile, object_name, listing.since, listing.listing, listing.listing_since,
         json.dumps(listing.next) if listing.next else None, listing.pages))


def pulled(store: Store, profile: str, object_name: str) -> dict[str, dict[str, Any]]:
    """crm_id -> fields of every record of the object pulled so far."""
    rows = store.db.execute("SELECT crm_id, fields FROM pulled WHERE profile = ? AND object = ?",
                            (profile, object_name))
    return {r["crm_id"]: json.loads(r["fields"]) for r in rows}


def forget_pulls(store: Store, profile: str) -> None:
    """`pull --full`: the next listing of each object starts from nothing."""
    with store.transaction():
        store.db.execute("DELETE FROM pull_state WHERE profile = ?", (profile,))


def save_matches(store: Store, profile: str, object_name: str,
                 matches: Iterable[tuple[str, str, list[dict[str, Any]]]]) -> None:
    """The last pull's status and candidates of each of the object's CRM records (crm_id, status,
    candidates), which `link --accept-best` and the walk read without pulling again."""
    with store.transaction():
        store.db.execute("DELETE FROM pull_matches WHERE profile = ? AND object = ?", (profile, object_name))
        store.db.executemany("INSERT INTO pull_matches VALUES (?, ?, ?, ?, ?)",
                             [(profile, object_name, crm_id, status, json.dumps(candidates))
                              for crm_id, status, candidates in matches])


@dataclass(frozen=True)
class KnownMatch:
    object: str
    crm_id: str
    status: str
    candidates: list[dict[str, Any]]


def known_matches(store: Store, profile: str, object_name: str | None = None) -> list[KnownMatch]:
    rows = store.db.execute("SELECT object, crm_id, status, candidates FROM pull_matches WHERE profile = ? "
                            "AND (? IS NULL OR object = ?) ORDER BY object, rowid",
                            (profile, object_name, object_name))
    return [KnownMatch(r["object"], r["crm_id"], r["status"], json.loads(r["candidates"])) for r in rows]

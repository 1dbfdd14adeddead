"""Fetch: page through an object's records with the connector's `list` endpoint, through the CrmClient
(auth, rate limits, retries), each page kept in the store as it comes (state.py): a pull killed between
two pages goes on from the next one. Where the connector's list has a `since` request, a pull after a
complete one asks only for the records modified since that one began (the CRM's clock: its `Date`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from engine.client import CrmClient, body_of
from engine.connector import ConnectorSpec, Endpoint, ResponseSpec
from engine.errors import CrmsyncError
from engine.paging import next_page
from engine.pull.state import Listing, finish_listing, listing_of, save_page
from engine.render import base_context, build_request, endpoint_for, read_one, read_path
from engine.store import Store

MAX_PAGES = 1_000_000  # a bound on one listing's pages, far above any CRM's records
DEFAULT_PAGE_SIZE = 100  # a list endpoint that does not say how many records a page may hold


class PullFailed(CrmsyncError):
    """The CRM refused or never answered a page of a listing: what came before it is kept."""


class NotPullable(CrmsyncError):
    """The connector has no list endpoint for the object: bad usage, nothing is sent."""

    exit_code = 2


@dataclass
class Fetched:
    object: str
    pages: int = 0
    records: int = 0
    incremental: bool = False
    resumed: bool = False


@dataclass(frozen=True)
class Source:
    """Where one listing's pages come from: the endpoint and the first page's request."""

    endpoint: Endpoint
    method: str
    url: str
    headers: dict[str, str]
    body: Any


def require_list(connector: ConnectorSpec, object_name: str) -> Endpoint:
    listing = endpoint_for(connector, object_name, "list")
    if listing is None:
        raise NotPullable(f"{connector.name} has no list endpoint for {object_name}: it cannot be pulled "
                          "(--object chooses another)")
    return listing


def list_source(connector: ConnectorSpec, object_name: str, fields: list[str], base_url: str,
                since: str | None) -> Source:
    """The first page's request: the `since` request when a time is given and the connector has one."""
    listing = require_list(connector, object_name)
    obj = connector.objects[object_name]
    endpoint = obj.with_vars(listing.since) if since is not None and listing.since else listing
    context = {**base_context(connector, obj), "fields": fields, "since": since,
               "limit": endpoint.page_size or listing.page_size or DEFAULT_PAGE_SIZE}
    request = build_request(connector, "list", object_name, endpoint, context, base_url)
    return Source(endpoint, request.method, request.url, request.headers, request.body)


def can_filter(connector: ConnectorSpec, object_name: str) -> bool:
    listing = endpoint_for(connector, object_name, "list")
    return listing is not None and listing.since is not None


async def fetch_object(connector: ConnectorSpec, object_name: str, fields: list[str], client: CrmClient,
                       store: Store, profile: str, *, full: bool = False) -> Fetched:
    """Every page of the object's listing into the store: a listing left unfinished goes on where it
    stood; else a new one, asking only for modified records when an earlier one completed."""
    state = listing_of(store, profile, object_name)
    fetched = Fetched(object_name, resumed=state.listing is not None and not full)
    if state.listing is None or full:
        since = None if full or not can_filter(connector, object_name) else state.since
        state = Listing(since=state.since, listing=None, listing_since=since)
    fetched.incremental = state.listing_since is not None
    source = list_source(connector, object_name, fields, client.base_url, state.listing_since)
    try:
        await _pages(connector, object_name, source, client, store, profile, state, fetched)
    except _Expired:  # a cursor kept from a killed pull that the CRM no longer knows: list again
        fresh = Listing(since=state.since, listing=None, listing_since=state.listing_since)
        fetched.pages = fetched.records = 0
        await _pages(connector, object_name, source, client, store, profile, fresh, fetched)
    return fetched


class _Expired(Exception):
    """A resumed listing's next page was refused."""


async def _pages(connector: ConnectorSpec, object_name: str, source: Source, client: CrmClient, store: Store,
                 profile: str, state: Listing, fetched: Fetched) -> None:
    spec = source.endpoint.response
    url, body = source.url, source.body
    if state.listing is not None and state.next:
        url, body = state.next["url"], state.next.get("body")
    resumed = state.listing is not None
    for _ in range(MAX_PAGES):
        response = await _page(connector, object_name, source, url, body, client, resumed)
        data = response.json() if response.content else None  # 204, 304: no records
        listing = state.listing or _server_time(response)
        records = [_record(item, spec, object_name, position)
                   for position, item in enumerate(read_path(data, spec.records))]
        nxt = _next(spec, source.method, url, data, client, body)
        fetched.pages, fetched.records = fetched.pages + 1, fetched.records + len(records)
        state = Listing(state.since, listing, state.listing_since, nxt, state.pages + 1)
        if nxt is None:
            save_page(store, profile, object_name, state, records)
            finish_listing(store, profile, object_name, state, listing)
            return
        save_page(store, profile, object_name, state, records)
        url, body, resumed = nxt["url"], nxt.get("body"), False
    raise PullFailed(f"the listing of {object_name} did not end after {MAX_PAGES:,} pages")


async def _page(connector: ConnectorSpec, object_name: str, source: Source, url: str, body: Any,
                client: CrmClient, resumed: bool) -> httpx.Response:
    sent = await client.send(source.method, url, headers=source.headers, body=body, kind="list",
                             safe_to_repeat=True)
    if sent.response is None:
        raise PullFailed(f"pull of {object_name}: {sent.error} ({httpx.URL(url).path}); the pages before "
                         "it are kept: pull again to go on")
    status = sent.response.status_code
    if status >= 400:
        if resumed and status < 500:
            raise _Expired()
        data = body_of(sent.response)
        message = read_one(data, connector.errors.body.message) or str(data)[:300]
        raise PullFailed(f"pull of {object_name} refused by {connector.label} ({status}): {message}")
    return sent.response


def _record(item: Any, spec: ResponseSpec, object_name: str, position: int) -> tuple[str, dict[str, Any]]:
    """(id, fields) of one listed record; a record without an id stops the pull rather than be lost."""
    crm_id = read_one(item, spec.id)
    if crm_id in (None, ""):
        raise PullFailed(f"pull of {object_name}: record {position + 1} of a page has no id at {spec.id} "
                         "(the connector's list response.id): nothing of this page was kept")
    fields = read_one(item, spec.fields) if spec.fields else item
    return str(crm_id), dict(fields or {})


def _next(spec: ResponseSpec, method: str, url: str, data: Any, client: CrmClient,
          body: Any) -> dict[str, Any] | None:
    """The request (url, body) of the page after the one asked at (url, body), or None on the last."""
    following = next_page(spec, data, method, url, body, client.base_url_root)
    if following is None:
        return None
    if method == "GET":
        return {"url": following.url}
    return {"url": following.url, "body": following.body}


def _server_time(response: httpx.Response) -> str:
    """When the CRM answered the listing's first page, a second early (its `Date` has whole seconds), as
    an ISO 8601 UTC time: a record modified after that page was read is modified after this time. Without
    a Date header, this machine's clock five minutes back (clocks differ)."""
    try:
        moment = parsedate_to_datetime(response.headers["date"]) - dt.timedelta(seconds=1)
    except (KeyError, TypeError, ValueError):
        moment = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

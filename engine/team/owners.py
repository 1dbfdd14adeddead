"""The CRM users who own contacts, found by email as the connector says (`users:`), once per run each:
the answers are kept for the run, so a thousand contacts of one salesperson cost one request, sent
through the client like any look-up (the CRM's rate limits, retries, auth)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from engine.client import CrmClient, body_of
from engine.connector import ConnectorSpec, OwnerSpec, UserLookup
from engine.match import LookupFailed
from engine.paging import next_page
from engine.render import Request, build_request, escape, read_one, read_path
from engine.transforms import normalize_email

if TYPE_CHECKING:
    from engine.match import Match
    from engine.plan import PlannedRecord
    from engine.profile import StreamSpec


OwnerChange = tuple[str, Any, Any]  # field, current value, value written


@dataclass(frozen=True)
class CrmUser:
    email: str
    id: str | None  # None: no user of the CRM has this email
    active: bool = True

    @property
    def usable(self) -> bool:
        return self.id is not None and self.active

    def missing(self) -> str:
        """Why a record is written without this owner."""
        if self.id is None:
            return f"owner {self.email} is not an active user of the CRM: written without an owner"
        return f"owner {self.email} is an inactive user of the CRM ({self.id}): written without an owner"


def user_request(connector: ConnectorSpec, email: str, base_url: str) -> Request:
    users = connector.users
    assert users is not None
    literal = f"{connector.literal.quote}{escape(email, connector.literal)}{connector.literal.quote}"
    context = {"api_version": connector.api_version, "email": email, "literal": literal, "vars": {},
               "object": ""}
    return build_request(connector, "lookup", "", users.endpoint, context, base_url)


def planned_user_requests(connector: ConnectorSpec, emails: set[str], base_url: str) -> list[Request]:
    """The users look-ups a run would send for these owners (an offline plan lists them): one per
    email, or the first page of the users' listing once when the request names no email."""
    users = connector.users
    if not emails or users is None:
        return []
    if not by_email(users):
        return [user_request(connector, min(emails), base_url)]
    return [user_request(connector, email, base_url) for email in sorted(emails)]


MAX_USER_PAGES = 1_000  # 200,000 users at Zoho's 200 a page: far above any org's


def by_email(users: UserLookup) -> bool:
    """Whether the users request asks for one email (a filter on {email} or {literal}); if not, it lists
    the CRM's users (Zoho's users API has no email filter), once per run for every email."""
    endpoint = users.endpoint
    texts = [endpoint.path, *endpoint.query.values(), *endpoint.headers.values(), repr(endpoint.body)]
    return any("{email}" in text or "{literal}" in text for text in texts)


class OwnerDirectory:
    """CRM users by email, each looked up once per run (concurrent asks for one email share a request);
    where the CRM cannot filter its users by email, every page of them is read once per run."""

    def __init__(self, connector: ConnectorSpec, client: CrmClient) -> None:
        self.connector = connector
        self.client = client
        self.known: dict[str, asyncio.Future[CrmUser]] = {}
        self.listing: asyncio.Future[dict[str, CrmUser]] | None = None
        self.requests: list[Request] = []  # every look-up sent, listed with the plan's

    async def find(self, emails: set[str]) -> dict[str, CrmUser]:
        """The user of each email (normalised), looked up unless already known this run."""
        wanted = {normalize_email(e) or e for e in emails}
        for email in wanted - self.known.keys():
            self.known[email] = asyncio.ensure_future(self.look_up(email))
        found = await asyncio.gather(*(self.known[email] for email in wanted))
        return dict(zip(wanted, found, strict=True))

    async def look_up(self, email: str) -> CrmUser:
        users = self.connector.users
        assert users is not None
        if not by_email(users):
            if self.listing is None:
                self.listing = asyncio.ensure_future(self.read(email))
            return (await self.listing).get(email) or CrmUser(email, None)
        return (await self.read(email)).get(email) or CrmUser(email, None)

    async def read(self, email: str) -> dict[str, CrmUser]:
        """Every user the request for `email` answers, page after page, by normalised email."""
        users = self.connector.users
        assert users is not None
        request = user_request(self.connector, email, self.client.base_url)
        found: dict[str, CrmUser] = {}
        url, body = request.url, request.body
        for _ in range(MAX_USER_PAGES):
            self.requests.append(replace(request, url=url, body=body))
            data = await self.page(email, request, url, body)
            for result in read_path(data, users.endpoint.response.records):
                address = normalize_email(str(read_one(result, users.email) or ""))
                if address and address not in found:
                    found[address] = CrmUser(address, str(read_one(result, users.endpoint.response.id)),
                                             active(users, result))
            following = next_page(users.endpoint.response, data, request.method, url, body,
                                  self.client.base_url_root)
            if following is None:
                return found
            url, body = following
        raise LookupFailed(f"look-up of the CRM users (a contact's owner) did not end after "
                           f"{MAX_USER_PAGES:,} pages")

    async def page(self, email: str, request: Request, url: str, body: Any) -> Any:
        sent = await self.client.send(request.method, url, headers=request.headers, body=body, kind="lookup",
                                      safe_to_repeat=True)
        if sent.response is None:
            raise LookupFailed(f"look-up of the CRM user {email} (a contact's owner) failed: {sent.error}")
        if sent.response.status_code >= 400:
            data = body_of(sent.response)
            message = read_one(data, self.connector.errors.body.message) or str(data)[:300]
            raise LookupFailed(f"look-up of the CRM user {email} (a contact's owner) refused "
                               f"({sent.response.status_code}): {message}; the integration user needs read "
                               "access to the CRM's users to set contact owners", sent.response.status_code)
        return body_of(sent.response) if sent.response.content else None  # 204: no users


def active(users: UserLookup, result: object) -> bool:
    if users.active is not None and read_one(result, users.active) is not True:
        return False
    return not (users.inactive is not None and read_one(result, users.inactive) is True)


def owner_value(owner: OwnerSpec, user: CrmUser) -> Any:
    return owner.written(user.id or "")



def owner_read(connector: ConnectorSpec, spec: StreamSpec) -> list[str]:
    """The field a look-up reads the owner from, when the stream gives its records one."""
    owner = connector.objects[spec.object].owner
    return [owner.read_as] if spec.owner is not None and owner is not None and connector.users else []


def set_owner(connector: ConnectorSpec, spec: StreamSpec, planned: PlannedRecord, email: str | None,
              users: dict[str, CrmUser] | None, match: Match | None) -> OwnerChange | None:
    """The owner's change (field, current, new) of a record the plan writes: on create; on update only
    with `overwrite` (and where the look-up answer shows another owner). An owner the CRM does not have,
    or has inactive, is not written, and the record says so."""
    owner = connector.objects[planned.object].owner
    if spec.owner is None or owner is None or email is None or planned.status not in ("net_new", "update",
                                                                                       "synced"):
        return None
    if planned.status != "net_new" and not spec.owner.overwrite:
        return None
    if users is None:  # the CRM is not consulted
        planned.notes.append(f"owner: the CRM user {email}, looked up when the CRM is consulted")
        return None
    user = users[normalize_email(email) or email]
    if not user.usable:
        planned.owner = "not_found" if user.id is None else "inactive"
        planned.notes.append(user.missing())
        return None
    value = owner.written(user.id or "")
    if planned.status == "net_new":
        planned.owner = "set"
        return owner.field, None, value
    current = match.current if match is not None else None
    if current is None or owner.read_as not in current:
        planned.notes.append(f"owner: the CRM's current owner is not known; {email} not written")
        return None
    if str(current[owner.read_as]) == user.id:
        return None
    planned.owner, planned.status = "set", "update"
    return owner.field, current[owner.read_as], value

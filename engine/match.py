"""Match: find each mapped record's CRM counterpart — first the link store (ids from earlier runs),
then the CRM by identity key, with batched look-ups rendered from the connector's lookup endpoint.

A dry-run may read the CRM, never write it. Without a CRM (no base URL) the look-ups are rendered but
not sent, and every record without a link is new.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.client import CrmClient, body_of
from engine.connector import ConnectorSpec, IdentityKey, KeyPart
from engine.errors import CrmsyncError
from engine.mapping import MappedRecord
from engine.paging import next_page
from engine.plugins import HookCall, first_result
from engine.render import Request, lookup_full, read_one, read_path, render_lookups
from engine.store import Link
from engine.values import from_answer


class LookupFailed(CrmsyncError):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class CrmRecord:
    id: str
    fields: dict[str, Any]
    several: dict[str, list[Any]] = field(default_factory=dict)  # see values.from_answer

    def identity_values(self, name: str) -> Any:
        """What the record holds in a field for identity: every value its `read` found."""
        return self.several.get(name) or self.fields.get(name)


def crm_record(connector: ConnectorSpec, object_name: str, crm_id: str, raw: dict[str, Any]) -> CrmRecord:
    """A record of an answer, its fields read as the engine holds them."""
    return CrmRecord(crm_id, *from_answer(connector.objects[object_name], raw))


@dataclass(slots=True)
class Match:
    """What the CRM holds for one source record."""

    crm_id: str | None = None
    current: dict[str, Any] | None = None  # None: not known (no CRM consulted)
    candidates: list[CrmRecord] = field(default_factory=list)
    linked: bool = False
    rank: int = 0  # how the candidates match: RANK_CURRENT, RANK_OTHER_FIELD or RANK_HISTORICAL


# How a CRM record matches a source record, best first: the source's current value in the key's own
# field; in another field the key also reads (an additional email); or only by a historical value.
RANK_CURRENT, RANK_OTHER_FIELD, RANK_HISTORICAL = 2, 1, 0


def by_rank(matches: list[Match | None]) -> list[int]:
    """The positions of `matches`, best rank first (a linked match first of all), else in order."""
    ranks = [(m.rank + 3 * m.linked) if m is not None else 0 for m in matches]
    if len(set(ranks)) <= 1:
        return list(range(len(matches)))
    return sorted(range(len(matches)), key=lambda i: -ranks[i])


def same(current: Any, new: Any) -> bool:
    """Whether a CRM value and a value to write are the same value (numbers as numbers, text trimmed)."""
    if current == new and type(current) is type(new):  # most values of a synced record: no conversion
        return True
    if current in (None, "") and new in (None, ""):
        return True
    if current in (None, "") or new in (None, ""):
        return False
    try:
        return float(current) == float(new)
    except (TypeError, ValueError):
        return str(current).strip() == str(new).strip()


def agreeing(candidates: list[CrmRecord], values: dict[str, Any], unique: list[str]) -> list[CrmRecord]:
    """The candidates that do not contradict the record on a unique field (an external id): a CRM record
    whose unique field holds another value is another record, whatever its identity key says (a broker
    and its offices share a domain). A candidate with the field empty may still be this record."""
    mine = [(name, values[name]) for name in unique if values.get(name) not in (None, "")]
    if not mine:
        return candidates
    return [c for c in candidates
            if all(c.fields.get(name) in (None, "") or same(c.fields.get(name), value)
                   for name, value in mine)]


def ref(stream: str, source_id: str) -> str:
    return f"{stream}/{source_id}"


def normalize(connector: ConnectorSpec, object_name: str, part: KeyPart, value: Any,
              call: HookCall | None = None) -> list[str]:
    """The normalised forms of one identity value (a CRM field may hold several, `;`-separated).
    `call`: the resolved `crmsync_normalize_identity`, when the caller normalises many values."""
    call = call or first_result("crmsync_normalize_identity", connector.name)
    if call is None:
        return []
    if part.normalize != "email" and type(value) is not list:  # the common case, without a loop
        norm = call(connector, object_name, part, value)
        return [norm] if norm else []
    values = value if isinstance(value, list) else [value]
    if part.normalize == "email":
        values = [piece for v in values if v is not None for piece in str(v).split(";")]
    out = []
    for v in values:
        norm = call(connector, object_name, part, v)
        if norm:
            out.append(norm)
    return out


def record_identity(connector: ConnectorSpec, record: MappedRecord, key: IdentityKey) -> dict[str, list[str]]:
    call = first_result("crmsync_normalize_identity", connector.name)
    return {part.name: [n for raw in record.identity.get(part.name, [])
                        for n in normalize(connector, record.object, part, raw, call)] for part in key.parts}


def crm_identity(connector: ConnectorSpec, object_name: str, crm: CrmRecord,
                 key: IdentityKey) -> dict[str, set[str]]:
    call = first_result("crmsync_normalize_identity", connector.name)
    return {part.name: {n for f in (part.field, *part.also)
                        for n in normalize(connector, object_name, part, crm.identity_values(f), call)}
            for part in key.parts}


def select_fields(connector: ConnectorSpec, object_name: str, key: IdentityKey,
                  targets: list[str]) -> list[str]:
    obj = connector.objects[object_name]
    relation_fields = [r.read_as for r in obj.relations.values() if r.read_as]
    names = [obj.id_field, *(f for p in key.parts for f in (p.field, *p.also)), *targets, *relation_fields]
    return list(dict.fromkeys(names))


@dataclass
class StreamLookup:
    """The look-ups of one stream: requests to send and how to read them."""

    object: str
    key: IdentityKey
    requests: list[Request]


def plan_lookups(connector: ConnectorSpec, records: list[MappedRecord], key: IdentityKey,
                 targets: list[str], base_url: str) -> StreamLookup:
    identities = [record_identity(connector, r, key) for r in records]
    return lookups_for(connector, records[0].object, identities, key, targets, base_url)


def lookups_for(connector: ConnectorSpec, object_name: str, identities: Iterable[dict[str, list[str]]],
                key: IdentityKey, targets: list[str], base_url: str) -> StreamLookup:
    """The look-ups of the records whose normalised identities are given, by the key's first part."""
    first = key.parts[0]
    values = sorted({v for identity in identities for v in identity[first.name]})
    select = select_fields(connector, object_name, key, targets)
    requests = render_lookups(connector, object_name, first.field, values, select, key.match == "contains",
                              base_url) if values else []
    return StreamLookup(object_name, key, requests)


def hold_back(connector: ConnectorSpec, lookup: StreamLookup,
              identities: list[dict[str, list[str]] | None]) -> set[int]:
    """A window's last look-up, when it is not full, is left to the next window: the positions of the
    records whose identity it holds (they wait for the next window's look-ups), and the look-up is
    dropped. A stream read in windows then costs the look-ups it would cost whole, not one more per
    window. `identities`: each record's, None for one not looked up."""
    if not lookup.requests or lookup_full(connector, lookup.requests[-1]):
        return set()
    last = set(lookup.requests.pop().values)
    first = lookup.key.parts[0].name
    return {at for at, identity in enumerate(identities)
            if identity is not None and not last.isdisjoint(identity.get(first, ()))}


async def run_lookups(connector: ConnectorSpec, lookup: StreamLookup, client: CrmClient) -> list[CrmRecord]:
    """Send every look-up (following pages) and return the CRM records found."""
    results = await asyncio.gather(*(_fetch_all(connector, lookup.object, req, client)
                                     for req in lookup.requests))
    seen: dict[str, CrmRecord] = {}
    for batch in results:
        for record in batch:
            seen[record.id] = record
    return list(seen.values())


async def _fetch_all(connector: ConnectorSpec, object_name: str, request: Request,
                     client: CrmClient) -> list[CrmRecord]:
    endpoint = connector.objects[object_name].endpoints.get("lookup") or connector.endpoints.lookup
    spec = endpoint.response
    found: list[CrmRecord] = []
    url, body = request.url, request.body
    for _ in range(10_000):  # a bound on pages, far above any look-up's need
        sent = await client.send(request.method, url, headers=request.headers, body=body, kind="lookup",
                                 safe_to_repeat=True)
        if sent.response is None:
            raise LookupFailed(f"look-up of {object_name} failed: {sent.error}")
        if sent.response.status_code >= 400:
            data = body_of(sent.response)
            message = read_one(data, connector.errors.body.message) or str(data)[:300]
            raise LookupFailed(f"look-up of {object_name} refused ({sent.response.status_code}): {message}",
                               sent.response.status_code)
        if not sent.response.content:  # 204 No Content: nothing matches
            return found
        data = sent.response.json()
        for item in read_path(data, spec.records):
            fields = read_one(item, spec.fields) if spec.fields else item
            found.append(crm_record(connector, object_name, str(read_one(item, spec.id)), dict(fields or {})))
        following = next_page(spec, data, request.method, url, body, client.base_url_root)
        if following is None:
            return found
        url, body = following
    raise LookupFailed(f"look-up of {object_name} did not end after 10,000 pages")


class CandidateIndex:
    """CRM records indexed by the normalised values of the key's first part, so finding a source
    record's candidates costs its own identity values, not a scan of every CRM record."""

    def __init__(self, connector: ConnectorSpec, object_name: str, key: IdentityKey,
                 crm_records: list[CrmRecord]) -> None:
        self.key = key
        self.records = crm_records
        self.connector, self.object_name = connector, object_name
        # the other parts' values, per record: only a composite key needs them (the first part's
        # values are in by_value)
        self.others: list[dict[str, set[str]]] = []
        self.by_value: dict[str, list[int]] = {}
        first = key.parts[0].name if key.parts else None
        for position, crm in enumerate(crm_records):
            theirs = crm_identity(connector, object_name, crm, key)
            for value in theirs.get(first, ()) if first else ():
                self.by_value.setdefault(value, []).append(position)
            if len(key.parts) > 1:
                self.others.append({part: values for part, values in theirs.items() if part != first})

    def candidates(self, mine: dict[str, list[str]]) -> list[CrmRecord]:
        """The CRM records sharing a value with `mine` in every part, in the order they came."""
        if not self.key.parts:
            return list(self.records)
        first = self.key.parts[0].name
        positions = sorted({p for v in mine[first] for p in self.by_value.get(v, ())})
        if not self.others:
            return [self.records[p] for p in positions]
        return [self.records[p] for p in positions
                if all(set(mine[part]) & self.others[p][part] for part in mine if part != first)]

    def rank(self, crm: CrmRecord, mine: dict[str, list[str]], current: set[str] | None) -> int:
        """How `crm` matches a record whose first key part has the values `mine` (of which `current`
        are current; None: all)."""
        if not self.key.parts:
            return RANK_CURRENT
        part = self.key.parts[0]
        current = set(mine[part.name]) if current is None else current
        if set(normalize(self.connector, self.object_name, part, crm.identity_values(part.field))) & current:
            return RANK_CURRENT
        if not part.also:
            return RANK_HISTORICAL
        also = {n for f in part.also for n in normalize(self.connector, self.object_name, part,
                                                         crm.identity_values(f))}
        return RANK_OTHER_FIELD if also & current else RANK_HISTORICAL


class Matcher:
    """Pairs source records with their CRM counterparts, among the CRM records the look-ups returned
    (`crm_records` None: the CRM was not consulted) and the links of earlier runs."""

    def __init__(self, connector: ConnectorSpec, object_name: str, key: IdentityKey,
                 crm_records: list[CrmRecord] | None, links: dict[tuple[str, str], Link],
                 unique: list[str] | None = None) -> None:
        self.index = CandidateIndex(connector, object_name, key, crm_records or [])
        self.unique = unique or []  # the object's unique fields: see `agreeing`
        self.consulted = crm_records is not None
        self.by_id = {c.id: c for c in self.index.records}
        self.links = links
        self.linked_to = {lk.crm_id: (lk.stream, lk.source_id) for lk in links.values()}

    def match(self, stream: str, source_id: str, mine: dict[str, list[str]],
              values: dict[str, Any] | None = None, current: set[str] | None = None) -> Match:
        """The match of one source record, given its normalised identity (`record_identity`), the
        values it would write (which narrow several candidates by the unique fields) and which of its
        identity values are current (None: all): candidates matching a current value outrank those
        matching only a historical one."""
        link = self.links.get((stream, source_id))
        # a CRM record already linked to another source record is not a candidate (a broker's offices
        # share its domain)
        candidates = [c for c in self.index.candidates(mine)
                      if self.linked_to.get(c.id, (stream, source_id)) == (stream, source_id)]
        if candidates and values and self.unique:
            candidates = agreeing(candidates, values, self.unique)
        rank = RANK_HISTORICAL
        if candidates:
            ranks = [self.index.rank(c, mine, current) for c in candidates]
            rank = max(ranks)
            candidates = [c for c, r in zip(candidates, ranks, strict=True) if r == rank]
        match = Match(current={} if self.consulted else None, candidates=candidates, rank=rank)
        if link is not None:
            match.crm_id, match.linked = link.crm_id, True
            linked = self.by_id.get(link.crm_id)
            if linked is not None:
                match.current, match.candidates = linked.fields, [linked]
            elif self.consulted:
                match.current = None  # linked, but its identity changed in the CRM: values unknown
        elif len(candidates) == 1:
            match.crm_id, match.current = candidates[0].id, candidates[0].fields
        return match


def match_records(connector: ConnectorSpec, records: list[MappedRecord], key: IdentityKey,
                  crm_records: list[CrmRecord] | None,
                  links: dict[tuple[str, str], Link]) -> dict[str, Match]:
    """Pair each record with its CRM counterpart; `crm_records` None means the CRM was not consulted."""
    if not records:
        return {}
    matcher = Matcher(connector, records[0].object, key, crm_records, links)
    return {ref(r.stream, r.source_id): matcher.match(r.stream, r.source_id,
                                                      record_identity(connector, r, key)) for r in records}

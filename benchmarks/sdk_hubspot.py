"""Two ways a user syncs records into HubSpot with hubspot-api-client, HubSpot's own Python client:
record by record (a CRM search by identity, then create or update), and hand-batched (companies: one
search with `IN` per chunk of 100; contacts: batch read by idProperty=email; then batch create and
update, 100 records a call, associations with the create or in one batch call). A 429 is retried after
its Retry-After (urllib3's Retry, which the client takes). A hit that carries another source record's
BenefitFlow id (a broker sharing its office's domain, city and state) is not this record."""

from __future__ import annotations

from typing import Any

from hubspot import HubSpot
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationRefused
from hubspot.crm.companies.exceptions import ApiException as CompanyRefused
from hubspot.crm.contacts.exceptions import ApiException as ContactRefused
from sdk_rows import Row, by_stream, chunks
from urllib3.util.retry import Retry

IDENTITY = {"broker": ["domain"], "employer": ["domain"], "broker_office": ["domain", "city", "state"],
            "employer_contact": ["email"], "broker_contact": ["email"]}
ASSOCIATION = {"broker_office": 14, "employer_contact": 279, "broker_contact": 279}  # HubSpot-defined types
KEY = "benefitflow_id"
BATCH = 100
SEARCH_VALUES = 50  # a search body may hold 3,000 characters: 50 domains fit
REFUSED = (AssociationRefused, CompanyRefused, ContactRefused)  # one ApiException per API module


def connect(url: str, token: str) -> HubSpot:
    retry = Retry(total=50, status_forcelist=(429,), allowed_methods=None, respect_retry_after_header=True)
    return HubSpot(access_token=token, host=url, retry=retry)


def objects(api: HubSpot, name: str) -> Any:
    return api.crm.companies if name == "companies" else api.crm.contacts


def association(row: Row, parent_id: str) -> dict[str, Any]:
    return {"to": {"id": parent_id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED",
                       "associationTypeId": ASSOCIATION[row.stream]}]}


def per_record(api: HubSpot, rows: list[Row]) -> int:
    """Each record: search it by identity, then update (and associate) or create it. Returns failures."""
    ids: dict[str, str] = {}
    failed = 0
    for row in rows:
        filters = [{"propertyName": name, "operator": "EQ", "value": row.fields[name]}
                   for name in IDENTITY[row.stream]]
        crm = objects(api, row.object)
        parent_id = ids.get(row.parent) if row.parent else None
        try:
            found = crm.search_api.do_search({"filterGroups": [{"filters": filters}], "properties": [KEY],
                                              "limit": 10})
            hits = [r.id for r in found.results if r.properties.get(KEY) in (None, row.source_id)]
            if hits:
                crm.basic_api.update(hits[0], {"properties": row.fields})
                ids[row.ref] = hits[0]
                if parent_id:
                    api.crm.associations.v4.basic_api.create(row.object, hits[0], "companies", parent_id, [
                        association(row, parent_id)["types"][0]])
            else:
                created = crm.basic_api.create({"properties": row.fields, "associations":
                                                [association(row, parent_id)] if parent_id else []})
                ids[row.ref] = created.id
        except REFUSED:
            failed += 1
    return failed


def found_by_identity(api: HubSpot, stream: str, rows: list[Row]) -> dict[str, str]:
    """ref -> id of the record that is it: contacts by batch read on email, companies by one search."""
    names = IDENTITY[stream]
    crm = objects(api, rows[0].object)
    values = sorted({str(row.fields[names[0]]).lower() for row in rows})
    if names == ["email"]:
        answer = crm.batch_api.read({"idProperty": "email", "inputs": [{"id": v} for v in values],
                                     "properties": ["email", KEY], "propertiesWithHistory": []})
        records = answer.results
    else:
        records = [r for part in chunks(values, SEARCH_VALUES) for r in searched(crm, names, part)]
    theirs: dict[tuple[str, ...], list[Any]] = {}
    for record in records:
        mine = tuple(str(record.properties.get(n) or "").lower() for n in names)
        theirs.setdefault(mine, []).append(record)
    found = {}
    for row in rows:
        mine = tuple(str(row.fields[n]).lower() for n in names)
        hits = [r.id for r in theirs.get(mine, []) if r.properties.get(KEY) in (None, row.source_id)]
        if hits:
            found[row.ref] = hits[0]
    return found


def searched(crm: Any, names: list[str], values: list[str]) -> list[Any]:
    """One search by the first identity property IN the values, page by page."""
    records, after = [], None
    while True:
        page = crm.search_api.do_search({"filterGroups": [{"filters": [
            {"propertyName": names[0], "operator": "IN", "values": values}]}],
            "properties": [*names, KEY], "limit": 200, **({"after": after} if after else {})})
        records += page.results
        if not page.paging or not page.paging.next:
            return records
        after = page.paging.next.after


def hand_batched(api: HubSpot, rows: list[Row]) -> int:
    """Stream by stream, chunk by chunk: one look-up, one batch create (with the associations), one batch
    update and one batch association call for the updated ones. Returns failures."""
    ids: dict[str, str] = {}
    failed = 0
    for stream, stream_rows in by_stream(rows):
        for chunk in chunks(stream_rows, BATCH):
            found = found_by_identity(api, stream, chunk)
            failed += create(api, [row for row in chunk if row.ref not in found], ids)
            failed += update(api, [row for row in chunk if row.ref in found], ids, found)
    return failed


def create(api: HubSpot, rows: list[Row], ids: dict[str, str]) -> int:
    if not rows:
        return 0
    inputs = [{"properties": row.fields, "associations": [association(row, ids[row.parent])]
               if row.parent in ids else []} for row in rows]
    answer = objects(api, rows[0].object).batch_api.create({"inputs": inputs})
    made = {r.properties.get(KEY): r.id for r in answer.results}  # results come in any order
    for row in rows:
        if row.source_id in made:
            ids[row.ref] = made[row.source_id]
    return sum(row.source_id not in made for row in rows)


def update(api: HubSpot, rows: list[Row], ids: dict[str, str], found: dict[str, str]) -> int:
    if not rows:
        return 0
    answer = objects(api, rows[0].object).batch_api.update(
        {"inputs": [{"id": found[row.ref], "properties": row.fields} for row in rows]})
    ids.update({row.ref: found[row.ref] for row in rows})
    linked = [row for row in rows if row.parent in ids]
    if linked:
        api.crm.associations.v4.batch_api.create(rows[0].object, "companies", {"inputs": [
            {"from": {"id": found[row.ref]}, **association(row, ids[row.parent])} for row in linked]})  # type: ignore[index]
    return len(rows) - len(answer.results)

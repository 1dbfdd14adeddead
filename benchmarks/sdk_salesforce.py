"""Two ways a user syncs records into Salesforce with simple-salesforce, its most used Python client:
record by record (a SOQL query by identity, then create or update), and hand-batched (one SOQL `IN` per
chunk of 200, then sObject Collections create and update, 200 records a call). Both match the way their
own data is written (Website as https://<domain>, exact e-mails); a hit that carries another source
record's BenefitFlow id (a broker sharing its office's domain, city and state) is not this record."""

from __future__ import annotations

from typing import Any

import requests
from sdk_rows import Row, by_stream, chunks
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError
from simple_salesforce.format import format_soql

IDENTITY = {"broker": ["Website"], "employer": ["Website"],
            "broker_office": ["Website", "BillingCity", "BillingState"],
            "employer_contact": ["Email"], "broker_contact": ["Email"]}
PARENT_FIELD = {"broker_office": "ParentId", "employer_contact": "AccountId", "broker_contact": "AccountId"}
KEY = "BenefitFlow_Id__c"
COLLECTION = 200  # records per sObject Collections call, and identity values per SOQL IN


def connect(url: str, ca_file: str, oauth: dict[str, str]) -> Salesforce:
    """A session from the OAuth refresh-token flow, as a connected app's user gets one."""
    session = requests.Session()
    session.verify = ca_file
    session.trust_env = False
    token = session.post(f"{url}/services/oauth2/token", data={"grant_type": "refresh_token", **oauth},
                         timeout=60).json()
    return Salesforce(instance_url=token["instance_url"], session_id=token["access_token"], session=session,
                      version="60.0")


def with_parent(row: Row, ids: dict[str, str]) -> dict[str, Any]:
    fields = dict(row.fields)
    if row.parent and row.parent in ids:
        fields[PARENT_FIELD[row.stream]] = ids[row.parent]
    return fields


def per_record(sf: Salesforce, rows: list[Row]) -> int:
    """Each record: query it by identity, then update what was found or create it. Returns failures."""
    ids: dict[str, str] = {}
    failed = 0
    for row in rows:
        where = " AND ".join(f"{name} = {{}}" for name in IDENTITY[row.stream])
        soql = format_soql(f"SELECT Id, {KEY} FROM {row.object} WHERE {where}",
                           *(row.fields[name] for name in IDENTITY[row.stream]))
        try:
            hits = [r["Id"] for r in sf.query(soql)["records"] if r[KEY] in (None, row.source_id)]
            api = getattr(sf, row.object)
            if hits:
                api.update(hits[0], with_parent(row, ids))
                ids[row.ref] = hits[0]
            else:
                ids[row.ref] = api.create(with_parent(row, ids))["id"]
        except SalesforceError:
            failed += 1
    return failed


def identity_of(row_or_record: dict[str, Any], names: list[str]) -> tuple[str, ...]:
    return tuple(str(row_or_record.get(name) or "").casefold() for name in names)


def found_by_identity(sf: Salesforce, stream: str, rows: list[Row]) -> dict[str, str]:
    """One SOQL IN for a chunk's identity values: ref -> the Id of the record that is it."""
    names = IDENTITY[stream]
    values = sorted({row.fields[names[0]] for row in rows})
    soql = format_soql(f"SELECT Id, {', '.join(names)}, {KEY} FROM {rows[0].object} WHERE {names[0]} IN {{}}",
                       values)
    theirs: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for record in sf.query_all(soql)["records"]:
        theirs.setdefault(identity_of(record, names), []).append(record)
    found = {}
    for row in rows:
        hits = [r["Id"] for r in theirs.get(identity_of(row.fields, names), [])
                if r[KEY] in (None, row.source_id)]
        if hits:
            found[row.ref] = hits[0]
    return found


def hand_batched(sf: Salesforce, rows: list[Row]) -> int:
    """Stream by stream, chunk by chunk: one query, then one create and one update call. Returns failures."""
    ids: dict[str, str] = {}
    failed = 0
    for stream, stream_rows in by_stream(rows):
        for chunk in chunks(stream_rows, COLLECTION):
            found = found_by_identity(sf, stream, chunk)
            creates = [row for row in chunk if row.ref not in found]
            updates = [row for row in chunk if row.ref in found]
            failed += write(sf, "POST", creates, ids, {})
            failed += write(sf, "PATCH", updates, ids, found)
    return failed


def write(sf: Salesforce, method: str, rows: list[Row], ids: dict[str, str], found: dict[str, str]) -> int:
    """One sObject Collections call (create: POST, update: PATCH), allOrNone false; returns failures."""
    if not rows:
        return 0
    records = [{"attributes": {"type": row.object}, **with_parent(row, ids),
                **({"Id": found[row.ref]} if method == "PATCH" else {})} for row in rows]
    results = sf.restful("composite/sobjects", method=method, json={"allOrNone": False, "records": records})
    failed = 0
    for row, result in zip(rows, results, strict=True):
        if result.get("success"):
            ids[row.ref] = result["id"]
        else:
            failed += 1
    return failed

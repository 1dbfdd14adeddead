"""Which associations already exist in the CRM, for records that exist at both ends (found by the plan,
or linked): read with the connector's `associations` endpoint, so that an existing record is associated
with an existing parent once, and a later push sends nothing for it."""

from __future__ import annotations

from dataclasses import dataclass

from engine.client import CrmClient, body_of
from engine.connector import AssociationRelation, ConnectorSpec
from engine.match import LookupFailed
from engine.render import Request, endpoint_for, read_one, read_path, render_batches

Edge = tuple[str, str, int]  # from id, to id, association type id


@dataclass(slots=True)
class AssociationCheck:
    """An association the profile asks for, between a record and a parent that both exist already."""

    ref: str  # the record's stream/source_id
    object: str
    crm_id: str
    relation: str
    parent_id: str


def relation_of(connector: ConnectorSpec, check: AssociationCheck) -> AssociationRelation:
    relation = connector.objects[check.object].relations[check.relation]
    assert isinstance(relation, AssociationRelation)
    return relation


def render_reads(connector: ConnectorSpec, checks: list[AssociationCheck], base_url: str) -> list[Request]:
    """The reads of the checked records' associations: per object and associated object, each record
    once, in the endpoint's batches."""
    groups: dict[tuple[str, str], dict[str, str]] = {}
    for check in checks:
        to_object = connector.objects[relation_of(connector, check).to].api_name
        groups.setdefault((check.object, to_object), {}).setdefault(check.crm_id, check.ref)
    requests = []
    for (object_name, to_object), records in groups.items():
        items = ((ref, {"id": crm_id, "to_object": to_object}) for crm_id, ref in records.items())
        requests += render_batches(connector, "associations", object_name, items, base_url)
    return requests


async def read_existing(connector: ConnectorSpec, requests: list[Request], client: CrmClient) -> set[Edge]:
    """Every association the answers list. A record the CRM reports in errors (HubSpot: one without any
    association) has none; a request refused as a whole is a failed look-up."""
    edges: set[Edge] = set()
    for request in requests:
        sent = await client.send(request.method, request.url, headers=request.headers, body=request.body,
                                 kind="associations", safe_to_repeat=True)
        if sent.response is None:
            raise LookupFailed(f"reading the associations of {request.object} failed: {sent.error}")
        if sent.response.status_code >= 400:
            data = body_of(sent.response)
            message = read_one(data, connector.errors.body.message) if isinstance(data, dict) else None
            raise LookupFailed(f"reading the associations of {request.object} refused "
                               f"({sent.response.status_code}): {message or str(data)[:300]}",
                               sent.response.status_code)
        edges |= answered_edges(connector, request.object, body_of(sent.response))
    return edges


def answered_edges(connector: ConnectorSpec, object_name: str, data: object) -> set[Edge]:
    endpoint = endpoint_for(connector, object_name, "associations")
    assert endpoint is not None
    spec = endpoint.response
    edges: set[Edge] = set()
    for result in read_path(data, spec.records):
        from_id = str(read_one(result, spec.id))
        for target in read_path(result, spec.to):
            to_id = str(read_one(target, spec.to_id))
            edges.update((from_id, to_id, int(type_id)) for type_id in read_path(target, spec.type_ids))
    return edges


def missing(connector: ConnectorSpec, checks: list[AssociationCheck],
            edges: set[Edge]) -> list[AssociationCheck]:
    """The checked associations the CRM does not have."""
    return [c for c in checks
            if (c.crm_id, c.parent_id, relation_of(connector, c).type_id) not in edges]

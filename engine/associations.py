"""Which associations already exist in the CRM, for records that exist at both ends (found by the plan,
or linked): read with the connector's `associations` endpoint, so that an existing record is associated
with an existing parent once, and a later push sends nothing for it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.client import CrmClient, body_of
from engine.connector import AssociationRelation, ConnectorSpec, Endpoint
from engine.match import LookupFailed
from engine.render import Request, endpoint_for, read_one, read_path, render_batches

Edge = tuple[str, str, int | None]  # from id, to id, association type id (None: the CRM types none)


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


def relation_endpoint(connector: ConnectorSpec, object_name: str, relation: AssociationRelation,
                      name: str) -> Endpoint:
    """The `associate` or `associations` endpoint of a relation: its own, else the object's."""
    own: Endpoint | None = getattr(relation, name)
    endpoint = connector.objects[object_name].with_vars(own) if own is not None else \
        endpoint_for(connector, object_name, name)  # type: ignore[arg-type]
    assert endpoint is not None  # checked at load
    return endpoint


def relation_context(connector: ConnectorSpec, relation: AssociationRelation) -> dict[str, object]:
    """What an association's templates know of its relation: the associated object, and the type and
    category where the relation sets them."""
    context: dict[str, object] = {"to_object": connector.objects[relation.to].api_name}
    context.update({name: getattr(relation, name) for name in ("type_id", "category")
                    if getattr(relation, name) is not None})
    return context


def association_item(connector: ConnectorSpec, relation: AssociationRelation, crm_id: str, to_id: str,
                     ref: str) -> dict[str, object]:
    """The context of one association to make."""
    return {"id": crm_id, **relation_context(connector, relation), "to_id": to_id, "ref": ref}


def render_associate(connector: ConnectorSpec, object_name: str, relation_name: str,
                     items: Iterable[tuple[str, dict[str, object]]], base_url: str) -> list[Request]:
    """The requests making the associations of one relation (its endpoint, or the object's)."""
    relation = connector.objects[object_name].relations[relation_name]
    assert isinstance(relation, AssociationRelation)
    endpoint = relation_endpoint(connector, object_name, relation, "associate")
    return render_batches(connector, "associate", object_name, items, base_url, endpoint)  # type: ignore[arg-type]


def render_reads(connector: ConnectorSpec, checks: list[AssociationCheck], base_url: str) -> list[Request]:
    """The reads of the checked records' associations: per object and associated object (and per
    relation, for a relation with an endpoint of its own), each record once, in the endpoint's
    batches. Each request carries the endpoint that reads its answer."""
    groups: dict[tuple[str, str, str | None], dict[str, str]] = {}
    for check in checks:
        relation = relation_of(connector, check)
        own = check.relation if relation.associations is not None else None
        group = (check.object, connector.objects[relation.to].api_name, own)
        groups.setdefault(group, {}).setdefault(check.crm_id, check.ref)
    requests = []
    for (object_name, to_object, own), records in groups.items():
        relation = connector.objects[object_name].relations[own] if own else None
        endpoint = (relation_endpoint(connector, object_name, relation, "associations")
                    if isinstance(relation, AssociationRelation)
                    else endpoint_for(connector, object_name, "associations"))
        items = ((ref, {"id": crm_id, "to_object": to_object}) for crm_id, ref in records.items())
        for request in render_batches(connector, "associations", object_name, items, base_url, endpoint):
            request.reads = endpoint
            requests.append(request)
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
        edges |= answered_edges(connector, request.object, body_of(sent.response), request.reads)
    return edges


def answered_edges(connector: ConnectorSpec, object_name: str, data: object,
                   endpoint: Endpoint | None = None) -> set[Edge]:
    endpoint = endpoint or endpoint_for(connector, object_name, "associations")
    assert endpoint is not None
    spec = endpoint.response
    edges: set[Edge] = set()
    for result in read_path(data, spec.records):
        from_id = str(read_one(result, spec.id))
        for target in read_path(result, spec.to):
            to_id = str(read_one(target, spec.to_id))
            if not spec.type_ids:
                edges.add((from_id, to_id, None))
            edges.update((from_id, to_id, int(type_id)) for type_id in read_path(target, spec.type_ids))
    return edges


def missing(connector: ConnectorSpec, checks: list[AssociationCheck],
            edges: set[Edge]) -> list[AssociationCheck]:
    """The checked associations the CRM does not have (for a relation without a type: by any type)."""
    untyped = {(from_id, to_id) for from_id, to_id, _ in edges}

    def found(check: AssociationCheck) -> bool:
        type_id = relation_of(connector, check).type_id
        if type_id is None:
            return (check.crm_id, check.parent_id) in untyped
        return (check.crm_id, check.parent_id, type_id) in edges

    return [c for c in checks if not found(c)]

"""Contract tests: request examples from HubSpot's developer docs, checked against the documented
response shapes and status codes (pages named on each test)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.sandbox.hubspot import HubSpotSandbox

H = {"Authorization": "Bearer sandbox-token"}
OBJECT_KEYS = {"id", "properties", "createdAt", "updatedAt", "archived"}


@pytest.fixture
def hs() -> TestClient:
    return TestClient(HubSpotSandbox().app())


def test_contacts_guide_create_contact(hs: TestClient) -> None:
    """developers.hubspot.com/docs/api/crm/contacts, "Create contacts with property values"."""
    body = {
        "properties": {
            "email": "example@hubspot.com",
            "firstname": "Jane",
            "lastname": "Doe",
            "phone": "(555) 555-5555",
            "company": "HubSpot",
            "website": "hubspot.com",
            "lifecyclestage": "marketingqualifiedlead",
        }
    }
    r = hs.post("/crm/v3/objects/contacts", json=body, headers=H)
    assert r.status_code == 201 and set(r.json()) == OBJECT_KEYS
    assert all(isinstance(v, str) for v in r.json()["properties"].values())
    assert r.json()["properties"]["lifecyclestage"] == "marketingqualifiedlead"


def test_associations_on_create(hs: TestClient) -> None:
    """Companies/contacts guides, "Associations": to.id may be a number, types use HUBSPOT_DEFINED 279/280."""
    company = hs.post(
        "/crm/v3/objects/companies",
        json={"properties": {"name": "HubSpot", "domain": "hubspot.com"}},
        headers=H,
    ).json()["id"]
    body: dict[str, Any] = {
        "properties": {"email": "example@hubspot.com"},
        "associations": [
            {
                "to": {"id": int(company)},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}],
            }
        ],
    }
    assert hs.post("/crm/v3/objects/contacts", json=body, headers=H).status_code == 201


def test_search_guide_example(hs: TestClient) -> None:
    """Search guide (api-reference/latest/crm/search-the-crm): filterGroups, filters; total, results."""
    hs.post(
        "/crm/v3/objects/contacts",
        json={"properties": {"email": "alice@hubspot.com", "firstname": "Alice"}},
        headers=H,
    )
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "email", "operator": "EQ", "value": "alice@hubspot.com"}]}
        ],
        "properties": ["email", "firstname"],
        "sorts": [{"propertyName": "createdate", "direction": "DESCENDING"}],
        "limit": 100,
        "after": "0",
    }
    r = hs.post("/crm/v3/objects/contacts/search", json=body, headers=H)
    assert r.status_code == 200
    assert r.json()["total"] == 1 and set(r.json()["results"][0]) == OBJECT_KEYS


def test_batch_read_example(hs: TestClient) -> None:
    """Contacts guide, batch read: {"idProperty":"email","inputs":[{"id":...}],"properties":[...]}."""
    hs.post(
        "/crm/v3/objects/contacts",
        json={"properties": {"email": "lgarcia@hubspot.com", "lastname": "Garcia"}},
        headers=H,
    )
    body = {
        "properties": ["email", "lastname"],
        "propertiesWithHistory": [],
        "idProperty": "email",
        "inputs": [{"id": "lgarcia@hubspot.com"}],
    }
    r = hs.post("/crm/v3/objects/contacts/batch/read", json=body, headers=H)
    assert r.status_code == 200
    assert r.json()["status"] == "COMPLETE" and r.json()["results"][0]["properties"]["lastname"] == "Garcia"


def test_batch_upsert_example(hs: TestClient) -> None:
    """Contacts guide, upsert: inputs with id + idProperty=email; results carry "new"."""
    body = {"inputs": [{"properties": {"phone": "5555555555"}, "id": "test@test.com", "idProperty": "email"}]}
    r = hs.post("/crm/v3/objects/contacts/batch/upsert", json=body, headers=H)
    assert r.status_code == 200 and r.json()["results"][0]["new"] is True


def test_v4_default_and_labelled_examples(hs: TestClient) -> None:
    """Associations v4 guide: PUT .../associations/default/{to}/{toId}; PUT labelled with a list body;
    batch/associate/default {"inputs":[{"from":{"id"},"to":{"id"}}]}."""
    company = hs.post("/crm/v3/objects/companies", json={"properties": {"name": "C"}}, headers=H).json()["id"]
    contact = hs.post("/crm/v3/objects/contacts", json={"properties": {"email": "c@x.io"}}, headers=H).json()[
        "id"
    ]
    default = hs.put(f"/crm/v4/objects/contact/{contact}/associations/default/company/{company}", headers=H)
    assert default.status_code == 200
    assert set(default.json()) >= {"status", "results", "startedAt", "completedAt"}
    assert set(default.json()["results"][0]) == {"from", "to", "associationSpec"}
    labelled = hs.put(
        f"/crm/v4/objects/companies/{company}/associations/contacts/{contact}",
        json=[{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 2}],
        headers=H,
    )
    assert labelled.status_code == 201
    assert set(labelled.json()) == {
        "fromObjectTypeId",
        "fromObjectId",
        "toObjectTypeId",
        "toObjectId",
        "labels",
    }
    batch = hs.post(
        "/crm/v4/associations/contacts/companies/batch/associate/default",
        json={"inputs": [{"from": {"id": contact}, "to": {"id": company}}]},
        headers=H,
    )
    assert batch.status_code == 200 and batch.json()["status"] == "COMPLETE"
    read = hs.post(
        "/crm/v4/associations/contacts/companies/batch/read", json={"inputs": [{"id": contact}]}, headers=H
    )
    to = read.json()["results"][0]["to"][0]
    assert {t["typeId"] for t in to["associationTypes"]} == {1, 279}
    assert {"category", "typeId", "label"} == set(to["associationTypes"][0])


def test_properties_response_fields(hs: TestClient) -> None:
    """Properties API reference: property fields."""
    prop = hs.get("/crm/v3/properties/companies/industry", headers=H).json()
    assert {
        "name",
        "label",
        "type",
        "fieldType",
        "groupName",
        "options",
        "hasUniqueValue",
        "calculated",
        "hidden",
        "hubspotDefined",
        "modificationMetadata",
        "externalOptions",
        "formField",
        "displayOrder",
    } <= set(prop)
    assert set(prop["options"][0]) >= {"label", "value", "displayOrder", "hidden"}
    assert set(prop["modificationMetadata"]) == {"readOnlyValue", "readOnlyDefinition", "archivable"}


def test_error_handling_page_shape(hs: TestClient) -> None:
    """api-reference/error-handling: status, message, correlationId, category."""
    r = hs.post("/crm/v3/objects/contacts", json={"properties": {"lifecyclestage": "Lead"}}, headers=H)
    assert r.status_code == 400 and {"status", "message", "correlationId", "category"} <= set(r.json())


def test_validation_rule_changelog_example(hs: TestClient) -> None:
    """Changelog "Property Validations Rules will be enforced for APIs": 400, embedded list in message."""
    r = hs.post(
        "/crm/v3/objects/companies",
        json={"properties": {"benefitflow_profile_url": "bf.example.com"}},
        headers=H,
    )
    assert r.status_code == 400
    assert r.json()["message"].startswith('Property values were not valid: [{"isValid":false,')

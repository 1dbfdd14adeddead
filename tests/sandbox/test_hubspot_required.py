"""The HubSpot emulator refuses what HubSpot's published OpenAPI marks required (contacts.json,
components/schemas: SimplePublicObjectBatchInputForCreate and SimplePublicObjectInputForCreate need
`properties`; SimplePublicObjectBatchInput and ...Upsert need `id` and `properties`;
BatchReadInputSimplePublicObjectId needs `inputs`, `properties` and `propertiesWithHistory`), and its
refusals carry the X-HubSpot-RateLimit-* headers its other answers carry (usage guidelines)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.pushkit import records, served

H = {"Authorization": "Bearer sandbox-token"}


def post(url: str, path: str, body: Any) -> httpx.Response:
    return httpx.post(url + path, json=body, headers=H, timeout=30)


@pytest.mark.parametrize(("path", "body", "missing"), [
    ("/crm/v3/objects/companies/batch/create",
     {"inputs": [{"properties": {"name": "A"}}, {"objectWriteTraceId": "t2"}]}, "[properties]"),
    ("/crm/v3/objects/companies", {"associations": []}, "[properties]"),
    ("/crm/v3/objects/companies/batch/upsert",
     {"inputs": [{"id": "bf-1", "idProperty": "benefitflow_id"}]}, "[properties]"),
    ("/crm/v3/objects/contacts/batch/read",
     {"idProperty": "email", "inputs": [{"id": "a@example.com"}], "properties": ["email"]},
     "[propertiesWithHistory]"),
])
def test_an_input_without_a_required_attribute_fails_the_whole_request(
        path: str, body: dict[str, Any], missing: str) -> None:
    with served("hubspot") as (_, url):
        answer = post(url, path, body)
        left = records(url)
    assert answer.status_code == 400, answer.text
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert answer.json()["message"].endswith(f"some of required attributes are not set {missing}")
    assert left["companies"] == []  # nothing written


def test_a_batch_update_input_without_properties_is_refused() -> None:
    with served("hubspot") as (_, url):
        made = post(url, "/crm/v3/objects/companies", {"properties": {"name": "A"}}).json()["id"]
        answer = post(url, "/crm/v3/objects/companies/batch/update",
                      {"inputs": [{"id": made, "properties": {"city": "Reno"}}, {"id": made + "0"}]})
        city = records(url)["companies"][0]["properties"].get("city")
    assert answer.status_code == 400 and "[properties]" in answer.json()["message"]
    assert city is None


def test_a_batch_read_with_every_required_attribute_is_answered() -> None:
    with served("hubspot") as (_, url):
        post(url, "/crm/v3/objects/contacts", {"properties": {"email": "a@example.com"}})
        answer = post(url, "/crm/v3/objects/contacts/batch/read",
                      {"idProperty": "email", "inputs": [{"id": "a@example.com"}], "properties": ["email"],
                       "propertiesWithHistory": []})
    assert answer.status_code == 200 and answer.json()["results"][0]["properties"]["email"] == "a@example.com"


def test_a_429_carries_the_rate_limit_headers() -> None:
    with served("hubspot", rate_limit_per_10s=2) as (_, url):
        answers = [httpx.get(url + "/crm/v3/objects/companies", headers=H, timeout=30) for _ in range(3)]
    limited = answers[-1]
    assert limited.status_code == 429
    assert limited.headers["X-HubSpot-RateLimit-Max"] == "2"
    assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert limited.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert limited.headers["X-HubSpot-RateLimit-Daily"] == "650000"
    assert int(limited.headers["X-HubSpot-RateLimit-Daily-Remaining"]) == 650000 - 2


def test_an_association_read_needs_only_the_read_scope() -> None:
    with served("hubspot", missing_scopes={"crm.objects.contacts.write"}) as (_, url):
        answer = post(url, "/crm/v4/associations/contacts/companies/batch/read", {"inputs": [{"id": "1"}]})
    assert answer.status_code != 403, answer.text

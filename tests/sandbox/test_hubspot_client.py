"""HubSpot's own Python client (hubspot-api-client) does real work against the served sandbox,
and a load test: 2,000 requests at concurrency 16 without a server error that was not injected."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.companies import BatchInputSimplePublicObjectBatchInputForCreate
from hubspot.crm.contacts import (
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException

from engine.sandbox.common import free_port, running
from engine.sandbox.hubspot import HubSpotSandbox


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[HubSpotSandbox, str]]:
    sandbox = HubSpotSandbox(rate_limit_per_10s=None, search_rate_limit_per_s=None)
    with running(sandbox) as url:
        yield sandbox, url


@pytest.fixture
def api(served: tuple[HubSpotSandbox, str]) -> HubSpot:
    sandbox, url = served
    sandbox.reset()
    return HubSpot(access_token="sandbox-token", host=url)


def make_people(api: HubSpot) -> tuple[list[str], list[str]]:
    companies = api.crm.companies.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                {
                    "properties": {
                        "name": "Acme Benefits",
                        "domain": "acme.com",
                        "funding_type": "Self-Funded",
                    },
                    "associations": [],
                },
                {"properties": {"name": "Beta Brokers", "domain": "beta.io"}, "associations": []},
            ]
        )
    )
    contacts = api.crm.contacts.batch_api.create(
        {
            "inputs": [
                {"properties": {"email": "ann@acme.com", "firstname": "Ann"}, "associations": []},
                {"properties": {"email": "o'brien@beta.io", "firstname": "Séan"}, "associations": []},
            ]
        }
    )
    return [c.id for c in companies.results], [c.id for c in contacts.results]


def test_batch_create_and_search_by_email(api: HubSpot) -> None:
    companies, contacts = make_people(api)
    assert len(companies) == 2 and len(contacts) == 2
    by_in = api.crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {
                            "propertyName": "email",
                            "operator": "IN",
                            "values": ["ann@acme.com", "o'brien@beta.io"],
                        }
                    ]
                }
            ],
            properties=["email", "firstname"],
            limit=100,
        )
    )
    assert by_in.total == 2
    assert {r.properties["firstname"] for r in by_in.results} == {"Ann", "Séan"}
    by_eq = api.crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                {"filters": [{"propertyName": "email", "operator": "EQ", "value": "ANN@acme.com"}]}
            ]
        )
    )
    assert [r.id for r in by_eq.results] == [contacts[0]]


def test_batch_read_by_id_property(api: HubSpot) -> None:
    make_people(api)
    out = api.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            id_property="email",
            inputs=[{"id": "ann@acme.com"}],
            properties=["firstname"],
            properties_with_history=[],
        )
    )
    assert out.results[0].properties["firstname"] == "Ann"
    assert out.status == "COMPLETE"


def test_associate_contact_to_company_and_read(api: HubSpot) -> None:
    companies, contacts = make_people(api)
    api.crm.associations.v4.basic_api.create_default("contacts", contacts[0], "companies", companies[0])
    labelled = api.crm.associations.v4.basic_api.create(
        "contacts",
        contacts[1],
        "companies",
        companies[1],
        [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}],
    )
    assert labelled.labels == ["Primary"]
    page = api.crm.associations.v4.basic_api.get_page("contacts", contacts[0], "companies")
    assert [r.to_object_id for r in page.results] == [companies[0]]
    assert page.results[0].association_types[0].type_id == 279
    batch = api.crm.associations.v4.batch_api.get_page(
        "contacts", "companies", BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": contacts[1]}])
    )
    assert {t.type_id for t in batch.results[0].to[0].association_types} == {1, 279}


def test_read_properties(api: HubSpot) -> None:
    props = api.crm.properties.core_api.get_all("companies")
    names = {p.name for p in props.results}
    assert {"name", "domain", "industry", "benefitflow_id", "renewal_month"} <= names
    one = api.crm.properties.core_api.get_by_name("contacts", "email")
    assert one.type == "string"


def test_errors_surface_as_api_exception(api: HubSpot) -> None:
    make_people(api)
    with pytest.raises(ApiException) as dup:
        api.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": "ann@acme.com"})
        )
    assert dup.value.status == 409 and json.loads(dup.value.body)["category"] == "CONFLICT"
    with pytest.raises(ApiException) as bad:
        api.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"lifecyclestage": "Lead"})
        )
    assert bad.value.status == 400 and "INVALID_OPTION" in json.loads(bad.value.body)["message"]
    wrong = HubSpot(access_token="nope", host=api.config["host"])
    with pytest.raises(ApiException) as denied:
        wrong.crm.contacts.basic_api.get_page()
    assert (
        denied.value.status == 401 and json.loads(denied.value.body)["category"] == "INVALID_AUTHENTICATION"
    )


def test_load_2000_requests_concurrency_16(served: tuple[HubSpotSandbox, str]) -> None:
    sandbox, url = served
    sandbox.reset()
    headers = {"Authorization": "Bearer sandbox-token"}

    async def one(client: httpx.AsyncClient, i: int) -> int:
        if i % 4 == 0:
            r = await client.post("/crm/v3/objects/contacts", json={"properties": {"email": f"u{i}@load.io"}})
        elif i % 4 == 1:
            r = await client.post("/crm/v3/objects/contacts/search", json={"limit": 5})
        elif i % 4 == 2:
            r = await client.get("/crm/v3/objects/contacts?limit=5")
        else:
            r = await client.post(
                "/crm/v3/objects/companies/batch/create",
                json={"inputs": [{"properties": {"name": f"co{i}"}}]},
            )
        return r.status_code

    async def main() -> list[int]:
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as client:
            gate = asyncio.Semaphore(16)

            async def guarded(i: int) -> int:
                async with gate:
                    return await one(client, i)

            return await asyncio.gather(*(guarded(i) for i in range(2000)))

    statuses = asyncio.run(main())
    assert len(statuses) == 2000
    assert all(s in (200, 201) for s in statuses), sorted(set(statuses))
    assert len(sandbox.records["contacts"]) == 500


def test_dropped_connection_after_the_write() -> None:
    sandbox = HubSpotSandbox(faults="drop=1.0")
    with running(sandbox) as url, pytest.raises(httpx.TransportError):
        httpx.post(
            f"{url}/crm/v3/objects/companies",
            json={"properties": {"name": "Lost"}},
            headers={"Authorization": "Bearer sandbox-token"},
            timeout=10,
        )
    assert len(sandbox.records["companies"]) == 1
    assert sandbox.requests[-1]["fault"] == "drop"


def test_drop_before_writes_nothing() -> None:
    # common.py raises before any response starts, so uvicorn answers a bare 500 and closes the
    # connection (reported to the lead); the HubSpot part is that nothing was written.
    sandbox = HubSpotSandbox(faults="drop_before=1.0")
    with running(sandbox) as url:
        try:
            r = httpx.post(
                f"{url}/crm/v3/objects/companies",
                json={"properties": {"name": "Lost"}},
                headers={"Authorization": "Bearer sandbox-token"},
                timeout=10,
            )
            assert r.status_code == 500
        except httpx.TransportError:
            pass
    assert sandbox.records["companies"] == {}
    assert sandbox.requests[-1]["status"] == "dropped"


@pytest.mark.parametrize("tls", [False, True])
def test_crmsync_sandbox_serve_hubspot_as_a_user_starts_it(tmp_path: Path, tls: bool) -> None:
    """`crmsync sandbox serve hubspot` in a fresh folder: it says where it listens (and, with --tls, where
    its throwaway CA is), then answers HubSpot's API with the sandbox's private-app token."""
    port = free_port()
    crmsync = Path(sys.executable).parent / "crmsync"
    command = [str(crmsync), "sandbox", "serve", "hubspot", "--port", str(port), *(["--tls"] if tls else [])]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               cwd=tmp_path, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout is not None
        verify: bool | ssl.SSLContext = True
        if tls:
            ca = process.stdout.readline().strip()
            assert ca.startswith("CA certificate: ")
            ca_file = ca.removeprefix("CA certificate: ")
            assert Path(ca_file).is_file() and Path(ca_file).is_relative_to(tmp_path)
            verify = ssl.create_default_context(cafile=ca_file)
        scheme = "https" if tls else "http"
        assert process.stdout.readline().strip() == f"listening on {scheme}://127.0.0.1:{port}"
        answer = httpx.get(f"{scheme}://127.0.0.1:{port}/crm/v3/objects/companies", verify=verify, timeout=10,
                           headers={"Authorization": "Bearer sandbox-token"})
        assert answer.status_code == 200 and answer.json()["results"] == []
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_account_information_api_answers_each_tokens_portal(served: tuple[HubSpotSandbox, str]) -> None:
    sandbox, url = served
    sandbox.auth.static_tokens["other-portal-token"] = "private-app@other"
    sandbox.portals["other-portal-token"] = 44556677
    try:
        for token, portal in (("sandbox-token", sandbox.account_id), ("other-portal-token", 44556677)):
            client = HubSpot(access_token=token)
            client.config["base_url"] = url  # api_request sends to this base URL (else api.hubapi.com)
            answer = client.api_request({"method": "GET", "path": "/account-info/v3/details"})
            assert answer.status_code == 200, answer.text
            details = answer.json()
            assert details["portalId"] == portal and details["dataHostingLocation"] == "na1"
            assert {"accountType", "timeZone", "companyCurrency", "uiDomain", "utcOffset"} <= set(details)
    finally:
        del sandbox.auth.static_tokens["other-portal-token"], sandbox.portals["other-portal-token"]


def test_a_token_without_the_oauth_scope_is_refused_the_account_information(
        served: tuple[HubSpotSandbox, str]) -> None:
    sandbox, url = served
    sandbox.missing_scopes.add("oauth")
    try:
        client = HubSpot(access_token="sandbox-token")
        client.config["base_url"] = url
        answer = client.api_request({"method": "GET", "path": "/account-info/v3/details"})
        assert answer.status_code == 403 and answer.json()["category"] == "MISSING_SCOPES"
    finally:
        sandbox.missing_scopes.discard("oauth")

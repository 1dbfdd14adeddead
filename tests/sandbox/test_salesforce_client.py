"""simple-salesforce, Salesforce's most used Python client, does real work against the sandbox served
over TLS; a load test (2,000 requests at concurrency 16, no server error that was not injected);
dropped connections; and `crmsync sandbox serve salesforce` as a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceMalformedRequest

from engine.sandbox.common import free_port, running
from engine.sandbox.salesforce import SalesforceSandbox
from tests.sandbox.test_salesforce import OAUTH

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SalesforceSandbox, str, Path]]:
    tls_dir = tmp_path_factory.mktemp("tls")
    sandbox = SalesforceSandbox()
    with running(sandbox, tls_dir=tls_dir) as url:
        yield sandbox, url, tls_dir / "sandbox-ca.pem"


@pytest.fixture
def sf(served: tuple[SalesforceSandbox, str, Path]) -> Salesforce:
    sandbox, url, ca = served
    sandbox.reset()
    session = requests.Session()
    session.verify = str(ca)
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment overrides `verify`
    token = session.post(f"{url}/services/oauth2/token", data={"grant_type": "refresh_token", **OAUTH}).json()
    assert token["instance_url"] == url and url.startswith("https://")
    return Salesforce(
        instance_url=token["instance_url"], session_id=token["access_token"], session=session, version="59.0"
    )


def test_create_update_upsert_and_get(sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "Acme", "Website": "acme.com", "Funding_Type__c": "Self-Funded"})
    assert created["success"] is True and created["id"].startswith("001") and len(created["id"]) == 18
    assert sf.Account.update(created["id"], {"Renewal_Month__c": "March"}) == 204
    contact = sf.Contact.create(
        {"LastName": "O'Brien", "Email": "o'brien@acme.com", "AccountId": created["id"]}
    )
    assert sf.Contact.get(contact["id"])["AccountId"] == created["id"]
    assert sf.Account.upsert("BenefitFlow_Id__c/EMP-1", {"Name": "Beta"}) == 201
    assert sf.Account.upsert("BenefitFlow_Id__c/EMP-1", {"Phone": "555"}) == 200
    assert sf.Account.get_by_custom_id("BenefitFlow_Id__c", "EMP-1")["Phone"] == "555"
    assert sf.Account.get(created["id"])["Renewal_Month__c"] == "March"


def test_query_escapes_and_query_all_follows_next_records_url(sf: Salesforce) -> None:
    from simple_salesforce.format import format_soql

    sf.Contact.create({"LastName": "O'Brien", "Email": "o'brien@acme.com"})
    found = sf.query(format_soql("SELECT Id, Email FROM Contact WHERE Email = {}", "o'brien@acme.com"))
    assert found["totalSize"] == 1 and found["records"][0]["Email"] == "o'brien@acme.com"
    for chunk in range(3):
        rows = [
            {"attributes": {"type": "Lead"}, "LastName": f"L{chunk}-{i}", "Company": "C"} for i in range(150)
        ]
        results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": rows})
        assert all(r["success"] for r in results)
    paged = sf.query_all("SELECT Id, LastName FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"})
    assert paged["totalSize"] == 450 and len({r["Id"] for r in paged["records"]}) == 450
    first = sf.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"})
    assert first["done"] is False and "/query/01g" in first["nextRecordsUrl"]


def test_describe_and_limits(sf: Salesforce) -> None:
    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    external = fields["BenefitFlow_Id__c"]
    assert (external["externalId"], external["unique"], external["length"], external["label"]) == (
        True,
        True,
        64,
        "BenefitFlow ID",
    )
    assert [v["value"] for v in fields["Broker_Type__c"]["picklistValues"]] == [
        "Independent",
        "National",
        "Regional",
    ]
    assert fields["Broker_Type__c"]["restrictedPicklist"] is True
    assert {o["name"] for o in sf.describe()["sobjects"]} == {"Account", "Contact", "Lead"}
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 100_000
    assert sf.api_usage["api-usage"].total == 100_000


def test_collections_through_restful(sf: Salesforce) -> None:
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "BenefitFlow_Id__c": "E-1", "Name": "One"},
            {
                "attributes": {"type": "Account"},
                "BenefitFlow_Id__c": "E-2",
                "Name": "Two",
                "Broker_Type__c": "Global",
            },
        ],
    }
    out = sf.restful("composite/sobjects/Account/BenefitFlow_Id__c", method="PATCH", json=body)
    assert out[0]["success"] is True and out[0]["created"] is True
    assert out[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    ids = out[0]["id"]
    got = sf.restful("composite/sobjects/Account", params={"ids": ids, "fields": "Name,BenefitFlow_Id__c"})
    assert got[0]["Name"] == "One"
    gone = sf.restful("composite/sobjects", method="DELETE", params={"ids": ids})
    assert gone == [{"id": ids, "success": True, "errors": []}]


def test_errors_surface_as_simple_salesforce_exceptions(
    sf: Salesforce, served: tuple[SalesforceSandbox, str, Path]
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.Account.create({"Name": "A", "Funding_Type__c": "Nope"})
    assert bad.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    sandbox = served[0]
    sandbox.tokens.expire_all()
    with pytest.raises(SalesforceExpiredSession) as expired:
        sf.Account.describe()
    assert expired.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


def test_load_2000_requests_concurrency_16() -> None:
    sandbox = SalesforceSandbox()
    with running(sandbox) as url:
        token = httpx.post(
            f"{url}/services/oauth2/token", data={"grant_type": "refresh_token", **OAUTH}
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        base = "/services/data/v59.0"

        async def one(client: httpx.AsyncClient, i: int) -> int:
            if i % 4 == 0:
                r = await client.post(
                    f"{base}/sobjects/Contact", json={"LastName": "L", "Email": f"u{i}@load.io"}
                )
            elif i % 4 == 1:
                r = await client.get(f"{base}/query", params={"q": "SELECT Id, Email FROM Contact LIMIT 5"})
            elif i % 4 == 2:
                r = await client.patch(
                    f"{base}/sobjects/Account/BenefitFlow_Id__c/L-{i // 4 % 40}", json={"Name": "N"}
                )
            else:
                body = {"records": [{"attributes": {"type": "Lead"}, "LastName": f"L{i}", "Company": "C"}]}
                r = await client.post(f"{base}/composite/sobjects", json=body)
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
    assert len(sandbox.records["Contact"]) == 500 and len(sandbox.records["Account"]) == 40
    assert len(sandbox.records["Lead"]) == 500 and sandbox.daily_used == 2000


@pytest.mark.parametrize(("fault", "stored"), [("drop", 1), ("drop_before", 0)])
def test_dropped_connections(fault: str, stored: int) -> None:
    """`drop` cuts the connection after the write (the response is lost), `drop_before` before it."""
    sandbox = SalesforceSandbox(faults=f"{fault}=1.0")
    with running(sandbox) as url:
        token = httpx.post(
            f"{url}/services/oauth2/token", data={"grant_type": "refresh_token", **OAUTH}
        ).json()
        with pytest.raises(httpx.TransportError):
            httpx.post(
                f"{url}/services/data/v59.0/sobjects/Account",
                json={"Name": "Lost"},
                headers={"Authorization": f"Bearer {token['access_token']}"},
                timeout=10,
            )
    assert len(sandbox.records["Account"]) == stored
    assert sandbox.requests[-1].get("fault") == fault


def test_crmsync_sandbox_serve_salesforce_subprocess(tmp_path: Path) -> None:
    port = free_port()
    crmsync = Path(sys.executable).parent / "crmsync"
    process = subprocess.Popen(
        [str(crmsync), "sandbox", "serve", "salesforce", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line == f"listening on http://127.0.0.1:{port}"
        r = httpx.post(
            f"http://127.0.0.1:{port}/services/oauth2/token",
            data={"grant_type": "refresh_token", **OAUTH},
            timeout=10,
        )
        assert r.status_code == 200 and r.json()["instance_url"] == f"http://127.0.0.1:{port}"
        versions = httpx.get(f"http://127.0.0.1:{port}/services/data", timeout=10).json()
        assert json.dumps(versions[-1]).count("64.0") == 2
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_simple_salesforce_reads_the_org_id_at_the_userinfo_endpoint(
        sf: Salesforce, served: tuple[SalesforceSandbox, str, Path]) -> None:
    sandbox, _, _ = served
    info = sf.oauth2("userinfo")  # GET https://{instance}/services/oauth2/userinfo, the OpenID Connect shape
    assert info["organization_id"] == sandbox.org_id and sandbox.org_id.startswith("00D")
    assert len(sandbox.org_id) == 18 and info["user_id"].startswith("005")
    assert info["sub"].endswith(f"/id/{sandbox.org_id}/{info['user_id']}")


def test_each_salesforce_emulator_is_an_org_of_its_own_unless_told() -> None:
    assert SalesforceSandbox().org_id != SalesforceSandbox().org_id
    assert SalesforceSandbox(org_id="00D000000000001AAA").org_id == "00D000000000001AAA"

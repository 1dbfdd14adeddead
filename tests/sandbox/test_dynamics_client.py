"""Microsoft's own Dataverse SDK for Python (PowerPlatform-Dataverse-Client) and azure-identity do real
work against the emulator served over TLS; a load test (2,000 requests at concurrency 16); and
`crmsync sandbox serve dynamics` as a subprocess."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.core.credentials import AccessToken
from azure.identity import ClientSecretCredential
from PowerPlatform.Dataverse.client import DataverseClient
from PowerPlatform.Dataverse.core.errors import HttpError

from engine.sandbox.common import free_port, running
from engine.sandbox.dynamics import DynamicsSandbox

API = "/api/data/v9.2"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DynamicsSandbox, str, Path]]:
    tls_dir = tmp_path_factory.mktemp("dynamics-tls")
    sandbox = DynamicsSandbox()
    with running(sandbox, tls_dir=tls_dir) as url:
        yield sandbox, url, tls_dir / "sandbox-ca.pem"


@pytest.fixture
def client(
    served: tuple[DynamicsSandbox, str, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[DataverseClient]:
    """The SDK with azure-identity's ClientSecretCredential (MSAL) getting its token from the sandbox."""
    sandbox, url, ca = served
    sandbox.reset()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    credential = ClientSecretCredential(
        sandbox.tenant_id,
        "sandbox-client",
        "sandbox-secret",
        authority=url.removeprefix("https://"),
        disable_instance_discovery=True,
    )
    with DataverseClient(url, credential) as dataverse:
        yield dataverse


class SandboxCredential:
    """A minimal azure-core TokenCredential: a client-credentials token from the sandbox's Entra endpoint."""

    def __init__(self, url: str, ca: Path) -> None:
        self.url = url
        self.ca = ca

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        r = httpx.post(
            f"{self.url}/organizations/oauth2/v2.0/token",
            verify=ssl.create_default_context(cafile=self.ca),
            data={
                "grant_type": "client_credentials",
                "client_id": "sandbox-client",
                "client_secret": "sandbox-secret",
                "scope": " ".join(scopes),
            },
        )
        r.raise_for_status()
        return AccessToken(r.json()["access_token"], int(time.time()) + r.json()["expires_in"])


def test_reads_table_metadata(client: DataverseClient) -> None:
    info = client.tables.get("account")
    assert (
        info is not None
        and info["entity_set_name"] == "accounts"
        and info["primary_id_attribute"] == "accountid"
    )
    keys = client.tables.get_alternate_keys("contact")
    assert [(k.schema_name, k.key_attributes) for k in keys] == [
        ("bf_BenefitFlowId_Key", ["bf_benefitflowid"])
    ]
    picklists = client.tables.list_columns(
        "account", select=["LogicalName", "AttributeType"], filter="AttributeType eq 'Picklist'"
    )
    assert {"bf_fundingtype", "bf_renewalmonth", "bf_brokertype"} <= {c["LogicalName"] for c in picklists}


def test_creates_updates_and_reads_back(client: DataverseClient, served: Any) -> None:
    sandbox = served[0]
    account_id = client.records.create(
        "account", {"name": "Contoso", "bf_fundingtype": "Self-Funded", "bf_benefitflowid": "BF-100"}
    )
    client.records.update("account", account_id, {"telephone1": "555-0100", "bf_renewalmonth": "March"})
    record = client.records.retrieve(
        "account", account_id, select=["name", "telephone1", "bf_fundingtype", "bf_renewalmonth"]
    )
    assert record["telephone1"] == "555-0100"
    assert (record["bf_fundingtype"], record["bf_renewalmonth"]) == (100000001, 100000002)
    contact_id = client.records.create(
        "contact",
        {
            "lastname": "Smith",
            "firstname": "Ann",
            "parentcustomerid_account@odata.bind": f"/accounts({account_id})",
        },
    )
    assert sandbox.records["contacts"][contact_id]["parentcustomerid"] == account_id


def test_bulk_create_and_query(client: DataverseClient) -> None:
    ids = client.records.create(
        "contact", [{"lastname": f"Bulk{i}", "emailaddress1": f"b{i}@example.com"} for i in range(25)]
    )
    assert len(ids) == 25
    pages = list(
        client.records.list_pages(
            "contact",
            filter="startswith(lastname,'bulk')",
            select=["fullname"],
            orderby=["lastname desc"],
            page_size=10,
        )
    )
    assert [len(page) for page in pages] == [10, 10, 5]
    assert pages[0][0]["fullname"] == "Bulk9"
    found = client.records.list("contact", filter="emailaddress1 eq 'B7@EXAMPLE.COM'", select=["lastname"])
    assert [r["lastname"] for r in found] == ["Bulk7"]


def test_upsert_by_alternate_key(client: DataverseClient, served: Any) -> None:
    client.records.upsert(
        "account", [{"alternate_key": {"bf_benefitflowid": "O'Neil-1"}, "record": {"name": "A"}}]
    )
    client.records.upsert(
        "account",
        [
            {"alternate_key": {"bf_benefitflowid": "O'Neil-1"}, "record": {"name": "B"}},
            {"alternate_key": {"bf_benefitflowid": "X-2"}, "record": {"name": "C"}},
        ],
    )
    assert sorted(r["name"] for r in served[0].records["accounts"].values()) == ["B", "C"]


def test_batch_change_set_rolls_back(client: DataverseClient, served: Any) -> None:
    batch = client.batch.new()
    with batch.changeset() as cs:
        lead = cs.records.create("lead", {"firstname": "Ada", "lastname": "Lovelace"})
        cs.records.create("account", {"name": "Babbage", "originatingleadid@odata.bind": lead})
    result = batch.execute()
    assert [r.status_code for r in result.responses] == [204, 204]
    failing = client.batch.new()
    with failing.changeset() as cs:
        cs.records.create("account", {"name": "kept?"})
        cs.records.create("account", {"name": "x" * 161})
    outcome = failing.execute()
    assert [r.status_code for r in outcome.responses] == [400]
    assert outcome.responses[0].error_code == "0x80044331"
    assert [r["name"] for r in served[0].records["accounts"].values()] == ["Babbage"]


def test_errors_surface_with_dataverse_codes(client: DataverseClient) -> None:
    with pytest.raises(HttpError) as too_long:
        client.records.create("account", {"name": "x" * 200})
    assert too_long.value.status_code == 400
    with pytest.raises(HttpError) as dup:
        client.records.create("account", {"name": "A", "bf_benefitflowid": "dup"})
        client.records.create("account", {"name": "B", "bf_benefitflowid": "dup"})
    assert dup.value.status_code == 412


def test_minimal_token_credential(served: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox, url, ca = served
    sandbox.reset()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    with DataverseClient(url, SandboxCredential(url, ca)) as dataverse:
        assert dataverse.records.create("lead", {"lastname": "Token"})
    assert [r["lastname"] for r in sandbox.records["leads"].values()] == ["Token"]


def test_load_2000_requests_concurrency_16() -> None:
    sandbox = DynamicsSandbox()
    with running(sandbox) as url:
        token = httpx.post(
            f"{url}/common/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "sandbox-client",
                "client_secret": "sandbox-secret",
                "scope": f"{url}/.default",
            },
        ).json()["access_token"]

        async def one(http: httpx.AsyncClient, i: int) -> int:
            kind = i % 4
            if kind == 0:
                r = await http.post(
                    f"{API}/accounts", json={"name": f"Load {i}", "bf_benefitflowid": f"L-{i}"}
                )
            elif kind == 1:
                r = await http.get(
                    f"{API}/accounts", params={"$filter": "startswith(name,'load')", "$top": "5"}
                )
            elif kind == 2:
                r = await http.patch(f"{API}/contacts(bf_benefitflowid='C-{i}')", json={"lastname": f"C{i}"})
            else:
                r = await http.post(
                    f"{API}/leads/Microsoft.Dynamics.CRM.CreateMultiple",
                    json={
                        "Targets": [{"@odata.type": "Microsoft.Dynamics.CRM.lead", "lastname": f"Lead {i}"}]
                    },
                )
            return r.status_code

        async def main() -> list[int]:
            headers = {"Authorization": f"Bearer {token}"}
            limits = httpx.Limits(max_connections=16)
            async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as http:
                gate = asyncio.Semaphore(16)

                async def guarded(i: int) -> int:
                    async with gate:
                        return await one(http, i)

                return await asyncio.gather(*(guarded(i) for i in range(2000)))

        statuses = asyncio.run(main())
    assert len(statuses) == 2000 and set(statuses) <= {200, 204}, sorted(set(statuses))
    assert [len(sandbox.records[s]) for s in ("accounts", "contacts", "leads")] == [500, 500, 500]


def test_dropped_connection_after_the_write() -> None:
    sandbox = DynamicsSandbox(faults="drop=1.0")
    token = sandbox.tokens.issue("integration@sandbox").value
    with running(sandbox) as url, pytest.raises(httpx.TransportError):
        httpx.post(
            f"{url}{API}/accounts",
            json={"name": "Lost"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    assert [r["name"] for r in sandbox.records["accounts"].values()] == ["Lost"]
    assert sandbox.requests[-1]["fault"] == "drop"


def test_cli_serves_dynamics_and_its_token_endpoint(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "sandbox", "serve", "dynamics", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"listening on http://127.0.0.1:{port}"
        r = httpx.post(
            f"http://127.0.0.1:{port}/common/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "sandbox-client",
                "client_secret": "sandbox-secret",
                "scope": f"http://127.0.0.1:{port}/.default",
            },
        )
        assert r.status_code == 200 and r.json()["token_type"] == "Bearer"
    finally:
        process.terminate()
        process.wait(timeout=10)

"""Zoho's own Python SDK (zohocrmsdk7_0) against the Zoho emulator over HTTP: the SDK refreshes its
token at the emulator's Zoho Accounts endpoint, reads field metadata, writes and reads records and
parses the emulator's answers and errors with Zoho's own models."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.sandbox.common import running
from engine.sandbox.zoho import ZohoSandbox

sdk = pytest.importorskip("zohocrmsdk.src.com.zoho.crm.api")
from zohocrmsdk.src.com.zoho.api.authenticator import OAuthToken  # noqa: E402
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.dc import DataCenter  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.record import (  # noqa: E402
    ActionWrapper,
    APIException,
    BodyWrapper,
    GetRecordsParam,
    Record,
    RecordOperations,
    ResponseWrapper,
    SuccessResponse,
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZohoSandbox]:
    emulator = ZohoSandbox()
    directory = tmp_path_factory.mktemp("zoho-sdk")
    with running(emulator) as url:
        environment = DataCenter.Environment(url, url + "/oauth/v2/token", url)
        token = OAuthToken(
            client_id="sandbox-client",
            client_secret="sandbox-secret",
            refresh_token="sandbox-refresh",
            find_user=False,
        )
        sdk.Initializer.initialize(
            environment=environment,
            token=token,
            store=FileStore(os.path.join(directory, "tokens.txt")),
            sdk_config=sdk.SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
            resource_path=str(Path(directory)),
        )
        yield emulator


def record(**fields: Any) -> Any:
    out = Record()
    for name, value in fields.items():
        out.add_key_value(name, value)
    return out


def create(module: str, *records: Any) -> list[Any]:
    body = BodyWrapper()
    body.set_data(list(records))
    answer = RecordOperations(module).create_records(body)
    assert isinstance(answer.get_object(), ActionWrapper), answer.get_object()
    return list(answer.get_object().get_data())


def test_sdk_refreshes_its_token_at_the_accounts_endpoint_and_creates(sandbox: ZohoSandbox) -> None:
    (result,) = create("Accounts", record(Account_Name="SDK Acme"))
    assert isinstance(result, SuccessResponse) and result.get_code().get_value() == "SUCCESS"
    created = result.get_details()["id"]
    assert sandbox.records["Accounts"][created]["Account_Name"] == "SDK Acme"
    paths = [e["path"] for e in sandbox.requests]
    assert paths[:1] == ["/oauth/v2/token"] and "/crm/v7/settings/fields" in paths


def test_sdk_parses_a_refused_record_as_zohos_api_exception(sandbox: ZohoSandbox) -> None:
    ok, refused = create("Contacts", record(Last_Name="Doe"), record(First_Name="No last name"))
    assert isinstance(ok, SuccessResponse)
    assert isinstance(refused, APIException)
    assert refused.get_code().get_value() == "MANDATORY_NOT_FOUND"
    assert refused.get_details()["api_name"] == "Last_Name"


def test_sdk_reads_records_with_fields_and_paging_info(sandbox: ZohoSandbox) -> None:
    create("Leads", record(Last_Name="Lead one", Company="c"), record(Last_Name="Lead two", Company="c"))
    params = sdk.ParameterMap()
    params.add(GetRecordsParam.fields, "Last_Name,Company")
    answer = RecordOperations("Leads").get_records(params).get_object()
    assert isinstance(answer, ResponseWrapper)
    assert sorted(r.get_key_value("Last_Name") for r in answer.get_data()) == ["Lead one", "Lead two"]
    assert answer.get_info().get_more_records() is False

"""Dynamics emulator, served over HTTP: every standard choice column has its option set, as Dataverse's
table reference lists them, and a value outside it is refused with 400 0x8004431A, on create, update,
upsert and in bulk actions; the table definitions give each choice column's options."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engine.sandbox.common import SandboxConfigError, running
from engine.sandbox.dynamics import DynamicsSandbox

API = "/api/data/v9.2"
CHOICE_TYPES = ("PicklistAttributeMetadata", "StateAttributeMetadata", "StatusAttributeMetadata")


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """A client of the served emulator, signed in through its Entra token endpoint."""
    with running(DynamicsSandbox()) as url:
        token = httpx.post(
            f"{url}/organizations/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "sandbox-client",
                "client_secret": "sandbox-secret",
                "scope": f"{url}/.default",
            },
        ).json()["access_token"]
        with httpx.Client(base_url=url + API, headers={"Authorization": f"Bearer {token}"}) as client:
            yield client


def options_of(http: httpx.Client, table: str, cast: str) -> dict[str, list[tuple[int, str]]]:
    r = http.get(
        f"EntityDefinitions(LogicalName='{table}')/Attributes/Microsoft.Dynamics.CRM.{cast}"
        "?$select=LogicalName&$expand=OptionSet"
    )
    assert r.status_code == 200, r.text
    return {
        a["LogicalName"]: [
            (o["Value"], o["Label"]["UserLocalizedLabel"]["Label"])
            for o in (a["OptionSet"] or {}).get("Options", [])
        ]
        for a in r.json()["value"]
    }


def assert_out_of_range(r: httpx.Response, value: int, column: str) -> None:
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"].casefold() == "0x8004431a"
    assert (
        f"The value {value} of '{column}'" in error["message"]
        and "outside the valid range" in error["message"]
    )


@pytest.mark.parametrize("table", ["account", "contact", "lead"])
def test_every_standard_choice_column_lists_its_options(http: httpx.Client, table: str) -> None:
    for cast in CHOICE_TYPES:
        empty = [name for name, options in options_of(http, table, cast).items() if not options]
        assert empty == [], f"{table} {cast}: no options for {empty}"


def test_the_documented_options_of_standard_choices(http: httpx.Client) -> None:
    account = options_of(http, "account", "PicklistAttributeMetadata")
    assert account["industrycode"][0] == (1, "Accounting") and account["industrycode"][-1] == (
        33,
        "Wholesale",
    )
    assert len(account["industrycode"]) == 33
    assert account["customertypecode"][4] == (5, "Partner")
    assert account["paymenttermscode"] == [(1, "Net 30"), (2, "2% 10, Net 30"), (3, "Net 45"), (4, "Net 60")]
    assert account["address1_shippingmethodcode"][0] == (1, "Airborne")
    contact = options_of(http, "contact", "PicklistAttributeMetadata")
    assert contact["gendercode"] == [(1, "Male"), (2, "Female")]
    assert contact["customertypecode"] == [(1, "Default Value")]
    lead = options_of(http, "lead", "PicklistAttributeMetadata")
    assert lead["leadqualitycode"] == [(1, "Hot"), (2, "Warm"), (3, "Cold")]
    assert lead["budgetstatus"][0] == (0, "No Committed Budget")


def created_account(http: httpx.Client, **values: Any) -> str:
    r = http.post("accounts", json={"name": "Choice Co", **values})
    assert r.status_code == 204, r.text
    return r.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def test_a_value_outside_a_standard_choice_is_refused(http: httpx.Client) -> None:
    assert_out_of_range(
        http.post("accounts", json={"name": "Bad", "industrycode": 999999}), 999999, "industrycode"
    )
    account = created_account(http, industrycode=20)
    assert_out_of_range(
        http.patch(f"accounts({account})", json={"customertypecode": 13}, headers={"If-Match": "*"}),
        13,
        "customertypecode",
    )
    assert_out_of_range(
        http.patch("accounts(bf_benefitflowid='choice-1')", json={"ownershipcode": 0}), 0, "ownershipcode"
    )
    assert_out_of_range(http.post("contacts", json={"lastname": "X", "gendercode": 3}), 3, "gendercode")
    assert_out_of_range(http.post("leads", json={"subject": "S", "leadqualitycode": 4}), 4, "leadqualitycode")
    bulk = {
        "Targets": [
            {"@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": account, "industrycode": 34}
        ]
    }
    assert_out_of_range(
        http.post("accounts/Microsoft.Dynamics.CRM.UpdateMultiple", json=bulk), 34, "industrycode"
    )
    assert http.get(f"accounts({account})?$select=industrycode").json()["industrycode"] == 20


def test_a_value_in_a_standard_choice_is_kept(http: httpx.Client) -> None:
    account = created_account(http, industrycode=33, customertypecode=12, preferredappointmentdaycode=0)
    row = http.get(f"accounts({account})?$select=industrycode,customertypecode,preferredappointmentdaycode")
    assert (row.json()["industrycode"], row.json()["customertypecode"]) == (33, 12)
    assert row.json()["preferredappointmentdaycode"] == 0


def test_an_extra_choice_column_needs_its_options() -> None:
    """A choice column the emulator would accept any integer in is refused when it is configured."""
    with pytest.raises(SandboxConfigError, match="needs its `options`"):
        DynamicsSandbox(extra_columns={"account": [{"logical": "bf_tier", "type": "Picklist"}]})

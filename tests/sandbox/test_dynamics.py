"""Dynamics emulator: every auth answer, write rule, limit and fault gives Dataverse's (or Entra's) own
status and body."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from engine.sandbox.common import AuthConfig, SandboxConfigError
from engine.sandbox.dynamics import DynamicsSandbox
from engine.sandbox.dynamics_auth import app_user

API = "/api/data/v9.2"
REP = {"Prefer": "return=representation"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(**options: Any) -> tuple[DynamicsSandbox, TestClient, dict[str, str]]:
    sandbox = DynamicsSandbox(**options)
    token = sandbox.tokens.issue(app_user("sandbox-client")).value
    return sandbox, TestClient(sandbox.app()), {"Authorization": f"Bearer {token}"}


@pytest.fixture
def dv() -> tuple[DynamicsSandbox, TestClient, dict[str, str]]:
    return client()


def create(c: TestClient, h: dict[str, str], entity_set: str, body: dict[str, Any]) -> str:
    r = c.post(f"{API}/{entity_set}", json=body, headers=h)
    assert r.status_code == 204, r.text
    return r.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def token_form(**fields: str) -> dict[str, str]:
    base = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}
    return {**base, **fields}


def assert_error(r: httpx.Response, status: int, code: str, text: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json; odata.metadata=minimal")
    assert set(r.json()) == {"error"} and set(r.json()["error"]) == {"code", "message"}
    assert r.json()["error"]["code"] == code
    assert text in r.json()["error"]["message"]


def assert_entra(r: httpx.Response, status: int, error: str, code: int) -> None:
    body = r.json()
    assert r.status_code == status
    assert set(body) == {
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
        "error_uri",
    }
    assert body["error"] == error and body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")


# ----- Microsoft Entra ID --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tenant", ["common", "organizations", "contoso.onmicrosoft.com", "8a2b6c1d-5e4f-4a3b-9c2d-1e0f0a0b0c0d"]
)
def test_client_credentials_answers_entra_v2_token(dv: Any, tenant: str) -> None:
    _, c, _ = dv
    r = c.post(
        f"/{tenant}/oauth2/v2.0/token",
        data=token_form(grant_type="client_credentials", scope="https://org.crm.dynamics.com/.default"),
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    whoami = c.get(f"{API}/WhoAmI", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert whoami.status_code == 200 and set(whoami.json()) >= {"UserId", "BusinessUnitId", "OrganizationId"}


def test_refresh_grant_returns_rotated_refresh_token_and_scope(dv: Any) -> None:
    _, c, _ = dv
    scope = "https://org.crm.dynamics.com/user_impersonation offline_access"
    r = c.post(
        "/common/oauth2/v2.0/token",
        data=token_form(grant_type="refresh_token", refresh_token="sandbox-refresh", scope=scope),
    )
    assert r.status_code == 200
    body = r.json()
    assert body["scope"] == "https://org.crm.dynamics.com/user_impersonation"
    assert body["refresh_token"] != "sandbox-refresh"
    again = c.post(
        "/common/oauth2/v2.0/token",
        data=token_form(grant_type="refresh_token", refresh_token=body["refresh_token"], scope=scope),
    )
    assert again.status_code == 200


def test_token_ttl_is_configurable() -> None:
    _, c, _ = client(token_ttl_s=60)
    r = c.post(
        "/common/oauth2/v2.0/token",
        data=token_form(grant_type="client_credentials", scope="https://x.crm.dynamics.com/.default"),
    )
    assert r.json()["expires_in"] == 60 and r.json()["ext_expires_in"] == 60


def test_bad_secret_is_invalid_client_aadsts7000215(dv: Any) -> None:
    _, c, _ = dv
    r = c.post(
        "/common/oauth2/v2.0/token",
        data=token_form(grant_type="client_credentials", client_secret="nope", scope="https://x/.default"),
    )
    assert_entra(r, 401, "invalid_client", 7000215)
    assert "Invalid client secret provided." in r.json()["error_description"]


@pytest.mark.parametrize(
    ("form", "status", "error", "code"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "other", "scope": "https://x/.default"},
            400,
            "unauthorized_client",
            700016,
        ),
        (
            {"grant_type": "client_credentials", "scope": "https://x/user_impersonation"},
            400,
            "invalid_scope",
            1002012,
        ),
        ({"grant_type": "client_credentials"}, 400, "invalid_request", 900144),
        ({"grant_type": "password", "scope": "https://x/.default"}, 400, "unsupported_grant_type", 70003),
        (
            {"grant_type": "refresh_token", "refresh_token": "unknown", "scope": "https://x/.default"},
            400,
            "invalid_grant",
            9002313,
        ),
    ],
)
def test_other_token_refusals(dv: Any, form: dict[str, str], status: int, error: str, code: int) -> None:
    _, c, _ = dv
    assert_entra(c.post("/common/oauth2/v2.0/token", data=token_form(**form)), status, error, code)


def test_unknown_tenant_is_aadsts90002(dv: Any) -> None:
    _, c, _ = dv
    r = c.post(
        "/not_a_tenant/oauth2/v2.0/token",
        data=token_form(grant_type="client_credentials", scope="x/.default"),
    )
    assert_entra(r, 400, "invalid_request", 90002)


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"auth": AuthConfig(inactive_users={"integration@sandbox"})}, 50057),
        ({"revoked_refresh_tokens": {"sandbox-refresh"}}, 50173),
        ({"expired_refresh_tokens": {"sandbox-refresh"}}, 700082),
    ],
)
def test_refresh_refusals_are_invalid_grant(options: dict[str, Any], code: int) -> None:
    _, c, _ = client(**options)
    r = c.post(
        "/common/oauth2/v2.0/token",
        data=token_form(
            grant_type="refresh_token", refresh_token="sandbox-refresh", scope="https://x/user_impersonation"
        ),
    )
    assert_entra(r, 400, "invalid_grant", code)


@pytest.mark.parametrize("header", [None, "Bearer unknown", "Basic abc"])
def test_missing_or_unknown_token_is_401_with_bearer_challenge(dv: Any, header: str | None) -> None:
    sandbox, c, _ = dv
    r = c.get(f"{API}/accounts", headers={"Authorization": header} if header else {})
    assert r.status_code == 401 and r.content == b""
    assert r.headers["WWW-Authenticate"] == (
        f"Bearer authorization_uri=http://testserver/{sandbox.tenant_id}/oauth2/authorize, "
        "resource_id=http://testserver/"
    )


def test_expired_token_is_401() -> None:
    clock = FakeClock()
    sandbox, c, h = client(clock=clock, token_ttl_s=60)
    assert c.get(f"{API}/accounts", headers=h).status_code == 200
    clock.now += 61
    r = c.get(f"{API}/accounts", headers=h)
    assert r.status_code == 401 and "authorization_uri=" in r.headers["WWW-Authenticate"]


def test_expire_every_fault_expires_tokens() -> None:
    _, c, h = client(faults="expire_every=2")
    assert c.get(f"{API}/accounts", headers=h).status_code == 200
    assert c.get(f"{API}/accounts", headers=h).status_code == 401


def test_disabled_application_user_is_403_0x80040225() -> None:
    sandbox, c, h = client(application_user_disabled=True)
    r = c.get(f"{API}/accounts", headers=h)
    assert_error(r, 403, "0x80040225", f"The user with SystemUserId={sandbox.user_id}")
    delegated = sandbox.tokens.issue("integration@sandbox").value
    assert c.get(f"{API}/accounts", headers={"Authorization": f"Bearer {delegated}"}).status_code == 200


# ----- writes --------------------------------------------------------------------------------------


def test_string_longer_than_max_length_is_0x80044331(dv: Any) -> None:
    _, c, h = dv
    r = c.post(f"{API}/accounts", json={"name": "x" * 161}, headers=h)
    assert_error(
        r,
        400,
        "0x80044331",
        "The length of the 'name' attribute of the 'account' entity exceeded the "
        "maximum allowed length of '160'.",
    )
    assert c.post(f"{API}/accounts", json={"bf_benefitflowid": "b" * 65}, headers=h).json()["error"][
        "code"
    ] == ("0x80044331")


def test_choice_outside_option_set_is_0x8004431a(dv: Any) -> None:
    _, c, h = dv
    r = c.post(f"{API}/accounts", json={"bf_fundingtype": 5}, headers=h)
    assert_error(
        r,
        400,
        "0x8004431a",
        "The value 5 of 'bf_fundingtype' on record of type 'account' is outside the "
        "valid range. Accepted Values: 100000000,100000001,100000002",
    )


def test_choice_label_instead_of_integer_is_odata_type_error(dv: Any) -> None:
    _, c, h = dv
    r = c.post(f"{API}/accounts", json={"bf_fundingtype": "Self-Funded"}, headers=h)
    assert_error(
        r, 400, "0x80048d19", "Cannot convert the literal 'Self-Funded' to the expected type 'Edm.Int32'."
    )
    assert r.json()["error"]["message"].startswith(
        "Error identified in Payload provided by the user for Entity :'accounts'"
    )
    numeric = c.post(f"{API}/accounts", json={"bf_renewalmonth": "100000011"}, headers={**h, **REP})
    assert numeric.status_code == 201 and numeric.json()["bf_renewalmonth"] == 100000011


def test_unknown_property_is_0x80048d19(dv: Any) -> None:
    _, c, h = dv
    r = c.post(f"{API}/accounts", json={"Name": "Acme"}, headers=h)
    assert_error(
        r, 400, "0x80048d19", "The property 'Name' does not exist on type 'Microsoft.Dynamics.CRM.account'."
    )


def test_unknown_property_in_legacy_payload_style() -> None:
    _, c, h = client(payload_style="legacy")
    r = c.post(f"{API}/accounts", json={"Name": "Acme"}, headers=h)
    assert_error(
        r, 400, "0x0", "Invalid property 'Name' was found in entity 'Microsoft.Dynamics.CRM.account'."
    )


def test_read_only_columns_are_ignored_and_lookup_values_refused(dv: Any) -> None:
    _, c, h = dv
    r = c.post(
        f"{API}/accounts", json={"name": "A", "createdon": "2001-01-01T00:00:00Z"}, headers={**h, **REP}
    )
    assert r.status_code == 201 and r.json()["createdon"] != "2001-01-01T00:00:00Z"
    written = c.post(f"{API}/accounts", json={"_parentaccountid_value": r.json()["accountid"]}, headers=h)
    assert_error(
        written, 400, "0x80060888", "CRM do not support direct update of Entity Reference properties"
    )


def test_system_required_column_cannot_be_null() -> None:
    extra = {
        "account": [
            {"logical": "bf_region", "type": "String", "max_length": 20, "required": "SystemRequired"}
        ]
    }
    _, c, h = client(extra_columns=extra)
    assert_error(
        c.post(f"{API}/accounts", json={"name": "A"}, headers=h),
        400,
        "0x80040203",
        "Attribute 'bf_region' cannot be NULL",
    )
    assert c.post(f"{API}/accounts", json={"name": "A", "bf_region": "West"}, headers=h).status_code == 204
    assert_error(
        c.post(f"{API}/accounts", json={"statecode": None, "bf_region": "W"}, headers=h),
        400,
        "0x80040203",
        "Attribute 'statecode' cannot be NULL",
    )


def test_alternate_key_taken_is_412_0x80060892(dv: Any) -> None:
    _, c, h = dv
    create(c, h, "accounts", {"name": "A", "bf_benefitflowid": "BF-1"})
    r = c.post(f"{API}/accounts", json={"name": "B", "bf_benefitflowid": "bf-1"}, headers=h)
    assert_error(
        r,
        412,
        "0x80060892",
        "Entity Key bf_benefitflowid_key violated. A record with the same value for "
        "bf_benefitflowid already exists.",
    )


def test_existing_primary_key_is_412_0x80040237(dv: Any) -> None:
    _, c, h = dv
    account_id = create(c, h, "accounts", {"name": "A"})
    assert_error(
        c.post(f"{API}/accounts", json={"accountid": account_id}, headers=h),
        412,
        "0x80040237",
        "A record with matching key values already exists.",
    )


def test_duplicate_detection_only_when_requested(dv: Any) -> None:
    _, c, h = dv
    create(c, h, "contacts", {"lastname": "A", "emailaddress1": "ann@example.com"})
    detect = {**h, "MSCRM.SuppressDuplicateDetection": "false"}
    r = c.post(f"{API}/contacts", json={"lastname": "B", "emailaddress1": "ANN@example.com"}, headers=detect)
    assert_error(
        r,
        500,
        "0x80040333",
        "A record was not created or updated because a duplicate of the current record already exists.",
    )
    assert (
        c.post(
            f"{API}/contacts", json={"lastname": "B", "emailaddress1": "ann@example.com"}, headers=h
        ).status_code
        == 204
    )
    create(c, h, "accounts", {"name": "Acme", "websiteurl": "https://acme.example"})
    same_site = c.post(
        f"{API}/accounts", json={"name": "Other", "websiteurl": "https://ACME.example"}, headers=detect
    )
    assert same_site.status_code == 500


def test_duplicate_rules_can_be_switched_off() -> None:
    _, c, h = client(duplicate_rules={})
    detect = {**h, "MSCRM.SuppressDuplicateDetection": "false"}
    create(c, h, "accounts", {"name": "Acme"})
    assert c.post(f"{API}/accounts", json={"name": "Acme"}, headers=detect).status_code == 204


def test_bind_to_missing_record_is_404(dv: Any) -> None:
    _, c, h = dv
    r = c.post(
        f"{API}/contacts",
        json={
            "lastname": "A",
            "parentcustomerid_account@odata.bind": "/accounts(00000000-0000-0000-0000-000000000001)",
        },
        headers=h,
    )
    assert_error(
        r, 404, "0x80040217", "account With Id = 00000000-0000-0000-0000-000000000001 Does Not Exist"
    )


def test_bind_through_undeclared_navigation_property(dv: Any) -> None:
    _, c, h = dv
    account_id = create(c, h, "accounts", {"name": "A"})
    r = c.post(f"{API}/contacts", json={"parentcustomerid@odata.bind": f"accounts({account_id})"}, headers=h)
    assert_error(
        r,
        400,
        "0x80048d19",
        "An undeclared property 'parentcustomerid' which only has property "
        "annotations in the payload but no property value was found in the payload.",
    )


def test_binds_read_back_as_lookup_values(dv: Any) -> None:
    sandbox, c, h = dv
    parent = create(c, h, "accounts", {"name": "Parent", "bf_benefitflowid": "P-1"})
    child = create(
        c, h, "accounts", {"name": "Child", "parentaccountid@odata.bind": "/accounts(bf_benefitflowid='P-1')"}
    )
    lead = create(
        c,
        h,
        "leads",
        {"lastname": "L", "parentaccountid@odata.bind": f"{sandbox.base_url}{API}/accounts({parent})"},
    )
    contact = create(
        c, h, "contacts", {"lastname": "C", "parentcustomerid_account@odata.bind": f"/accounts({parent})"}
    )
    for entity_set, record_id, prop in [
        ("accounts", child, "_parentaccountid_value"),
        ("leads", lead, "_parentaccountid_value"),
        ("contacts", contact, "_parentcustomerid_value"),
    ]:
        r = c.get(f"{API}/{entity_set}({record_id})?$select={prop}", headers=h)
        assert r.json()[prop] == parent
    cleared = c.patch(
        f"{API}/accounts({child})", json={"parentaccountid@odata.bind": None}, headers={**h, **REP}
    )
    assert cleared.json()["_parentaccountid_value"] is None


def test_delete_cascades_to_contacts_and_removes_links(dv: Any) -> None:
    sandbox, c, h = dv
    parent = create(c, h, "accounts", {"name": "Parent"})
    create(c, h, "contacts", {"lastname": "C", "parentcustomerid_account@odata.bind": f"/accounts({parent})"})
    lead = create(c, h, "leads", {"lastname": "L", "parentaccountid@odata.bind": f"/accounts({parent})"})
    assert c.delete(f"{API}/accounts({parent})", headers=h).status_code == 204
    assert sandbox.records["contacts"] == {}
    assert sandbox.records["leads"][lead]["parentaccountid"] is None
    assert_error(c.delete(f"{API}/accounts({parent})", headers=h), 404, "0x80040217", "Does Not Exist")


def test_patch_with_if_match_never_creates(dv: Any) -> None:
    _, c, h = dv
    missing = "11111111-2222-3333-4444-555555555555"
    r = c.patch(f"{API}/accounts({missing})", json={"name": "A"}, headers={**h, "If-Match": "*"})
    assert_error(r, 404, "0x80040217", f"account With Id = {missing} Does Not Exist")
    keyed = c.patch(
        f"{API}/accounts(bf_benefitflowid='X')", json={"name": "A"}, headers={**h, "If-Match": "*"}
    )
    assert_error(
        keyed, 404, "0x80040217", "A record with the specified key values does not exist in account entity"
    )


def test_patch_with_if_none_match_never_updates(dv: Any) -> None:
    _, c, h = dv
    create(c, h, "accounts", {"name": "A", "bf_benefitflowid": "K"})
    r = c.patch(
        f"{API}/accounts(bf_benefitflowid='K')", json={"name": "B"}, headers={**h, "If-None-Match": "*"}
    )
    assert_error(r, 412, "", "A record with matching key values already exists.")
    created = c.patch(
        f"{API}/accounts(bf_benefitflowid='N')", json={"name": "B"}, headers={**h, "If-None-Match": "*"}
    )
    assert created.status_code == 204


def test_upsert_key_literal_with_doubled_quote(dv: Any) -> None:
    sandbox, c, h = dv
    r = c.patch(
        f"{API}/accounts(bf_benefitflowid='O''Brien-1')", json={"name": "O'Brien"}, headers={**h, **REP}
    )
    assert r.status_code == 201 and r.json()["bf_benefitflowid"] == "O'Brien-1"
    again = c.patch(
        f"{API}/accounts(bf_benefitflowid='O''Brien-1')", json={"name": "B"}, headers={**h, **REP}
    )
    assert again.status_code == 200 and len(sandbox.records["accounts"]) == 1
    broken = c.patch(f"{API}/accounts(bf_benefitflowid='O'Brien-1')", json={"name": "B"}, headers=h)
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "0x80060888"


def test_upsert_entity_id_names_the_key_or_the_guid() -> None:
    for form, expected in (("key", "(bf_benefitflowid='K1')"), ("guid", None)):
        sandbox, c, h = client(upsert_entity_id=form)
        r = c.patch(f"{API}/accounts(bf_benefitflowid='K1')", json={"name": "A"}, headers=h)
        record_id = next(iter(sandbox.records["accounts"]))
        assert r.headers["OData-EntityId"].endswith(expected or f"({record_id})")


def test_bulk_create_is_all_or_nothing(dv: Any) -> None:
    sandbox, c, h = dv
    targets = [
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "ok"},
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "x" * 200},
    ]
    r = c.post(f"{API}/accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets}, headers=h)
    assert_error(r, 400, "0x80044331", "exceeded the maximum allowed length of '160'")
    assert sandbox.records["accounts"] == {}


def test_update_multiple_needs_the_id_and_rolls_back(dv: Any) -> None:
    sandbox, c, h = dv
    first = create(c, h, "accounts", {"name": "A"})
    targets = [
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": first, "name": "changed"},
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "no id"},
    ]
    r = c.post(f"{API}/accounts/Microsoft.Dynamics.CRM.UpdateMultiple", json={"Targets": targets}, headers=h)
    assert_error(r, 400, "0x80040203", "Entity Id must be specified for Update")
    assert sandbox.records["accounts"][first]["name"] == "A"


def test_upsert_multiple_creates_and_updates_by_alternate_key(dv: Any) -> None:
    sandbox, c, h = dv
    create(c, h, "accounts", {"name": "Old", "bf_benefitflowid": "U1"})
    targets = [
        {
            "@odata.type": "Microsoft.Dynamics.CRM.account",
            "@odata.id": "accounts(bf_benefitflowid='U1')",
            "name": "New",
        },
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "bf_benefitflowid": "U2", "name": "Second"},
    ]
    r = c.post(f"{API}/accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": targets}, headers=h)
    assert r.status_code == 200 and [x["RecordCreated"] for x in r.json()["Results"]] == [False, True]
    assert sorted(row["name"] for row in sandbox.records["accounts"].values()) == ["New", "Second"]


# ----- reads, limits, faults ------------------------------------------------------------------------


def test_unknown_select_property_and_entity_set(dv: Any) -> None:
    _, c, h = dv
    assert_error(
        c.get(f"{API}/accounts?$select=Name", headers=h),
        400,
        "0x80060888",
        "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'.",
    )
    assert_error(
        c.get(f"{API}/Account", headers=h), 404, "0x8006088a", "Resource not found for the segment 'Account'."
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("$top=x", "Invalid value 'x' for $top query option found."),
        ("$skip=10", "The query parameter $skip is not supported"),
        ("$foo=1", "The query parameter '$foo' is not supported."),
        ("$top=1&$top=2", "Query option '$top' was specified more than once"),
        ("$count=maybe", "'maybe' is not a valid count option."),
    ],
)
def test_bad_query_options(dv: Any, query: str, message: str) -> None:
    _, c, h = dv
    assert_error(c.get(f"{API}/accounts?{query}", headers=h), 400, "0x80060888", message)


def test_url_longer_than_limit_is_414(dv: Any) -> None:
    _, c, h = dv
    r = c.get(f"{API}/accounts?$filter=name eq '{'a' * 33_000}'", headers=h)
    assert r.status_code == 414 and "HTTP Error 414. The request URL is too long." in r.text


def test_versions_9_0_and_9_1_are_served(dv: Any) -> None:
    _, c, h = dv
    for version in ("v9.0", "v9.1"):
        assert c.get(f"/api/data/{version}/accounts", headers=h).status_code == 200
    assert c.get("/api/data/v8.2/accounts", headers=h).status_code == 404


def test_request_limit_is_429_0x80072322_with_retry_after() -> None:
    _, c, h = client(requests_per_window=3)
    remaining = [
        c.get(f"{API}/accounts", headers=h).headers["x-ms-ratelimit-burst-remaining-xrm-requests"]
        for _ in range(3)
    ]
    assert remaining == ["2", "1", "0"]
    r = c.get(f"{API}/accounts", headers=h)
    assert_error(
        r, 429, "0x80072322", "Number of requests exceeded the limit of 3 over time window of 300 seconds."
    )
    assert int(r.headers["Retry-After"]) >= 1


def test_execution_time_limit_is_429_0x80072321() -> None:
    _, c, h = client(execution_time_limit_s=0.0)
    first = c.get(f"{API}/accounts", headers=h)
    assert first.headers["x-ms-ratelimit-time-remaining-xrm-requests"] == "0.00"
    assert_error(
        c.get(f"{API}/accounts", headers=h),
        429,
        "0x80072321",
        "Combined execution time of incoming requests exceeded limit of 0  milliseconds",
    )


def test_concurrency_limit_is_429_0x80072326() -> None:
    sandbox, _, h = client(concurrency_limit=2, latency_ms=200)

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=sandbox.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as ac:
            return await asyncio.gather(*(ac.get(f"{API}/accounts", headers=h) for _ in range(5)))

    responses = asyncio.run(burst())
    assert sorted(r.status_code for r in responses) == [200, 200, 429, 429, 429]
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"] == {
        "code": "0x80072326",
        "message": "Number of concurrent requests exceeded the limit of 2.",
    }


def test_injected_5xx_uses_dataverse_error_body() -> None:
    _, c, h = client(faults="5xx=1.0")
    assert_error(c.get(f"{API}/accounts", headers=h), 503, "0x80040216", "An unexpected error occurred.")
    assert (
        c.post(
            "/common/oauth2/v2.0/token",
            data=token_form(grant_type="client_credentials", scope="https://x/.default"),
        ).status_code
        == 200
    )


# ----- inspection, seeding, the record page ---------------------------------------------------------


def test_sandbox_records_are_flat_rows_under_entity_set_names(dv: Any) -> None:
    _, c, h = dv
    account_id = create(c, h, "accounts", {"name": "Acme", "bf_fundingtype": 100000000})
    rows = c.get("/_sandbox/records").json()
    assert set(rows) == {"accounts", "contacts", "leads"}
    assert (
        rows["accounts"][0]["accountid"] == account_id and rows["accounts"][0]["bf_fundingtype"] == 100000000
    )
    assert c.get("/_sandbox/requests").json()[0]["path"] == f"{API}/accounts"


def test_seed_from_json_file(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "accounts": [
                    {
                        "accountid": "AAAAAAAA-0000-4000-8000-000000000001",
                        "name": "Seeded",
                        "bf_benefitflowid": "S-1",
                    }
                ],
                "contacts": [
                    {"lastname": "C", "_parentcustomerid_value": "aaaaaaaa-0000-4000-8000-000000000001"}
                ],
            }
        )
    )
    sandbox, c, h = client(seed=str(seed))
    r = c.get(f"{API}/contacts?$select=fullname,_parentcustomerid_value", headers=h)
    assert r.json()["value"][0]["_parentcustomerid_value"] == "aaaaaaaa-0000-4000-8000-000000000001"
    c.post("/_sandbox/reset")
    assert len(sandbox.records["accounts"]) == 1
    with pytest.raises(SandboxConfigError, match="no column 'nope'"):
        DynamicsSandbox(seed={"accounts": [{"nope": 1}]})


def test_record_page_shows_the_record(dv: Any) -> None:
    sandbox, c, h = dv
    account_id = create(c, h, "accounts", {"name": "Acme <Benefits>"})
    r = c.get(f"/main.aspx?appid=x&pagetype=entityrecord&etn=account&id=%7B{account_id.upper()}%7D")
    assert r.status_code == 200 and "Acme &lt;Benefits&gt;" in r.text
    assert c.get("/main.aspx?pagetype=entityrecord&etn=account&id=nope").status_code == 404
    assert sandbox.record_url("accounts", account_id).endswith(f"etn=account&id={account_id}")


def test_key_that_is_not_an_alternate_key(dv: Any) -> None:
    _, c, h = dv
    r = c.get(f"{API}/accounts(name='Acme')", headers=h)
    assert_error(
        r,
        400,
        "0x80060888",
        "The key in the request URI is not valid for resource "
        "'Microsoft.Dynamics.CRM.account'. Ensure that the names and number of key properties match",
    )
    by_primary = c.get(f"{API}/accounts(accountid=00000000-0000-0000-0000-000000000009)", headers=h)
    assert by_primary.status_code == 404

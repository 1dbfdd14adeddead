"""Salesforce emulator: every rule and fault answers with Salesforce's own status and body."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from engine.sandbox.common import AuthConfig, SandboxConfigError
from engine.sandbox.salesforce import SalesforceSandbox

V = "/services/data/v59.0"
OAUTH = {"client_id": "sandbox-client", "client_secret": "sandbox-secret", "refresh_token": "sandbox-refresh"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Org:
    """A TestClient on a sandbox with a real token from its token endpoint."""

    def __init__(self, **options: Any) -> None:
        self.sandbox = SalesforceSandbox(**options)
        self.client = TestClient(self.sandbox.app())
        token = self.client.post("/services/oauth2/token", data={"grant_type": "refresh_token", **OAUTH})
        assert token.status_code == 200, token.text
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(V + path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return self.client.post(V + path, json=body, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def patch(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return self.client.patch(V + path, json=body, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.delete(V + path, headers=self.headers, **kw)

    def create(self, object_name: str, **fields: Any) -> str:
        r = self.post(f"/sobjects/{object_name}", fields)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def query(self, soql: str, **kw: Any) -> httpx.Response:
        return self.get("/query", params={"q": soql}, **kw)


def only_error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body, list) and len(body) == 1
    return dict(body[0])


@pytest.fixture
def org() -> Org:
    return Org()


# ----- auth ------------------------------------------------------------------------------------


def test_refresh_token_grant_answers_salesforce_token_json(org: Org) -> None:
    r = org.client.post("/services/oauth2/token", data={"grant_type": "refresh_token", **OAUTH})
    body = r.json()
    assert set(body) == {
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    }
    assert body["instance_url"] == org.sandbox.base_url and body["token_type"] == "Bearer"
    assert body["id"].startswith(f"{org.sandbox.base_url}/id/00D") and body["issued_at"].isdigit()
    assert org.get("/sobjects").status_code == 200


def test_client_credentials_in_body_or_http_basic(org: Org) -> None:
    in_body = org.client.post(
        "/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
        },
    )
    basic = org.client.post(
        "/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=("sandbox-client", "sandbox-secret"),
    )
    for r in (in_body, basic):
        assert r.status_code == 200 and r.json()["scope"] == "api" and "refresh_token" not in r.json()


@pytest.mark.parametrize(
    ("form", "error", "description"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type", "grant type not supported"),
        (
            {"grant_type": "refresh_token", **OAUTH, "client_id": "x"},
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            {"grant_type": "refresh_token", **OAUTH, "client_secret": "x"},
            "invalid_client",
            "invalid client credentials",
        ),
        (
            {"grant_type": "refresh_token", **OAUTH, "refresh_token": "x"},
            "invalid_grant",
            "expired access/refresh token",
        ),
    ],
)
def test_token_endpoint_errors(org: Org, form: dict[str, str], error: str, description: str) -> None:
    r = org.client.post("/services/oauth2/token", data=form)
    assert r.status_code == 400 and r.json() == {"error": error, "error_description": description}


def test_refresh_for_inactive_user_is_invalid_grant_inactive_user() -> None:
    sb = SalesforceSandbox(auth=AuthConfig(inactive_users={"integration@sandbox"}))
    r = TestClient(sb.app()).post("/services/oauth2/token", data={"grant_type": "refresh_token", **OAUTH})
    assert r.status_code == 400 and r.json() == {
        "error": "invalid_grant",
        "error_description": "inactive user",
    }


def test_expired_or_unknown_token_is_401_invalid_session_id() -> None:
    clock = FakeClock()
    org = Org(clock=clock, token_ttl_s=60)
    assert org.get("/sobjects/Account/describe").status_code == 200
    clock.now += 61
    expired = org.get("/sobjects/Account/describe")
    unknown = org.client.get(V + "/sobjects", headers={"Authorization": "Bearer nope"})
    for r in (expired, unknown):
        assert r.status_code == 401
        assert r.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_expire_every_fault_expires_the_session() -> None:
    org = Org(faults="expire_every=2")
    assert org.get("/limits").status_code == 200
    assert only_error(org.get("/limits"), 401)["errorCode"] == "INVALID_SESSION_ID"


def test_api_disabled_for_org_is_403() -> None:
    org = Org(api_enabled=False)
    error = only_error(org.get("/sobjects/Account/describe"), 403)
    assert error == {
        "message": "The REST API is not enabled for this Organization.",
        "errorCode": "API_DISABLED_FOR_ORG",
    }


# ----- limits -------------------------------------------------------------------------------------


def test_daily_allocation_header_limits_and_403_when_spent() -> None:
    org = Org(daily_api_requests=3)
    first = org.get("/sobjects")
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/3"
    limits = org.get("/limits").json()
    assert limits["DailyApiRequests"] == {"Max": 3, "Remaining": 1}
    assert org.get("/sobjects").status_code == 200
    refused = org.get("/sobjects")
    assert only_error(refused, 403) == {
        "message": "TotalRequests Limit exceeded.",
        "errorCode": "REQUEST_LIMIT_EXCEEDED",
    }
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=3/3"


def test_concurrent_long_running_requests_over_the_limit_are_refused() -> None:
    clock = FakeClock()
    sb = SalesforceSandbox(clock=clock, latency_ms=300, concurrent_long_requests=1, long_request_s=20)
    token = sb.tokens.issue("integration@sandbox").value
    headers = {"Authorization": f"Bearer {token}"}

    async def main() -> tuple[int, httpx.Response]:
        transport = httpx.ASGITransport(app=sb.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://sf") as client:
            slow = asyncio.create_task(client.get(V + "/limits", headers=headers))
            await asyncio.sleep(0.05)  # the first call is now running (inside its latency)
            clock.now += 25  # ... and has been for 25 s
            second = await client.get(V + "/limits", headers=headers)
            return (await slow).status_code, second

    first_status, second = asyncio.run(main())
    assert first_status == 200
    assert only_error(second, 403) == {
        "message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
        "errorCode": "REQUEST_LIMIT_EXCEEDED",
    }


def test_injected_5xx_uses_salesforce_503_body() -> None:
    sb = SalesforceSandbox(faults="5xx=1.0")
    c = TestClient(sb.app())
    token = c.post("/services/oauth2/token", data={"grant_type": "refresh_token", **OAUTH})
    assert token.status_code == 200  # the token endpoint is exempt from faults
    r = c.get(V + "/sobjects", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert r.status_code == 503 and r.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sb.requests[-1]["fault"] == "5xx"


# ----- versions and routing ----------------------------------------------------------------------


def test_versions_are_public_and_unknown_version_is_404(org: Org) -> None:
    versions = org.client.get("/services/data/").json()
    assert versions[0]["version"] == "31.0" and versions[-1]["version"] == "64.0"
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    r = org.client.get("/services/data/v99.0/sobjects", headers=org.headers)
    assert only_error(r, 404) == {
        "errorCode": "NOT_FOUND",
        "message": "The requested resource does not exist",
    }


def test_trailing_slash_variants_simple_salesforce_uses(org: Org) -> None:
    assert org.post("/sobjects/Account/", {"Name": "Slash"}).status_code == 201
    assert org.get("/query/", params={"q": "SELECT Name FROM Account"}).json()["totalSize"] == 1
    assert org.get("/sobjects/").status_code == 200


def test_wrong_method_is_405(org: Org) -> None:
    r = org.client.put(V + "/sobjects/Account", headers=org.headers, json={})
    assert only_error(r, 405)["errorCode"] == "METHOD_NOT_ALLOWED"


# ----- field rules ---------------------------------------------------------------------------------


def test_restricted_picklist(org: Org) -> None:
    r = org.post("/sobjects/Account", {"Name": "A", "Funding_Type__c": "Partially Insured"})
    assert only_error(r, 400) == {
        "message": "Funding Type: bad value for restricted picklist field: Partially Insured",
        "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "fields": ["Funding_Type__c"],
    }
    assert org.post("/sobjects/Account", {"Name": "A", "Renewal_Month__c": "March"}).status_code == 201


def test_unrestricted_standard_picklist_takes_new_values(org: Org) -> None:
    assert org.post("/sobjects/Account", {"Name": "A", "Industry": "Employee Benefits"}).status_code == 201


def test_string_too_long(org: Org) -> None:
    r = org.post("/sobjects/Contact", {"LastName": "L", "FirstName": "x" * 41})
    assert only_error(r, 400) == {
        "message": f"First Name: data value too large: {'x' * 41} (max length=40)",
        "errorCode": "STRING_TOO_LONG",
        "fields": ["FirstName"],
    }


def test_required_fields_missing(org: Org) -> None:
    r = org.post("/sobjects/Lead", {"FirstName": "F"})
    assert only_error(r, 400) == {
        "message": "Required fields are missing: [LastName, Company]",
        "errorCode": "REQUIRED_FIELD_MISSING",
        "fields": ["LastName", "Company"],
    }


def test_lead_status_is_defaulted(org: Org) -> None:
    lead = org.create("Lead", LastName="L", Company="C")
    assert org.get(f"/sobjects/Lead/{lead}").json()["Status"] == "Open - Not Contacted"


def test_read_only_field(org: Org) -> None:
    r = org.post("/sobjects/Account", {"Name": "A", "CreatedDate": "2024-01-01T00:00:00.000+0000"})
    error = only_error(r, 400)
    assert error["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE" and error["fields"] == ["CreatedDate"]
    assert error["message"].startswith("Unable to create/update fields: CreatedDate.")


def test_unknown_field_fails_the_request(org: Org) -> None:
    r = org.post("/sobjects/Account", {"Name": "A", "Funding__c": "x"})
    assert only_error(r, 400) == {
        "message": "No such column 'Funding__c' on sobject of type Account",
        "errorCode": "INVALID_FIELD",
    }


def test_invalid_email(org: Org) -> None:
    r = org.post("/sobjects/Contact", {"LastName": "L", "Email": "ann at acme.com"})
    assert only_error(r, 400) == {
        "message": "Email: invalid email address: ann at acme.com",
        "errorCode": "INVALID_EMAIL_ADDRESS",
        "fields": ["Email"],
    }


def test_wrong_type_and_bad_json(org: Org) -> None:
    r = org.post("/sobjects/Account", {"Name": "A", "NumberOfEmployees": "many"})
    assert only_error(r, 400)["errorCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    bad = org.client.post(V + "/sobjects/Account", content=b"{'Name': 1}", headers=org.headers)
    assert only_error(bad, 400)["errorCode"] == "JSON_PARSER_ERROR"


def test_duplicate_external_id_is_duplicate_value_case_insensitively(org: Org) -> None:
    first = org.create("Account", Name="A", BenefitFlow_Id__c="EMP-1")
    r = org.post("/sobjects/Account", {"Name": "B", "BenefitFlow_Id__c": "emp-1"})
    assert only_error(r, 400) == {
        "message": f"duplicate value found: BenefitFlow_Id__c duplicates value on record with id: {first}",
        "errorCode": "DUPLICATE_VALUE",
        "fields": [],
    }


def test_lookup_errors(org: Org) -> None:
    account = org.create("Account", Name="A")
    contact = org.create("Contact", LastName="L", AccountId=account)
    malformed = org.post("/sobjects/Contact", {"LastName": "L", "AccountId": "not-an-id"})
    assert only_error(malformed, 400)["errorCode"] == "MALFORMED_ID"
    wrong_type = org.post("/sobjects/Contact", {"LastName": "L", "AccountId": contact})
    assert only_error(wrong_type, 400) == {
        "message": f"Account ID: id value of incorrect type: {contact}",
        "errorCode": "FIELD_INTEGRITY_EXCEPTION",
        "fields": ["AccountId"],
    }
    missing = org.post("/sobjects/Account", {"Name": "Child", "ParentId": "0015g00000ZZZZZAAA"})
    assert only_error(missing, 400)["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_parent_by_external_id_in_the_body(org: Org) -> None:
    parent = org.create("Account", Name="Broker", BenefitFlow_Id__c="BRK-1")
    child = org.create("Account", Name="Office", Parent={"BenefitFlow_Id__c": "BRK-1"})
    assert org.get(f"/sobjects/Account/{child}").json()["ParentId"] == parent
    r = org.post("/sobjects/Contact", {"LastName": "L", "Account": {"BenefitFlow_Id__c": "NOPE"}})
    assert only_error(r, 400)["message"] == (
        "Foreign key external ID: NOPE not found for field BenefitFlow_Id__c in entity Account"
    )


# ----- duplicate rules ------------------------------------------------------------------------------


def test_standard_duplicate_rule_blocks_api_create_until_allow_save(org: Org) -> None:
    first = org.create("Contact", LastName="Ann", Email="ann@acme.com")
    r = org.post("/sobjects/Contact", {"LastName": "Other", "Email": "ANN@acme.com"})
    error = only_error(r, 400)
    assert error["errorCode"] == "DUPLICATES_DETECTED" and error["message"] == "Use one of these records?"
    result = error["duplicateResult"]
    assert result["allowSave"] is True and result["duplicateRule"] == "Standard_Contact_Duplicate_Rule"
    assert result["matchResults"][0]["matchRecords"][0]["record"]["Id"] == first
    allowed = org.post(
        "/sobjects/Contact",
        {"LastName": "Other", "Email": "ann@acme.com"},
        headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"},
    )
    assert allowed.status_code == 201


def test_accounts_match_on_name_and_website(org: Org) -> None:
    org.create("Account", Name="Acme", Website="https://www.acme.com/")
    assert org.post("/sobjects/Account", {"Name": "acme", "Website": "acme.com"}).status_code == 400
    assert org.post("/sobjects/Account", {"Name": "Acme East", "Website": "acme.com"}).status_code == 201


def test_duplicate_rules_off_and_block_on_edit() -> None:
    off = Org(duplicate_rules="off")
    off.create("Lead", LastName="L", Company="C", Email="l@c.io")
    assert off.post("/sobjects/Lead", {"LastName": "M", "Company": "D", "Email": "l@c.io"}).status_code == 201
    block = Org(duplicate_rules="block")
    block.create("Lead", LastName="L", Company="C", Email="l@c.io")
    other = block.create("Lead", LastName="M", Company="D", Email="m@d.io")
    r = block.patch(
        f"/sobjects/Lead/{other}",
        {"Email": "l@c.io"},
        headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"},
    )
    assert only_error(r, 400)["duplicateResult"]["allowSave"] is False


# ----- records by id, upsert -----------------------------------------------------------------------


def test_ids_are_18_characters_case_safe_and_15_is_accepted(org: Org) -> None:
    account = org.create("Account", Name="A")
    assert len(account) == 18 and account.startswith("0015g")
    assert org.get(f"/sobjects/Account/{account[:15]}").json()["Id"] == account
    assert org.get(f"/sobjects/Account/{account.lower()}").json()["Id"] == account
    assert org.create("Contact", LastName="L").startswith("003")
    assert org.create("Lead", LastName="L", Company="C").startswith("00Q")


def test_update_delete_and_not_found(org: Org) -> None:
    account = org.create("Account", Name="A")
    assert org.patch(f"/sobjects/Account/{account}", {"Website": "a.io"}).status_code == 204
    assert org.get(f"/sobjects/Account/{account}", params={"fields": "Name,Website"}).json() == {
        "attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{account}"},
        "Name": "A",
        "Website": "a.io",
    }
    assert org.delete(f"/sobjects/Account/{account}").status_code == 204
    assert only_error(org.get(f"/sobjects/Account/{account}"), 404)["errorCode"] == "NOT_FOUND"
    assert only_error(org.delete(f"/sobjects/Account/{account}"), 404)["errorCode"] == "ENTITY_IS_DELETED"
    bad = only_error(org.get("/sobjects/Account/Acme"), 404)
    assert bad["message"] == "Provided external ID field does not exist or is not accessible: Acme"
    all_rows = org.get("/queryAll", params={"q": "SELECT Id, IsDeleted FROM Account"}).json()
    assert all_rows["records"][0]["IsDeleted"] is True
    assert org.query("SELECT Id FROM Account").json()["totalSize"] == 0


def test_upsert_created_then_updated_by_version(org: Org) -> None:
    created = org.patch("/sobjects/Account/BenefitFlow_Id__c/EMP-7", {"Name": "Acme"})
    assert created.status_code == 201 and created.json()["created"] is True
    updated = org.patch("/sobjects/Account/BenefitFlow_Id__c/emp-7", {"Phone": "555"})
    assert updated.status_code == 200 and updated.json() == {
        "id": created.json()["id"],
        "success": True,
        "errors": [],
        "created": False,
    }
    old = org.client.patch(
        "/services/data/v45.0/sobjects/Account/BenefitFlow_Id__c/EMP-7",
        json={"Fax": "1"},
        headers=org.headers,
    )
    assert old.status_code == 204 and old.content == b""
    assert org.get("/sobjects/Account/BenefitFlow_Id__c/EMP-7").json()["Fax"] == "1"


def test_upsert_errors(org: Org) -> None:
    assert (
        only_error(org.patch("/sobjects/Account/Name/Acme", {"Phone": "1"}), 404)["errorCode"] == "NOT_FOUND"
    )
    in_body = org.patch("/sobjects/Account/BenefitFlow_Id__c/E-1", {"Name": "A", "BenefitFlow_Id__c": "E-1"})
    assert only_error(in_body, 400)["errorCode"] == "INVALID_FIELD"
    path = "/sobjects/Account/BenefitFlow_Id__c/E-9?updateOnly=true"
    only = org.client.patch("/services/data/v61.0" + path, json={"Name": "A"}, headers=org.headers)
    assert only_error(only, 404)["errorCode"] == "NOT_FOUND"
    before_61 = org.client.patch("/services/data/v60.0" + path, json={"Name": "A"}, headers=org.headers)
    assert before_61.status_code == 201  # updateOnly arrived in API 61.0
    lenient = Org(upsert_ext_id_in_body="ignore")
    assert (
        lenient.patch(
            "/sobjects/Account/BenefitFlow_Id__c/E-1", {"Name": "A", "BenefitFlow_Id__c": "E-1"}
        ).status_code
        == 201
    )


def test_upsert_on_a_non_unique_external_id_with_two_matches_is_300() -> None:
    extra = {"Account": [{"name": "Legacy_Id__c", "type": "string", "length": 20, "externalId": True}]}
    org = Org(extra_fields=extra, duplicate_rules="off")
    ids = [org.create("Account", Name=f"A{i}", Legacy_Id__c="L-1") for i in range(2)]
    r = org.patch("/sobjects/Account/Legacy_Id__c/L-1", {"Phone": "1"})
    assert r.status_code == 300 and sorted(r.json()) == sorted(f"{V}/sobjects/Account/{i}" for i in ids)


# ----- collections ----------------------------------------------------------------------------------


def records(*rows: dict[str, Any], object_name: str = "Account") -> list[dict[str, Any]]:
    return [{"attributes": {"type": object_name}, **row} for row in rows]


def test_collection_create_partial_success_in_input_order(org: Org) -> None:
    body = {"allOrNone": False, "records": records({"Name": "A"}, {"Phone": "1"}, {"Name": "C"})}
    out = org.post("/composite/sobjects", body).json()
    assert [r["success"] for r in out] == [True, False, True]
    assert out[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Name]",
                "fields": ["Name"],
            }
        ],
    }


def test_collection_all_or_none_rolls_everything_back(org: Org) -> None:
    body = {"allOrNone": True, "records": records({"Name": "A"}, {"Name": "B", "Broker_Type__c": "Global"})}
    out = org.post("/composite/sobjects", body).json()
    assert out[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert out[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert org.query("SELECT Id FROM Account").json()["totalSize"] == 0


def test_collection_limits_and_malformed_requests(org: Org) -> None:
    too_many = org.post("/composite/sobjects", {"records": records(*({"Name": str(i)} for i in range(201)))})
    assert only_error(too_many, 400)["errorCode"] == "EXCEEDED_ID_LIMIT"
    untyped = org.post("/composite/sobjects", {"records": [{"Name": "A"}]})
    assert only_error(untyped, 400) == {
        "message": "Must send a concrete entity type.",
        "errorCode": "INVALID_TYPE",
    }


def test_collection_update_retrieve_and_delete(org: Org) -> None:
    a, b = org.create("Account", Name="A"), org.create("Account", Name="B")
    upd = org.patch(
        "/composite/sobjects", {"records": records({"id": a, "Phone": "1"}, {"Phone": "2"})}
    ).json()
    assert upd[0] == {"id": a, "success": True, "errors": []}
    assert upd[1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    got = org.get("/composite/sobjects/Account", params={"ids": f"{a},{b}", "fields": "Name,Phone"}).json()
    assert [(g["Name"], g["Phone"]) for g in got] == [("A", "1"), ("B", None)]
    gone = org.delete("/composite/sobjects", params={"ids": f"{a},{b}"}).json()
    assert [g["success"] for g in gone] == [True, True]
    assert org.get("/composite/sobjects/Account", params={"ids": a, "fields": "Name"}).json() == [None]


def test_collection_upsert_reports_created_and_duplicate_external_ids(org: Org) -> None:
    org.create("Account", Name="Old", BenefitFlow_Id__c="E-1")
    body = {
        "records": records(
            {"BenefitFlow_Id__c": "E-1", "Phone": "1"},
            {"BenefitFlow_Id__c": "E-2", "Name": "N"},
            {"BenefitFlow_Id__c": "E-3", "Name": "x"},
            {"BenefitFlow_Id__c": "e-3", "Name": "y"},
        )
    }
    out = org.patch("/composite/sobjects/Account/BenefitFlow_Id__c", body).json()
    assert [r.get("created") for r in out[:2]] == [False, True]
    assert [r["errors"][0]["statusCode"] for r in out[2:]] == ["DUPLICATE_EXTERNAL_ID"] * 2


# ----- schema, seeds, inspection, record page -------------------------------------------------------------


def test_extra_fields_describe_and_validate() -> None:
    extra = {
        "Contact": [
            {
                "name": "Tier__c",
                "type": "picklist",
                "label": "Tier",
                "picklistValues": ["Gold"],
                "restrictedPicklist": True,
            }
        ]
    }
    org = Org(extra_fields=extra)
    fields = {f["name"]: f for f in org.get("/sobjects/Contact/describe").json()["fields"]}
    assert fields["Tier__c"]["custom"] is True and fields["Tier__c"]["picklistValues"][0]["value"] == "Gold"
    r = org.post("/sobjects/Contact", {"LastName": "L", "Tier__c": "Bronze"})
    assert only_error(r, 400)["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_seed_file_gives_salesforce_ids_and_may_add_fields(tmp_path: Path) -> None:
    seed = {
        "_fields": [{"object": "Account", "name": "Region__c", "type": "string", "length": 10}],
        "Account": [{"Name": "Seeded", "Region__c": "West"}, {"Id": "0015g000000AbCd", "Name": "Given"}],
        "Contact": [{"LastName": "Kim", "Email": "kim@seeded.io", "AccountId": "0015g000000AbCd"}],
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    org = Org(seed=path)
    snapshot = org.client.get("/_sandbox/records").json()
    assert set(snapshot) == {"Account", "Contact", "Lead"}
    assert [a["Id"] for a in snapshot["Account"]][1] == "0015g000000AbCdAAK"
    assert snapshot["Account"][0]["Region__c"] == "West" and len(snapshot["Account"][0]["Id"]) == 18
    assert snapshot["Contact"][0]["AccountId"] == "0015g000000AbCdAAK"
    org.create("Account", Name="New")
    assert org.client.post("/_sandbox/reset").status_code == 200
    assert len(org.client.get("/_sandbox/records").json()["Account"]) == 2


def test_bad_seed_is_a_config_error() -> None:
    with pytest.raises(SandboxConfigError):
        SalesforceSandbox(seed={"Account": [{"Name": "A", "Nope__c": 1}]})
    with pytest.raises(SandboxConfigError):
        SalesforceSandbox(seed={"Account": [{"Id": "0035g000000AbCd", "Name": "A"}]})


def test_record_page_and_request_log(org: Org) -> None:
    account = org.create("Account", Name="Acme & Sons")
    page = org.client.get(f"/lightning/r/Account/{account}/view")
    assert page.status_code == 200 and "Acme &amp; Sons" in page.text
    assert org.sandbox.record_url("Account", account).endswith(f"/lightning/r/Account/{account}/view")
    assert org.client.get("/lightning/r/Account/0015g00000ZZZZZAAA/view").status_code == 404
    log = org.client.get("/_sandbox/requests").json()
    assert {"method": "POST", "path": f"{V}/sobjects/Account", "status": 201} in log

"""The sandboxes' users and owners, as each CRM's docs describe them: listed by email, seedable, active or
not, refused as a record's owner when the CRM would refuse them, and hidden without the permission the
CRM asks for (HubSpot owners API, Salesforce User, Dataverse systemusers, Zoho users API)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from engine.sandbox.dynamics import DynamicsSandbox
from engine.sandbox.dynamics_auth import app_user
from engine.sandbox.hubspot import HubSpotSandbox
from engine.sandbox.salesforce import SalesforceSandbox
from engine.sandbox.salesforce_ids import make_id
from engine.sandbox.zoho import ZohoSandbox

HS = {"Authorization": "Bearer sandbox-token"}
REP, GONE = "rep@customer.example", "gone@customer.example"


def hubspot(**options: Any) -> TestClient:
    seed = {"owners": [{"id": "501", "email": REP, "firstName": "Rita"}, {"id": "502", "email": GONE,
                                                                         "archived": True}]}
    return TestClient(HubSpotSandbox(seed=seed, **options).app())


def test_hubspot_lists_active_owners_by_email_and_archived_ones_apart() -> None:
    client = hubspot()
    found = client.get("/crm/v3/owners", params={"email": REP.upper()}, headers=HS).json()
    [owner] = found["results"]
    assert (owner["id"], owner["email"], owner["archived"], owner["type"]) == ("501", REP, False, "PERSON")
    assert {"userId", "userIdIncludingInactive", "createdAt", "updatedAt", "teams"} <= set(owner)
    assert client.get("/crm/v3/owners", params={"email": GONE}, headers=HS).json()["results"] == []
    archived = client.get("/crm/v3/owners", params={"archived": "true"}, headers=HS).json()["results"]
    assert [o["id"] for o in archived] == ["502"] and archived[0]["userId"] is None
    paged = client.get("/crm/v3/owners", params={"limit": 1, "archived": "false"}, headers=HS).json()
    assert len(paged["results"]) == 1 and "paging" not in paged
    assert client.get("/crm/v3/owners/501", headers=HS).json()["email"] == REP
    assert client.get("/crm/v3/owners/9", headers=HS).status_code == 404


def test_hubspot_refuses_an_owner_id_that_is_not_an_active_owner() -> None:
    client = hubspot()
    for owner_id, status in (("501", 201), ("502", 400), ("9586504", 400)):  # archived; a userId, not an id
        properties = {"email": f"c{owner_id}@x.example", "hubspot_owner_id": owner_id}
        answer = client.post("/crm/v3/objects/contacts", headers=HS, json={"properties": properties})
        assert answer.status_code == status, answer.text
        if status == 400:
            assert answer.json()["category"] == "VALIDATION_ERROR" and "INVALID_OPTION" in answer.text


def test_hubspot_owners_need_their_scope() -> None:
    answer = hubspot(missing_scopes={"crm.objects.owners.read"}).get("/crm/v3/owners", headers=HS)
    assert answer.status_code == 403 and answer.json()["category"] == "MISSING_SCOPES"
    assert "crm.objects.owners.read" in answer.text


def salesforce(**options: Any) -> tuple[TestClient, dict[str, str]]:
    seed = {"User": [{"Id": make_id("User", 501), "Email": REP},
                     {"Id": make_id("User", 502), "Email": GONE, "IsActive": False}]}
    sandbox = SalesforceSandbox(seed=seed, **options)
    token = sandbox.tokens.issue("integration@sandbox").value
    return TestClient(sandbox.app()), {"Authorization": f"Bearer {token}"}


def test_salesforce_queries_users_and_refuses_an_owner_who_is_none_or_inactive() -> None:
    client, auth = salesforce()
    query = "SELECT Id, Email, IsActive FROM User WHERE Email = 'rep@customer.example'"
    [user] = client.get("/services/data/v64.0/query", params={"q": query}, headers=auth).json()["records"]
    assert (user["Id"], user["IsActive"]) == (make_id("User", 501), True)
    for owner, code in ((make_id("User", 501), None), (make_id("User", 502), "INACTIVE_OWNER_OR_USER"),
                        (make_id("User", 999), "INVALID_CROSS_REFERENCE_KEY")):
        body = {"allOrNone": False, "records": [{"attributes": {"type": "Contact"}, "LastName": "Doe",
                                                 "OwnerId": owner}]}
        [result] = client.post("/services/data/v64.0/composite/sobjects", json=body, headers=auth).json()
        assert result["success"] is (code is None), result
        if code:
            assert result["errors"][0]["statusCode"] == code and result["errors"][0]["fields"] == ["OwnerId"]


def test_salesforce_users_are_unreadable_without_read_access() -> None:
    client, auth = salesforce(unreadable_objects={"User"})
    answer = client.get("/services/data/v64.0/query", params={"q": "SELECT Id FROM User"}, headers=auth)
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_TYPE"


def dynamics(**options: Any) -> tuple[TestClient, dict[str, str]]:
    seed = {"systemusers": [
        {"systemuserid": "00000000-0000-4000-8000-000000000501", "internalemailaddress": REP},
        {"systemuserid": "00000000-0000-4000-8000-000000000502", "internalemailaddress": GONE,
         "isdisabled": True}]}
    sandbox = DynamicsSandbox(seed=seed, **options)
    token = sandbox.tokens.issue(app_user("sandbox-client")).value
    return TestClient(sandbox.app()), {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def test_dynamics_filters_systemusers_by_email_and_refuses_an_owner_who_is_none_or_disabled() -> None:
    client, auth = dynamics()
    answer = client.get("/api/data/v9.2/systemusers?$select=systemuserid,internalemailaddress,isdisabled"
                        "&$filter=internalemailaddress eq 'gone%40customer.example'", headers=auth).json()
    [user] = answer["value"]
    assert (user["systemuserid"], user["isdisabled"]) == ("00000000-0000-4000-8000-000000000502", True)
    for owner, status in (("501", 204), ("502", 400), ("999", 404)):
        bound = f"/systemusers(00000000-0000-4000-8000-000000000{owner})"
        body = {"lastname": "Doe", "ownerid@odata.bind": bound}
        created = client.post("/api/data/v9.2/contacts", json=body, headers=auth)
        assert created.status_code == status, created.text
        if status == 404:
            assert created.json()["error"]["code"] == "0x80040217"


def test_dynamics_systemusers_need_read_privilege() -> None:
    client, auth = dynamics(missing_read_privileges={"systemuser"})
    answer = client.get("/api/data/v9.2/systemusers", headers=auth)
    assert answer.status_code == 403 and "prvReadUser" in answer.json()["error"]["message"]


def zoho(**options: Any) -> tuple[TestClient, dict[str, str]]:
    seed = {"users": [{"id": "5550000000000501", "email": REP, "full_name": "Rita"},
                      {"id": "5550000000000502", "email": GONE, "status": "inactive"}]}
    client = TestClient(ZohoSandbox(seed=seed, **options).app())
    grant = {"grant_type": "refresh_token", "client_id": "sandbox-client", "client_secret": "sandbox-secret",
             "refresh_token": "sandbox-refresh"}
    answer = client.post("/oauth/v2/token", params=grant)
    return client, {"Authorization": f"Zoho-oauthtoken {answer.json()['access_token']}"}


def test_zoho_lists_users_by_type_and_refuses_an_owner_who_is_none_or_inactive() -> None:
    client, auth = zoho()
    active = client.get("/crm/v7/users", params={"type": "ActiveUsers"}, headers=auth).json()
    assert REP in [u["email"] for u in active["users"]] and GONE not in [u["email"] for u in active["users"]]
    assert active["info"]["more_records"] is False
    [gone] = client.get("/crm/v7/users", params={"type": "DeactiveUsers"}, headers=auth).json()["users"]
    assert (gone["id"], gone["status"]) == ("5550000000000502", "inactive")
    assert client.get("/crm/v7/users/5550000000000501", headers=auth).json()["users"][0]["email"] == REP
    for owner, status in (("5550000000000501", "success"), ("5550000000000502", "error"),
                          ("999", "error")):
        body = {"data": [{"Last_Name": "Doe", "Owner": {"id": owner}}]}
        [result] = client.post("/crm/v7/Contacts", json=body, headers=auth).json()["data"]
        assert result["status"] == status, result
        if status == "error":
            assert (result["code"], result["details"]["api_name"]) == ("INVALID_DATA", "Owner")


def test_zoho_users_need_their_scope() -> None:
    client, auth = zoho(missing_scopes={"ZohoCRM.users.READ"})
    answer = client.get("/crm/v7/users", params={"type": "ActiveUsers"}, headers=auth)
    assert answer.status_code == 401 and answer.json()["code"] == "OAUTH_SCOPE_MISMATCH"

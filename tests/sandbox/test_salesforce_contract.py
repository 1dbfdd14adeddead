"""Contract tests: the request examples of Salesforce's REST API Developer Guide and of Salesforce's
published Postman collection (/work/shared/reference/salesforce/postman-salesforce-apis/), checked
against the documented statuses and response shapes (the page or file is named on each test)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.test_salesforce import Org, V, only_error

DESCRIBE_FIELD_KEYS = {
    "name",
    "label",
    "type",
    "length",
    "picklistValues",
    "restrictedPicklist",
    "nillable",
    "createable",
    "updateable",
    "unique",
    "externalId",
    "referenceTo",
    "relationshipName",
    "defaultedOnCreate",
    "calculated",
    "idLookup",
    "caseSensitive",
    "soapType",
}
PICKLIST_KEYS = {"active", "defaultValue", "label", "validFor", "value"}
SAVE_RESULT = {"id", "success", "errors"}


@pytest.fixture
def org() -> Org:
    return Org()


def test_postman_versions(org: Org) -> None:
    """rest/versions.json: GET {{_endpoint}}/services/data -> [{label, url, version}]."""
    versions = org.client.get("/services/data").json()
    assert all(set(v) == {"label", "url", "version"} for v in versions)
    assert all(v["url"] == f"/services/data/v{v['version']}" for v in versions)


def test_postman_resources_by_version(org: Org) -> None:
    """rest/resources_by_version.json: GET .../v{{version}}/ -> resource name -> URL."""
    resources = org.get("/").json()
    assert {"sobjects", "query", "queryAll", "limits", "composite"} <= set(resources)
    assert resources["sobjects"] == f"{V}/sobjects"


def test_postman_describe_global(org: Org) -> None:
    """rest/describe_global.json: GET .../sobjects/ -> {encoding, maxBatchSize, sobjects[]}."""
    body = org.get("/sobjects/").json()
    assert body["encoding"] == "UTF-8" and body["maxBatchSize"] == 200
    account = next(s for s in body["sobjects"] if s["name"] == "Account")
    assert account["keyPrefix"] == "001" and account["urls"]["describe"] == f"{V}/sobjects/Account/describe"
    assert {"createable", "queryable", "updateable", "deletable", "label", "labelPlural", "custom"} <= set(
        account
    )


def test_postman_sobject_basic_information(org: Org) -> None:
    """rest/sobject_basic_information.json: GET .../sobjects/<SOBJECT_API_NAME> -> objectDescribe,
    recentItems."""
    org.create("Account", Name="Recent")
    body = org.get("/sobjects/Account").json()
    assert set(body) == {"objectDescribe", "recentItems"}
    assert (
        body["recentItems"][0]["Name"] == "Recent"
        and body["recentItems"][0]["attributes"]["type"] == "Account"
    )


def test_postman_sobject_create(org: Org) -> None:
    """rest/sobject_create.json: POST .../sobjects/<SOBJECT_API_NAME> {"Name":"test"} -> 201 SaveResult.
    Its saved example "REST Create Lead" sends only FirstName and LastName: Lead.Company is required."""
    r = org.post("/sobjects/Account", {"Name": "test"})
    assert r.status_code == 201 and set(r.json()) == SAVE_RESULT and r.json()["errors"] == []
    lead = org.post("/sobjects/Lead", {"FirstName": "Test", "LastName": "API"})
    assert only_error(lead, 400)["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_postman_sobject_describe(org: Org) -> None:
    """rest/sobject_describe.json: GET .../describe -> DescribeSObjectResult with fields[]."""
    body = org.get("/sobjects/Lead/describe").json()
    assert body["name"] == "Lead" and body["keyPrefix"] == "00Q"
    fields = {f["name"]: f for f in body["fields"]}
    assert all(set(f) >= DESCRIBE_FIELD_KEYS for f in fields.values())
    status = fields["Status"]
    assert (
        status["type"] == "picklist" and status["defaultedOnCreate"] is True and status["nillable"] is False
    )
    assert all(set(v) == PICKLIST_KEYS for v in status["picklistValues"])
    assert [v["value"] for v in status["picklistValues"] if v["defaultValue"]] == ["Open - Not Contacted"]
    assert (fields["Company"]["length"], fields["Email"]["type"], fields["Website"]["type"]) == (
        255,
        "email",
        "url",
    )


@pytest.mark.parametrize(
    ("object_name", "field", "kind", "length"),
    [
        ("Account", "Name", "string", 255),
        ("Account", "Website", "url", 255),
        ("Account", "Phone", "phone", 40),
        ("Account", "BillingStreet", "textarea", 255),
        ("Account", "BillingCity", "string", 40),
        ("Account", "BillingState", "string", 80),
        ("Account", "BillingPostalCode", "string", 20),
        ("Account", "BillingCountry", "string", 80),
        ("Account", "Description", "textarea", 32000),
        ("Account", "NumberOfEmployees", "int", 0),
        ("Account", "AnnualRevenue", "currency", 0),
        ("Account", "ParentId", "reference", 18),
        ("Account", "Id", "id", 18),
        ("Account", "IsDeleted", "boolean", 0),
        ("Contact", "FirstName", "string", 40),
        ("Contact", "LastName", "string", 80),
        ("Contact", "Email", "email", 80),
        ("Contact", "Title", "string", 128),
        ("Contact", "MobilePhone", "phone", 40),
        ("Contact", "MailingCity", "string", 40),
        ("Lead", "Company", "string", 255),
        ("Lead", "PostalCode", "string", 20),
        ("Lead", "Street", "textarea", 255),
    ],
)
def test_object_reference_types_and_lengths(
    org: Org, object_name: str, field: str, kind: str, length: int
) -> None:
    """Object Reference ("Account", "Contact", "Lead"): standard field types and lengths."""
    fields = {f["name"]: f for f in org.get(f"/sobjects/{object_name}/describe").json()["fields"]}
    assert (fields[field]["type"], fields[field]["length"]) == (kind, length)


def test_custom_fields_of_this_customer(org: Org) -> None:
    """The BenefitFlow profile's targets: external id Text(64) and three restricted picklists."""
    for object_name in ("Account", "Contact", "Lead"):
        fields = {f["name"]: f for f in org.get(f"/sobjects/{object_name}/describe").json()["fields"]}
        bf = fields["BenefitFlow_Id__c"]
        assert (bf["externalId"], bf["unique"], bf["caseSensitive"], bf["length"], bf["custom"]) == (
            True,
            True,
            False,
            64,
            True,
        )
    account = {f["name"]: f for f in org.get("/sobjects/Account/describe").json()["fields"]}
    assert [v["value"] for v in account["Funding_Type__c"]["picklistValues"]] == [
        "Fully Insured",
        "Self-Funded",
        "Level-Funded",
    ]
    assert len(account["Renewal_Month__c"]["picklistValues"]) == 12
    assert all(
        account[n]["restrictedPicklist"] for n in ("Funding_Type__c", "Renewal_Month__c", "Broker_Type__c")
    )
    assert (
        account["Type"]["restrictedPicklist"] is False and account["Industry"]["restrictedPicklist"] is False
    )
    assert (
        account["ParentId"]["referenceTo"] == ["Account"]
        and account["ParentId"]["relationshipName"] == "Parent"
    )


def test_postman_sobject_rows_get_update_delete(org: Org) -> None:
    """rest/sobject_rows.json, sobject_rows_update.json, sobject_rows_delete.json."""
    record_id = org.create("Account", Name="Rows")
    got = org.get(f"/sobjects/Account/{record_id}").json()
    assert got["attributes"] == {"type": "Account", "url": f"{V}/sobjects/Account/{record_id}"}
    assert got["Id"] == record_id and got["CreatedDate"].endswith("+0000")
    assert org.patch(f"/sobjects/Account/{record_id}", {"Name": "Rows 2"}).status_code == 204
    assert org.delete(f"/sobjects/Account/{record_id}").status_code == 204


def test_guide_upsert_example(org: Org) -> None:
    """ "Insert or Update (Upsert) a Record Using an External ID": customExtIdField__c/11999 with
    California Wheat Corporation -> 201 created true; again -> 200 created false; a field that is not
    an external id -> 404 NOT_FOUND "The requested resource does not exist"."""
    org = Org(
        extra_fields={"Account": [{"name": "customExtIdField__c", "type": "string", "externalId": True}]}
    )
    body = {"Name": "California Wheat Corporation", "Type": "New Customer"}
    created = org.patch("/sobjects/Account/customExtIdField__c/11999", body)
    assert created.status_code == 201 and created.json() == {
        "id": created.json()["id"],
        "errors": [],
        "success": True,
        "created": True,
    }
    again = org.patch("/sobjects/Account/customExtIdField__c/11999", {"Name": "California Wheat Corp."})
    assert again.status_code == 200 and again.json()["created"] is False
    wrong = org.patch("/sobjects/Account/Name/11999", body)
    assert only_error(wrong, 404) == {
        "errorCode": "NOT_FOUND",
        "message": "The requested resource does not exist",
    }
    by_id = org.post("/sobjects/Account/Id", {"Name": "Posted to Id"})
    assert by_id.status_code == 201  # "Inserting New Records Using Id as the External ID" (API 37.0+)


@pytest.mark.parametrize("resource", ["query", "queryAll"])
def test_postman_query_and_query_all(org: Org, resource: str) -> None:
    """rest/query.json and rest/queryall.json: GET .../query/?q=SELECT+name+from+Account."""
    org.create("Account", Name="Queried")
    r = org.client.get(f"{V}/{resource}/?q=SELECT+name+from+Account", headers=org.headers)
    body = r.json()
    assert r.status_code == 200 and set(body) == {"totalSize", "done", "records"}
    assert body["records"][0]["Name"] == "Queried" and set(body["records"][0]["attributes"]) == {
        "type",
        "url",
    }


def test_guide_query_options_header(org: Org) -> None:
    """ "Query Options Header": Sforce-Query-Options: batchSize=1000."""
    rows = [{"attributes": {"type": "Lead"}, "LastName": f"L{i}", "Company": "C"} for i in range(200)]
    for _ in range(6):
        org.post("/composite/sobjects", {"records": rows})
    page = org.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=1000"}).json()
    assert len(page["records"]) == 1000 and page["nextRecordsUrl"].endswith("-1000")


def test_postman_limits(org: Org) -> None:
    """rest/limit.json: GET .../limits -> {"DailyApiRequests": {"Max", "Remaining"}, ...}."""
    body = org.get("/limits").json()
    assert set(body["DailyApiRequests"]) == {"Max", "Remaining"}


def test_guide_collections_create_example(org: Org) -> None:
    """ "Create Records Using sObject Collections": an Account and a Contact in one call -> 200 and
    SaveResults."""
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "Name": "example.com", "BillingCity": "San Francisco"},
            {"attributes": {"type": "Contact"}, "LastName": "Johnson", "FirstName": "Erica"},
        ],
    }
    r = org.post("/composite/sobjects", body)
    assert r.status_code == 200
    assert [(set(x), x["id"][:3], x["success"]) for x in r.json()] == [
        (SAVE_RESULT, "001", True),
        (SAVE_RESULT, "003", True),
    ]


def test_guide_collections_update_retrieve_delete_examples(org: Org) -> None:
    """ "Update/Get/Delete Records Using sObject Collections": records carry attributes.type and id;
    retrieve takes ids and fields (fields=id,name), a missing record is null; delete takes ids."""
    account, contact = org.create("Account", Name="Acme"), org.create("Contact", LastName="Johnson")
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "id": account, "NumberOfEmployees": 27000},
            {"attributes": {"type": "Contact"}, "id": contact, "Title": "Lead Engineer"},
        ],
    }
    assert org.patch("/composite/sobjects", body).json() == [
        {"id": account, "success": True, "errors": []},
        {"id": contact, "success": True, "errors": []},
    ]
    absent = "0015g00000ZZZZZAAA"
    got = org.get(
        "/composite/sobjects/Account", params={"ids": f"{account},{absent}", "fields": "id,name"}
    ).json()
    assert got == [
        {
            "attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{account}"},
            "Id": account,
            "Name": "Acme",
        },
        None,
    ]
    deleted = org.delete("/composite/sobjects", params={"ids": f"{account},{contact}", "allOrNone": "false"})
    assert deleted.json() == [
        {"id": account, "success": True, "errors": []},
        {"id": contact, "success": True, "errors": []},
    ]


def test_guide_collections_upsert_example() -> None:
    """ "Upsert Records Using sObject Collections" (API 46.0+):
    PATCH .../composite/sobjects/Account/MyExtId__c."""
    org = Org(extra_fields={"Account": [{"name": "MyExtId__c", "type": "string", "externalId": True}]})
    body: dict[str, Any] = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "Name": "Company One", "MyExtId__c": "AAA"},
            {"attributes": {"type": "Account"}, "Name": "Company Two", "MyExtId__c": "BBB"},
        ],
    }
    first = org.patch("/composite/sobjects/Account/MyExtId__c", body).json()
    assert [(set(x), x["created"]) for x in first] == [(SAVE_RESULT | {"created"}, True)] * 2
    second = org.patch("/composite/sobjects/Account/MyExtId__c", body).json()
    assert [x["created"] for x in second] == [False, False] and [x["id"] for x in second] == [
        x["id"] for x in first
    ]


def test_guide_all_or_none_rolled_back_example(org: Org) -> None:
    """crm-api-facts §1.2 (the Collections guide's allOrNone example): the bad record keeps its error,
    the others report ALL_OR_NONE_OPERATION_ROLLED_BACK, and nothing is saved."""
    org.create("Contact", LastName="Dup", Email="dup@example.com")
    body = {
        "allOrNone": True,
        "records": [
            {"attributes": {"type": "Contact"}, "LastName": "Dup2", "Email": "dup@example.com"},
            {"attributes": {"type": "Contact"}, "LastName": "Fine", "Email": "fine@example.com"},
        ],
    }
    out = org.post("/composite/sobjects", body).json()
    assert out == [
        {
            "success": False,
            "errors": [
                {"statusCode": "DUPLICATES_DETECTED", "message": "Use one of these records?", "fields": []}
            ],
        },
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "message": "Record rolled "
                    "back because not all records were valid and the request was using "
                    "AllOrNone header",
                    "fields": [],
                }
            ],
        },
    ]
    assert org.query("SELECT Id FROM Contact").json()["totalSize"] == 1


def test_guide_duplicate_rule_header_example(org: Org) -> None:
    """ "Duplicate Rule Header": allowSave=true; includeRecordDetails=true; runAsCurrentUser=true."""
    org.create("Lead", LastName="L", Company="C", Email="lead@example.com")
    refused = only_error(
        org.post(
            "/sobjects/Lead",
            {"LastName": "M", "Company": "D", "Email": "lead@example.com"},
            headers={"Sforce-Duplicate-Rule-Header": "includeRecordDetails=true"},
        ),
        400,
    )
    assert (
        refused["duplicateResult"]["matchResults"][0]["matchRecords"][0]["record"]["Email"]
        == "lead@example.com"
    )
    header = {
        "Sforce-Duplicate-Rule-Header": "allowSave=true; includeRecordDetails=true; runAsCurrentUser=true"
    }
    assert (
        org.post(
            "/sobjects/Lead", {"LastName": "M", "Company": "D", "Email": "lead@example.com"}, headers=header
        ).status_code
        == 201
    )


def test_guide_error_response_shape(org: Org) -> None:
    """ "Status Codes and Error Responses": 401 body carries message and errorCode."""
    r = org.client.get(f"{V}/sobjects", headers={"Authorization": "Bearer expired"})
    assert r.status_code == 401 and set(r.json()[0]) == {"message", "errorCode"}

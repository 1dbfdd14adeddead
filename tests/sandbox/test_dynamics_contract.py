"""Contract tests: the request examples of Microsoft's Dataverse Web API docs (MicrosoftDocs/powerapps-docs,
developer/data-platform/webapi/..., page named on each test), sent to the emulator and checked against
the documented status, headers and body shape."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.sandbox.dynamics import DynamicsSandbox
from engine.sandbox.dynamics_auth import app_user
from engine.sandbox.dynamics_batch import split_multipart

ORG = "http://testserver"
API = "/api/data/v9.2"
SAMPLE_ACCOUNT = {
    "name": "Sample Account",
    "creditonhold": False,
    "address1_latitude": 47.639583,
    "description": "This is the description of the sample account",
    "revenue": 5000000,
    "accountcategorycode": 1,
}


@pytest.fixture
def dv() -> tuple[DynamicsSandbox, TestClient, dict[str, str]]:
    sandbox = DynamicsSandbox()
    token = sandbox.tokens.issue(app_user("sandbox-client")).value
    headers = {
        "Authorization": f"Bearer {token}",
        "OData-MaxVersion": "4.0",
        "OData-Version": "4.0",
        "Accept": "application/json",
        "If-None-Match": "null",
    }
    return sandbox, TestClient(sandbox.app()), headers


def new_id(response: Any) -> str:
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def test_basic_create(dv: Any) -> None:
    """create-entity-web-api.md, "Basic create": 204, OData-EntityId."""
    _, c, h = dv
    r = c.post("/api/data/v9.0/accounts", json=SAMPLE_ACCOUNT, headers=h)
    assert r.status_code == 204 and r.content == b""
    assert r.headers["OData-Version"] == "4.0"
    assert r.headers["OData-EntityId"].startswith(f"{ORG}/api/data/v9.0/accounts(")


def test_create_with_data_returned(dv: Any) -> None:
    """create-entity-web-api.md, "Create with data returned": 201, the $select'ed columns, no "
    "OData-EntityId."""
    _, c, h = dv
    select = "name,creditonhold,address1_latitude,description,revenue,accountcategorycode,createdon"
    r = c.post(
        f"/api/data/v9.0/accounts?$select={select}",
        json=SAMPLE_ACCOUNT,
        headers={**h, "Prefer": "return=representation"},
    )
    assert r.status_code == 201 and r.headers["Preference-Applied"] == "return=representation"
    assert "OData-EntityId" not in r.headers
    body = r.json()
    assert body["@odata.context"] == f"{ORG}/api/data/v9.0/$metadata#accounts({select})/$entity"
    assert body["@odata.etag"].startswith('W/"')
    assert set(body) == {"@odata.context", "@odata.etag", "accountid", *select.split(",")}
    assert body["revenue"] == 5000000 and body["creditonhold"] is False and body["createdon"].endswith("Z")


def test_associate_on_create(dv: Any) -> None:
    """create-entity-web-api.md, "Associate table rows on create": primarycontactid@odata.bind."""
    sandbox, c, h = dv
    contact = new_id(
        c.post(f"{API}/contacts", json={"firstname": "Yvonne", "lastname": "McKay (sample)"}, headers=h)
    )
    r = c.post(
        f"{API}/accounts?$select=name,_primarycontactid_value",
        json={"name": "Sample Account", "primarycontactid@odata.bind": f"/contacts({contact})"},
        headers={**h, "Prefer": "return=representation"},
    )
    assert r.status_code == 201 and r.json()["_primarycontactid_value"] == contact


def test_retrieve_with_select_and_formatted_values(dv: Any) -> None:
    """retrieve-entity-using-web-api.md and query/overview.md (formatted values, lookup annotations)."""
    _, c, h = dv
    account = new_id(c.post(f"{API}/accounts", json=SAMPLE_ACCOUNT, headers=h))
    r = c.get(f"{API}/accounts({account})?$select=name,revenue", headers=h)
    assert r.status_code == 200
    assert r.json() == {
        "@odata.context": f"{ORG}{API}/$metadata#accounts(name,revenue)/$entity",
        "@odata.etag": r.json()["@odata.etag"],
        "name": "Sample Account",
        "revenue": 5000000,
        "accountid": account,
    }
    annotated = c.get(
        f"{API}/accounts({account})?$select=accountcategorycode,statecode,_ownerid_value",
        headers={**h, "Prefer": 'odata.include-annotations="*"'},
    ).json()
    assert annotated["accountcategorycode@OData.Community.Display.V1.FormattedValue"] == "Preferred Customer"
    assert annotated["statecode@OData.Community.Display.V1.FormattedValue"] == "Active"
    assert annotated["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "systemuser"
    etag = r.json()["@odata.etag"]
    assert (
        c.get(f"{API}/accounts({account})?$select=name", headers={**h, "If-None-Match": etag}).status_code
        == 304
    )


def test_basic_update_and_update_with_data_returned(dv: Any) -> None:
    """update-delete-entities-using-web-api.md: PATCH with If-Match: * -> 204; return=representation -> "
    "200."""
    _, c, h = dv
    account = new_id(c.post(f"{API}/accounts", json=SAMPLE_ACCOUNT, headers=h))
    r = c.patch(
        f"{API}/accounts({account})",
        json={"name": "Updated Sample Account", "creditonhold": True},
        headers={**h, "If-Match": "*"},
    )
    assert r.status_code == 204
    returned = c.patch(
        f"{API}/accounts({account})?$select=name,creditonhold",
        json={"name": "Again"},
        headers={**h, "If-Match": "*", "Prefer": "return=representation"},
    )
    assert (
        returned.status_code == 200
        and returned.json()["name"] == "Again"
        and returned.json()["creditonhold"] is True
    )
    assert c.delete(f"{API}/accounts({account})", headers=h).status_code == 204


def test_upsert_by_alternate_key(dv: Any) -> None:
    """use-upsert-insert-update-record.md: 204 with OData-EntityId either way; 201/200 with representation."""
    _, c, h = dv
    url = f"{API}/accounts(bf_benefitflowid='2:2')"
    created = c.patch(url, json={"name": "2:2"}, headers=h)
    updated = c.patch(url, json={"name": "2:2 Updated"}, headers=h)
    for r in (created, updated):
        assert r.status_code == 204 and r.headers["OData-EntityId"] == f"{ORG}{url}"
    url3 = f"{API}/accounts(bf_benefitflowid='3:3')?$select=accountid"
    first = c.patch(url3, json={"name": "3:3"}, headers={**h, "Prefer": "return=representation"})
    second = c.patch(url3, json={"name": "3:3 Updated"}, headers={**h, "Prefer": "return=representation"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert set(first.json()) == {"@odata.context", "@odata.etag", "accountid"}
    assert first.json()["@odata.context"] == f"{ORG}{API}/$metadata#accounts(accountid)/$entity"
    assert first.headers["ETag"] == first.json()["@odata.etag"]


def test_prevent_update_in_upsert(dv: Any) -> None:
    """perform-conditional-operations-using-web-api.md, "Prevent update in upsert"."""
    _, c, h = dv
    account = new_id(c.post(f"{API}/accounts", json=SAMPLE_ACCOUNT, headers=h))
    r = c.patch(
        f"{API}/accounts({account})",
        json={"name": "Updated Sample Account "},
        headers={**h, "If-None-Match": "*"},
    )
    assert r.status_code == 412
    assert r.json() == {"error": {"code": "", "message": "A record with matching key values already exists."}}


def test_create_multiple_and_update_multiple(dv: Any) -> None:
    """bulk-operations.md, CreateMultiple (200, Ids) and UpdateMultiple (204)."""
    sandbox, c, h = dv
    targets = [
        {"name": f"sample record {i:07d}", "@odata.type": "Microsoft.Dynamics.CRM.account"} for i in (1, 2, 3)
    ]
    r = c.post(f"{API}/accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets}, headers=h)
    assert r.status_code == 200
    assert r.json()["@odata.context"] == f"{ORG}{API}/$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
    ids = r.json()["Ids"]
    assert len(ids) == 3 and set(ids) == set(sandbox.records["accounts"])
    updates = [
        {"name": f"{t['name']} Updated", "@odata.type": t["@odata.type"], "accountid": rid}
        for t, rid in zip(targets, ids, strict=True)
    ]
    u = c.post(
        f"{API}/accounts/Microsoft.Dynamics.CRM.UpdateMultiple?tag=CreateUpdateMultiple",
        json={"Targets": updates},
        headers=h,
    )
    assert u.status_code == 204
    assert all(row["name"].endswith("Updated") for row in sandbox.records["accounts"].values())


def batch_body(boundary: str, parts: list[str]) -> str:
    return "".join(f"--{boundary}\r\n{p}\r\n" for p in parts) + f"--{boundary}--\r\n"


def http_part(request: str, content_id: int | None = None) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id is not None:
        head += f"Content-ID: {content_id}\r\n"
    return head + "\r\n" + request


def changeset(boundary: str, parts: list[str]) -> str:
    return f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n' + batch_body(boundary, parts)


def post_batch(c: TestClient, h: dict[str, str], body: str, prefer: str | None = None) -> Any:
    headers = {**h, "Content-Type": 'multipart/mixed; boundary="batch_AAA123"'}
    if prefer:
        headers["Prefer"] = prefer
    return c.post(f"{API}/$batch", content=body.encode(), headers=headers)


def response_parts(r: Any) -> list[tuple[str, str | None]]:
    """(status line, Content-ID) of every response part, change sets flattened."""
    boundary = r.headers["content-type"].split("boundary=")[1]
    out = []
    for part in split_multipart(r.text, boundary):
        for item in part.children or [part]:
            out.append((item.body.split("\n", 1)[0].strip(), item.headers.get("content-id")))
    return out


def test_batch_change_set_with_content_id_references_in_body(dv: Any) -> None:
    """execute-batch-operations-using-web-api.md, "Reference URIs in request body"."""
    sandbox, c, h = dv
    cs = changeset(
        "changeset_dd81ccab",
        [
            http_part(
                f"POST {ORG}{API}/leads HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
                '{"firstname":"first name","lastname":"last name"}\r\n',
                1,
            ),
            http_part(
                f"POST {ORG}{API}/contacts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
                '{"firstname":"first name"}\r\n',
                2,
            ),
            http_part(
                f"POST {ORG}{API}/accounts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
                '{"name":"IcM Account","originatingleadid@odata.bind":"$1",'
                '"primarycontactid@odata.bind":"$2"}\r\n',
                3,
            ),
        ],
    )
    r = post_batch(c, h, batch_body("batch_AAA123", [cs]))
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "multipart/mixed; boundary=batchresponse_"
    )
    assert "--changesetresponse_" in r.text and "Location: " in r.text
    assert response_parts(r) == [
        ("HTTP/1.1 204 No Content", "1"),
        ("HTTP/1.1 204 No Content", "2"),
        ("HTTP/1.1 204 No Content", "3"),
    ]
    account = next(iter(sandbox.records["accounts"].values()))
    assert account["originatingleadid"] == next(iter(sandbox.records["leads"]))
    assert account["primarycontactid"] == next(iter(sandbox.records["contacts"]))


def test_batch_reference_uri_in_request_url(dv: Any) -> None:
    """Same page, "Reference URIs in URL and navigation properties": PATCH $1 binding $2."""
    sandbox, c, h = dv
    cs = changeset(
        "changeset_x",
        [
            http_part(
                f"POST {ORG}{API}/accounts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
                '{ "name":"Account name"}\r\n',
                1,
            ),
            http_part(
                f"POST {ORG}{API}/contacts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
                '{"firstname":"Contact first name"}\r\n',
                2,
            ),
            http_part(
                "PATCH $1 HTTP/1.1\r\nContent-Type: "
                'application/json\r\n\r\n{"primarycontactid@odata.bind":"$2"}\r\n',
                3,
            ),
        ],
    )
    r = post_batch(c, h, batch_body("batch_AAA123", [cs]))
    assert [status for status, _ in response_parts(r)] == ["HTTP/1.1 204 No Content"] * 3
    account = next(iter(sandbox.records["accounts"].values()))
    assert account["primarycontactid"] == next(iter(sandbox.records["contacts"]))


def test_batch_content_id_referenced_before_declared(dv: Any) -> None:
    """Same page: referencing a Content-ID before it is declared is 400."""
    sandbox, c, h = dv
    cs = changeset(
        "changeset_BBB456",
        [
            http_part(
                f"POST {ORG}{API}/contacts HTTP/1.1\r\nContent-Type: application/json;type=entry\r\n\r\n"
                '{"lastname":"911","parentcustomerid_account@odata.bind" : "$1"}\r\n',
                2,
            ),
            http_part(
                f"POST {ORG}{API}/accounts HTTP/1.1\r\nContent-Type: application/json;type=entry\r\n\r\n"
                '{"name":"QQQQ","revenue": 1.50}\r\n',
                1,
            ),
        ],
    )
    r = post_batch(c, h, batch_body("batch_AAA123", [cs]))
    assert r.status_code == 400
    assert "Content-ID Reference: '$1' does not exist in the batch context." in r.text
    assert sandbox.records["accounts"] == {} and sandbox.records["contacts"] == {}


def too_long_batch() -> str:
    too_long = "Subject is too long " + "x" * 200
    parts = [
        http_part(
            f"POST {API}/accounts HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n"
            f'{{"name": "{name}"}}'
        )
        for name in (too_long, "Task 2 in batch", "Task 3 in batch")
    ]
    return batch_body("batch_AAA123", parts)


def test_batch_stops_at_first_error(dv: Any) -> None:
    """Same page, "Handling errors": without continue-on-error the batch answers the first error."""
    sandbox, c, h = dv
    r = post_batch(c, h, too_long_batch())
    assert r.status_code == 400
    assert response_parts(r) == [("HTTP/1.1 400 Bad Request", None)]
    assert (
        '{"error": {"code": "0x80044331", "message": "A validation error occurred.  '
        "The length of the 'name'" in r.text
    )
    assert sandbox.records["accounts"] == {}


def test_failed_change_set_restores_what_a_delete_cleared(dv: Any) -> None:
    """A delete in a change set deletes child contacts and clears other links; when a later request of
    the change set fails, every row is back as it was."""
    sandbox, c, h = dv
    parent = new_id(c.post(f"{API}/accounts", json={"name": "Parent"}, headers=h))
    to_parent = f"/accounts({parent})"
    c.post(f"{API}/leads", json={"lastname": "L", "parentaccountid@odata.bind": to_parent}, headers=h)
    contact = {"lastname": "C", "parentcustomerid_account@odata.bind": to_parent}
    c.post(f"{API}/contacts", json=contact, headers=h)
    before = {name: {rid: dict(row) for rid, row in rows.items()} for name, rows in sandbox.records.items()}
    cs = changeset(
        "changeset_del",
        [
            http_part(f"DELETE {ORG}{API}/accounts({parent}) HTTP/1.1\r\n\r\n", 1),
            http_part(
                f"POST {ORG}{API}/accounts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
                f'{{"name":"{"x" * 161}"}}\r\n',
                2,
            ),
        ],
    )
    assert post_batch(c, h, batch_body("batch_AAA123", [cs])).status_code == 400
    assert sandbox.records == before


def test_batch_continue_on_error(dv: Any) -> None:
    """Same page: with Prefer: odata.continue-on-error the batch is 200 and every part answers."""
    sandbox, c, h = dv
    r = post_batch(c, h, too_long_batch(), prefer="odata.continue-on-error")
    assert r.status_code == 200
    assert [s for s, _ in response_parts(r)] == [
        "HTTP/1.1 400 Bad Request",
        "HTTP/1.1 204 No Content",
        "HTTP/1.1 204 No Content",
    ]
    assert len(sandbox.records["accounts"]) == 2


def test_batch_get_outside_change_set(dv: Any) -> None:
    """Same page, first example: a GET part answers 200 with the JSON body."""
    _, c, h = dv
    account = new_id(c.post(f"{API}/accounts", json={"name": "A"}, headers=h))
    body = batch_body(
        "batch_AAA123", [http_part(f"GET {API}/accounts({account})?$select=name HTTP/1.1\r\n\r\n")]
    )
    r = post_batch(c, h, body)
    assert r.status_code == 200 and response_parts(r) == [("HTTP/1.1 200 OK", None)]
    assert '"name": "A"' in r.text


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ("contains(name,'(sample)') or contains(name,'test')", {"A (sample)", "test B"}),
        ("not contains(name,'sample')", {"test B", "C"}),
        ("(contains(name,'sample') or contains(name,'test')) and revenue gt 5000", {"test B"}),
        ("revenue lt 100000 and revenue gt 2000", {"test B"}),
        (
            'Microsoft.Dynamics.CRM.Between(PropertyName=\'numberofemployees\',PropertyValues=["5","2000"])',
            {"C"},
        ),
    ],
)
def test_filter_examples(dv: Any, filter_text: str, expected: set[str]) -> None:
    """query/filter-rows.md examples."""
    _, c, h = dv
    for row in (
        {"name": "A (sample)", "revenue": 1000},
        {"name": "test B", "revenue": 9000},
        {"name": "C", "numberofemployees": 10},
    ):
        c.post(f"{API}/accounts", json=row, headers=h)
    r = c.get(f"{API}/accounts", params={"$select": "name", "$filter": filter_text}, headers=h)
    assert {row["name"] for row in r.json()["value"]} == expected


def test_page_results(dv: Any) -> None:
    """query/page-results.md: Prefer odata.maxpagesize=2, Preference-Applied, @odata.nextLink until done."""
    _, c, h = dv
    for i in range(5):
        c.post(f"{API}/contacts", json={"lastname": f"L{i}"}, headers=h)
    url, seen = f"{API}/contacts?$select=fullname", []
    while url:
        r = c.get(url, headers={**h, "Prefer": "odata.maxpagesize=2"})
        assert r.headers["Preference-Applied"] == "odata.maxpagesize=2"
        assert r.json()["@odata.context"] == f"{ORG}{API}/$metadata#contacts(fullname)"
        seen += [row["fullname"] for row in r.json()["value"]]
        next_link = r.json().get("@odata.nextLink")
        assert next_link is None or "$skiptoken=%3Ccookie%20pagenumber=" in next_link
        url = next_link.removeprefix(ORG) if next_link else None
    assert seen == [f"L{i}" for i in range(5)]
    top = c.get(f"{API}/contacts?$select=fullname&$top=3", headers={**h, "Prefer": "odata.maxpagesize=2"})
    assert len(top.json()["value"]) == 2 and "@odata.nextLink" in top.json()


def test_service_document_and_metadata(dv: Any) -> None:
    """query/overview.md, "EntitySet resources", and the CSDL $metadata document."""
    _, c, h = dv
    r = c.get(f"{API}/", headers=h)
    assert r.json()["@odata.context"] == f"{ORG}{API}/$metadata"
    assert {"name": "accounts", "kind": "EntitySet", "url": "accounts"} in r.json()["value"]
    csdl = c.get(f"{API}/$metadata", headers=h)
    assert csdl.headers["content-type"] == "application/xml"
    assert '<EntityType Name="account" BaseType="mscrm.crmbaseentity">' in csdl.text
    assert '<NavigationProperty Name="parentcustomerid_account" Type="mscrm.account"/>' in csdl.text


def test_client_error_examples(dv: Any) -> None:
    """Troubleshoot Dataverse Web API client errors (SupportArticles-docs, web-api-client-errors.md)."""
    _, c, h = dv
    assert c.get(f"{API}/Account", headers=h).json() == {
        "error": {"code": "0x8006088a", "message": "Resource not found for the segment 'Account'."}
    }
    assert c.get(f"{API}/accounts?$select=Name", headers=h).json()["error"]["message"] == (
        "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'."
    )
    whoami = c.post(f"{API}/WhoAmI", headers=h)
    assert whoami.status_code == 404 and whoami.json()["error"] == {
        "code": "",
        "message": f"No HTTP resource was found that matches the request URI '{ORG}{API}/WhoAmI'.",
    }
    undeclared = c.post(
        "/api/data/v9.0/contacts",
        json={
            "firstname": "test",
            "lastname": "contact",
            "parentcustomerid@odata.bind": "accounts(a779956b-d748-ed11-bb44-6045bd01152a)",
        },
        headers=h,
    )
    assert undeclared.status_code == 400 and undeclared.json()["error"]["code"] == "0x80048d19"
    assert "Error identified in Payload provided by the user for Entity :'contacts'" in undeclared.text


def test_duplicate_detection_example(dv: Any) -> None:
    """manage-duplicate-detection-create-update.md: a lead with the same emailaddress1."""
    _, c, h = dv
    lead = {"firstname": "Monte", "lastname": "Orton", "emailaddress1": "monteorton@example.com"}
    assert c.post(f"{API}/leads", json=lead, headers=h).status_code == 204
    r = c.post(f"{API}/leads", json=lead, headers={**h, "MSCRM.SuppressDuplicateDetection": "false"})
    assert r.status_code == 500 and r.json() == {
        "error": {
            "code": "0x80040333",
            "message": (
                "A record was not created or updated because a duplicate of the current record already "
                "exists."
            ),
        }
    }


# ----- table definitions (query-metadata-web-api.md) -------------------------------------------------


def test_entity_definition_select(dv: Any) -> None:
    _, c, h = dv
    r = c.get(
        f"{API}/EntityDefinitions(LogicalName='account')?$select=DisplayName,IsKnowledgeManagementEnabled,"
        "EntitySetName",
        headers=h,
    )
    body = r.json()
    assert set(body) == {
        "@odata.context",
        "DisplayName",
        "IsKnowledgeManagementEnabled",
        "EntitySetName",
        "MetadataId",
    }
    assert (
        body["DisplayName"]["UserLocalizedLabel"]["Label"] == "Account"
        and body["EntitySetName"] == "accounts"
    )
    assert body["DisplayName"]["LocalizedLabels"][0]["LanguageCode"] == 1033


def test_entity_definitions_filtered_by_enum_and_complex_value(dv: Any) -> None:
    _, c, h = dv
    owned = c.get(
        f"{API}/EntityDefinitions?$select=LogicalName&$filter=OwnershipType eq "
        "Microsoft.Dynamics.CRM.OwnershipTypes'UserOwned'",
        headers=h,
    )
    assert {e["LogicalName"] for e in owned.json()["value"]} == {"account", "contact", "lead"}
    flagged = c.get(
        f"{API}/EntityDefinitions?$select=LogicalName&$filter=CanCreateAttributes/Value eq true", headers=h
    )
    assert len(flagged.json()["value"]) == 3


def test_attributes_expand_and_required_level(dv: Any) -> None:
    _, c, h = dv
    r = c.get(
        f"{API}/EntityDefinitions(LogicalName='account')?$select=LogicalName&$expand=Attributes($select="
        "LogicalName;$filter=AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist')",
        headers=h,
    )
    names = {a["LogicalName"] for a in r.json()["Attributes"]}
    assert {"bf_fundingtype", "bf_renewalmonth", "bf_brokertype", "industrycode"} <= names
    required = c.get(
        f"{API}/EntityDefinitions(LogicalName='account')/Attributes?$select=SchemaName&$filter="
        "RequiredLevel/Value eq Microsoft.Dynamics.CRM.AttributeRequiredLevel'ApplicationRequired'",
        headers=h,
    )
    assert [a["SchemaName"] for a in required.json()["value"]] == ["name"]


def test_picklist_cast_with_option_sets(dv: Any) -> None:
    _, c, h = dv
    r = c.get(
        f"{API}/EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
        "?$select=LogicalName&$expand=OptionSet,GlobalOptionSet",
        headers=h,
    )
    by_name = {a["LogicalName"]: a for a in r.json()["value"]}
    months = by_name["bf_renewalmonth"]["OptionSet"]["Options"]
    assert [o["Value"] for o in months][:2] == [100000000, 100000001]
    assert (
        months[-1]["Label"]["UserLocalizedLabel"]["Label"] == "December" and months[-1]["Value"] == 100000011
    )
    broker = [
        (o["Value"], o["Label"]["UserLocalizedLabel"]["Label"])
        for o in by_name["bf_brokertype"]["OptionSet"]["Options"]
    ]
    assert broker == [(100000000, "Independent"), (100000001, "National"), (100000002, "Regional")]
    assert by_name["bf_fundingtype"]["GlobalOptionSet"] is None
    assert all(
        a["@odata.type"] == "#Microsoft.Dynamics.CRM.PicklistAttributeMetadata" for a in r.json()["value"]
    )


def test_string_cast_max_length_and_base_type_refusal(dv: Any) -> None:
    _, c, h = dv
    r = c.get(
        f"{API}/EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata"
        "?$select=LogicalName,MaxLength",
        headers=h,
    )
    lengths = {a["LogicalName"]: a["MaxLength"] for a in r.json()["value"]}
    assert lengths["bf_benefitflowid"] == 64 and lengths["emailaddress1"] == 100 and lengths["lastname"] == 50
    base = c.get(
        f"{API}/EntityDefinitions(LogicalName='contact')/Attributes?$select=LogicalName,MaxLength", headers=h
    )
    assert base.status_code == 400 and base.json()["error"]["message"] == (
        "Could not find a property named 'MaxLength' on type 'Microsoft.Dynamics.CRM.AttributeMetadata'."
    )
    money = c.get(
        f"{API}/EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.MoneyAttributeMetadata"
        "?$select=LogicalName,Precision",
        headers=h,
    )
    assert {"LogicalName": "revenue", "Precision": 2} in [
        {k: v for k, v in a.items() if k in ("LogicalName", "Precision")} for a in money.json()["value"]
    ]


def test_attribute_properties_and_keys(dv: Any) -> None:
    _, c, h = dv
    r = c.get(
        f"{API}/EntityDefinitions(LogicalName='account')/Attributes(LogicalName='bf_benefitflowid')",
        headers=h,
    )
    attr = r.json()
    assert attr["AttributeType"] == "String" and attr["AttributeTypeName"] == {"Value": "StringType"}
    assert attr["RequiredLevel"]["Value"] == "None" and attr["IsValidForCreate"] and attr["IsValidForUpdate"]
    assert attr["DisplayName"]["UserLocalizedLabel"]["Label"] == "BenefitFlow ID" and attr["MaxLength"] == 64
    created = c.get(
        f"{API}/EntityDefinitions(LogicalName='account')/Attributes(LogicalName='createdon')", headers=h
    )
    assert created.json()["IsValidForCreate"] is False and created.json()["IsValidForUpdate"] is False
    keys = c.get(f"{API}/EntityDefinitions(LogicalName='lead')/Keys", headers=h).json()["value"]
    assert [(k["LogicalName"], k["KeyAttributes"], k["EntityKeyIndexStatus"]) for k in keys] == [
        ("bf_benefitflowid_key", ["bf_benefitflowid"], "Active")
    ]


def test_entity_definition_by_metadata_id(dv: Any) -> None:
    sandbox, c, h = dv
    metadata_id = sandbox.schema["accounts"].metadata_id
    r = c.get(
        f"{API}/EntityDefinitions({metadata_id})/Attributes?$select=LogicalName&$filter=LogicalName eq "
        "'name'",
        headers=h,
    )
    assert [a["LogicalName"] for a in r.json()["value"]] == ["name"]
    missing = c.get(f"{API}/EntityDefinitions(LogicalName='nope')", headers=h)
    assert missing.status_code == 404


def test_batch_put_single_property_through_content_id(dv: Any) -> None:
    """execute-batch-operations-using-web-api.md, "Reference URI in request URL": PUT $1/lastname."""
    sandbox, c, h = dv
    cs = changeset(
        "changeset_dd81ccab",
        [
            http_part(
                f"POST {ORG}{API}/contacts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
                '{"firstname":"First Name","lastname":"Last name"}\r\n',
                1,
            ),
            http_part(
                'PUT $1/lastname HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"value":"BBBBB"}\r\n', 2
            ),
        ],
    )
    r = post_batch(c, h, batch_body("batch_AAA123", [cs]))
    assert [s for s, _ in response_parts(r)] == ["HTTP/1.1 204 No Content"] * 2
    assert next(iter(sandbox.records["contacts"].values()))["fullname"] == "First Name BBBBB"


def test_optimistic_concurrency_and_count_segment(dv: Any) -> None:
    """perform-conditional-operations-using-web-api.md (If-Match with an ETag) and query/count-rows.md."""
    _, c, h = dv
    account = new_id(c.post(f"{API}/accounts", json={"name": "A"}, headers=h))
    etag = c.get(f"{API}/accounts({account})?$select=name", headers=h).json()["@odata.etag"]
    assert (
        c.patch(f"{API}/accounts({account})", json={"name": "B"}, headers={**h, "If-Match": etag}).status_code
        == 204
    )
    stale = c.delete(f"{API}/accounts({account})", headers={**h, "If-Match": etag})
    assert stale.status_code == 412 and stale.json()["error"]["message"] == (
        "The version of the existing record doesn't match the RowVersion property provided."
    )
    assert c.get(f"{API}/accounts/$count", headers=h).text == "1"


def test_error_details_annotations(dv: Any) -> None:
    """compose-http-requests-handle-errors.md, "Include more details with errors"."""
    _, c, h = dv
    r = c.post(
        f"{API}/accounts", json={"name": "x" * 161}, headers={**h, "Prefer": 'odata.include-annotations="*"'}
    )
    error = r.json()["error"]
    assert error["code"] == "0x80044331"
    assert error["@Microsoft.PowerApps.CDS.HelpLink"] == (
        "http://go.microsoft.com/fwlink/?LinkID=398563&error=Microsoft.Crm.CrmException%3a80044331&client=platform"
    )
    assert error["@Microsoft.PowerApps.CDS.InnerError.Message"] == error["message"]
    only_formatted = c.get(
        f"{API}/accounts?$select=statecode",
        headers={
            **h,
            "Prefer": 'odata.include-annotations="OData.Community.Display.V1.FormattedValue,'
            'Microsoft.PowerApps.CDS.*"',
        },
    )
    assert only_formatted.headers["Preference-Applied"] == (
        'odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.PowerApps.CDS.*"'
    )


def test_string_formats_follow_the_cdm_types(dv: Any) -> None:
    _, c, h = dv
    r = c.get(
        f"{API}/EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata"
        "?$select=LogicalName,FormatName&$filter=LogicalName eq 'websiteurl' or LogicalName eq "
        "'emailaddress1' "
        "or LogicalName eq 'telephone1' or LogicalName eq 'name'",
        headers=h,
    )
    formats = {a["LogicalName"]: a["FormatName"]["Value"] for a in r.json()["value"]}
    assert formats == {"websiteurl": "Url", "emailaddress1": "Email", "telephone1": "Phone", "name": "Text"}

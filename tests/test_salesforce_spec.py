"""The Salesforce connector spec and its profiles: they load and validate, an offline dry-run of the example
data puts every edge case in its place, the rendered requests have the shapes Salesforce's REST guide
documents, SOQL literals survive hostile values, and Salesforce's error bodies are classified."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from engine.catalog import connection_settings, load_connector, load_profile
from engine.cli import app
from engine.client import AuthStopped, Credentials, TokenAuth, matches
from engine.connector import ConnectorSpec, FieldSpec
from engine.exampledata import generate
from engine.metadata import parse_field
from engine.plan import make_plan_sync
from engine.push import classify, error_parts
from engine.render import condition, render_batches, render_lookups
from engine.templating import fill
from tests.soql import SoqlError, contained_values, exact_values

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "profiles" / "salesforce-benefitflow.yaml"
LEADS = ROOT / "profiles" / "salesforce-leads.yaml"
EXAMPLES = ROOT / "examples" / "data"
BASE = "https://acme.my.salesforce.com"
runner = CliRunner()


@pytest.fixture(scope="module")
def sf() -> ConnectorSpec:
    return load_connector("salesforce").model


@pytest.fixture(scope="module")
def plan() -> dict[str, Any]:
    result = runner.invoke(app, ["plan", str(PROFILE), "--source", str(EXAMPLES), "--format", "json"])
    assert result.exit_code == 1, result.output  # the example data holds invalid records
    return json.loads(result.stdout)


def records_by_id(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["source_id"]: r for r in plan["records"]}


def soql_of(url: str) -> str:
    parts = urlsplit(url)
    assert parts.path.startswith("/services/data/v60.0/query")
    [q] = parse_qs(parts.query, strict_parsing=True)["q"]
    return q


def where_of(url: str) -> str:
    return soql_of(url).split(" WHERE ", 1)[1]


# ----- loading, validation, listing ----------------------------------------------------------------

@pytest.mark.parametrize("profile", [PROFILE, LEADS], ids=["benefitflow", "leads"])
def test_profiles_load_and_validate_with_no_findings(profile: Path) -> None:
    bundle = load_profile(profile)
    assert bundle.connector.model.name == "salesforce"
    result = runner.invoke(app, ["validate", str(profile), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["valid"] is True and report["connector"] == "salesforce"
    assert report["findings"] == []


def test_connectors_lists_salesforce_with_its_objects() -> None:
    result = runner.invoke(app, ["connectors", "--format", "json"])
    assert result.exit_code == 0, result.output
    [row] = [c for c in json.loads(result.stdout) if c["name"] == "salesforce"]
    objects = {o["name"]: o for o in row["objects"]}
    assert set(objects) == {"Account", "Contact", "Lead"}
    assert objects["Account"]["identity_keys"] == ["domain", "domain_city_state"]
    assert objects["Account"]["relations"] == ["parent_account"]
    assert objects["Contact"]["identity_keys"] == ["email"] and objects["Contact"]["relations"] == ["account"]
    assert objects["Lead"]["identity_keys"] == ["email"] and objects["Lead"]["relations"] == []


def test_required_fields_and_lengths_follow_the_field_reference(sf: ConnectorSpec) -> None:
    account, contact, lead = (sf.objects[o].fields for o in ("Account", "Contact", "Lead"))
    assert [n for n, f in account.items() if f.required] == ["Name"]
    assert [n for n, f in contact.items() if f.required] == ["LastName"]
    assert sorted(n for n, f in lead.items() if f.required) == ["Company", "LastName"]
    assert (account["Name"].max_length, account["BillingCity"].max_length, contact["Email"].max_length,
            contact["Title"].max_length, lead["Company"].max_length) == (255, 40, 80, 128, 255)
    assert lead["Status"].restricted and not account["Industry"].restricted


# ----- the offline dry-run of the example data -------------------------------------------------------

def test_every_edge_case_lands_in_its_status_with_a_reason(plan: dict[str, Any]) -> None:
    by_id = records_by_id(plan)
    assert plan["summary"] == {"net_new": 48, "update": 0, "synced": 0, "invalid": 4, "skipped": 3,
                               "restricted": 0, "ambiguous": 0}
    funding = by_id["emp-008"]["problems"]
    assert by_id["emp-008"]["status"] == "invalid" and [p["code"] for p in funding] == ["not_in_picklist"]
    assert funding[0]["field"] == "Funding_Type__c" and "'self funded'" in funding[0]["message"]
    [date] = by_id["emp-009"]["problems"]
    assert date["field"] == "Renewal_Month__c" and "2025-02-30" in date["message"]
    [long_name] = by_id["emp-010"]["problems"]
    assert (long_name["field"], long_name["code"]) == ("Name", "too_long")
    assert "at most 255" in long_name["message"]
    [email] = by_id["ec-015"]["problems"]  # zoë.laurent@...: Salesforce takes ASCII addresses (no EAI)
    assert (email["field"], email["code"]) == ("Email", "pattern") and "ASCII" in email["message"]
    for contact in ("ec-007", "bc-009"):
        assert by_id[contact]["status"] == "skipped" and "no email" in by_id[contact]["notes"][0]
    assert by_id["emp-007"]["status"] == "skipped"
    assert "same identity as employer/emp-006" in by_id["emp-007"]["notes"][0]
    others = set(by_id) - {"emp-007", "emp-008", "emp-009", "emp-010", "ec-007", "ec-015", "bc-009"}
    assert {by_id[i]["status"] for i in others} == {"net_new"}


def write_requests(plan: dict[str, Any], kind: str = "upsert") -> list[dict[str, Any]]:
    """The profile writes new records by upsert on BenefitFlow_Id__c."""
    return [r for r in plan["requests"] if r["kind"] == kind]


def test_new_records_are_sobject_collection_upserts_as_documented(plan: dict[str, Any]) -> None:
    upserts = write_requests(plan)
    assert write_requests(plan, "create") == []
    assert [r["object"] for r in upserts] == ["Account", "Account", "Account", "Contact", "Contact"]
    for request in upserts:
        assert request["method"] == "PATCH"
        assert request["url"] == ("https://MyDomainName.my.salesforce.com/services/data/v60.0/composite/sobjects/"
                                  f"{request['object']}/BenefitFlow_Id__c")
        assert request["headers"]["Content-Type"] == "application/json"
        assert set(request["body"]) == {"allOrNone", "records"} and request["body"]["allOrNone"] is False
        assert 0 < len(request["body"]["records"]) <= 200
        for record in request["body"]["records"]:
            assert record["attributes"] == {"type": request["object"]}
            assert record["BenefitFlow_Id__c"]  # the external id names the record
            assert "id" not in record and "Id" not in record
    creates = upserts
    sent = json.dumps([r["body"] for r in creates], ensure_ascii=False)
    for policy_value in ("covered_lives", "Example Mutual Health", "Dana Whitfield", "94-1234501"):
        assert policy_value not in sent


def test_values_are_shaped_for_their_fields(plan: dict[str, Any]) -> None:
    accounts = [rec for r in write_requests(plan) if r["object"] == "Account" for rec in r["body"]["records"]]
    assert all(a["Website"].startswith("https://") and "/" not in a["Website"][8:] for a in accounts)
    assert all(len(a["BillingState"]) == 2 and a["BillingState"].isupper() for a in accounts)
    assert all(a["Phone"].startswith("+1") and a["Phone"][1:].isdigit() for a in accounts)
    employers = {a["BenefitFlow_Id__c"]: a for a in accounts if a["BenefitFlow_Id__c"].startswith("emp-")}
    assert employers["emp-003"]["NumberOfEmployees"] == 250  # the string "250" in the source
    assert employers["emp-001"]["Renewal_Month__c"] == "January"
    assert employers["emp-012"]["BillingState"] == "DC"
    offices = {a["BenefitFlow_Id__c"]: a for a in accounts if a["BenefitFlow_Id__c"].startswith("bo-")}
    assert offices["bo-002"]["ParentId"] == "<id of broker/brk-001>"
    assert (offices["bo-002"]["BillingCity"], offices["bo-002"]["BillingState"]) == ("New York", "NY")
    contacts = [rec for r in write_requests(plan) if r["object"] == "Contact" for rec in r["body"]["records"]]
    by_id = {c["BenefitFlow_Id__c"]: c for c in contacts}
    assert by_id["ec-001"]["Email"] == "jane.doe@bluebird-bakery-example.com"
    assert by_id["ec-001"]["AccountId"] == "<id of employer/emp-001>"
    assert by_id["bc-003"]["AccountId"] == "<id of broker_office/bo-002>"


def test_lookups_are_soql_queries_with_in_and_like(plan: dict[str, Any]) -> None:
    lookups = write_requests(plan, "lookup")
    assert all(r["method"] == "GET" and len(r["url"]) <= 8000 for r in lookups)
    accounts = [r for r in lookups if r["object"] == "Account"]
    employer_query = soql_of(accounts[1]["url"])
    assert employer_query.startswith("SELECT Id,Website,")
    assert " FROM Account WHERE Website LIKE '%" in employer_query and ",ParentId FROM" in employer_query
    assert "obrien-dental-example.com" in contained_values(where_of(accounts[1]["url"]), "Website")
    contacts = [r for r in lookups if r["object"] == "Contact"]
    emails = [v for r in contacts for v in exact_values(where_of(r["url"]), "Email")]
    assert "sean.o'brien@obrien-dental-example.com" in emails  # sent as 'sean.o\'brien@...'
    assert "josé.nuñez@zoes-cafe-example.com" in emails  # a historical email, non-ASCII
    assert "\\'" in soql_of(contacts[0]["url"])


def test_batches_of_a_large_export_stay_within_200_records(tmp_path: Path) -> None:
    generate(tmp_path, total=1500, seed=3)
    result = make_plan_sync(load_profile(PROFILE), tmp_path)
    upserts = [r for r in result.writes if r.kind == "upsert"]
    sizes = [len(r.body["records"]) for r in upserts]
    assert max(sizes) == 200 and all(0 < n <= 200 for n in sizes)
    assert sum(sizes) == sum(1 for r in result.records if r.status == "net_new")


def test_update_and_upsert_requests(sf: ConnectorSpec) -> None:
    items = [(f"employer/e{i}", {"fields": {"Name": f"N{i}"}, "id": f"001xx00000{i:05d}AAA",
                                 "ref": f"employer/e{i}"}) for i in range(450)]
    updates = render_batches(sf, "update", "Account", items, BASE)
    assert [len(r.body["records"]) for r in updates] == [200, 200, 50]
    assert updates[0].method == "PATCH" and updates[0].url == f"{BASE}/services/data/v60.0/composite/sobjects"
    assert updates[0].body["records"][0] == {"attributes": {"type": "Account"}, "id": "001xx0000000000AAA",
                                             "Name": "N0"}
    upserts = render_batches(sf, "upsert", "Account", [
        ("employer/emp-1", {"fields": {"Name": "A"}, "key_field": "BenefitFlow_Id__c", "key_value": "emp-1",
                            "ref": "employer/emp-1"})], BASE)
    [upsert] = upserts
    assert upsert.method == "PATCH"
    assert upsert.url == f"{BASE}/services/data/v60.0/composite/sobjects/Account/BenefitFlow_Id__c"
    assert upsert.body == {"allOrNone": False, "records": [
        {"attributes": {"type": "Account"}, "BenefitFlow_Id__c": "emp-1", "Name": "A"}]}


def test_list_and_metadata_requests(sf: ConnectorSpec) -> None:
    from engine.render import base_context, build_request

    context = {**base_context(sf, sf.objects["Contact"]), "fields": ["Id", "Email"], "limit": 2000}
    listing = build_request(sf, "list", "Contact", sf.endpoints.list, context, BASE)
    assert soql_of(listing.url) == "SELECT Id,Email FROM Contact"
    assert listing.headers["Sforce-Query-Options"] == "batchSize=2000"
    lead = base_context(sf, sf.objects["Lead"])
    describe = build_request(sf, "metadata", "Lead", sf.endpoints.metadata, lead, BASE)
    assert describe.method == "GET" and describe.url == f"{BASE}/services/data/v60.0/sobjects/Lead/describe"


def test_lead_profile_fills_company_and_keeps_status_to_create(sf: ConnectorSpec) -> None:
    result = make_plan_sync(load_profile(LEADS), EXAMPLES)
    summary = result.summary()  # ec-015: a non-ASCII email; ec-007: no email
    assert (summary["net_new"], summary["invalid"], summary["skipped"]) == (18, 1, 1)
    [upsert] = [r for r in result.writes if r.kind == "upsert"]
    leads = {rec["BenefitFlow_Id__c"]: rec for rec in upsert.body["records"]}
    assert leads["ec-001"]["Company"] == "bluebird-bakery-example.com"
    assert all(rec["Status"] == "Open - Not Contacted" and rec["LastName"] for rec in leads.values())
    assert all(rec["attributes"] == {"type": "Lead"} for rec in leads.values())


def test_record_links_open_on_the_crm_used(sf: ConnectorSpec) -> None:
    profile = load_profile(PROFILE).profile.model
    for base, expected in [("http://127.0.0.1:8765", "http://127.0.0.1:8765"), (BASE, BASE)]:
        connection = connection_settings(sf, profile.connection, base)
        url = fill(sf.objects["Contact"].record_url or "", {**connection, "id": "003xx000004TmiQAAS"})
        assert url == f"{expected}/lightning/r/Contact/003xx000004TmiQAAS/view"


# ----- SOQL literals ----------------------------------------------------------------------------------

HOSTILE = [
    "o'brien@example.com", "x' OR Name != '", "' OR Id != null OR Email = '", "back\\slash@x.com",
    "trailing\\", "\\'", "100%_sure.com", "%", "_", "a\"b@x.com", "line\nbreak", "tab\there\rcr",
    "bell\bform\f", "zoë.laurent@zoës-café.com", "josé.nuñez@例え.jp", "') OR (Name LIKE '%", "\\u0027",
    "a,b@x.com", "'); DELETE FROM Account; --", "",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_stays_one_literal_and_decodes_back(sf: ConnectorSpec, value: str) -> None:
    assert exact_values(condition(sf.literal, "Email", [value], contains=False), "Email") == [value]
    assert contained_values(condition(sf.literal, "Website", [value], contains=True), "Website") == [value]


def test_many_hostile_values_in_one_in_list(sf: ConnectorSpec) -> None:
    clause = condition(sf.literal, "Email", HOSTILE, contains=False)
    assert clause.startswith("Email IN (")
    assert exact_values(clause, "Email") == HOSTILE
    assert contained_values(condition(sf.literal, "Website", HOSTILE, contains=True), "Website") == HOSTILE


def test_the_reader_refuses_what_soql_refuses() -> None:
    for bad in ["Email = 'unterminated", "Email = 'a\\%b'", "Email = 'it's'", "Email IN ('a' 'b')",
                "Website LIKE 'a%' OR Website LIKE '%b%'"]:
        with pytest.raises(SoqlError):
            exact_values(bad, "Email") if bad.startswith("Email") else contained_values(bad, "Website")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.characters(exclude_categories=["Cs"])), min_size=1, max_size=5))
def test_any_text_round_trips_through_a_query_url(values: list[str]) -> None:
    sf = load_connector("salesforce").model
    for contains, read in ((False, exact_values), (True, contained_values)):
        requests = render_lookups(sf, "Contact", "Email", values, ["Id", "Email"], contains, BASE)
        decoded = [v for r in requests for v in read(where_of(r.url), "Email")]
        assert decoded == values


def test_lookups_split_to_keep_urls_short(sf: ConnectorSpec) -> None:
    values = [f"person.{i}.o'neil@some-long-domain-name-{i % 7}-example.com" for i in range(1000)]
    requests = render_lookups(sf, "Contact", "Email", values, ["Id", "Email"], False, BASE)
    assert len(requests) > 1 and all(len(r.url) <= 8000 for r in requests)
    assert all(len(exact_values(where_of(r.url), "Email")) <= 200 for r in requests)
    assert [v for r in requests for v in exact_values(where_of(r.url), "Email")] == values


# ----- errors -----------------------------------------------------------------------------------------

def api_error(code: str, message: str, fields: list[str] | None = None) -> list[dict[str, Any]]:
    return [{"message": message, "errorCode": code, "fields": fields or []}]


def record_error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": fields or []}


@pytest.mark.parametrize(("status", "body", "kind"), [
    (401, api_error("INVALID_SESSION_ID", "Session expired or invalid"), "auth"),
    (403, api_error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), "rate_limit"),
    (403, api_error("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights"), "permission"),
    (403, api_error("API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization."), "auth"),
    (400, api_error("JSON_PARSER_ERROR", "Unexpected character ('}' (code 125))"), "validation"),
    (400, api_error("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"), "transient"),
    (404, api_error("NOT_FOUND", "The requested resource does not exist"), "not_found"),
    (300, ["/services/data/v60.0/sobjects/Account/001A", "/services/data/v60.0/sobjects/Account/001B"],
     "duplicate"),
    (503, "<html>Service Unavailable</html>", "transient"),
])
def test_whole_response_errors_are_classified(sf: ConnectorSpec, status: int, body: Any, kind: str) -> None:
    code, message = error_parts(sf.errors.body, body)
    assert classify(sf, status, body, code) == kind
    if isinstance(body, list) and isinstance(body[0], dict):
        assert code == body[0]["errorCode"] and message == body[0]["message"]


@pytest.mark.parametrize(("item", "kind"), [
    (record_error("DUPLICATES_DETECTED", "Use one of these records?"), "duplicate"),
    (record_error("DUPLICATE_VALUE", "duplicate value found: BenefitFlow_Id__c duplicates value on record "
                  "with id: 001xx000003DGb2"), "duplicate"),
    (record_error("STRING_TOO_LONG", "Name: data value too large", ["Name"]), "validation"),
    (record_error("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Funding Type: bad value for restricted "
                  "picklist field: self funded", ["Funding_Type__c"]), "validation"),
    (record_error("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"]),
     "validation"),
    (record_error("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"), "transient"),
    (record_error("ENTITY_IS_DELETED", "entity is deleted"), "not_found"),
])
def test_per_record_errors_in_collection_results_are_classified(sf: ConnectorSpec, item: dict[str, Any],
                                                                kind: str) -> None:
    assert sf.errors.item is not None
    code, message = error_parts(sf.errors.item, item)
    assert (code, message) == (item["statusCode"], item["message"])
    assert classify(sf, 200, item, code) == kind


def test_an_expired_session_is_refreshed_and_a_dead_grant_stops_with_the_hint(sf: ConnectorSpec) -> None:
    assert matches(sf.auth.token_expired, 401, api_error("INVALID_SESSION_ID", "Session expired or invalid"))
    assert not matches(sf.auth.token_expired, 401, api_error("INVALID_AUTH_HEADER", "INVALID_HEADER_TYPE"))
    assert not matches(sf.auth.token_expired, 403, api_error("REQUEST_LIMIT_EXCEEDED", "TotalRequests"))
    auth = TokenAuth(sf, Credentials(client_id="id", client_secret="s3cret", refresh_token="r3fresh"), BASE)
    refused = {"error": "invalid_grant", "error_description": "inactive user", "refresh_token": "r3fresh"}
    with pytest.raises(AuthStopped) as stopped:
        auth._refused(refused, 400)
    text = str(stopped.value)
    assert "inactive user" in text and "active Salesforce integration user" in text and "r3fresh" not in text
    assert matches(sf.auth.refresh_refused, 400, {"error": "inactive_org", "error_description": "locked"})
    assert not matches(sf.auth.refresh_refused, 400, {"error": "rate_limit_exceeded"})


# ----- live metadata (describe) ---------------------------------------------------------------------

def parsed(sf: ConnectorSpec, name: str, type_: str, **extra: Any) -> FieldSpec:
    """One describe field (the defaults of a plain optional custom field, overridden by `extra`) as crmsync
    reads it."""
    field = {"name": name, "label": name, "type": type_, "length": 0, "nillable": True,
             "defaultedOnCreate": False, "createable": True, "updateable": True, "unique": False,
             "externalId": False, "restrictedPicklist": False, "picklistValues": [], **extra}
    found = parse_field(field, sf.metadata)
    assert found is not None and found[0] == name
    return found[1]


def test_describe_fields_become_field_specs(sf: ConnectorSpec) -> None:
    name = parsed(sf, "Name", "string", length=255, nillable=False)
    assert name.required and name.max_length == 255 and name.type == "string"
    option = {"value": "Open - Not Contacted", "label": "Open - Not Contacted", "active": True,
              "defaultValue": True}
    status = parsed(sf, "Status", "picklist", nillable=False, defaultedOnCreate=True, restrictedPicklist=True,
                    picklistValues=[option])
    assert not status.required and status.restricted and status.option_labels() == ["Open - Not Contacted"]
    flag = parsed(sf, "DoNotCall", "boolean", nillable=False, defaultedOnCreate=True)
    assert flag.type == "boolean" and not flag.required
    external = parsed(sf, "BenefitFlow_Id__c", "string", length=64, unique=True, externalId=True)
    assert external.unique and external.max_length == 64 and not external.required
    created = parsed(sf, "CreatedDate", "datetime", nillable=False, defaultedOnCreate=True, createable=False,
                     updateable=False)
    assert created.read_only and not created.required
    assert parsed(sf, "BillingStreet", "textarea", length=255).type == "text"
    assert parsed(sf, "Description", "textarea", length=32000).max_length == 32000
    for skipped in (("ParentId", "reference"), ("BillingAddress", "address")):
        assert parse_field({"name": skipped[0], "type": skipped[1]}, sf.metadata) is None

"""HubSpot emulator: every rule and fault answers with HubSpot's own status and body."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.sandbox.common import AuthConfig
from engine.sandbox.hubspot import HubSpotSandbox
from engine.sandbox.hubspot_search import SearchLimits

H = {"Authorization": "Bearer sandbox-token"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(**options: Any) -> TestClient:
    return TestClient(HubSpotSandbox(**options).app())


@pytest.fixture
def hs() -> TestClient:
    return client()


def create(c: TestClient, kind: str, **props: str) -> dict[str, Any]:
    r = c.post(f"/crm/v3/objects/{kind}", json={"properties": props}, headers=H)
    assert r.status_code == 201, r.text
    return r.json()


def inner_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    prefix = "Property values were not valid: "
    assert body["message"].startswith(prefix)
    return json.loads(body["message"][len(prefix) :])


# ----- auth ------------------------------------------------------------------------------------


def test_refresh_token_grant_returns_access_token_response(hs: TestClient) -> None:
    r = hs.post(
        "/oauth/v1/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
            "refresh_token": "sandbox-refresh",
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 1800
    assert body["refresh_token"] == "sandbox-refresh" and body["hub_id"] == 123456
    ok = hs.get("/crm/v3/objects/contacts", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert ok.status_code == 200


def test_client_credentials_grant_has_no_refresh_token(hs: TestClient) -> None:
    r = hs.post(
        "/oauth/v3/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
        },
    )
    assert r.status_code == 200
    assert "refresh_token" not in r.json() and r.json()["token_use"] == "client_credentials"


def test_token_ttl_is_configurable() -> None:
    c = client(token_ttl_s=60)
    r = c.post(
        "/oauth/v1/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
            "refresh_token": "sandbox-refresh",
        },
    )
    assert r.json()["expires_in"] == 60


@pytest.mark.parametrize("refresh", ["unknown", "sandbox-refresh"])
def test_refused_refresh_is_bad_refresh_token(refresh: str) -> None:
    auth = AuthConfig(static_tokens={"sandbox-token": "x"}, inactive_users={"integration@sandbox"})
    c = client(auth=auth) if refresh == "sandbox-refresh" else client()
    r = c.post(
        "/oauth/v1/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
            "refresh_token": refresh,
        },
    )
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == "BAD_REFRESH_TOKEN" and body["message"] == "missing or unknown refresh token"
    assert body["error"] == "invalid_grant" and body["correlationId"]


def test_expired_token_is_401_expired_authentication() -> None:
    clock = FakeClock()
    sb = HubSpotSandbox(clock=clock)
    c = TestClient(sb.app())
    token = sb.tokens.issue("integration@sandbox").value
    clock.now += 1800 + 5
    r = c.get("/crm/v3/objects/contacts", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    body = r.json()
    assert body["category"] == "EXPIRED_AUTHENTICATION" and body["status"] == "error"
    assert body["message"] == "The OAuth token used to make this call expired 5 second(s) ago."
    assert "expire time" in body["context"]


def test_expire_every_fault_expires_oauth_tokens() -> None:
    sb = HubSpotSandbox(faults="expire_every=2")
    c = TestClient(sb.app())
    token = sb.tokens.issue("integration@sandbox").value
    hdr = {"Authorization": f"Bearer {token}"}
    assert c.get("/crm/v3/objects/contacts", headers=hdr).status_code == 200
    assert c.get("/crm/v3/objects/contacts", headers=hdr).json()["category"] == "EXPIRED_AUTHENTICATION"


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc"])
def test_missing_or_bad_token_is_401_invalid_authentication(hs: TestClient, header: str | None) -> None:
    r = hs.get("/crm/v3/objects/companies", headers={"Authorization": header} if header else {})
    assert r.status_code == 401
    assert r.json()["category"] == "INVALID_AUTHENTICATION"
    assert r.json()["message"].startswith("Authentication credentials not found.")


def test_missing_scope_is_403() -> None:
    c = client(missing_scopes={"crm.objects.contacts.write"})
    r = c.post("/crm/v3/objects/contacts", json={"properties": {"email": "a@b.com"}}, headers=H)
    assert r.status_code == 403 and r.json()["category"] == "MISSING_SCOPES"
    assert r.json()["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.contacts.write"]
    assert c.get("/crm/v3/objects/contacts", headers=H).status_code == 200


# ----- records ---------------------------------------------------------------------------------


def test_create_returns_simple_public_object_with_string_properties(hs: TestClient) -> None:
    body = create(hs, "companies", name="Acme", numberofemployees="250")
    assert set(body) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert body["archived"] is False and body["id"].isdigit()
    assert body["properties"]["numberofemployees"] == "250"
    assert body["properties"]["hs_object_id"] == body["id"]


def test_json_numbers_are_stored_as_strings(hs: TestClient) -> None:
    r = hs.post("/crm/v3/objects/companies", json={"properties": {"numberofemployees": 12}}, headers=H)
    assert r.status_code == 201 and r.json()["properties"]["numberofemployees"] == "12"


def test_get_by_id_default_and_requested_properties(hs: TestClient) -> None:
    cid = create(hs, "companies", name="Acme", domain="acme.com", city="Austin")["id"]
    default = hs.get(f"/crm/v3/objects/companies/{cid}", headers=H).json()
    assert "city" not in default["properties"] and default["properties"]["domain"] == "acme.com"
    picked = hs.get(f"/crm/v3/objects/companies/{cid}?properties=city,phone", headers=H).json()
    assert picked["properties"] == {"city": "Austin", "phone": None}


def test_get_by_email_id_property_and_404(hs: TestClient) -> None:
    create(hs, "contacts", email="ann@example.com")
    r = hs.get("/crm/v3/objects/contacts/ANN@example.com?idProperty=email", headers=H)
    assert r.status_code == 200 and r.json()["properties"]["email"] == "ann@example.com"
    missing = hs.get("/crm/v3/objects/contacts/999999", headers=H)
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"


def test_patch_updates_and_empty_string_clears(hs: TestClient) -> None:
    cid = create(hs, "companies", name="Acme", city="Austin")["id"]
    r = hs.patch(
        f"/crm/v3/objects/companies/{cid}", json={"properties": {"city": "", "phone": "555"}}, headers=H
    )
    assert r.status_code == 200
    assert "city" not in r.json()["properties"] and r.json()["properties"]["phone"] == "555"


def test_unknown_object_type_is_400(hs: TestClient) -> None:
    r = hs.get("/crm/v3/objects/widgets", headers=H)
    assert r.status_code == 400 and r.json()["message"] == "Unable to infer object type from: widgets"


def test_list_pages_with_after(hs: TestClient) -> None:
    for i in range(3):
        create(hs, "companies", name=f"c{i}")
    first = hs.get("/crm/v3/objects/companies?limit=2", headers=H).json()
    assert len(first["results"]) == 2
    after = first["paging"]["next"]["after"]
    second = hs.get(f"/crm/v3/objects/companies?limit=2&after={after}", headers=H).json()
    assert [r["properties"]["name"] for r in second["results"]] == ["c2"] and "paging" not in second
    assert hs.get("/crm/v3/objects/companies?limit=101", headers=H).status_code == 400


def test_archive_hides_record(hs: TestClient) -> None:
    cid = create(hs, "companies", name="Gone")["id"]
    assert hs.delete(f"/crm/v3/objects/companies/{cid}", headers=H).status_code == 204
    assert hs.get(f"/crm/v3/objects/companies/{cid}", headers=H).status_code == 404
    assert hs.get(f"/crm/v3/objects/companies/{cid}?archived=true", headers=H).json()["archived"] is True


# ----- property rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "props", "code"),
    [
        ("companies", {"no_such_property": "x"}, "PROPERTY_DOESNT_EXIST"),
        ("companies", {"industry": "accounting"}, "INVALID_OPTION"),
        ("companies", {"funding_type": "fully insured"}, "INVALID_OPTION"),
        ("companies", {"renewal_month": "Jan"}, "INVALID_OPTION"),
        ("companies", {"numberofemployees": "about 50"}, "INVALID_INTEGER"),
        ("companies", {"plan_year_start": "2025-01-01T10:00:00Z"}, "INVALID_DATE"),
        ("companies", {"plan_year_start": "01/01/2025"}, "INVALID_DATE"),
        ("contacts", {"email": "not-an-email"}, "INVALID_EMAIL"),
        ("contacts", {"email": '"quoted"@example.com'}, "INVALID_EMAIL"),
        ("companies", {"hs_object_id": "5"}, "READ_ONLY_VALUE"),
        ("contacts", {"hs_additional_emails": "a@b.com"}, "READ_ONLY_VALUE"),
        ("companies", {"createdate": "2024-01-01T00:00:00Z"}, "READ_ONLY_VALUE"),
        ("companies", {"description": "x" * 65_537}, "INVALID_LENGTH"),
        ("companies", {"benefitflow_profile_url": "example.com/acme"}, "INVALID_URL"),
        ("companies", {"benefitflow_profile_url": "ftp://example.com/acme"}, "INVALID_URL"),
        ("companies", {"industry": " ACCOUNTING"}, "LEADING_TRAILING_WHITESPACE"),
    ],
)
def test_invalid_value_is_400_with_embedded_errors(
    hs: TestClient, kind: str, props: dict[str, str], code: str
) -> None:
    r = hs.post(f"/crm/v3/objects/{kind}", json={"properties": props}, headers=H)
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR" and body["correlationId"]
    errors = inner_errors(body)
    assert errors[0]["error"] == code and errors[0]["isValid"] is False
    assert errors[0]["name"] == next(iter(props))
    assert hs.get(f"/crm/v3/objects/{kind}", headers=H).json()["results"] == []


@pytest.mark.parametrize(
    ("props", "stored"),
    [
        ({"plan_year_start": "2025-01-01"}, ("plan_year_start", "2025-01-01")),
        ({"plan_year_start": "1735689600000"}, ("plan_year_start", "2025-01-01")),
        ({"plan_year_start": "2025-01-01T00:00:00.000Z"}, ("plan_year_start", "2025-01-01")),
        (
            {"benefitflow_profile_url": "https://bf.example.com/e/1"},
            ("benefitflow_profile_url", "https://bf.example.com/e/1"),
        ),
        ({"website": "example.com"}, ("website", "example.com")),
        ({"domain": "example.com"}, ("domain", "example.com")),
        ({"funding_type": "Self-Funded"}, ("funding_type", "Self-Funded")),
        ({"state": "California"}, ("state", "California")),
    ],
)
def test_valid_values_are_accepted(hs: TestClient, props: dict[str, str], stored: tuple[str, str]) -> None:
    body = create(hs, "companies", **props)
    assert body["properties"][stored[0]] == stored[1]


def test_valid_contact_emails_with_apostrophe_and_unicode_name(hs: TestClient) -> None:
    body = create(hs, "contacts", email="O'Brien@Example.com", firstname="Zoë", lastname="Núñez")
    assert body["properties"]["email"] == "o'brien@example.com"
    assert body["properties"]["firstname"] == "Zoë"


def test_duplicate_contact_email_is_409_conflict(hs: TestClient) -> None:
    first = create(hs, "contacts", email="dup@example.com")
    r = hs.post("/crm/v3/objects/contacts", json={"properties": {"email": "DUP@example.com"}}, headers=H)
    assert r.status_code == 409
    assert r.json()["category"] == "CONFLICT"
    assert r.json()["message"] == f"Contact already exists. Existing ID: {first['id']}"


def test_duplicate_email_allowed_when_rules_off() -> None:
    c = client(duplicate_rules=False)
    create(c, "contacts", email="dup@example.com")
    create(c, "contacts", email="dup@example.com")
    assert len(c.get("/crm/v3/objects/contacts", headers=H).json()["results"]) == 2


def test_changing_email_to_a_taken_one_is_409(hs: TestClient) -> None:
    create(hs, "contacts", email="a@example.com")
    other = create(hs, "contacts", email="b@example.com")["id"]
    r = hs.patch(
        f"/crm/v3/objects/contacts/{other}", json={"properties": {"email": "a@example.com"}}, headers=H
    )
    assert r.status_code == 409


def test_company_domain_duplicates_allowed_by_default_and_refusable() -> None:
    c = client()
    create(c, "companies", domain="acme.com")
    create(c, "companies", domain="acme.com")
    strict = client(company_domain_unique=True)
    create(strict, "companies", domain="acme.com")
    r = strict.post("/crm/v3/objects/companies", json={"properties": {"domain": "acme.com"}}, headers=H)
    assert r.status_code == 400 and inner_errors(r.json())[0]["name"] == "domain"


def test_unique_property_collision_is_400(hs: TestClient) -> None:
    create(hs, "companies", benefitflow_id="bf-1")
    r = hs.post("/crm/v3/objects/companies", json={"properties": {"benefitflow_id": "bf-1"}}, headers=H)
    assert r.status_code == 400 and r.json()["category"] == "VALIDATION_ERROR"
    assert inner_errors(r.json())[0]["name"] == "benefitflow_id"


# ----- batch -----------------------------------------------------------------------------------


def test_batch_create_response_shape(hs: TestClient) -> None:
    r = hs.post(
        "/crm/v3/objects/companies/batch/create",
        json={"inputs": [{"properties": {"name": "A"}}, {"properties": {"name": "B"}}]},
        headers=H,
    )
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "COMPLETE" and {"startedAt", "completedAt"} <= set(body)
    assert [x["properties"]["name"] for x in body["results"]] == ["A", "B"]


def test_one_invalid_input_fails_whole_batch(hs: TestClient) -> None:
    inputs = [{"properties": {"name": "ok"}}, {"properties": {"name": "bad", "industry": "Software"}}]
    r = hs.post("/crm/v3/objects/companies/batch/create", json={"inputs": inputs}, headers=H)
    assert r.status_code == 400 and inner_errors(r.json())[0]["error"] == "INVALID_OPTION"
    assert hs.get("/crm/v3/objects/companies", headers=H).json()["results"] == []


def test_duplicate_email_fails_whole_batch_with_409(hs: TestClient) -> None:
    existing = create(hs, "contacts", email="taken@example.com")["id"]
    inputs = [{"properties": {"email": "new@example.com"}}, {"properties": {"email": "taken@example.com"}}]
    r = hs.post("/crm/v3/objects/contacts/batch/create", json={"inputs": inputs}, headers=H)
    assert r.status_code == 409 and r.json()["message"] == f"Contact already exists. Existing ID: {existing}"
    assert len(hs.get("/crm/v3/objects/contacts", headers=H).json()["results"]) == 1


def test_object_write_trace_id_opts_into_207(hs: TestClient) -> None:
    inputs = [
        {"properties": {"name": "ok"}, "objectWriteTraceId": "t1"},
        {"properties": {"industry": "nope"}, "objectWriteTraceId": "t2"},
    ]
    r = hs.post("/crm/v3/objects/companies/batch/create", json={"inputs": inputs}, headers=H)
    assert r.status_code == 207
    body = r.json()
    assert len(body["results"]) == 1 and body["numErrors"] == 1
    assert body["errors"][0]["context"] == {"objectWriteTraceId": ["t2"]}


def test_batch_over_100_inputs_is_400(hs: TestClient) -> None:
    inputs = [{"properties": {"name": str(i)}} for i in range(101)]
    r = hs.post("/crm/v3/objects/companies/batch/create", json={"inputs": inputs}, headers=H)
    assert r.status_code == 400 and r.json()["category"] == "VALIDATION_ERROR"


def test_batch_read_by_email_and_missing_ids_207(hs: TestClient) -> None:
    create(hs, "contacts", email="a@example.com", firstname="A")
    body = {
        "idProperty": "email",
        "properties": ["firstname"],
        "propertiesWithHistory": [],
        "inputs": [{"id": "a@example.com"}, {"id": "ghost@example.com"}],
    }
    r = hs.post("/crm/v3/objects/contacts/batch/read", json=body, headers=H)
    assert r.status_code == 207
    out = r.json()
    assert out["results"][0]["properties"] == {"firstname": "A"}
    assert out["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert out["errors"][0]["context"] == {"ids": ["ghost@example.com"]}


def test_batch_read_id_property_must_be_unique(hs: TestClient) -> None:
    r = hs.post(
        "/crm/v3/objects/contacts/batch/read",
        json={"idProperty": "firstname", "inputs": [{"id": "x"}], "properties": [],
              "propertiesWithHistory": []},
        headers=H,
    )
    assert r.status_code == 400 and r.json()["category"] == "VALIDATION_ERROR"


def test_batch_update_missing_id_207_and_invalid_value_400(hs: TestClient) -> None:
    cid = create(hs, "companies", name="A")["id"]
    r = hs.post(
        "/crm/v3/objects/companies/batch/update",
        json={"inputs": [{"id": cid, "properties": {"city": "Reno"}}, {"id": "424242", "properties": {}}]},
        headers=H,
    )
    assert r.status_code == 207 and r.json()["results"][0]["properties"]["city"] == "Reno"
    bad = hs.post(
        "/crm/v3/objects/companies/batch/update",
        json={"inputs": [{"id": cid, "properties": {"numberofemployees": "many"}}]},
        headers=H,
    )
    assert bad.status_code == 400


def test_batch_upsert_by_email_and_unique_property(hs: TestClient) -> None:
    create(hs, "contacts", email="old@example.com")
    body = {
        "inputs": [
            {"id": "old@example.com", "idProperty": "email", "properties": {"firstname": "Old"}},
            {"id": "new@example.com", "idProperty": "email", "properties": {"firstname": "New"}},
        ]
    }
    r = hs.post("/crm/v3/objects/contacts/batch/upsert", json=body, headers=H)
    assert r.status_code == 200
    assert [x["new"] for x in r.json()["results"]] == [False, True]
    assert r.json()["results"][1]["properties"]["email"] == "new@example.com"
    companies = {"inputs": [{"id": "bf-9", "idProperty": "benefitflow_id", "properties": {"name": "N"}}]}
    assert hs.post("/crm/v3/objects/companies/batch/upsert", json=companies, headers=H).json()["results"][0][
        "new"
    ]


def test_upsert_by_domain_refused_unless_enabled() -> None:
    body = {"inputs": [{"id": "acme.com", "idProperty": "domain", "properties": {"name": "Acme"}}]}
    assert client().post("/crm/v3/objects/companies/batch/upsert", json=body, headers=H).status_code == 400
    r = client(upsert_domain=True).post("/crm/v3/objects/companies/batch/upsert", json=body, headers=H)
    assert r.status_code == 200 and r.json()["results"][0]["properties"]["domain"] == "acme.com"


def test_batch_archive(hs: TestClient) -> None:
    cid = create(hs, "companies", name="A")["id"]
    r = hs.post("/crm/v3/objects/companies/batch/archive", json={"inputs": [{"id": cid}]}, headers=H)
    assert r.status_code == 204
    assert hs.get("/crm/v3/objects/companies", headers=H).json()["results"] == []


@pytest.mark.parametrize(
    "payload",
    [b"{not json", b"[]", b'{"inputs": "x"}', b'{"inputs": [{"properties": 5}]}', b'{"inputs": [7]}'],
)
def test_malformed_batch_bodies_are_400(hs: TestClient, payload: bytes) -> None:
    r = hs.post(
        "/crm/v3/objects/companies/batch/create",
        content=payload,
        headers={**H, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["category"] == "VALIDATION_ERROR"


# ----- search ----------------------------------------------------------------------------------


def search(c: TestClient, kind: str, body: dict[str, Any]) -> Any:
    return c.post(f"/crm/v3/objects/{kind}/search", json=body, headers=H)


def one_filter(prop: str, op: str, **kw: Any) -> dict[str, Any]:
    return {"filterGroups": [{"filters": [{"propertyName": prop, "operator": op, **kw}]}]}


@pytest.fixture
def people(hs: TestClient) -> TestClient:
    create(hs, "contacts", email="ann@acme.com", firstname="Ann", lifecyclestage="lead")
    create(hs, "contacts", email="bob@beta.io", firstname="Bob", lifecyclestage="customer")
    create(hs, "contacts", email="cy@acme.com", firstname="Cy")
    return hs


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (one_filter("email", "EQ", value="ANN@acme.com"), ["Ann"]),
        (one_filter("email", "IN", values=["ann@acme.com", "bob@beta.io"]), ["Ann", "Bob"]),
        (one_filter("email", "IN", values=["ANN@acme.com"]), []),
        (one_filter("email", "NOT_IN", values=["ann@acme.com"]), ["Bob", "Cy"]),
        (one_filter("firstname", "NEQ", value="ann"), ["Bob", "Cy"]),
        (one_filter("lifecyclestage", "EQ", value="lead"), ["Ann"]),
        (one_filter("lifecyclestage", "EQ", value="LEAD"), []),
        (one_filter("lifecyclestage", "HAS_PROPERTY"), ["Ann", "Bob"]),
        (one_filter("lifecyclestage", "NOT_HAS_PROPERTY"), ["Cy"]),
        (one_filter("email", "CONTAINS_TOKEN", value="*@acme.com"), ["Ann", "Cy"]),
        (
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "Ann"}]},
                    {"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "Cy"}]},
                ]
            },
            ["Ann", "Cy"],
        ),
        ({"query": "bob"}, ["Bob"]),
    ],
)
def test_search_operators(people: TestClient, query: dict[str, Any], expected: list[str]) -> None:
    r = search(people, "contacts", {**query, "properties": ["firstname"]})
    assert r.status_code == 200
    assert sorted(x["properties"]["firstname"] for x in r.json()["results"]) == expected
    assert r.json()["total"] == len(expected)
    assert "X-HubSpot-RateLimit-Max" not in r.headers


def test_search_paging_and_sort(people: TestClient) -> None:
    body = {
        "sorts": [{"propertyName": "firstname", "direction": "DESCENDING"}],
        "limit": 2,
        "properties": ["firstname"],
    }
    first = search(people, "contacts", body).json()
    assert [x["properties"]["firstname"] for x in first["results"]] == ["Cy", "Bob"]
    second = search(people, "contacts", {**body, "after": first["paging"]["next"]["after"]}).json()
    assert [x["properties"]["firstname"] for x in second["results"]] == ["Ann"] and "paging" not in second


@pytest.mark.parametrize(
    "body",
    [
        {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "x"}]}] * 6},
        {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "x"}] * 7}]},
        {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "x"}] * 5}] * 4},
        one_filter("email", "LIKE", value="x"),
        one_filter("nope", "EQ", value="x"),
        one_filter("email", "IN", values="x"),
        one_filter("email", "EQ"),
        {"limit": 201},
        {"after": "9990", "limit": 20},
        {"filterGroups": "x"},
        {"sorts": [{"propertyName": "email"}, {"propertyName": "firstname"}]},
        {"query": "x" * 3001},
    ],
)
def test_malformed_search_is_400_validation_error(hs: TestClient, body: dict[str, Any]) -> None:
    r = search(hs, "contacts", body)
    assert r.status_code == 400 and r.json()["category"] == "VALIDATION_ERROR"


def test_search_limits_configurable() -> None:
    c = client(search_limits=SearchLimits(max_filters_per_group=10, max_filters_total=25))
    body = {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "x"}] * 7}]}
    assert search(c, "contacts", body).status_code == 200


def test_search_rate_limit_is_5_per_second() -> None:
    clock = FakeClock()
    c = client(clock=clock)
    statuses = [search(c, "contacts", {}).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    clock.now += 1.01
    assert search(c, "contacts", {}).status_code == 200


def test_search_lag_hides_new_records() -> None:
    clock = FakeClock()
    c = client(clock=clock, search_lag_s=2.0)
    create(c, "contacts", email="late@example.com")
    assert search(c, "contacts", {}).json()["total"] == 0
    clock.now += 3
    assert search(c, "contacts", {}).json()["total"] == 1


# ----- associations ----------------------------------------------------------------------------


def test_default_association_creates_both_directions(hs: TestClient) -> None:
    company = create(hs, "companies", name="A")["id"]
    contact = create(hs, "contacts", email="a@example.com")["id"]
    r = hs.put(f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}", headers=H)
    assert r.status_code == 200 and r.json()["status"] == "COMPLETE"
    assert r.json()["results"][0]["associationSpec"] == {
        "associationCategory": "HUBSPOT_DEFINED",
        "associationTypeId": 279,
    }
    back = hs.get(f"/crm/v4/objects/companies/{company}/associations/contacts", headers=H).json()
    assert back["results"] == [
        {
            "toObjectId": int(contact),
            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 280, "label": None}],
        }
    ]
    rows = hs.get("/_sandbox/records").json()["associations"]
    assert {
        "fromObjectType": "contacts",
        "fromId": contact,
        "toObjectType": "companies",
        "toId": company,
        "associationTypeId": 279,
        "category": "HUBSPOT_DEFINED",
    } in rows


def test_labelled_primary_association_and_single_primary(hs: TestClient) -> None:
    a = create(hs, "companies", name="A")["id"]
    b = create(hs, "companies", name="B")["id"]
    contact = create(hs, "contacts", email="a@example.com")["id"]
    spec = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}]
    r = hs.put(f"/crm/v4/objects/contacts/{contact}/associations/companies/{a}", json=spec, headers=H)
    assert r.status_code == 201
    assert r.json() == {
        "fromObjectTypeId": "0-1",
        "fromObjectId": int(contact),
        "toObjectTypeId": "0-2",
        "toObjectId": int(a),
        "labels": ["Primary"],
    }
    hs.put(f"/crm/v4/objects/contacts/{contact}/associations/companies/{b}", json=spec, headers=H)
    out = hs.get(f"/crm/v4/objects/contacts/{contact}/associations/companies", headers=H).json()["results"]
    types = {row["toObjectId"]: [t["typeId"] for t in row["associationTypes"]] for row in out}
    assert types == {int(a): [279], int(b): [1, 279]}


@pytest.mark.parametrize(("type_id", "to"), [(279, "companies"), (13, "contacts"), (999, "companies")])
def test_association_type_must_fit_pair(hs: TestClient, type_id: int, to: str) -> None:
    company = create(hs, "companies", name="A")["id"]
    contact = create(hs, "contacts", email="a@example.com")["id"]
    from_type, from_id, to_id = (
        ("companies", company, contact) if to == "contacts" else ("companies", company, company)
    )
    if type_id == 999:
        from_type, from_id, to_id = "contacts", contact, company
    spec = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]
    r = hs.put(f"/crm/v4/objects/{from_type}/{from_id}/associations/{to}/{to_id}", json=spec, headers=H)
    assert r.status_code == 400 and r.json()["category"] == "VALIDATION_ERROR"


def test_association_to_missing_record_is_400(hs: TestClient) -> None:
    contact = create(hs, "contacts", email="a@example.com")["id"]
    r = hs.put(f"/crm/v4/objects/contacts/{contact}/associations/default/companies/777", headers=H)
    assert r.status_code == 400 and "777" in r.json()["message"]


def test_parent_child_companies(hs: TestClient) -> None:
    parent = create(hs, "companies", name="Broker")["id"]
    child = create(hs, "companies", name="Broker - Denver")["id"]
    body = {
        "inputs": [
            {
                "from": {"id": parent},
                "to": {"id": child},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 13}],
            }
        ]
    }
    r = hs.post("/crm/v4/associations/companies/companies/batch/create", json=body, headers=H)
    assert r.status_code == 201 and r.json()["results"][0]["labels"] == ["Child Company"]
    up = hs.get(f"/crm/v4/objects/companies/{child}/associations/companies", headers=H).json()["results"]
    assert [t["typeId"] for t in up[0]["associationTypes"]] == [14, 450]


def test_batch_associate_default_read_and_limits(hs: TestClient) -> None:
    company = create(hs, "companies", name="A")["id"]
    contact = create(hs, "contacts", email="a@example.com")["id"]
    body = {
        "inputs": [
            {"from": {"id": contact}, "to": {"id": company}},
            {"from": {"id": contact}, "to": {"id": "5"}},
        ]
    }
    r = hs.post("/crm/v4/associations/contacts/companies/batch/associate/default", json=body, headers=H)
    assert r.status_code == 207 and r.json()["numErrors"] == 1
    read = hs.post(
        "/crm/v4/associations/contacts/companies/batch/read",
        json={"inputs": [{"id": contact}, {"id": "404"}]},
        headers=H,
    )
    assert read.status_code == 207
    assert read.json()["results"][0]["to"][0]["toObjectId"] == int(company)
    too_many = {"inputs": [{"id": contact}] * 1001}
    assert (
        hs.post("/crm/v4/associations/contacts/companies/batch/read", json=too_many, headers=H).status_code
        == 400
    )
    over = {"inputs": [{"from": {"id": contact}, "to": {"id": company}}] * 2001}
    assert (
        hs.post("/crm/v4/associations/contacts/companies/batch/create", json=over, headers=H).status_code
        == 400
    )


def test_create_with_associations_in_body(hs: TestClient) -> None:
    company = create(hs, "companies", name="A")["id"]
    body = {
        "properties": {"email": "a@example.com"},
        "associations": [
            {
                "to": {"id": company},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}],
            }
        ],
    }
    contact = hs.post("/crm/v3/objects/contacts", json=body, headers=H).json()["id"]
    out = hs.get(f"/crm/v4/objects/contacts/{contact}/associations/companies", headers=H).json()["results"]
    assert out[0]["toObjectId"] == int(company)
    bad = {**body, "associations": [{"to": {"id": "999"}, "types": [{"associationTypeId": 279}]}]}
    assert hs.post("/crm/v3/objects/contacts", json=bad, headers=H).status_code == 400


# ----- properties API --------------------------------------------------------------------------


def test_properties_list_and_one(hs: TestClient) -> None:
    props = {p["name"]: p for p in hs.get("/crm/v3/properties/companies", headers=H).json()["results"]}
    assert {
        "name",
        "domain",
        "website",
        "industry",
        "numberofemployees",
        "benefitflow_id",
        "funding_type",
    } <= set(props)
    assert props["benefitflow_id"]["hasUniqueValue"] is True
    assert props["hs_object_id"]["modificationMetadata"]["readOnlyValue"] is True
    assert {o["value"] for o in props["funding_type"]["options"]} == {
        "Fully Insured",
        "Self-Funded",
        "Level-Funded",
    }
    one = hs.get("/crm/v3/properties/contacts/lifecyclestage", headers=H).json()
    assert [o["value"] for o in one["options"]][:2] == ["subscriber", "lead"]
    assert hs.get("/crm/v3/properties/contacts/nope", headers=H).status_code == 404
    rules = hs.get("/crm/v3/property-validations/0-2", headers=H).json()["results"]
    assert rules[0]["propertyName"] == "benefitflow_profile_url"


# ----- rate limits and faults ------------------------------------------------------------------


def test_rate_limit_headers_and_429() -> None:
    clock = FakeClock()
    c = client(clock=clock, rate_limit_per_10s=3)
    first = c.get("/crm/v3/objects/companies", headers=H)
    assert first.headers["X-HubSpot-RateLimit-Max"] == "3"
    assert first.headers["X-HubSpot-RateLimit-Remaining"] == "2"
    assert first.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert first.headers["X-HubSpot-RateLimit-Daily"] == "650000"
    c.get("/crm/v3/objects/companies", headers=H)
    c.get("/crm/v3/objects/companies", headers=H)
    r = c.get("/crm/v3/objects/companies", headers=H)
    assert r.status_code == 429
    assert r.json()["message"] == "You have reached your ten_secondly_rolling limit."
    assert r.json()["errorType"] == "RATE_LIMIT" and r.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert int(r.headers["Retry-After"]) >= 1
    clock.now += 10.5
    assert c.get("/crm/v3/objects/companies", headers=H).status_code == 200


def test_oauth_tokens_get_no_daily_headers_and_daily_limit() -> None:
    sb = HubSpotSandbox(daily_limit=1)
    c = TestClient(sb.app())
    token = sb.tokens.issue("integration@sandbox").value
    r = c.get("/crm/v3/objects/companies", headers={"Authorization": f"Bearer {token}"})
    assert "X-HubSpot-RateLimit-Daily" not in r.headers
    over = c.get("/crm/v3/objects/companies", headers=H)
    assert over.status_code == 429 and over.json()["policyName"] == "DAILY"


def test_rate_limits_can_be_disabled() -> None:
    c = client(rate_limit_per_10s=None)
    r = c.get("/crm/v3/objects/companies", headers=H)
    assert r.status_code == 200 and "X-HubSpot-RateLimit-Max" not in r.headers


def test_injected_5xx_uses_hubspot_error_shape() -> None:
    c = client(faults="5xx=1.0")
    r = c.get("/crm/v3/objects/companies", headers=H)
    assert r.status_code == 503 and r.json()["status"] == "error" and r.json()["correlationId"]
    token = c.post(
        "/oauth/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
        },
    )
    assert token.status_code == 200


# ----- view in CRM, seed, reset ------------------------------------------------------------------


def test_record_page_is_escaped_html() -> None:
    sb = HubSpotSandbox(seed={"companies": [{"id": "77", "properties": {"name": "<b>Bad & Co</b>"}}]})
    c = TestClient(sb.app())
    r = c.get("/contacts/123456/record/0-2/77")
    assert r.status_code == 200 and "&lt;b&gt;Bad &amp; Co&lt;/b&gt;" in r.text and "<b>Bad" not in r.text
    assert c.get("/contacts/999/record/0-2/77").status_code == 404
    assert sb.record_url("companies", "77").endswith("/contacts/123456/record/0-2/77")


def test_seed_and_reset() -> None:
    sb = HubSpotSandbox(seed={"contacts": [{"email": "s@example.com"}]})
    c = TestClient(sb.app())
    create(c, "contacts", email="t@example.com")
    assert len(c.get("/_sandbox/records").json()["contacts"]) == 2
    c.post("/_sandbox/reset")
    records = c.get("/_sandbox/records").json()
    assert [r["properties"]["email"] for r in records["contacts"]] == ["s@example.com"]
    assert records["associations"] == [] and records["companies"] == []

"""Zoho emulator, records: insert/update/upsert with per-record results, the rules Zoho enforces on a
write, and get records with its required `fields` and paging — all over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.zoho_kit import only_error, served


def results(answer: Any) -> list[dict[str, Any]]:
    return list(answer.json()["data"])


def test_insert_answers_201_with_each_record_id_and_zoho_shape() -> None:
    with served() as org:
        answer = org.post("/Accounts", {"data": [{"Account_Name": "Acme"}, {"Account_Name": "Globex"}]})
        assert answer.status_code == 201
        rows = results(answer)
        assert [r["code"] for r in rows] == ["SUCCESS", "SUCCESS"]
        assert all(r["status"] == "success" and r["message"] == "record added" for r in rows)
        ids = [r["details"]["id"] for r in rows]
        assert all(isinstance(i, str) and i.isdigit() and len(i) == 19 for i in ids)
        assert set(rows[0]["details"]) >= {"id", "Created_Time", "Modified_Time", "Created_By", "Modified_By"}


def test_one_bad_record_fails_alone_with_207_and_mandatory_not_found() -> None:
    with served() as org:
        answer = org.post("/Contacts", {"data": [{"Last_Name": "Doe"}, {"First_Name": "No last name"}]})
        assert answer.status_code == 207
        good, bad = results(answer)
        assert good["code"] == "SUCCESS"
        assert bad == {
            "code": "MANDATORY_NOT_FOUND",
            "message": "required field not found",
            "status": "error",
            "details": {"api_name": "Last_Name", "json_path": "$.data[1].Last_Name"},
        }
        assert len(org.sandbox.records["Contacts"]) == 1


def test_every_record_refused_answers_400_and_writes_nothing() -> None:
    with served() as org:
        answer = org.post("/Leads", {"data": [{"Company": "x"}]})
        assert answer.status_code == 400
        assert results(answer)[0]["details"]["api_name"] == "Last_Name"
        assert org.sandbox.records["Leads"] == {}


@pytest.mark.parametrize(
    ("row", "code", "detail"),
    [
        ({"Account_Name": "x" * 201}, "INVALID_DATA", {"maximum_length": 200}),
        ({"Account_Name": "A", "Industry": "Rocket Science"}, "INVALID_DATA", {"api_name": "Industry"}),
        ({"Account_Name": "A", "Employees": "many"}, "INVALID_DATA", {"expected_data_type": "integer"}),
        ({"Account_Name": "A", "No_Such_Field": 1}, "INVALID_DATA", {"api_name": "No_Such_Field"}),
        (
            {"Account_Name": "A", "Created_Time": "2020-01-01T00:00:00+00:00"},
            "INVALID_DATA",
            {"api_name": "Created_Time"},
        ),
        (
            {"Account_Name": "A", "Parent_Account": {"id": "5550000000000009999"}},
            "INVALID_DATA",
            {"api_name": "Parent_Account"},
        ),
    ],
)
def test_zoho_rules_refuse_a_bad_value_per_record(
    row: dict[str, Any], code: str, detail: dict[str, Any]
) -> None:
    with served() as org:
        answer = org.post("/Accounts", {"data": [row]})
        (refused,) = results(answer)
        assert answer.status_code == 400 and refused["code"] == code and refused["status"] == "error"
        assert detail.items() <= refused["details"].items()


def test_restricted_picklist_answer_lists_the_supported_values() -> None:
    with served() as org:
        (refused,) = results(org.post("/Leads", {"data": [{"Last_Name": "D", "Lead_Status": "Hot"}]}))
        assert "Contacted" in refused["details"]["supported_values"]
    with served(restricted_picklists=False) as org:
        assert org.post("/Leads", {"data": [{"Last_Name": "D", "Lead_Status": "Hot"}]}).status_code == 201


def test_unique_field_refuses_a_second_record_with_duplicate_data_naming_the_first() -> None:
    with served() as org:
        (first,) = org.insert("Accounts", {"Account_Name": "A", "BenefitFlow_Id": "bf-1"})
        answer = org.post("/Accounts", {"data": [{"Account_Name": "B", "BenefitFlow_Id": "BF-1"}]})
        (refused,) = results(answer)
        assert refused["code"] == "DUPLICATE_DATA"
        assert refused["details"]["api_name"] == "BenefitFlow_Id"
        assert refused["details"]["duplicate_record"]["id"] == first


def test_more_than_100_records_is_refused_whole() -> None:
    with served() as org:
        body = only_error(
            org.post("/Accounts", {"data": [{"Account_Name": f"A{i}"} for i in range(101)]}), 400
        )
        assert body["code"] == "LIMIT_EXCEEDED" and body["details"]["limit"] == 100
        assert org.sandbox.records["Accounts"] == {}
        assert (
            org.post("/Accounts", {"data": [{"Account_Name": f"A{i}"} for i in range(100)]}).status_code
            == 201
        )


def test_a_body_without_data_or_not_json_is_refused() -> None:
    with served() as org:
        assert only_error(org.post("/Accounts", {"rows": []}), 400)["code"] == "REQUIRED_PARAM_MISSING"
        raw = org.http.post("/crm/v7/Accounts", content=b"{nope", headers=org.headers)
        assert only_error(raw, 400)["code"] == "INVALID_DATA"


def test_update_by_id_in_body_or_path_changes_only_the_given_fields() -> None:
    with served() as org:
        (account,) = org.insert("Accounts", {"Account_Name": "Acme", "Website": "acme.test"})
        answer = org.put("/Accounts", {"data": [{"id": account, "Phone": "555"}]})
        assert answer.status_code == 200 and results(answer)[0]["message"] == "record updated"
        org.put(f"/Accounts/{account}", {"data": [{"Website": "acme.example"}]})
        record = org.get(f"/Accounts/{account}").json()["data"][0]
        assert (record["Account_Name"], record["Phone"], record["Website"]) == ("Acme", "555", "acme.example")


def test_update_of_an_unknown_id_or_without_id_fails_per_record() -> None:
    with served() as org:
        (account,) = org.insert("Accounts", {"Account_Name": "Acme"})
        answer = org.put(
            "/Accounts",
            {"data": [{"id": account, "Phone": "1"}, {"id": "5550000000000000999"}, {"Phone": "2"}]},
        )
        assert answer.status_code == 207
        ok, unknown, no_id = results(answer)
        assert ok["code"] == "SUCCESS"
        assert unknown["code"] == "INVALID_DATA" and unknown["details"]["api_name"] == "id"
        assert no_id["code"] == "MANDATORY_NOT_FOUND" and no_id["details"]["api_name"] == "id"


def test_update_cannot_empty_a_mandatory_field() -> None:
    with served() as org:
        (contact,) = org.insert("Contacts", {"Last_Name": "Doe"})
        (refused,) = results(org.put("/Contacts", {"data": [{"id": contact, "Last_Name": ""}]}))
        assert refused["code"] == "MANDATORY_NOT_FOUND"


def test_upsert_by_duplicate_check_fields_updates_or_inserts_and_says_which() -> None:
    with served() as org:
        (account,) = org.insert("Accounts", {"Account_Name": "Acme", "BenefitFlow_Id": "bf-1"})
        body = {
            "data": [
                {"Account_Name": "Acme Inc", "BenefitFlow_Id": "bf-1"},
                {"Account_Name": "New", "BenefitFlow_Id": "bf-2"},
            ],
            "duplicate_check_fields": ["BenefitFlow_Id"],
        }
        answer = org.post("/Accounts/upsert", body)
        assert answer.status_code == 200
        updated, inserted = results(answer)
        assert (updated["action"], updated["duplicate_field"], updated["details"]["id"]) == (
            "update",
            "BenefitFlow_Id",
            account,
        )
        assert (inserted["action"], inserted["duplicate_field"]) == ("insert", None)
        assert len(org.sandbox.records["Accounts"]) == 2
        assert org.post("/Accounts/upsert", body).status_code == 200  # again: nothing new
        assert len(org.sandbox.records["Accounts"]) == 2


def test_upsert_without_duplicate_check_fields_uses_zohos_system_fields() -> None:
    with served() as org:
        (contact,) = org.insert("Contacts", {"Last_Name": "Doe", "Email": "doe@example.com"})
        (row,) = results(
            org.post("/Contacts/upsert", {"data": [{"Last_Name": "Doe", "Email": "DOE@example.com"}]})
        )
        assert row["action"] == "update" and row["details"]["id"] == contact


def test_upsert_with_an_unknown_duplicate_check_field_is_refused_whole() -> None:
    with served() as org:
        body = {"data": [{"Account_Name": "A"}], "duplicate_check_fields": ["Nope"]}
        assert only_error(org.post("/Accounts/upsert", body), 400)["code"] == "INVALID_DATA"


def test_lookup_is_written_as_id_and_answered_as_name_and_id() -> None:
    with served() as org:
        (account,) = org.insert("Accounts", {"Account_Name": "Acme"})
        (contact,) = org.insert("Contacts", {"Last_Name": "Doe", "Account_Name": {"id": account}})
        got = org.get(f"/Contacts/{contact}", fields="Account_Name").json()["data"][0]
        assert got == {"Account_Name": {"name": "Acme", "id": account}, "id": contact}


def test_get_records_needs_fields_and_refuses_unknown_ones() -> None:
    with served() as org:
        org.insert("Accounts", {"Account_Name": "Acme"})
        assert only_error(org.get("/Accounts"), 400)["code"] == "REQUIRED_PARAM_MISSING"
        assert only_error(org.get("/Accounts", fields="Nope"), 400)["details"]["api_name"] == "Nope"
        got = org.get("/Accounts", fields="Account_Name").json()
        assert got["data"] == [{"Account_Name": "Acme", "id": got["data"][0]["id"]}]


def test_get_records_of_an_empty_module_answers_204() -> None:
    with served() as org:
        answer = org.get("/Leads", fields="Last_Name")
        assert answer.status_code == 204 and answer.content == b""


def test_paging_by_page_and_by_page_token_reads_each_record_once() -> None:
    with served() as org:
        for start in range(0, 250, 100):
            org.insert("Accounts", *({"Account_Name": f"A{i}"} for i in range(start, min(start + 100, 250))))
        first = org.get("/Accounts", fields="Account_Name", per_page=200).json()
        assert first["info"]["more_records"] is True and first["info"]["count"] == 200
        second = org.get(
            "/Accounts", fields="Account_Name", page_token=first["info"]["next_page_token"]
        ).json()
        assert second["info"]["more_records"] is False
        by_page = org.get("/Accounts", fields="Account_Name", per_page=200, page=2).json()
        names = [r["Account_Name"] for r in first["data"] + second["data"]]
        assert len(names) == len(set(names)) == 250
        assert by_page["data"] == second["data"]


def test_paging_past_2000_records_without_page_token_is_refused() -> None:
    with served() as org:
        body = only_error(org.get("/Accounts", fields="Account_Name", per_page=200, page=11), 400)
        assert body["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"


def test_an_unknown_module_and_an_unknown_url() -> None:
    with served() as org:
        assert only_error(org.get("/Widgets", fields="Name"), 400)["code"] == "INVALID_MODULE"
        assert (
            only_error(org.http.get("/crm/v1/Accounts", headers=org.headers), 404)["code"]
            == "INVALID_URL_PATTERN"
        )


def test_get_one_unknown_record_is_invalid_data() -> None:
    with served() as org:
        assert only_error(org.get("/Accounts/5550000000000000999"), 400)["details"] == {
            "id": "5550000000000000999"
        }


def test_field_metadata_says_what_the_emulator_enforces() -> None:
    with served() as org:
        fields = {f["api_name"]: f for f in org.get("/settings/fields", module="Contacts").json()["fields"]}
        assert fields["Last_Name"]["system_mandatory"] is True
        assert fields["Last_Name"]["length"] == 80
        assert fields["Account_Name"]["data_type"] == "lookup"
        assert fields["Account_Name"]["lookup"]["module"]["api_name"] == "Accounts"
        assert fields["BenefitFlow_Id"]["unique"] and fields["BenefitFlow_Id"]["custom_field"] is True
        assert fields["Created_Time"]["read_only"] is True
        assert "Employee Referral" in [v["actual_value"] for v in fields["Lead_Source"]["pick_list_values"]]
        accounts = {f["api_name"]: f for f in org.get("/settings/fields", module="Accounts").json()["fields"]}
        assert accounts["Funding_Type"]["custom_field"] is True
        assert "Self-Funded" in [v["actual_value"] for v in accounts["Funding_Type"]["pick_list_values"]]
        assert only_error(org.get("/settings/fields"), 400)["code"] == "REQUIRED_PARAM_MISSING"
        assert only_error(org.get("/settings/fields", module="Widgets"), 400)["code"] == "INVALID_MODULE"

"""Zoho emulator, look-ups: Search Records criteria and the COQL subset, over HTTP."""

from __future__ import annotations

import pytest

from tests.sandbox.zoho_kit import Org, only_error, served


def people(org: Org) -> tuple[str, list[str]]:
    (account,) = org.insert("Accounts", {"Account_Name": "Acme, (West)"})
    contacts = org.insert(
        "Contacts",
        {
            "Last_Name": "Doe",
            "First_Name": "Jane",
            "Email": "jane@acme.test",
            "Account_Name": {"id": account},
        },
        {"Last_Name": "Roe", "Email": "rick@acme.test"},
        {"Last_Name": "Poe", "Email": "pat@other.test", "Phone": "555-1"},
    )
    return account, contacts


def emails(answer: object) -> list[str]:
    return sorted(r["Email"] for r in answer.json()["data"])  # type: ignore[attr-defined]


def test_search_by_criteria_equals_is_case_insensitive() -> None:
    with served() as org:
        people(org)
        assert emails(org.get("/Contacts/search", criteria="(Email:equals:JANE@acme.test)")) == [
            "jane@acme.test"
        ]


def test_search_with_and_or_in_and_starts_with() -> None:
    with served() as org:
        people(org)
        both = "((Email:starts_with:ja) or (Email:equals:rick@acme.test))"
        assert emails(org.get("/Contacts/search", criteria=both)) == ["jane@acme.test", "rick@acme.test"]
        listed = "(Email:in:jane@acme.test,pat@other.test)"
        assert emails(org.get("/Contacts/search", criteria=listed)) == ["jane@acme.test", "pat@other.test"]
        narrowed = "((Last_Name:equals:Doe) and (First_Name:equals:Jane))"
        assert emails(org.get("/Contacts/search", criteria=narrowed)) == ["jane@acme.test"]


def test_search_escapes_commas_and_parentheses_in_a_value() -> None:
    with served() as org:
        account, _ = people(org)
        answer = org.get("/Accounts/search", criteria=r"(Account_Name:equals:Acme\, \(West\))")
        assert [r["id"] for r in answer.json()["data"]] == [account]


def test_search_by_email_and_phone_parameters() -> None:
    with served() as org:
        people(org)
        assert emails(org.get("/Contacts/search", email="pat@other.test")) == ["pat@other.test"]
        assert emails(org.get("/Contacts/search", phone="555-1")) == ["pat@other.test"]


def test_search_with_no_hit_answers_204() -> None:
    with served() as org:
        people(org)
        answer = org.get("/Contacts/search", criteria="(Email:equals:nobody@acme.test)")
        assert answer.status_code == 204 and answer.content == b""


@pytest.mark.parametrize(
    "criteria",
    [
        "(Nope:equals:1)",
        "(Email:like:x)",
        "Email:equals:x",
        "((Email:equals:a) and (Email:equals:b) or (Email:equals:c))",
        "(Email)",
    ],
)
def test_search_refuses_bad_criteria(criteria: str) -> None:
    with served() as org:
        assert only_error(org.get("/Contacts/search", criteria=criteria), 400)["code"] == "INVALID_QUERY"


def test_search_without_criteria_is_refused() -> None:
    with served() as org:
        assert only_error(org.get("/Contacts/search"), 400)["code"] == "REQUIRED_PARAM_MISSING"


def test_search_refuses_more_than_ten_criteria() -> None:
    with served() as org:
        many = "(" + " or ".join(f"(Email:equals:a{i}@x.test)" for i in range(11)) + ")"
        assert only_error(org.get("/Contacts/search", criteria=many), 400)["code"] == "INVALID_QUERY"


def test_coql_select_where_in_answers_the_matching_rows() -> None:
    with served() as org:
        account, contacts = people(org)
        answer = org.coql(
            "select Last_Name, Email, Account_Name from Contacts "
            "where Email in ('jane@acme.test', 'pat@other.test') order by Last_Name limit 10"
        )
        assert answer.status_code == 200
        data = answer.json()["data"]
        assert [r["Last_Name"] for r in data] == ["Doe", "Poe"]
        assert data[0]["Account_Name"] == {"id": account} and data[0]["id"] == contacts[0]
        assert answer.json()["info"] == {"count": 2, "more_records": False}


def test_coql_lookup_id_and_is_null_and_like() -> None:
    with served() as org:
        account, contacts = people(org)
        by_parent = org.coql(
            f"select Last_Name, Account_Name.id from Contacts where Account_Name.id = '{account}'"
        )
        assert by_parent.json()["data"] == [
            {"Last_Name": "Doe", "Account_Name.id": account, "id": contacts[0]}
        ]
        orphans = org.coql(
            "select Email from Contacts where (Account_Name is null and Email like '%acme.test')"
        )
        assert [r["Email"] for r in orphans.json()["data"]] == ["rick@acme.test"]


def test_coql_pages_with_limit_and_offset() -> None:
    with served() as org:
        org.insert("Leads", *({"Last_Name": f"L{i:02d}", "Company": "c"} for i in range(30)))
        first = org.coql("select Last_Name from Leads where Company = 'c' order by Last_Name limit 20")
        rest = org.coql(
            "select Last_Name from Leads where Company = 'c' order by Last_Name limit 20 offset 20"
        )
        assert first.json()["info"]["more_records"] is True and rest.json()["info"]["more_records"] is False
        names = [r["Last_Name"] for r in first.json()["data"] + rest.json()["data"]]
        assert names == [f"L{i:02d}" for i in range(30)]


def test_coql_with_no_row_answers_204() -> None:
    with served() as org:
        assert org.coql("select Email from Contacts where Email = 'x@y.test'").status_code == 204


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("select Email from Contacts", "SYNTAX_ERROR"),  # where is required
        ("select count(id) from Contacts where id is not null", "SYNTAX_ERROR"),
        ("select Email from Contacts where Email = 'a' group by Email", "SYNTAX_ERROR"),
        (
            "select Account_Name.Account_Name from Contacts where Email = 'a'",
            "SYNTAX_ERROR",
        ),  # joins: refused
        ("delete from Contacts where Email = 'a'", "SYNTAX_ERROR"),
        ("select Nope from Contacts where Email = 'a'", "INVALID_QUERY"),
        ("select Email from Widgets where Email = 'a'", "INVALID_QUERY"),
        (
            "select Email from Contacts where Email = 'a' or Email = 'b' or Email = 'c'",
            "SYNTAX_ERROR",
        ),  # brackets
        ("select Email from Contacts where Email = 'a' limit 2001", "LIMIT_EXCEEDED"),
        (
            "select Email from Contacts where Email in (" + ", ".join(f"'{i}'" for i in range(51)) + ")",
            "LIMIT_EXCEEDED",
        ),
    ],
)
def test_coql_refuses_what_it_does_not_run(query: str, code: str) -> None:
    with served() as org:
        body = only_error(org.coql(query), 400)
        assert body["code"] == code, body


def test_coql_without_select_query_is_refused() -> None:
    with served() as org:
        assert only_error(org.post("/coql", {}), 400)["code"] == "REQUIRED_PARAM_MISSING"


def test_coql_charges_credits_by_limit() -> None:
    with served(daily_credits=4) as org:
        org.coql("select Email from Contacts where Email = 'a' limit 1500")  # 3 credits
        org.coql("select Email from Contacts where Email = 'a' limit 10")  # 1 credit: 4 spent
        body = only_error(org.coql("select Email from Contacts where Email = 'a'"), 429)
        assert body["code"] == "TOO_MANY_REQUESTS"

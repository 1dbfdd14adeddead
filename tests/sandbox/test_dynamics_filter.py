"""The emulator's `$filter` parser and evaluator: a table of valid filters with the rows they select, a
table of malformed ones with Microsoft.OData.Core's own error texts, injection attempts, and a
hypothesis round trip (any string, quoted the OData way, finds exactly its record)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from engine.sandbox.dynamics import DynamicsSandbox
from engine.sandbox.dynamics_auth import app_user
from engine.sandbox.dynamics_errors import DataverseError
from engine.sandbox.dynamics_odata import DATETIME_RE, GUID_RE, IDENT_RE, NUMBER_RE, Lexer, Token, quote

API = "/api/data/v9.2"
ROWS = [
    {
        "name": "Acme Benefits",
        "numberofemployees": 50,
        "revenue": 1000.5,
        "bf_fundingtype": 100000000,
        "emailaddress1": "o'brien@example.com",
        "description": "100% match",
        "overriddencreatedon": "2023-06-01T00:00:00Z",
        "bf_benefitflowid": "A-1",
    },
    {
        "name": "Beta_Brokers",
        "numberofemployees": 500,
        "revenue": 20,
        "bf_fundingtype": 100000001,
        "emailaddress1": "ann@beta.io",
        "description": "50 percent",
        "overriddencreatedon": "2024-03-01T00:00:00Z",
        "parentaccountid@odata.bind": "/accounts(bf_benefitflowid='A-1')",
    },
    {"name": "[Gamma] Group", "emailaddress1": "x@gamma.org", "overriddencreatedon": "2025-01-01T00:00:00Z"},
]
A, B, C = "Acme Benefits", "Beta_Brokers", "[Gamma] Group"


@pytest.fixture(scope="module")
def dv() -> tuple[DynamicsSandbox, TestClient, dict[str, str]]:
    sandbox = DynamicsSandbox(requests_per_window=None)
    c = TestClient(sandbox.app())
    headers = {"Authorization": f"Bearer {sandbox.tokens.issue(app_user('sandbox-client')).value}"}
    for row in ROWS:
        assert c.post(f"{API}/accounts", json=row, headers=headers).status_code == 204
    c.post(f"{API}/contacts", json={"lastname": "O'Bryan"}, headers=headers)
    return sandbox, c, headers


def names(dv: Any, filter_text: str, **aliases: str) -> set[str]:
    _, c, h = dv
    params = {"$filter": filter_text, "$select": "name", **{f"@{k}": v for k, v in aliases.items()}}
    r = c.get(f"{API}/accounts", params=params, headers=h)
    assert r.status_code == 200, r.text
    return {row["name"] for row in r.json()["value"]}


def account_id(dv: Any, name: str) -> str:
    sandbox = dv[0]
    return next(rid for rid, row in sandbox.records["accounts"].items() if row["name"] == name)


VALID = [
    ("name eq 'acme benefits'", {A}),
    ("name eq 'Acme Benefits   '", {A}),
    ("name ne 'Acme Benefits'", {B, C}),
    ("numberofemployees gt 50", {B}),
    ("numberofemployees ge 50", {A, B}),
    ("numberofemployees eq null", {C}),
    ("numberofemployees ne null", {A, B}),
    ("numberofemployees lt 100 or numberofemployees eq null", {A, C}),
    ("not (numberofemployees gt 50)", {A}),
    ("not numberofemployees gt 50", {A}),
    ("revenue eq 1000.5", {A}),
    ("revenue gt 100 and revenue lt 2000", {A}),
    ("contains(name,'BENE')", {A}),
    ("startswith(name,'b')", {B}),
    ("endswith(name,'group')", {C}),
    ("contains(name,'_')", {A, B, C}),
    ("contains(name,'[_]')", {B}),
    ("contains(description,'0%t')", {A, B}),
    ("contains(description,'0[%]')", {A}),
    ("contains(name,'[[]Gamma]')", {C}),
    ("startswith(name,'[a-b]')", {A, B}),
    ("startswith(name,'[^a]')", {B, C}),
    ("not contains(description,'match')", {B}),
    ("emailaddress1 eq 'O''Brien@example.com'", {A}),
    (
        'Microsoft.Dynamics.CRM.In(PropertyName=\'emailaddress1\',PropertyValues=["o\'brien@example.com","ann@beta.io"])',
        {A, B},
    ),
    ("Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['beta_brokers'])", {B}),
    ("Microsoft.Dynamics.CRM.NotIn(PropertyName='bf_fundingtype',PropertyValues=[\"100000000\"])", {B}),
    ('Microsoft.Dynamics.CRM.Between(PropertyName=\'numberofemployees\',PropertyValues=["10","100"])', {A}),
    ("bf_fundingtype eq 100000001 and (contains(name,'beta') or name eq null)", {B}),
    ("createdon ge 2024-01-01T00:00:00Z", {B, C}),
    ("createdon lt 2024-01-01", {A}),
    ("parentaccountid/name eq 'Acme Benefits'", {B}),
    ("statecode eq 0 and statuscode eq 1", {A, B, C}),
]


@pytest.mark.parametrize(("filter_text", "expected"), VALID)
def test_valid_filters(dv: Any, filter_text: str, expected: set[str]) -> None:
    assert names(dv, filter_text) == expected


def test_lookup_guid_literal_quoted_or_not(dv: Any) -> None:
    parent = account_id(dv, A)
    assert names(dv, f"_parentaccountid_value eq {parent}") == {B}
    assert names(dv, f"_parentaccountid_value eq '{parent.upper()}'") == {B}


def test_parameter_aliases(dv: Any) -> None:
    found = names(
        dv,
        "Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@p2)",
        p1="'name'",
        p2='["Beta_Brokers","[Gamma] Group"]',
    )
    assert found == {B, C}
    assert names(dv, "name eq @p1", p1="'Acme Benefits'") == {A}
    assert names(dv, "name eq @missing") == set()


MALFORMED = [
    (
        "emailaddress1 eq 'o'brien@example.com'",
        "There is an unterminated literal at position 38 in 'emailaddress1 eq 'o'brien@example.com''.",
    ),
    ("name eq", "Expression expected at position 7 in 'name eq'."),
    ("name eq 'a' and", "Expression expected at position 15 in 'name eq 'a' and'."),
    ("(name eq 'a'", "')' or operator expected at position 12 in '(name eq 'a''."),
    ("name eq 'a' 'b'", "Syntax error at position 12 in 'name eq 'a' 'b''."),
    ("name # 'a'", "Syntax error: character '#' is not valid at position 5 in 'name # 'a''."),
    ("Name eq 'a'", "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'."),
    ("parentaccountid eq null", "Could not find a property named 'parentaccountid'"),
    (
        "name eq 5",
        "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and "
        "'Edm.Int32' for operator kind 'Equal'.",
    ),
    (
        "bf_fundingtype eq 'Self-Funded'",
        "Found operand types 'Edm.Int32' and 'Edm.String' for operator kind 'Equal'.",
    ),
    (
        "contains(numberofemployees,'5')",
        "No function signature for the function with name 'contains' matches the specified arguments.",
    ),
    ("tolower(name) eq 'a'", "An unknown function with name 'tolower' was found."),
    (
        "Microsoft.Dynamics.CRM.Foo(PropertyName='name')",
        "An unknown function with name 'Microsoft.Dynamics.CRM.Foo'",
    ),
    (
        "Microsoft.Dynamics.CRM.In(PropertyName='emailaddress1',PropertyValues=['o'brien@example.com'])",
        "Invalid JSON. A comma character ',' was expected in scope 'Array'. Every two elements in an array "
        "and "
        "properties of an object must be separated by commas.",
    ),
    ("contains(name,'a'", "')' or ',' expected at position 17 in 'contains(name,'a''."),
    ("name", "The $filter expression must evaluate to a single boolean value"),
    ("", "Expression expected at position 0 in ''."),
]


@pytest.mark.parametrize(("filter_text", "message"), MALFORMED)
def test_malformed_filters_answer_odata_errors(dv: Any, filter_text: str, message: str) -> None:
    _, c, h = dv
    r = c.get(f"{API}/accounts", params={"$filter": filter_text}, headers=h)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "0x80060888"
    assert message in r.json()["error"]["message"]


def test_documented_unterminated_literal_example(dv: Any) -> None:
    """webapi/query/filter-rows.md, "Manage single quotes"."""
    _, c, h = dv
    r = c.get(f"{API}/contacts", params={"$filter": "lastname eq 'O'Bryan'"}, headers=h)
    assert (
        r.json()["error"]["message"]
        == "There is an unterminated literal at position 21 in 'lastname eq 'O'Bryan''."
    )
    ok = c.get(f"{API}/contacts", params={"$filter": "lastname eq 'O''Bryan'"}, headers=h)
    assert [row["lastname"] for row in ok.json()["value"]] == ["O'Bryan"]


def test_unsupported_dataverse_function_is_501(dv: Any) -> None:
    _, c, h = dv
    r = c.get(
        f"{API}/accounts",
        params={"$filter": "Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=3)"},
        headers=h,
    )
    assert r.status_code == 501 and "LastXDays" in r.json()["error"]["message"]


def test_injection_is_harmless_when_quotes_are_doubled(dv: Any) -> None:
    attack = "x' or name ne 'x"
    assert names(dv, f"name eq {quote(attack)}") == set()
    assert names(dv, f"name eq '{attack}'") == {A, B, C}  # unescaped: the attacker's filter runs


def test_url_encoded_specials_are_decoded(dv: Any) -> None:
    _, c, h = dv
    r = c.get(f"{API}/accounts?$filter=contains(description,'100%25')&$select=name", headers=h)
    assert [row["name"] for row in r.json()["value"]] == [A]


def test_orderby_and_top(dv: Any) -> None:
    _, c, h = dv
    r = c.get(
        f"{API}/accounts",
        params={"$select": "name", "$orderby": "numberofemployees desc,name asc"},
        headers=h,
    )
    assert [row["name"] for row in r.json()["value"]] == [B, A, C]
    top = c.get(
        f"{API}/accounts", params={"$select": "name", "$orderby": "name desc", "$top": "1"}, headers=h
    )
    assert [row["name"] for row in top.json()["value"]] == [B]
    bad = c.get(f"{API}/accounts", params={"$orderby": "Nope desc"}, headers=h)
    assert bad.json()["error"]["message"].startswith("Could not find a property named 'Nope'")


def like_escape(text: str) -> str:
    return "".join(f"[{ch}]" if ch in "%_[" else ch for ch in text)


NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(
    lambda s: s.strip(" ") != ""
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES, other=NAMES)
def test_round_trip_any_string_finds_its_record(name: str, other: str) -> None:
    sandbox = DynamicsSandbox(requests_per_window=None)
    c = TestClient(sandbox.app())
    h = {"Authorization": f"Bearer {sandbox.tokens.issue(app_user('sandbox-client')).value}"}
    for value in (name, other):
        assert c.post(f"{API}/accounts", json={"name": value}, headers=h).status_code == 204

    def found(filter_text: str) -> list[str]:
        r = c.get(f"{API}/accounts", params={"$filter": filter_text, "$select": "name"}, headers=h)
        assert r.status_code == 200, r.text
        return [row["name"] for row in r.json()["value"]]

    same = name.rstrip(" ").casefold() == other.rstrip(" ").casefold()
    assert name in found(f"name eq {quote(name)}")
    assert (other in found(f"name eq {quote(name)}")) == same
    assert name in found(f"contains(name,{quote(like_escape(name))})")
    assert name in found(f"startswith(name,{quote(like_escape(name))})")


# ----- the one-regex lexer reads as the lexer that tried each literal's regex in turn ----------------


class StepwiseLexer(Lexer):
    """The lexer as first written: a guid, then a date, then a number, each kept only when no letter,
    digit or _ follows, then a name."""

    def next(self) -> Token:
        text = self.text
        while self.pos < len(text) and text[self.pos].isspace():
            self.pos += 1
        start = self.pos
        if start >= len(text) or text[start] in "()',=/[@":
            return super().next()
        for kind, regex in (("guid", GUID_RE), ("datetime", DATETIME_RE), ("number", NUMBER_RE)):
            match = regex.match(text, start)
            if match and not self.continues_name(match.end()):
                self.pos = match.end()
                return Token(kind, match.group(0), start)
        match = IDENT_RE.match(text, start)
        if match is None:
            char = text[start]
            raise self.fail(f"Syntax error: character '{char}' is not valid at position {start} in '{text}'.")
        self.pos = match.end()
        if self.pos < len(text) and text[self.pos] == "'":
            return Token("enum", (match.group(0), self.quoted()), start)
        return Token("ident", match.group(0), start)

    def continues_name(self, end: int) -> bool:
        return end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "_")


LEXER_PIECES = [
    "2024-01-01", "T10:00", ":30", ".5", "Z", "+01:00", "deadbeef-0000-1111-2222-333344445555", "12", "-",
    "e5", "m", "L", "abc", "_", "x", " ", "\u00a0", "\u0663", "é", "'", "''", "(", ")", ",", "/", "=",
    "@p1", "[", "]", '"', "eq", "or", ".", "A.b", "#",
]  # fmt: skip


def lexed(lexer: Lexer) -> list[tuple[str, Any, int]] | str:
    try:
        return [(t.kind, t.value, t.pos) for t in lexer.tokens()]
    except DataverseError as exc:
        return exc.message


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(LEXER_PIECES), max_size=10).map("".join))
@example("2024-01-01T10:00:30.5x eq 1")  # a shorter date would do, were it looked for
@example("12.5mx")
@example("deadbeef-0000-1111-2222-333344445555x")
@example("name eq Microsoft.Dynamics.CRM.Type'V'")
def test_lexer_agrees_with_the_stepwise_lexer(text: str) -> None:
    assert lexed(Lexer(text)) == lexed(StepwiseLexer(text))

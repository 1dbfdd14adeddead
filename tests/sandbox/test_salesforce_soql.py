"""SOQL over /query: a table of valid and malformed queries with the rows or the error Salesforce
gives, injection attempts, paging, and a round-trip property: any string, escaped as the SOQL
reference says, is found exactly by = and by LIKE."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.sandbox.salesforce_ids import case_suffix, from_suffix, normalize
from engine.sandbox.salesforce_soql import LikePattern, SoqlError, Token, _read_string, like_regex, tokenize
from tests.sandbox.test_salesforce import Org, only_error

ACCOUNTS = [
    {
        "Name": "Acme",
        "Website": "acme.com",
        "NumberOfEmployees": 120,
        "Industry": "Banking",
        "BenefitFlow_Id__c": "EMP-1",
        "Funding_Type__c": "Self-Funded",
    },
    {
        "Name": "Beta Brokers",
        "Website": "beta.io",
        "NumberOfEmployees": 15,
        "Industry": "Insurance",
        "BenefitFlow_Id__c": "BRK-1",
        "Broker_Type__c": "National",
    },
    {"Name": "100% Benefits_Co", "Website": "pct.io", "NumberOfEmployees": 40},
    {"Name": "O'Brien & Sons", "Website": "obrien.ie", "Funding_Type__c": "Fully Insured"},
]
CONTACTS = [
    {"LastName": "Ann", "Email": "ann@acme.com", "Title": "CFO"},
    {"LastName": "O'Brien", "Email": "o'brien@example.com"},
    {"LastName": "Back\\slash", "Email": "tab@example.com", "Title": "line\nbreak"},
]


@pytest.fixture(scope="module")
def org() -> Org:
    org = Org(duplicate_rules="off")
    for row in ACCOUNTS:
        org.create("Account", **row)
    for row in CONTACTS:
        org.create("Contact", **row)
    return org


def names(org: Org, soql: str) -> list[Any]:
    r = org.query(soql)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["done"] is True and body["totalSize"] == len(body["records"])
    return [rec.get("Name", rec.get("LastName")) for rec in body["records"]]


VALID = [
    (
        "SELECT Name FROM Account ORDER BY Name",
        ["100% Benefits_Co", "Acme", "Beta Brokers", "O'Brien & Sons"],
    ),
    ("select name from account where name = 'ACME'", ["Acme"]),
    (
        "SELECT Name FROM Account WHERE Name != 'Acme' ORDER BY Name DESC LIMIT 2",
        ["O'Brien & Sons", "Beta Brokers"],
    ),
    (
        "SELECT Name FROM Account WHERE BenefitFlow_Id__c IN ('emp-1', 'BRK-1') ORDER BY Name",
        ["Acme", "Beta Brokers"],
    ),
    (
        "SELECT Name FROM Account WHERE Industry NOT IN ('Banking') ORDER BY Name",
        ["100% Benefits_Co", "Beta Brokers", "O'Brien & Sons"],
    ),
    ("SELECT Name FROM Account WHERE Name LIKE 'a%'", ["Acme"]),
    ("SELECT Name FROM Account WHERE Name LIKE '_eta%'", ["Beta Brokers"]),
    ("SELECT Name FROM Account WHERE Name LIKE '100\\% Benefits\\_Co'", ["100% Benefits_Co"]),
    ("SELECT Name FROM Account WHERE Name LIKE '%\\_%'", ["100% Benefits_Co"]),
    ("SELECT Name FROM Account WHERE Name = 'O\\'Brien & Sons'", ["O'Brien & Sons"]),
    ("SELECT Name FROM Account WHERE Industry = null ORDER BY Name", ["100% Benefits_Co", "O'Brien & Sons"]),
    ("SELECT Name FROM Account WHERE Industry != null ORDER BY Name", ["Acme", "Beta Brokers"]),
    (
        "SELECT Name FROM Account WHERE NumberOfEmployees > 20 AND NumberOfEmployees <= 120 ORDER BY Name",
        ["100% Benefits_Co", "Acme"],
    ),
    (
        "SELECT Name FROM Account WHERE (Name = 'Acme' OR Name = 'Beta Brokers') AND Industry = 'Banking'",
        ["Acme"],
    ),
    ("SELECT Name FROM Account WHERE NOT Name LIKE '%o%' ORDER BY Name", ["Acme"]),
    ("SELECT Name FROM Account WHERE Funding_Type__c = 'self-funded'", ["Acme"]),
    (
        "SELECT Name FROM Account ORDER BY Industry NULLS LAST, Name LIMIT 3",
        ["Acme", "Beta Brokers", "100% Benefits_Co"],
    ),
    (
        "SELECT Name FROM Account ORDER BY NumberOfEmployees DESC NULLS FIRST LIMIT 2",
        ["O'Brien & Sons", "Acme"],
    ),
    ("SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 1", ["Acme", "Beta Brokers"]),
    ("SELECT LastName FROM Contact WHERE Email = 'o\\'brien@example.com'", ["O'Brien"]),
    ("SELECT LastName FROM Contact WHERE LastName = 'Back\\\\slash'", ["Back\\slash"]),
    ("SELECT LastName FROM Contact WHERE Title = 'line\\nbreak'", ["Back\\slash"]),
    ("SELECT LastName FROM Contact WHERE Title = 'line\\Nbreak'", ["Back\\slash"]),
    ("SELECT LastName FROM Contact WHERE Title = 'CF\\u004F'", ["Ann"]),
    (
        "SELECT LastName FROM Contact WHERE Email LIKE '%@EXAMPLE.com' ORDER BY LastName",
        ["Back\\slash", "O'Brien"],
    ),
]


@pytest.mark.parametrize(("soql", "expected"), VALID)
def test_valid_queries(org: Org, soql: str, expected: list[str]) -> None:
    assert names(org, soql) == expected


MALFORMED = [
    ("SELECT Id FROM Contact WHERE Email = 'o'brien@example.com'", "MALFORMED_QUERY"),  # unescaped apostrophe
    ("SELECT Id FROM Account WHERE Name = 'a' OR Name = 'b' AND Name = 'c'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = 'x\\q'", "MALFORMED_QUERY"),  # no such escape
    ("SELECT Id FROM Account WHERE Name = '100\\%'", "MALFORMED_QUERY"),  # \\% outside LIKE
    ("SELECT Id FROM Account WHERE Name = 'unterminated", "MALFORMED_QUERY"),
    ('SELECT Id FROM Account WHERE Name = "Acme"', "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = 'a' --'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account; DELETE FROM Account", "MALFORMED_QUERY"),
    ("SELECT FROM Account", "MALFORMED_QUERY"),
    ("SELECT Id Account", "MALFORMED_QUERY"),
    ("SELECT Id, Id FROM Account", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account LIMIT x", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE (Name = 'a'", "MALFORMED_QUERY"),
    ("SELECT Nope__c FROM Account", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE Nope = 'x'", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE NumberOfEmployees = '5'", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE Description = 'x'", "INVALID_FIELD"),  # long text is not filterable
    ("SELECT Id FROM Contact WHERE Nope.Name = 'x'", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Widget__c", "INVALID_TYPE"),
]


@pytest.mark.parametrize(("soql", "code"), MALFORMED)
def test_malformed_queries_get_salesforce_errors_never_a_crash(org: Org, soql: str, code: str) -> None:
    error = only_error(org.query(soql), 400)
    assert error["errorCode"] == code
    assert isinstance(error["message"], str) and error["message"]


def test_error_message_points_at_the_column(org: Org) -> None:
    message = only_error(org.query("SELECT Nope__c FROM Account"), 400)["message"]
    assert "ERROR at Row:1:Column:8" in message
    assert "No such column 'Nope__c' on entity 'Account'." in message
    typed = only_error(org.query("SELECT Id FROM Widget__c"), 400)["message"]
    assert "sObject type 'Widget__c' is not supported." in typed


def test_count_and_relationship_fields(org: Org) -> None:
    assert org.query("SELECT COUNT() FROM Account WHERE Name LIKE 'A%'").json() == {
        "totalSize": 1,
        "done": True,
        "records": [],
    }
    account = org.get("/query", params={"q": "SELECT Id FROM Account WHERE Name = 'Acme'"}).json()["records"][
        0
    ]["Id"]
    contact = org.create("Contact", LastName="Rel", AccountId=account)
    rows = org.query(
        f"SELECT Id, Account.Name FROM Contact WHERE Account.Name = 'acme' AND Id = '{contact[:15]}'"
    )
    record = rows.json()["records"][0]
    assert record["Account"]["Name"] == "Acme" and record["Account"]["attributes"]["type"] == "Account"
    assert record["attributes"] == {
        "type": "Contact",
        "url": f"/services/data/v59.0/sobjects/Contact/{contact}",
    }


def test_paging_with_batch_size_and_next_records_url() -> None:
    org = Org(duplicate_rules="off")
    body = {
        "records": [
            {"attributes": {"type": "Lead"}, "LastName": f"L{i:03d}", "Company": "C"} for i in range(200)
        ]
    }
    for _ in range(3):
        assert org.post("/composite/sobjects", body).status_code == 200
    first = org.query(
        "SELECT LastName FROM Lead ORDER BY LastName", headers={"Sforce-Query-Options": "batchSize=250"}
    )
    page = first.json()
    assert page["totalSize"] == 600 and page["done"] is False and len(page["records"]) == 250
    assert page["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert page["nextRecordsUrl"].endswith("-250")
    seen = list(page["records"])
    while not page["done"]:
        page = org.client.get(page["nextRecordsUrl"], headers=org.headers).json()
        seen += page["records"]
    assert len(seen) == 600 and "nextRecordsUrl" not in page
    small = org.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=10"}).json()
    assert len(small["records"]) == 200  # the minimum batch is 200
    assert len(org.query("SELECT Id FROM Lead").json()["records"]) == 600  # default 2,000


def test_query_locators_expire_past_the_open_cursor_limit() -> None:
    org = Org(duplicate_rules="off", open_query_cursors=1)
    body = {
        "records": [{"attributes": {"type": "Lead"}, "LastName": f"L{i}", "Company": "C"} for i in range(200)]
    }
    org.post("/composite/sobjects", body)
    org.create("Lead", LastName="Last", Company="C")
    options = {"Sforce-Query-Options": "batchSize=200"}
    first = org.query("SELECT Id FROM Lead", headers=options).json()["nextRecordsUrl"]
    org.query("SELECT Id FROM Lead", headers=options)
    stale = org.client.get(first, headers=org.headers)
    assert only_error(stale, 400) == {
        "message": "invalid query locator",
        "errorCode": "INVALID_QUERY_LOCATOR",
    }


def test_missing_q_is_malformed(org: Org) -> None:
    assert only_error(org.get("/query"), 400)["errorCode"] == "MALFORMED_QUERY"


# ----- ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        ("001D000000IqhSL", "001D000000IqhSLIAZ"),  # Salesforce Help, "What is a Salesforce ID"
        ("0015g000000AbCd", "0015g000000AbCdAAK"),
        ("00Q5g00000aaaaa", "00Q5g00000aaaaaEAA"),
    ],
)
def test_case_safe_suffix(id15: str, id18: str) -> None:
    assert id15 + case_suffix(id15) == id18
    assert normalize(id15) == id18 and normalize(id18.lower()) == id18 and normalize(id18.upper()) == id18
    assert normalize("001D000000IqhSL!") is None and normalize("001D000000IqhSLIA9") is None


ID_ALPHABET = string.ascii_letters + string.digits


@settings(max_examples=300, deadline=None)
@given(
    st.text(ID_ALPHABET, min_size=15, max_size=15),
    st.lists(st.booleans(), min_size=18, max_size=18),
    st.text(ID_ALPHABET, min_size=18, max_size=18),
)
def test_canonical_ids_skip_the_suffix_decoding(id15: str, flips: list[bool], other: str) -> None:
    canonical = id15 + case_suffix(id15)
    recased = "".join(c.swapcase() if flip else c for c, flip in zip(canonical, flips, strict=True))
    for candidate in (canonical, recased, other):
        assert normalize(candidate) == from_suffix(candidate)
    assert normalize(canonical) == canonical


# ----- the escaping round trip -----------------------------------------------------------------


def soql_quote(value: str) -> str:
    table = {
        "\\": "\\\\",
        "'": "\\'",
        '"': '\\"',
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
        "\b": "\\b",
        "\f": "\\f",
    }
    return "".join(table.get(ch, ch) for ch in value)


def like_quote(value: str) -> str:
    return soql_quote(value).replace("%", "\\%").replace("_", "\\_")


@pytest.fixture(scope="module")
def blank_org() -> Org:
    return Org(duplicate_rules="off")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
        | st.sampled_from(list("'\"\\%_\n\r\t\b\f")),
        min_size=1,
        max_size=30,
    )
)
def test_escaped_value_finds_exactly_itself(blank_org: Org, value: str) -> None:
    if value.strip() != value or not value.strip():
        value = f"x{value}x"
    r = blank_org.post("/sobjects/Account", {"Name": value})
    assert r.status_code == 201, r.text
    record_id = r.json()["id"]
    decoy = blank_org.create("Account", Name=value + "%")
    by_equals = blank_org.query(f"SELECT Id FROM Account WHERE Name = '{soql_quote(value)}'")
    by_like = blank_org.query(f"SELECT Id FROM Account WHERE Name LIKE '{like_quote(value)}'")
    for response in (by_equals, by_like):
        assert response.status_code == 200, response.text
        found = {row["Id"] for row in response.json()["records"]}
        assert record_id in found and decoy not in found
        assert all(
            blank_org.get(f"/sobjects/Account/{i}").json()["Name"].casefold() == value.casefold()
            for i in found
        )


# ----- the fast paths agree with the general readers ---------------------------------------------

# Letters that regex IGNORECASE and str.lower() fold differently ("ſ" ~ "s", the Kelvin sign ~ "k",
# dotted "İ"), SOQL's wildcards and their escapes, and a quote.
PATTERN_PIECES = [*"aBsk-. %_", "\\%", "\\_", "\\'", "\\\\", *"ſ\u212aßİ"]
VALUE_CHARS = "aAbBsSkK-. %_'\\ſ\u212aßİ"


def like_token(body: str) -> Token:
    tokens = tokenize(f"'{body}'")
    assert [t.kind for t in tokens] == ["string", "end"]
    return tokens[0]


def general_match(token: Token, value: str) -> bool:
    return like_regex(token).fullmatch(value) is not None


@pytest.mark.parametrize(
    ("body", "value", "expected"),
    [
        ("%acme.com%", "WWW.Acme.COM/home", True),
        ("%acme.com%", "acme.co", False),
        ("acme%", "ACME Corp", True),
        ("%corp", "acme CORP", True),
        ("%corp", "corp inc", False),
        ("Acme", "aCME", True),
        ("", "", True),
        ("%", "", True),
        ("%%", "anything", True),
        ("100\\%%", "100% Benefits", True),
        ("100\\%%", "1000 Benefits", False),
        ("%\\_co", "benefits_co", True),
        ("%\\_co", "benefitsXco", False),
        ("a_c", "aBc", True),
        ("a_c", "ac", False),
        ("a%c", "abbbc", True),
        ("\\%", "%", True),
        ("%s%", "ſ", True),
        ("%k", "\u212a", True),
        ("%ß%", "SS", False),
    ],
)
def test_like_pattern_table(body: str, value: str, expected: bool) -> None:
    token = like_token(body)
    assert general_match(token, value) is expected
    assert LikePattern(token).matches(value) is expected


def matching_text(draw: st.DrawFn, piece: str) -> str:
    """Text the pattern piece matches, so that many drawn values match their pattern."""
    if piece == "%":
        return draw(st.text(VALUE_CHARS, max_size=3))
    if piece == "_":
        return draw(st.sampled_from(VALUE_CHARS))
    return piece[-1] if piece.startswith("\\") else piece


@st.composite
def pattern_and_value(draw: st.DrawFn) -> tuple[str, str]:
    pieces = draw(st.lists(st.sampled_from(PATTERN_PIECES), max_size=8))
    value = "".join(matching_text(draw, piece) for piece in pieces)
    value = "".join(c.swapcase() if draw(st.booleans()) else c for c in value)
    return "".join(pieces), draw(st.sampled_from([value, draw(st.text(VALUE_CHARS, max_size=8))]))


@settings(max_examples=500, deadline=None)
@given(pattern_and_value())
def test_like_pattern_agrees_with_the_regex(case: tuple[str, str]) -> None:
    body, value = case
    token = like_token(body)
    assert LikePattern(token).matches(value) == general_match(token, value)


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from(list("ab%_'\\ nNuU0F\"")), max_size=12))
def test_tokenize_reads_a_literal_as_read_string_does(body: str) -> None:
    text = "'" + body
    try:
        expected, end = _read_string(text, 0)
    except SoqlError as exc:
        with pytest.raises(SoqlError) as raised:
            tokenize(text)
        assert raised.value.message == exc.message
        return
    assert tokenize(text[:end]) == [expected, Token("end", "<EOF>", end)]

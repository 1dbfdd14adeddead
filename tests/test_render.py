"""Rendering: structural templates, query escaping for each literal syntax, look-up batching."""

from __future__ import annotations

import pytest

from engine.catalog import load_connector
from engine.connector import LiteralSyntax
from engine.render import condition, render_batches, render_lookups
from engine.templating import TemplateContextError, fill

SOQL_LIKE = LiteralSyntax(quote="'", escapes={"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n"},
                          like_escapes={"_": "\\_", "%": "\\%"}, exact="{field} = {literal}",
                          exact_many="{field} IN ({literals})", contains="{field} LIKE {like_literal}",
                          join=" OR ")
ODATA_LIKE = LiteralSyntax(quote="'", escapes={"'": "''"}, exact="{field} eq {literal}",
                           contains="contains({field},'{like_escaped}')", join=" or ")


def test_fill_replaces_whole_values_inline_text_and_merges() -> None:
    template = {"records": "$items", "n": "$count", "path": "/x/{object}/{vars.kind}",
                "item": {"attributes": {"type": "{object}"}, "$merge": "$fields"}}
    context = {"items": [1, 2], "count": 3, "object": "Account", "vars": {"kind": "k"},
               "fields": {"Name": "A"}}
    assert fill(template, context) == {"records": [1, 2], "n": 3, "path": "/x/Account/k",
                                       "item": {"attributes": {"type": "Account"}, "Name": "A"}}


def test_fill_names_a_missing_placeholder() -> None:
    with pytest.raises(TemplateContextError, match="'nope'"):
        fill("{nope}", {})


@pytest.mark.parametrize(("syntax", "values", "contains", "expected"), [
    (SOQL_LIKE, ["o'brien@example.com"], False, "Email = 'o\\'brien@example.com'"),
    (SOQL_LIKE, ["a@x.com", "b'c@x.com"], False, "Email IN ('a@x.com','b\\'c@x.com')"),
    (SOQL_LIKE, ["back\\slash@x.com"], False, "Email = 'back\\\\slash@x.com'"),
    (SOQL_LIKE, ["100%_sure.com"], True, "Email LIKE '%100\\%\\_sure.com%'"),
    (SOQL_LIKE, ["x' OR Name != '"], False, "Email = 'x\\' OR Name != \\''"),
    (ODATA_LIKE, ["o'brien@example.com"], False, "Email eq 'o''brien@example.com'"),
    (ODATA_LIKE, ["a.com", "b'c.com"], True, "contains(Email,'a.com') or contains(Email,'b''c.com')"),
])
def test_condition_escapes_values(syntax: LiteralSyntax, values: list[str], contains: bool,
                                  expected: str) -> None:
    assert condition(syntax, "Email", values, contains) == expected


def test_an_injection_attempt_stays_one_literal() -> None:
    clause = condition(SOQL_LIKE, "Email", ["' OR Id != null OR Email = '"], False)
    # every quote inside the value is escaped: the clause has exactly the two delimiting quotes unescaped
    unescaped = [i for i, ch in enumerate(clause) if ch == "'" and clause[i - 1] != "\\"]
    assert len(unescaped) == 2


def test_lookups_split_by_max_values() -> None:
    connector = load_connector("hubspot").model
    values = [f"d{i}.example.com" for i in range(250)]
    requests = render_lookups(connector, "companies", "domain", values, ["domain"], False, "http://127.0.0.1:1")
    assert [len(r.body["filterGroups"][0]["filters"][0]["values"]) for r in requests] == [100, 100, 50]
    assert all(r.method == "POST" and r.url.endswith("/crm/v3/objects/companies/search") for r in requests)


def test_lookups_split_by_url_length() -> None:
    connector = load_connector("hubspot").model
    lookup = connector.endpoints.lookup.model_copy(update={"method": "GET", "query": {"q": "{match}"},
                                                           "max_url_length": 400, "max_values": None,
                                                           "body": None})
    connector = connector.model_copy(
        update={"endpoints": connector.endpoints.model_copy(update={"lookup": lookup})})
    values = [f"someone{i}@example.com" for i in range(40)]
    requests = render_lookups(connector, "companies", "domain", values, ["domain"], False, "http://127.0.0.1:1")
    assert len(requests) > 1
    assert all(len(r.url) <= 400 for r in requests)
    assert sum(r.url.count("example.com") for r in requests) == 40


def test_batches_follow_the_endpoint_limit() -> None:
    connector = load_connector("hubspot").model
    items = [(f"employer/e{i}", {"fields": {"name": f"N{i}"}, "ref": f"employer/e{i}"}) for i in range(230)]
    requests = render_batches(connector, "create", "companies", items, "http://127.0.0.1:1")
    assert [len(r.body["inputs"]) for r in requests] == [100, 100, 30]
    assert requests[0].body["inputs"][0] == {"properties": {"name": "N0"},
                                             "objectWriteTraceId": "employer/e0"}
    assert requests[2].refs[-1] == "employer/e229"

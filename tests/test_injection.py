"""Injection corpus: identity values full of query-language syntax, rendered into each connector's
look-up requests. Every request must stay well formed and carry back exactly the value it was given:

- HubSpot (a JSON body): the value travels as a JSON string, untouched, in the search filter's values
  or the batch read's inputs, and never in the URL;
- Dataverse (an OData `$filter` in the URL): the URL is sent as httpx sends it; its `$filter` is
  URL-decoded, must be exactly `field eq '…'` (or `contains(field,'…')`) joined by ` or `, and each
  literal decodes back (quotes undoubled, LIKE wildcards unbracketed) to the value.

Salesforce (SOQL: backslash escapes) has its own corpus, read back by a SOQL literal reader, in
tests/test_salesforce_spec.py.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any
from urllib.parse import unquote_plus

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.catalog import load_connector
from engine.connector import ConnectorSpec
from engine.render import Request, render_lookups

BASES = {"hubspot": "https://api.hubapi.com", "dynamics": "https://example.crm.dynamics.com/api/data/v9.2"}

CORPUS = [
    "o'brien@example.com", "o''brien@example.com", "'", "''", "'''", "\\", "back\\slash@example.com",
    "\\'", "100%@example.com", "%27@example.com", "%2527", "under_score@example.com", "[bracket]@example.com",
    "[%]_[_]", "a&b@example.com", "a#b@example.com", "a?b=c@example.com", "a/b@example.com",
    "a+b@example.com",
    "' or 1 eq 1 or '", "x' or emailaddress1 ne 'y", "') OR (Name != '", "x') or contains(name,'",
    "\" OR \"1\"=\"1", "a\nb@example.com", "a\r\nb", "nul\x00@example.com", "tab\there", "\x7f",
    "zoë@zoës-café.example", "jürgen.müller@example.de", "søren@example.dk", "名前@例え.jp", "😀@example.com",
    "$filter=1", "a;b,c:d@example.com", "{value}", "$value", "{{ 7*7 }}", "", " ", "   padded   ",
]

# Lone surrogates cannot be encoded as UTF-8 at all (neither in a URL nor in a JSON body sent by httpx).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@cache
def connector_of(crm: str) -> ConnectorSpec:
    return load_connector(crm).model


def lookups(crm: str) -> list[tuple[str, str, str, bool]]:
    """(crm, object, field, contains?) for the first part of every identity key of every object."""
    out = []
    for name, obj in connector_of(crm).objects.items():
        for key in obj.identity_keys.values():
            entry = (crm, name, key.parts[0].field, key.match == "contains")
            if entry not in out:
                out.append(entry)
    return out


CASES = [case for crm in BASES for case in lookups(crm)]
IDS = [f"{crm}-{obj}-{field}{'-contains' if contains else ''}" for crm, obj, field, contains in CASES]


def render_one(crm: str, object_name: str, field: str, contains: bool, value: str) -> Request:
    requests = render_lookups(connector_of(crm), object_name, field, [value], [field], contains, BASES[crm])
    assert len(requests) == 1
    return requests[0]


def strings_in(data: Any) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in (*strings_in(k), *strings_in(v))]
    if isinstance(data, list):
        return [s for v in data for s in strings_in(v)]
    return []


def check_json_body(request: Request, value: str, harmless: Request) -> None:
    sent = httpx.Request(request.method, request.url, json=request.body)  # what the client sends
    body = json.loads(sent.content.decode("utf-8"))
    assert body == request.body
    assert value in strings_in(body)
    assert sent.url == httpx.URL(harmless.url)  # the value is only in the body


def odata_filter(url: str) -> str:
    """The `$filter` of a URL as the server reads it: split on `&`, then percent-decoded."""
    query = httpx.URL(url).query.decode("ascii")
    params = [part for part in query.split("&") if part.startswith("$filter=")]
    assert len(params) == 1, f"one $filter expected in {query!r}"
    return unquote_plus(params[0][len("$filter="):])


LITERAL = r"'((?:[^']|'')*)'"


def odata_literal(filter_text: str, field: str, contains: bool) -> str:
    """The one literal of a well-formed single-value condition, decoded."""
    name = re.escape(field)
    pattern = rf"contains\({name},{LITERAL}\)" if contains else rf"{name} eq {LITERAL}"
    found = re.fullmatch(pattern, filter_text, re.DOTALL)
    assert found, f"not a single well-formed condition: {filter_text!r}"
    text = found[1].replace("''", "'")
    return unbracket(text) if contains else text


def unbracket(text: str) -> str:
    """T-SQL LIKE: `[%]`, `[_]` and `[[]` are the literal characters; a bare %, _ or [ is a wildcard."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "[":
            assert text[i:i + 3] in ("[%]", "[_]", "[[]"), f"unescaped [ in a LIKE pattern: {text!r}"
            out.append(text[i + 1])
            i += 3
            continue
        assert text[i] not in "%_", f"unescaped wildcard in a LIKE pattern: {text!r}"
        out.append(text[i])
        i += 1
    return "".join(out)


def check_round_trip(crm: str, object_name: str, field: str, contains: bool, value: str) -> None:
    request = render_one(crm, object_name, field, contains, value)
    if request.body is not None:
        check_json_body(request, value, render_one(crm, object_name, field, contains, "harmless"))
    else:
        assert odata_literal(odata_filter(request.url), field, contains) == value


@pytest.mark.parametrize(("crm", "object_name", "field", "contains"), CASES, ids=IDS)
@pytest.mark.parametrize("value", CORPUS, ids=[repr(v) for v in CORPUS])
def test_corpus_value_round_trips(crm: str, object_name: str, field: str, contains: bool, value: str) -> None:
    check_round_trip(crm, object_name, field, contains, value)


@pytest.mark.parametrize(("crm", "object_name", "field", "contains"), CASES, ids=IDS)
@settings(max_examples=150, deadline=None)
@given(value=TEXT)
def test_any_text_round_trips(crm: str, object_name: str, field: str, contains: bool, value: str) -> None:
    check_round_trip(crm, object_name, field, contains, value)


def test_several_values_stay_separate_conditions() -> None:
    values = ["a' or 'b@x.com", "c@x.com", "' or '"]
    request = render_lookups(connector_of("dynamics"), "contact", "emailaddress1", values, ["contactid"],
                             False, BASES["dynamics"])[0]
    conditions = re.findall(rf"emailaddress1 eq {LITERAL}", odata_filter(request.url))
    assert [c.replace("''", "'") for c in conditions] == values
    assert odata_filter(request.url) == " or ".join(f"emailaddress1 eq '{v.replace(chr(39), 2 * chr(39))}'"
                                                    for v in values)


@pytest.mark.parametrize("value", CORPUS, ids=[repr(v) for v in CORPUS])
def test_an_upsert_key_stays_one_odata_key_literal(value: str) -> None:
    """Dataverse's upsert names the record by an alternate key in the path: accounts(bf_benefitflowid='…')."""
    from engine.render import render_batches

    [request] = render_batches(connector_of("dynamics"), "upsert", "account", [
        ("employer/e1", {"fields": {"name": "N"}, "key_field": "bf_benefitflowid", "key_value": value,
                         "ref": "employer/e1"})], BASES["dynamics"])
    path = httpx.URL(request.url).raw_path.decode("ascii")  # as sent: the server percent-decodes it
    found = re.fullmatch(rf"/api/data/v9\.2/accounts\(bf_benefitflowid={LITERAL}\)\?\$select=accountid",
                         unquote_plus(path),
                         re.DOTALL)
    assert found, path
    assert found[1].replace("''", "'") == value

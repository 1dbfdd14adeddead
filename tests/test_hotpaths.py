"""The dry-run's fast paths give what the plain ways give: JSONPath getters against jsonpath-ng, the
candidate index against a scan of every CRM record, compiled templates against `fill`, hook callers
against pluggy's, and look-up splitting by bisection against adding one value at a time."""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonpath_ng.ext import parse as parse_jsonpath

from engine import render, transforms
from engine.catalog import load_connector
from engine.connector import FieldSpec, IdentityKey, KeyPart
from engine.hookspecs import hookimpl
from engine.match import CandidateIndex, CrmRecord, crm_identity
from engine.paths import finder, getter
from engine.plugins import first_result, manager
from engine.render import _too_long, endpoint_for, render_lookups
from engine.templating import compile_template, fill

NAMES = st.sampled_from(["a", "b", "id", "@odata.nextLink"])
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=3),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3),
                    max_leaves=12)
PATHS = ["$.a", "$.a.b", "$.a.b.id", "$['@odata.nextLink']", "$.a[*]", "$.a.b[*]", "$[*]", "$.a[0]", "$.a.*"]


@settings(max_examples=300, deadline=None)
@given(document=JSON, path=st.sampled_from(PATHS))
def test_path_finders_find_what_jsonpath_ng_finds(document: Any, path: str) -> None:
    found = [m.value for m in parse_jsonpath(path).find(document)]
    assert finder(path)(document) == found
    get = getter(path)
    if get is not None:
        assert get(document) == (found[0] if found else None)


EMAILS = st.sampled_from(["a@x.com", "b@x.com", "c@y.com", "d@y.com"])
CITIES = st.sampled_from(["austin", "boston"])


@settings(max_examples=200, deadline=None)
@given(crm=st.lists(st.tuples(EMAILS, st.lists(EMAILS, max_size=2), CITIES), max_size=8),
       mine_emails=st.lists(EMAILS, max_size=3), mine_cities=st.lists(CITIES, max_size=2))
def test_candidate_index_finds_what_a_scan_finds(crm: list[tuple[str, list[str], str]],
                                                  mine_emails: list[str], mine_cities: list[str]) -> None:
    connector = load_connector("hubspot").model
    email = KeyPart(name="email", field="email", normalize="email", also=["more"])
    records = [CrmRecord(str(i), {"email": e, "more": ";".join(m), "city": c})
               for i, (e, m, c) in enumerate(crm)]
    for key, mine in ((IdentityKey(parts=[email, KeyPart(name="city", field="city", normalize="city")]),
                       {"email": mine_emails, "city": mine_cities}),
                      (IdentityKey(parts=[email]), {"email": mine_emails})):
        index = CandidateIndex(connector, "contacts", key, records)
        scanned = [c for c in records
                   if all(set(mine[p]) & crm_identity(connector, "contacts", c, key)[p] for p in mine)]
        assert index.candidates(mine) == scanned


TEMPLATES = [
    {"records": "$items", "n": "$count", "path": "/x/{object}/{vars.kind}", "k{object}": 1, "plain": "text",
     "nested": [{"a": "{object}"}, "$count", 5, None],
     "item": {"attributes": {"type": "{object}"}, "$merge": "$fields"}},
    "$fields", "{object}-{count}", ["$items", "{vars.kind}"], 7,
]
CONTEXT = {"items": [1, 2], "count": 3, "object": "Account", "vars": {"kind": "k"}, "fields": {"Name": "A"}}


@pytest.mark.parametrize("template", TEMPLATES)
def test_compiled_templates_fill_as_fill_does(template: Any) -> None:
    assert compile_template(template)(CONTEXT) == fill(template, CONTEXT)


def test_hook_callers_call_as_pluggy_does() -> None:
    connector = load_connector("hubspot").model

    class Partial:  # names only some arguments, in its own order
        @hookimpl
        def crmsync_serialize_value(self, value: Any, field_name: str) -> Any:
            return f"{field_name}={value}" if field_name == "x" else None

    plugin, text = Partial(), FieldSpec(type="string")
    manager().register(plugin)
    try:
        call = first_result("crmsync_serialize_value")
        assert call is not None
        for name, value in (("x", 1), ("y", True), ("y", 2.0)):
            expected = manager().hook.crmsync_serialize_value(connector=connector, object_name="companies",
                                                              field_name=name, field=text, value=value)
            assert call(connector, "companies", name, text, value) == expected
        assert call(connector, "companies", "x", text, 1) == "x=1"
    finally:
        manager().unregister(plugin)
    assert first_result("crmsync_serialize_value")(connector, "companies", "x", text, 1) == "1"  # type: ignore[misc]


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="hHtTpPsSwW:/.-_~?#@a0 \u00e9", max_size=30))
def test_the_plain_address_split_gives_what_urlsplit_gives(text: str) -> None:
    assert transforms._split_host(text) == transforms._split_host_parsed(text)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["", "http://", "HTTPS://", "https://www."]),
       st.from_regex(r"[a-zA-Z0-9-]{1,8}(\.[a-z0-9-]{1,6}){1,3}", fullmatch=True),
       st.sampled_from(["", "/", "/a/b", "/x.html", "//y"]))
def test_the_plain_address_split_on_plain_addresses(scheme: str, host: str, path: str) -> None:
    text = scheme + host + path
    assert transforms._PLAIN_ADDRESS.fullmatch(text) is not None
    assert transforms._split_host(text) == transforms._split_host_parsed(text)


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=40), st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=3))
def test_the_query_encoding_is_urlencode(text: str, query: dict[str, str]) -> None:
    assert render.quote_plus(text) == urllib.parse.quote_plus(text, safe="")
    assert render.encode_query(query) == urllib.parse.urlencode(query)


def test_a_plugin_declaring_its_connector_is_left_out_for_other_connectors() -> None:
    hubspot, dynamics = load_connector("hubspot").model, load_connector("dynamics").model

    class OnlyDynamics:
        CRMSYNC_CONNECTOR = "dynamics"

        @hookimpl
        def crmsync_serialize_value(self, value: Any) -> Any:
            return f"dyn:{value}"

    plugin, text = OnlyDynamics(), FieldSpec(type="string")
    manager().register(plugin)
    try:
        for_dynamics = first_result("crmsync_serialize_value", "dynamics")
        for_hubspot = first_result("crmsync_serialize_value", "hubspot")
        assert for_dynamics is not None and for_hubspot is not None
        assert for_dynamics(dynamics, "account", "name", text, "x") == "dyn:x"
        assert for_hubspot(hubspot, "companies", "name", text, 2) == "2"  # HubSpot's own plugin answers
        # without a connector, every implementation takes part, as in pluggy
        assert first_result("crmsync_serialize_value")(hubspot, "companies", "name", text, 2) == "dyn:2"  # type: ignore[misc]
    finally:
        manager().unregister(plugin)
    # the built-in plugins declare theirs: Salesforce has no serialising plugin at all
    assert first_result("crmsync_serialize_value", "salesforce") is None


def greedy_chunks(values: list[str], make: Any, endpoint: Any, limit: int) -> list[list[str]]:
    """The reference: add values one at a time until the next one would make the request too long."""
    chunks: list[list[str]] = []
    chunk: list[str] = []
    for value in values:
        candidate = [*chunk, value]
        if chunk and (len(candidate) > limit or _too_long(make(candidate), endpoint)):
            chunks.append(chunk)
            candidate = [value]
        chunk = candidate
    return [*chunks, chunk] if chunk else chunks


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(1, 80), max_size=300))
def test_lookup_splitting_matches_adding_one_value_at_a_time(lengths: list[int]) -> None:
    connector = load_connector("hubspot").model
    values = sorted({"x" * n + f"{i}.example.com" for i, n in enumerate(lengths)})
    endpoint = endpoint_for(connector, "companies", "lookup")

    def make(chunk: list[str]) -> Any:
        return render_lookups(connector.model_copy(update={"endpoints": connector.endpoints.model_copy(
            update={"lookup": endpoint.model_copy(update={"max_body_length": None})})}),
            "companies", "domain", chunk, ["domain"], False, "http://h")[0]

    requests = render_lookups(connector, "companies", "domain", values, ["domain"], False, "http://h")
    got = [r.body["filterGroups"][0]["filters"][0]["values"] for r in requests]
    assert got == greedy_chunks(values, make, endpoint, endpoint.max_values)
    assert all(len(chunk) == 1 or len(json.dumps(r.body, separators=(",", ":"))) <= 3000
               for chunk, r in zip(got, requests, strict=True))


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(1, 400), max_size=120))
def test_lookup_splitting_by_url_length_matches_adding_one_value_at_a_time(lengths: list[int]) -> None:
    """Salesforce's SOQL look-up limited by URL length, made short enough that some values are too
    long even alone (each such value is sent alone)."""
    sf = load_connector("salesforce").model
    endpoint = endpoint_for(sf, "Contact", "lookup").model_copy(update={"max_url_length": 700})
    connector = sf.model_copy(update={"endpoints": sf.endpoints.model_copy(update={"lookup": endpoint})})
    unlimited = sf.model_copy(update={"endpoints": sf.endpoints.model_copy(
        update={"lookup": endpoint.model_copy(update={"max_url_length": None})})})
    values = sorted({"x" * n + f"{i}@example.com" for i, n in enumerate(lengths)})

    def make(chunk: list[str]) -> Any:
        return render_lookups(unlimited, "Contact", "Email", chunk, ["Id"], False, "http://h")[0]

    requests = render_lookups(connector, "Contact", "Email", values, ["Id"], False, "http://h")
    got = [sorted(re.findall(r"x*\d+@example\.com", urllib.parse.unquote_plus(r.url))) for r in requests]
    assert got == greedy_chunks(values, make, endpoint, endpoint.max_values)
    assert all(len(chunk) == 1 or len(r.url) <= 700 for chunk, r in zip(got, requests, strict=True))

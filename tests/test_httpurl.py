"""engine.httpurl's URLs against httpx's parse, which they skip: for every URL a property test can make
(any scheme, host, port, dot segments, escapes, characters httpx escapes or refuses), crm_url gives the
URL httpx.URL gives, or the same error; on_origin gives what copy_with(scheme, host, port) gives; and
the look-ups the engine renders take the fast path."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from engine.catalog import load_connector
from engine.httpurl import canonical_parts, crm_url, on_origin
from engine.render import render_lookups

PIECES = ["a", "Z", "0", "-", ".", "..", "/", "%", "%2F", "%zz", "?", "#", " ", "é", "\t", '"', "<", "`",
          "{", "'", "(", "=", "&", "+", ":", "@", "~", "[", "!", "*", ","]
segments = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
hosts = st.one_of(st.sampled_from(["127.0.0.1", "localhost", "api.example.com", "API.Example.com",
                                   "999.1.1.1", "xn--bcher-kva.example", "bücher.example", "[::1]", "",
                                   "a..b", "-a.example", "host_name"]), segments)
ports = st.one_of(st.none(), st.sampled_from(["80", "443", "8080", "0", "65536", "", "x"]))
urls = st.builds(lambda scheme, host, port, path, query: f"{scheme}{host}{'' if port is None else ':' + port}"
                 f"{path}{query}",
                 st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "", "http:/"]), hosts, ports,
                 st.one_of(segments, segments.map(lambda s: "/" + s)),
                 st.one_of(st.just(""), segments.map(lambda s: "?" + s)))


def parsed(make, text: str):  # type: ignore[no-untyped-def]
    try:
        return make(text)._uri_reference
    except httpx.InvalidURL as exc:
        return ("InvalidURL", str(exc))


# origins the fast path takes, and any path and query after them
rendered = st.builds(lambda origin, path, query: f"{origin}/{path}{query}",
                     st.sampled_from(["http://127.0.0.1:8080", "https://api.example.com",
                                      "https://na1.example.com:443", "http://localhost:80"]),
                     segments, st.one_of(st.just(""), segments.map(lambda s: "?" + s)))


@given(text=st.one_of(urls, rendered))
@example("http://127.0.0.1:8080/a/../b?q=/../")  # dot segments: httpx drops them from the path only
@example("https://api.example.com/./x/.")
@example("http://127.0.0.1:8080/a b?q=é %zz%2f")
def test_crm_url_is_the_url_httpx_parses(text: str) -> None:
    assert parsed(crm_url, text) == parsed(httpx.URL, text)


@given(text=urls, origin=st.sampled_from(["https://na1.my.salesforce.com", "http://127.0.0.1:8080",
                                          "https://bücher.example:443", "http://[::1]:9"]))
def test_on_origin_is_copy_with_the_origins_parts(text: str, origin: str) -> None:
    """Of an absolute URL (a request to the base URL's host, which move_to_instance moves)."""
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        url = None
    assume(url is not None and url.is_absolute_url)
    assert url is not None
    target = httpx.URL(origin)
    assert on_origin(url, target)._uri_reference == \
        url.copy_with(scheme=target.scheme, host=target.host, port=target.port)._uri_reference
    assert str(on_origin(url, target)) == str(url.copy_with(scheme=target.scheme, host=target.host,
                                                              port=target.port))


@pytest.mark.parametrize("crm,object_name,field", [("salesforce", "Account", "Name"),
                                                    ("dynamics", "account", "name"),
                                                    ("zoho", "accounts", "Account_Name")])
def test_the_engines_lookups_take_the_fast_path(crm: str, object_name: str, field: str) -> None:
    """Identity values with every character SOQL, OData or COQL escapes and non-ASCII text: the rendered
    look-ups are already in httpx's form (the fast path is taken, not the fallback)."""
    connector = load_connector(crm).model
    values = [f"Acme {i} & Söhne 'quoted' \\ 100% (x)+y=z #{i}" for i in range(300)]
    select = [connector.objects[object_name].id_field]
    requests = render_lookups(connector, object_name, field, values, select, False, "https://na1.example.com/api")
    assert requests and all(canonical_parts(r.url) is not None for r in requests)
    assert all(crm_url(r.url)._uri_reference == httpx.URL(r.url)._uri_reference for r in requests)

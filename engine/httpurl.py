"""httpx URLs of the requests the engine renders, built without httpx's per-character parse.

httpx parses a URL string character by character in Python (a control character check as a generator
over every character, then a quote of the path and the query that splits them at each %XX escape); a
Salesforce or Zoho look-up carries its query (hundreds of identity values, each escaped) in a URL of up
to 16,000 characters, which httpx parsed twice per request (the client's URL, then again when the
request moves to the instance's host): about 3 ms of CPU per look-up. The URLs the engine renders have
an origin in the form httpx gives it (http or https, a lowercase ASCII host), so for those `crm_url`
gives the very httpx.URL that httpx's parse would, by checks done by str methods in C and the
standard library's quote (a table look-up per byte) where the path or query holds characters httpx
escapes (OData's spaces and quotes); any other URL is parsed by httpx (and refused by it, if invalid).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote

import httpx
from httpx._urlparse import MAX_URL_LENGTH, PATH_SAFE, QUERY_SAFE, UNRESERVED_CHARACTERS, ParseResult

# characters httpx's quote leaves as they are in a path and a query ('%' among them: an escape, or a
# '%' it keeps)
_PATH_KEPT = UNRESERVED_CHARACTERS + PATH_SAFE
_QUERY_KEPT = UNRESERVED_CHARACTERS + QUERY_SAFE
_ORIGIN = re.compile(r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([0-9]{1,5}))?(?=[/?]|$)")
_IPV4_STYLE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def crm_url(text: str) -> httpx.URL:
    """httpx.URL(text), without httpx's parse where the text is already in the form it would give."""
    parts = canonical_parts(text)
    return with_parts(parts) if parts is not None else httpx.URL(text)


def canonical_parts(text: str) -> ParseResult | None:
    """The parts httpx's parse gives `text`, its path and query escaped as httpx escapes them (every
    character outside the kept ones as its UTF-8 bytes, %XX, '%' itself kept); None where httpx would
    do more or refuse it (a fragment, user info, an uppercase or non-ASCII host, a dot segment, a
    character that is not printable...): httpx's parse decides those."""
    if len(text) > MAX_URL_LENGTH or "#" in text or not text.isprintable():
        return None
    origin = _ORIGIN.match(text)
    if origin is None:
        return None
    scheme, host, port_text = origin.groups()
    if _IPV4_STYLE.fullmatch(host) and not _valid_ipv4(host):
        return None
    path, question, query = text[origin.end():].partition("?")
    if not path.startswith("/") or _has_dot_segment(path):
        return None
    port = int(port_text) if port_text is not None else None
    return ParseResult(scheme, "", host, None if port == _DEFAULT_PORTS[scheme] else port,
                       _escaped(path, _PATH_KEPT), _escaped(query, _QUERY_KEPT) if question else None, None)


def _escaped(part: str, kept: str) -> str:
    return part if not part.rstrip(kept) else quote(part, safe=kept)


def on_origin(url: httpx.URL, origin: httpx.URL) -> httpx.URL:
    """`url` with the scheme, host and port of `origin` (as url.copy_with(scheme=, host=, port=) gives,
    without parsing url's path and query again): both are httpx URLs already."""
    target = origin._uri_reference
    return with_parts(url._uri_reference._replace(scheme=target.scheme, host=target.host, port=target.port))


def with_parts(parts: ParseResult) -> httpx.URL:
    url = httpx.URL.__new__(httpx.URL)
    url._uri_reference = parts
    return url


def _valid_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ipaddress.AddressValueError:
        return False
    return True


def _has_dot_segment(path: str) -> bool:
    """A '.' or '..' segment, which httpx's parse removes."""
    if "." not in path:
        return False
    segments = path.split("/")
    return "." in segments or ".." in segments

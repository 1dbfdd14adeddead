"""Named transforms and identity normalisers: good values, each refusal's message, and properties."""

from __future__ import annotations

import datetime as dt
import re
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.transforms import (
    STATES,
    TRANSFORMS,
    Transform,
    TransformError,
    normalize_city,
    normalize_domain,
    normalize_email,
    normalize_state,
)

GOOD: list[tuple[str, Any, dict[str, Any], Any]] = [
    ("state_code", "California", {}, "CA"),
    ("state_code", "new york", {}, "NY"),
    ("state_code", "  north   CAROLINA ", {}, "NC"),
    ("state_code", "tx", {}, "TX"),
    ("state_code", " Ca ", {}, "CA"),
    ("state_code", "District of Columbia", {}, "DC"),
    ("state_code", "Washington, D.C.", {}, "DC"),
    ("state_code", "Puerto Rico", {}, "PR"),
    ("state_code", "U.S. Virgin Islands", {}, "VI"),
    ("state_code", "guam", {}, "GU"),
    ("state_name", "ca", {}, "California"),
    ("state_name", "WEST VIRGINIA", {}, "West Virginia"),
    ("state_name", "dc", {}, "District of Columbia"),
    ("month_name", "2025-01-01", {}, "January"),
    ("month_name", "2025-07-15T10:30:00Z", {}, "July"),
    ("month_name", "2025-12-31T23:00:00-05:00", {}, "December"),
    ("month_name", dt.date(2025, 3, 9), {}, "March"),
    ("month_name", dt.datetime(2025, 11, 1, 8, 0), {}, "November"),
    ("date", "2025-02-28", {}, "2025-02-28"),
    ("date", "2024-02-29", {}, "2024-02-29"),
    ("date", "2025-1-5", {}, "2025-01-05"),
    ("date", "01/31/2025", {}, "2025-01-31"),
    ("date", "2025/01/31", {}, "2025-01-31"),
    ("date", "20250131", {}, "2025-01-31"),
    ("date", "January 5, 2025", {}, "2025-01-05"),
    ("date", "Sept. 5 2025", {}, "2025-09-05"),
    ("date", "5 Mar 2025", {}, "2025-03-05"),
    ("date", "2025-06-01T12:00:00", {}, "2025-06-01"),
    ("date", dt.date(2025, 6, 1), {}, "2025-06-01"),
    ("date", "31.01.2025", {"format": "%d.%m.%Y"}, "2025-01-31"),
    ("url", "acmeinc.com", {}, "https://acmeinc.com"),
    ("url", "www.acme.com", {}, "https://www.acme.com"),
    ("url", "  http://acme.com/benefits ", {}, "http://acme.com/benefits"),
    ("url", "HTTPS://Acme.COM/Path?q=1#top", {}, "https://acme.com/Path?q=1#top"),
    ("url", "https://acme.com:8443/x", {}, "https://acme.com:8443/x"),
    ("url", "//acme.com", {}, "https://acme.com"),
    ("url", "acme.com", {"scheme": "http"}, "http://acme.com"),
    ("url", "   ", {}, None),
    ("domain", "https://www.Acme-Example.com:8080/about?x=1", {}, "acme-example.com"),
    ("domain", "acmeinc.com", {}, "acmeinc.com"),
    ("domain", "http://benefits.acme.com/", {}, "benefits.acme.com"),
    ("domain", "https://benefits.acme.co.uk/x", {"registrable": True}, "acme.co.uk"),
    ("domain", "www.acme.com", {"registrable": True}, "acme.com"),
    ("domain", "", {}, None),
    ("phone_e164", "(415) 555-0100", {}, "+14155550100"),
    ("phone_e164", "415.555.0101", {}, "+14155550101"),
    ("phone_e164", "+1 212 555 0199", {}, "+12125550199"),
    ("phone_e164", "+1 (646) 555-0177", {}, "+16465550177"),
    ("phone_e164", 4155550100, {}, "+14155550100"),
    ("phone_e164", "020 7946 0958", {"region": "GB"}, "+442079460958"),
    ("phone_e164", "020 7946 0958", {"region": "gb"}, "+442079460958"),
    ("lower", "ACME Inc", {}, "acme inc"),
    ("upper", "acme inc", {}, "ACME INC"),
    ("upper", "straße", {}, "STRASSE"),
    ("strip", "  Acme \n", {}, "Acme"),
    ("title_case", "o'brien family dental", {}, "O'Brien Family Dental"),
    ("title_case", "ZOË'S CAFÉ group", {}, "Zoë's Café Group"),
    ("title_case", "mary smith-jones", {}, "Mary Smith-Jones"),
    ("email", "  Jane.Doe@Example.COM ", {}, "jane.doe@example.com"),
    ("email", "sean.o'brien@obrien-dental-example.com", {}, "sean.o'brien@obrien-dental-example.com"),
    ("email", "Zoë.Laurent@zoes-cafe-example.com", {}, "zoë.laurent@zoes-cafe-example.com"),
    ("email", "", {}, None),
    ("integer", 250, {}, 250),
    ("integer", "250", {}, 250),
    ("integer", " 1,250 ", {}, 1250),
    ("integer", "-3", {}, -3),
    ("integer", 12.0, {}, 12),
    ("integer", "12.00", {}, 12),
    ("join", ["a", "b", "c"], {}, "a;b;c"),
    ("join", ["a", None, "b"], {"sep": ", "}, "a, b"),
    ("join", "solo", {}, "solo"),
    ("join", [], {}, ""),
    ("first", ["a", "b"], {}, "a"),
    ("first", [], {}, None),
    ("first", "a", {}, "a"),
    ("truncate", "abcdef", {"length": 3}, "abc"),
    ("truncate", "ab", {"length": 3}, "ab"),
    ("truncate", "Zoë", {"length": 3}, "Zoë"),
]

BAD: list[tuple[str, Any, dict[str, Any], str]] = [
    ("state_code", "Tex.", {}, "'Tex.' is not a US state, DC or territory (a full name or 2-letter code)"),
    ("state_code", "Ontario", {}, "'Ontario' is not a US state"),
    ("state_code", "XX", {}, "'XX' is not a US state"),
    ("state_code", 6, {}, "6 is not a US state"),
    ("state_name", "Calif", {}, "'Calif' is not a US state"),
    ("month_name", "2025-02-30", {}, "'2025-02-30' is not a real calendar date (YYYY-MM-DD: day is out of"),
    ("month_name", "2025-13-01", {}, "'2025-13-01' is not a real calendar date (YYYY-MM-DD: month must"),
    ("month_name", "soon", {}, "'soon' is not a date in a known format (YYYY-MM-DD, MM/DD/YYYY"),
    ("month_name", 20250101, {}, "20250101 is not a date (expected text such as 2025-01-31)"),
    ("month_name", "2025-01-01T25:00", {}, "'2025-01-01T25:00' is not a valid ISO 8601 date-time"),
    ("date", "02/30/2025", {}, "'02/30/2025' is not a real calendar date (MM/DD/YYYY: day is out of range"),
    ("date", "Smarch 3, 2025", {}, "'Smarch 3, 2025' has no month named 'Smarch'"),
    ("date", "2025-01-31", {"format": "%d.%m.%Y"}, "'2025-01-31' is not a date in the format '%d.%m.%Y'"),
    ("url", "ftp://acme.com", {}, "'ftp://acme.com' has the scheme 'ftp'; only http and https are web"),
    ("url", "acme", {}, "'acme' is not a domain or URL (expected a host such as example.com"),
    ("url", "acme inc.com", {}, "'acme inc.com' is not a domain or URL"),
    ("url", "jane@acme.com", {}, "'jane@acme.com' has a user name before '@' (an email address?)"),
    ("url", "acme.com", {"scheme": "ftp"}, "url: scheme must be 'http' or 'https', not 'ftp'"),
    ("url", 42, {}, "42 is not a domain or URL"),
    ("domain", "http://", {}, "'http://' is not a domain or URL"),
    ("domain", "192.168.0.1", {}, "'192.168.0.1' is not a domain or URL"),
    ("domain", "intra.invalidtld", {"registrable": True}, "'intra.invalidtld' has no registrable domain"),
    ("phone_e164", "12345", {}, "'12345' is not a valid phone number for region US"),
    ("phone_e164", "call me", {}, "'call me' is not a phone number (region US)"),
    ("phone_e164", "(415) 555-0100", {"region": "ZZ"}, "is not a"),
    ("email", "jane.doe@", {}, "'jane.doe@' is not an email address (expected name@domain.tld)"),
    ("email", "jane doe@example.com", {}, "'jane doe@example.com' is not an email address"),
    ("email", "jane@example", {}, "'jane@example' is not an email address"),
    ("email", 7, {}, "7 is not an email address"),
    ("integer", "12.5", {}, "'12.5' is not a whole number"),
    ("integer", "two", {}, "'two' is not a whole number"),
    ("integer", 2.5, {}, "2.5 is not a whole number"),
    ("integer", True, {}, "True is a boolean, not a whole number"),
    ("integer", {"n": 1}, {}, "{'n': 1} is not a whole number"),
    ("lower", {"a": 1}, {}, "lower: {'a': 1} is not text"),
    ("join", {"a": 1}, {}, "join: {'a': 1} is not a list"),
    ("truncate", "abc", {}, "truncate needs the argument 'length'"),
    ("truncate", "abc", {"length": "3"}, "truncate: length must be a whole number of characters >= 0, not"),
    ("truncate", "abc", {"length": -1}, "length must be a whole number of characters >= 0, not -1"),
    ("lower", "abc", {"sep": ","}, "lower takes no argument 'sep' (arguments: none)"),
    ("phone_e164", "x", {"country": "US"}, "phone_e164 takes no argument 'country' (arguments: region)"),
]


@pytest.mark.parametrize(("name", "value", "args", "expected"), GOOD)
def test_transform_good_values(name: str, value: Any, args: dict[str, Any], expected: Any) -> None:
    assert TRANSFORMS[name](value, **args) == expected


@pytest.mark.parametrize(("name", "value", "args", "message"), BAD)
def test_transform_refusals_name_the_value_and_the_rule(name: str, value: Any, args: dict[str, Any],
                                                       message: str) -> None:
    with pytest.raises(TransformError) as caught:
        TRANSFORMS[name](value, **args)
    assert message in str(caught.value)


def test_every_transform_is_tested_both_ways() -> None:
    assert {name for name, *_ in GOOD} == set(TRANSFORMS)
    no_refusal = {"upper", "strip", "title_case", "first"}  # any text or list is fine for these
    assert {name for name, *_ in BAD} | no_refusal == set(TRANSFORMS)


def test_registry_entries_describe_themselves() -> None:
    for name, transform in TRANSFORMS.items():
        assert isinstance(transform, Transform) and transform.name == name
        assert transform.doc and "\n" not in transform.doc
        assert set(transform.required) <= set(transform.args)
    assert TRANSFORMS["truncate"].args == ("length",)
    assert TRANSFORMS["join"].args == ("sep",)
    assert TRANSFORMS["phone_e164"].args == ("region",)


def test_none_passes_through_every_transform() -> None:
    for name, transform in TRANSFORMS.items():
        args = {"length": 3} if name == "truncate" else {}
        assert transform(None, **args) is None


def test_scalar_transforms_apply_to_each_element_of_a_list() -> None:
    emails = [" A@Example.com", None, "b@example.COM "]
    assert TRANSFORMS["email"](emails) == ["a@example.com", None, "b@example.com"]
    assert TRANSFORMS["state_code"](["California", "ny"]) == ["CA", "NY"]
    with pytest.raises(TransformError, match="'nowhere' is not a US state"):
        TRANSFORMS["state_code"](["CA", "nowhere"])


def test_tldextract_never_fetches_the_suffix_list(monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    from engine import transforms

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network used")

    transforms._extractor.cache_clear()
    monkeypatch.setattr(requests.sessions.Session, "request", refuse)
    assert TRANSFORMS["domain"]("https://shop.example.co.uk", registrable=True) == "example.co.uk"
    extractor = transforms._extractor()
    assert extractor.suffix_list_urls == () and extractor.fallback_to_snapshot


# ----- normalisers -------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("https://www.Acme-Example.com/about", "acme-example.com"),
    ("HTTP://ACME-EXAMPLE.COM:8080", "acme-example.com"),
    ("www.acme-example.com", "acme-example.com"),
    ("acme-example.com.", "acme-example.com"),
    ("  acme-example.com/path?x=1  ", "acme-example.com"),
    ("www.www.acme-example.com", "acme-example.com"),
    ("benefits.acme-example.com", "benefits.acme-example.com"),
    ("jane@acme-example.com", "acme-example.com"),
    ("", None),
    ("   ", None),
    (None, None),
])
def test_normalize_domain(value: Any, expected: str | None) -> None:
    assert normalize_domain(value) == expected


def test_normalize_email_city_state() -> None:
    assert normalize_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"
    assert normalize_email("") is None and normalize_email(None) is None
    assert normalize_city("  San   FRANCISCO ") == "san francisco"
    assert normalize_city("Straße") == "strasse"
    assert normalize_city(" ") is None
    assert normalize_state("new york") == "NY"
    assert normalize_state(" California ") == "CA"
    assert normalize_state("ny") == normalize_state("New York") == "NY"
    assert normalize_state("  Ontario ") == "ontario"
    assert normalize_state("Île-de-France") == "île-de-france"
    assert normalize_state("") is None and normalize_state(None) is None


def test_the_example_domains_of_one_brokerage_normalise_alike() -> None:
    spellings = ["harborpine-benefits-example.com", "https://www.harborpine-benefits-example.com/offices/sf",
                 "http://harborpine-benefits-example.com/chicago", "WWW.HarborPine-Benefits-Example.com"]
    assert {normalize_domain(s) for s in spellings} == {"harborpine-benefits-example.com"}


# ----- properties --------------------------------------------------------------------------------

LABEL = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12)
HOSTS = st.builds(lambda labels, tld: ".".join([*labels, tld]), st.lists(LABEL, min_size=1, max_size=3),
                  st.sampled_from(["com", "org", "net", "co.uk", "io", "example"]))
URLS = st.builds(lambda scheme, www, host, port, path: f"{scheme}{www}{host}{port}{path}",
                 st.sampled_from(["", "http://", "https://", "HTTPS://", "//"]),
                 st.sampled_from(["", "www.", "WWW."]), HOSTS, st.sampled_from(["", ":8080", ":443"]),
                 st.sampled_from(["", "/", "/about", "/a/b?x=1#y"]))
SPELLINGS = [str.lower, str.upper, str.title, lambda s: f"  {s} "]


@given(st.one_of(URLS, st.text(max_size=40)))
def test_normalize_domain_is_idempotent(value: str) -> None:
    once = normalize_domain(value)
    assert normalize_domain(once) == once


@given(URLS)
def test_url_of_domain_keeps_the_host(value: str) -> None:
    host = TRANSFORMS["domain"](value)
    url = TRANSFORMS["url"](host)
    assert url == f"https://{host}"
    assert TRANSFORMS["domain"](url) == host == normalize_domain(value)


@given(URLS)
def test_url_keeps_host_path_and_a_given_web_scheme(value: str) -> None:
    url = TRANSFORMS["url"](value)
    assert re.match(r"^https?://", url)
    assert normalize_domain(url) == normalize_domain(value)
    if value.lower().startswith("http://"):
        assert url.startswith("http://")


@given(st.sampled_from(sorted(STATES)), st.sampled_from(SPELLINGS))
def test_state_code_of_state_name_is_the_code(code: str, spell: Any) -> None:
    name = TRANSFORMS["state_name"](code)
    assert TRANSFORMS["state_code"](name) == code
    assert TRANSFORMS["state_code"](spell(name)) == code
    assert TRANSFORMS["state_code"](spell(code)) == code
    assert normalize_state(spell(name)) == code


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_date_and_month_name_agree_with_the_calendar(day: dt.date) -> None:
    assert TRANSFORMS["date"](day.isoformat()) == day.isoformat()
    assert TRANSFORMS["date"](day.strftime("%m/%d/%Y")) == day.isoformat()
    assert TRANSFORMS["date"](day.strftime("%B %d, %Y")) == day.isoformat()
    assert TRANSFORMS["month_name"](day.isoformat()) == day.strftime("%B")


@given(st.text(max_size=30), st.integers(min_value=0, max_value=40))
def test_truncate_never_exceeds_length(text: str, length: int) -> None:
    result = TRANSFORMS["truncate"](text, length=length)
    assert len(result) <= length and text.startswith(result)


ANY_VALUE = st.one_of(st.text(max_size=30), st.integers(), st.floats(), st.booleans(), st.none(),
                      st.lists(st.text(max_size=5), max_size=3),
                      st.dictionaries(st.text(max_size=3), st.integers()), st.dates(), st.datetimes())


@given(st.sampled_from(sorted(TRANSFORMS)), ANY_VALUE)
def test_a_transform_refuses_only_with_transform_error(name: str, value: Any) -> None:
    args = {"length": 5} if name == "truncate" else {}
    try:
        TRANSFORMS[name](value, **args)
    except TransformError as exc:
        assert str(exc)

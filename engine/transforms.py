"""Named transforms a mapping profile can apply to a value, and the identity-key normalisers.

A profile names a transform (`transform: state_code`, or `{name: truncate, args: {length: 80}}`);
the engine looks it up in `TRANSFORMS` and calls it as `TRANSFORMS[name](value, **args)`. A value a
transform cannot handle raises `TransformError` whose message names the value and the rule.
Scalar transforms given a list apply to each element; `join` and `first` work on the list itself.

The normalisers (`normalize_domain`, `normalize_email`, `normalize_city`, `normalize_state`) never
raise: they make two spellings of one identity key compare equal, and return None for an empty value.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from engine.phones import INVALID, nanp_e164

if TYPE_CHECKING:
    import tldextract


class TransformError(ValueError):
    """A value a transform cannot handle; the message names the value and the rule."""


@dataclass(frozen=True)
class Transform:
    name: str
    doc: str
    args: tuple[str, ...]
    func: Callable[..., Any]
    required: tuple[str, ...] = ()
    elementwise: bool = True  # a list value is transformed element by element

    def __call__(self, value: Any, **args: Any) -> Any:
        self._check_args(args)
        if value is None:
            return None
        if self.elementwise and isinstance(value, (list, tuple)):
            return [None if item is None else self.func(item, **args) for item in value]
        return self.func(value, **args)

    def bind(self, **args: Any) -> Callable[[Any], Any]:
        """This transform with its arguments, checked once rather than on every value: for a profile's
        compiled mappings. Arguments it refuses make every call raise, as calling it would."""
        try:
            self._check_args(args)
        except TransformError:
            return lambda value: self(value, **args)
        func, elementwise = self.func, self.elementwise

        def apply(value: Any) -> Any:
            if value is None:
                return None
            if elementwise and isinstance(value, (list, tuple)):
                return [None if item is None else func(item, **args) for item in value]
            return func(value, **args)

        return apply

    def _check_args(self, args: dict[str, Any]) -> None:
        unknown = sorted(set(args) - set(self.args))
        if unknown:
            accepted = ", ".join(self.args) or "none"
            raise TransformError(f"{self.name} takes no argument {unknown[0]!r} (arguments: {accepted})")
        missing = [name for name in self.required if name not in args]
        if missing:
            raise TransformError(f"{self.name} needs the argument {missing[0]!r}")


# ----- US states ---------------------------------------------------------------------------------

STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts",
    "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico",
    "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "DC": "District of Columbia", "AS": "American Samoa", "GU": "Guam",
    "MP": "Northern Mariana Islands", "PR": "Puerto Rico", "VI": "U.S. Virgin Islands",
    "UM": "U.S. Minor Outlying Islands",
}

_STATE_ALIASES: dict[str, str] = {
    "washington dc": "DC", "virgin islands": "VI",
    "us virgin islands": "VI", "united states virgin islands": "VI",
    "united states minor outlying islands": "UM", "us minor outlying islands": "UM",
    "northern mariana islands": "MP", "commonwealth of puerto rico": "PR",
}


def _state_key(text: str) -> str:
    """Case, dots, commas and runs of spaces removed: `Washington, D.C.` -> `washington dc`."""
    return " ".join(text.casefold().replace(",", " ").replace(".", "").split())


@cache
def _state_index() -> dict[str, str]:
    index = {code.casefold(): code for code in STATES}
    index.update({_state_key(name): code for code, name in STATES.items()})
    index.update(_STATE_ALIASES)
    return index


def state_code_or_none(value: Any) -> str | None:
    """The 2-letter code of a US state, DC or territory given by name or code, else None."""
    if not isinstance(value, str):
        return None
    return _state_index().get(_state_key(value))


def _state_code(value: Any) -> str:
    code = state_code_or_none(value)
    if code is None:
        raise TransformError(f"{value!r} is not a US state, DC or territory (a full name or 2-letter code)")
    return code


def _state_name(value: Any) -> str:
    return STATES[_state_code(value)]


# ----- dates -------------------------------------------------------------------------------------

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
_MONTH_WORDS = {name.casefold(): i for i, name in enumerate(MONTHS, 1)}
_MONTH_WORDS.update({name[:3].casefold(): i for i, name in enumerate(MONTHS, 1)})
_MONTH_WORDS["sept"] = 9

_M = r"(?P<m>\d{1,2})"
_D = r"(?P<d>\d{1,2})"
_Y = r"(?P<y>\d{4})"
_W = r"(?P<w>[A-Za-z]{3,9})\.?"
_DATE_SHAPES: list[tuple[str, re.Pattern[str]]] = [
    ("YYYY-MM-DD", re.compile(rf"{_Y}-{_M}-{_D}(?P<time>[T ].+)?")),
    ("MM/DD/YYYY", re.compile(rf"{_M}/{_D}/{_Y}")),
    ("YYYY/MM/DD", re.compile(rf"{_Y}/{_M}/{_D}")),
    ("YYYYMMDD", re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})")),
    ("Month D, YYYY", re.compile(rf"{_W}\s+{_D},?\s+{_Y}")),
    ("D Month YYYY", re.compile(rf"{_D}\s+{_W},?\s+{_Y}")),
]
DATE_FORMATS = [shape for shape, _ in _DATE_SHAPES]


def _calendar_date(text: str, shape: str, match: re.Match[str]) -> dt.date:
    parts = match.groupdict()
    month = int(parts["m"]) if parts.get("m") else _MONTH_WORDS.get(parts["w"].casefold())
    if month is None:
        raise TransformError(f"{text!r} has no month named {parts['w']!r}")
    try:
        day = dt.date(int(parts["y"]), month, int(parts["d"]))
    except ValueError as exc:
        raise TransformError(f"{text!r} is not a real calendar date ({shape}: {exc})") from None
    if parts.get("time"):
        _check_time(text)
    return day


def _check_time(text: str) -> None:
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise TransformError(f"{text!r} is not a valid ISO 8601 date-time") from None


def to_date(value: Any, format: str | None = None) -> dt.date:
    """A date from a date/datetime object or a string in one of DATE_FORMATS (or `format`)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise TransformError(f"{value!r} is not a date (expected text such as 2025-01-31)")
    text = value.strip()
    if format is not None:
        return _strptime(text, format)
    for shape, pattern in _DATE_SHAPES:
        match = pattern.fullmatch(text)
        if match:
            return _calendar_date(value, shape, match)
    raise TransformError(f"{value!r} is not a date in a known format ({', '.join(DATE_FORMATS)})")


def _strptime(text: str, format: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, format).date()
    except ValueError:
        raise TransformError(f"{text!r} is not a date in the format {format!r}") from None


def _date(value: Any, format: str | None = None) -> str:
    return to_date(value, format).isoformat()


def _month_name(value: Any) -> str:
    return MONTHS[to_date(value).month - 1]


# ----- web addresses -----------------------------------------------------------------------------

_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):(?=//)")
_LABEL = re.compile(r"^(?!-)[\w-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class _Address:
    scheme: str | None
    host: str  # lower case, without userinfo, port or trailing dot; "" when there is none
    port: int | None = None
    userinfo: bool = False
    tail: str = ""  # path?query#fragment


# An http(s) address with a plain host and path, as most sources hold them (`https://acme.com/x`,
# `acme.com`): split with one match, which gives what urlsplit gives for it (tests/test_hotpaths.py
# checks that on generated addresses); anything else goes through urlsplit.
_PLAIN_ADDRESS = re.compile(r"(?:(?P<scheme>https?)://)?(?P<host>[a-z0-9-]+(?:\.[a-z0-9-]+)+)"
                            r"(?P<path>/[a-z0-9._~/-]*)?", re.IGNORECASE)


def _split_host(text: str) -> _Address:
    plain = _PLAIN_ADDRESS.fullmatch(text)
    if plain is not None:
        scheme = plain["scheme"]
        return _Address(scheme.lower() if scheme else None, plain["host"].lower(), None, False,
                        plain["path"] or "")
    return _split_host_parsed(text)


def _split_host_parsed(text: str) -> _Address:
    match = _SCHEME.match(text)
    scheme = match["scheme"].lower() if match else None
    rest = text[match.end():] if match else text
    rest = rest if rest.startswith("//") else "//" + rest
    try:
        parts = urlsplit(rest)
        host, port = (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        return _Address(scheme, "")
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    tail += f"#{parts.fragment}" if parts.fragment else ""
    return _Address(scheme, host, port, "@" in parts.netloc, tail)


def _is_host(host: str) -> bool:
    labels = host.split(".")
    return len(labels) >= 2 and all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def _strip_www(host: str) -> str:
    """`www.acme.com` -> `acme.com`; `www.com` stays (nothing would be left but a suffix)."""
    while host.startswith("www.") and "." in host[4:].strip("."):
        host = host[4:].strip(".")
    return host


def _web_host(value: Any, rule: str) -> _Address:
    if not isinstance(value, str):
        raise TransformError(f"{value!r} is not a domain or URL ({rule})")
    address = _split_host(value.strip())
    if address.scheme not in (None, "http", "https"):
        raise TransformError(f"{value!r} has the scheme {address.scheme!r}; "
                             "only http and https are web addresses")
    if address.userinfo:
        raise TransformError(f"{value!r} has a user name before '@' (an email address?), not a web address")
    if not _is_host(address.host):
        raise TransformError(f"{value!r} is not a domain or URL ({rule})")
    return address


def _url(value: Any, scheme: str = "https") -> str | None:
    if scheme not in ("http", "https"):
        raise TransformError(f"url: scheme must be 'http' or 'https', not {scheme!r}")
    if isinstance(value, str) and not value.strip():
        return None
    address = _web_host(value, "expected a host such as example.com, with or without http(s)://")
    port = f":{address.port}" if address.port is not None else ""
    return f"{address.scheme or scheme}://{address.host}{port}{address.tail}"


@cache
def _extractor() -> tldextract.TLDExtract:
    """The bundled public suffix list snapshot: never fetched, never cached on disk."""
    import tldextract  # imported when a profile first asks for a registrable domain (~60 ms)

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _domain(value: Any, registrable: bool = False) -> str | None:
    if isinstance(value, str) and not value.strip():
        return None
    host = _web_host(value, "expected a host such as example.com").host
    if not registrable:
        return _strip_www(host)
    parts = _extractor()(host)
    if not parts.suffix or not parts.domain:
        raise TransformError(f"{value!r} has no registrable domain (no known public suffix in {host!r})")
    return f"{parts.domain}.{parts.suffix}"


# ----- phones, emails, numbers -------------------------------------------------------------------

def _phone_e164(value: Any, region: str = "US") -> str:
    text, region_code = str(value).strip(), region.upper()
    e164 = nanp_e164(text, region_code) or _e164(text, region_code)
    if e164 is None:
        raise TransformError(f"{value!r} is not a phone number (region {region})")
    if e164 == INVALID:
        raise TransformError(f"{value!r} is not a valid phone number for region {region}")
    return e164


@lru_cache(maxsize=16384)
def _e164(text: str, region: str) -> str | None:
    """What phonenumbers makes of a number the fast path (engine.phones) leaves to it: E.164, INVALID,
    or None where it is not a phone number at all. Parsing and validating costs ~40 µs, and a company's
    main line recurs across its contacts, so the verdicts are kept (bounded)."""
    import phonenumbers  # ~100 ms to import: not for a command that reads no phone

    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return INVALID
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


EMAIL_SHAPE = re.compile(r"^[^\s@\"()<>,;:\\\[\]]+@(?:[^\s@\"()<>,;:\\\[\].]+\.)+[^\W\d_]{2,}$")


def _email(value: Any) -> str | None:
    if not isinstance(value, str):
        raise TransformError(f"{value!r} is not an email address (expected text name@domain.tld)")
    text = value.strip().lower()
    if not text:
        return None
    if not EMAIL_SHAPE.match(text):
        raise TransformError(f"{value!r} is not an email address (expected name@domain.tld)")
    return text


_INTEGER = re.compile(r"[+-]?(\d+|\d{1,3}(,\d{3})+)(\.0*)?")


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise TransformError(f"{value!r} is a boolean, not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = value.strip() if isinstance(value, str) else None
    if text is None or not _INTEGER.fullmatch(text):
        raise TransformError(f"{short_repr(value)} is not a whole number")
    digits = text.split(".")[0].replace(",", "")
    if len(digits) > MAX_DIGITS:
        raise TransformError(f"a number of {len(digits):,} digits ({short_repr(value)}) is not a whole "
                             f"number a field can hold")
    return int(digits)


MAX_DIGITS = 4_300  # Python's limit on converting text to int (sys.get_int_max_str_digits)


def short_repr(value: Any, width: int = 40) -> str:
    """A value as a message shows it: cut, so a huge value does not make a huge message."""
    text = repr(value)
    return text if len(text) <= width else f"{text[:width]}…"


# ----- text --------------------------------------------------------------------------------------

def _text(value: Any, name: str) -> str:
    if isinstance(value, (dict, list, tuple, set)):
        raise TransformError(f"{name}: {value!r} is not text")
    return value if isinstance(value, str) else str(value)


def _title_word(word: str) -> str:
    """`o'brien` -> `O'Brien`, `zoë's` -> `Zoë's`, `smith-jones` -> `Smith-Jones`."""
    head, sep, tail = word.partition("'")
    if sep and len(head) == 1 and tail:
        return head.upper() + sep + tail[:1].upper() + tail[1:].lower()
    return word[:1].upper() + word[1:].lower()


def _title_case(value: Any) -> str:
    text = _text(value, "title_case")
    return re.sub(r"[^\s\-/]+", lambda m: _title_word(m.group(0)), text)


def _join(value: Any, sep: str = ";") -> str:
    if isinstance(value, dict):
        raise TransformError(f"join: {value!r} is not a list")
    items = value if isinstance(value, (list, tuple)) else [value]
    return str(sep).join(str(item) for item in items if item is not None)


def _first(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


def _truncate(value: Any, length: Any) -> str:
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise TransformError(f"truncate: length must be a whole number of characters >= 0, not {length!r}")
    return _text(value, "truncate")[:length]


# ----- registry ----------------------------------------------------------------------------------

def _simple(name: str, doc: str, func: Callable[[str], str]) -> Transform:
    return Transform(name, doc, (), lambda value: func(_text(value, name)))


_DATE_DOC = f"a date in a common format ({', '.join(DATE_FORMATS)}) or `format` (strptime) -> YYYY-MM-DD"

TRANSFORMS: dict[str, Transform] = {t.name: t for t in [
    Transform("state_code", "US state, DC or territory name or code, any case -> 2-letter code",
              (), _state_code),
    Transform("state_name", "US state, DC or territory name or code -> its full name", (), _state_name),
    Transform("month_name", "ISO date, date-time or date object -> English month name", (), _month_name),
    Transform("date", _DATE_DOC, ("format",), _date),
    Transform("url", "domain or URL -> URL with a scheme (`scheme`, default https; http/https kept)",
              ("scheme",), _url),
    Transform("domain", "URL or domain -> lower-case host without scheme, path, port or www. "
              "(`registrable: true`: the registrable domain only)", ("registrable",), _domain),
    Transform("phone_e164", "phone number -> E.164 (+14155550100), read in `region` (default US)",
              ("region",), _phone_e164),
    _simple("lower", "text -> lower case", str.lower),
    _simple("upper", "text -> upper case", str.upper),
    _simple("strip", "text -> without leading and trailing whitespace", str.strip),
    Transform("title_case", "text -> Title Case (O'Brien, Smith-Jones)", (), _title_case),
    Transform("email", "email address -> stripped, lower case; refused unless name@domain.tld", (), _email),
    Transform("integer", "whole number or numeric text (\"1,250\") -> integer", (), _integer),
    Transform("join", "list -> text joined by `sep` (default ;)", ("sep",), _join, elementwise=False),
    Transform("first", "list -> its first element (None when empty)", (), _first, elementwise=False),
    Transform("truncate", "text -> at most `length` characters", ("length",), _truncate,
              required=("length",)),
]}


# ----- identity normalisers ----------------------------------------------------------------------

def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


_SCHEME_PREFIX = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//")


def normalize_domain(value: Any) -> str | None:
    """Host of a URL or domain: scheme, userinfo, `www.`, path, port and case removed; None if empty.

    Plain string cuts, so that any text normalises and normalising twice changes nothing.
    """
    text = _clean(value)
    if text is None:
        return None
    text = _SCHEME_PREFIX.sub("", text.replace(" ", ""))
    host = re.split(r"[/?#]", text, maxsplit=1)[0].rpartition("@")[2].partition(":")[0]
    return _strip_www(host.lower().strip(".")) or None


def normalize_email(value: Any) -> str | None:
    """Email address compared as stripped and lower-case; None if empty."""
    text = _clean(value)
    return text.lower() if text else None


def normalize_city(value: Any) -> str | None:
    """City compared case-folded with runs of spaces collapsed; None if empty."""
    text = _clean(value)
    return text.casefold() if text else None


def normalize_state(value: Any) -> str | None:
    """A US state, DC or territory as its 2-letter code; any other region case-folded; None if empty."""
    text = _clean(value)
    if text is None:
        return None
    return state_code_or_none(text) or text.casefold()

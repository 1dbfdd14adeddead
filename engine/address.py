"""The CRM's address, settled before any credential is sent.

Where it comes from, first found first: --base-url (or the address a saved plan was made against), the
credentials file's `base_url`, the profile's `connection.base_url`, else the connector's own base URL,
unless that is one of the placeholders its documentation uses (a customer's own host: a Salesforce My
Domain, a Dataverse environment), in which case the run needs one of the others. The forms people copy
(the host alone, a path the connector's endpoints already carry) are rewritten as the connector's
`address` section says; an address without a scheme, or on a documented placeholder host, is refused.
The connector's probe, an unauthenticated request, then tells this CRM's address from another CRM's (or
from anything else) before the first token request goes out.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx

from engine.catalog import ProfileBundle, connector_names, load_connector
from engine.client import Credentials, body_of, matches, tls_context
from engine.connector import AddressProbe, AddressSpec, ConnectorSpec
from engine.errors import CrmsyncError, LoadError, UsageError

PROBE_ATTEMPTS = 3
PROBE_TIMEOUT = httpx.Timeout(20, connect=10)


class AddressError(UsageError):
    """No usable address for the CRM: exit 2, and nothing was sent."""


class Unreachable(CrmsyncError):
    """The address could not be reached at all: nothing was sent (exit 1: it may be down for a while)."""


@dataclass(frozen=True)
class Given:
    """An address as someone wrote it, and where (`--base-url`, `file:line:col: base_url`)."""

    url: str
    where: str


@dataclass(frozen=True)
class Answer:
    """What a probe got: whether it is this CRM's answer (None: it cannot tell), and what it was."""

    verdict: bool | None
    said: str


def resolve_address(bundle: ProfileBundle, credentials: Credentials, given: Given | None = None, *,
                    probe: bool = True) -> str:
    """The base URL to send to, in the connector's form; AddressError when there is none, it is a
    placeholder, has no scheme, or belongs to another CRM (`probe`: asks it, without credentials)."""
    connector = bundle.connector.model
    chosen = given or address_from_files(bundle, credentials)
    if chosen is None:
        if connector.address.is_placeholder(host_of(connector.base_url)):
            raise AddressError(_needs_address(bundle))
        return connector.base_url.rstrip("/")
    base_url = normalize(connector, chosen)
    if connector.address.is_placeholder(host_of(base_url)):
        raise AddressError(f"{chosen.where}: {shown(chosen.url)} is a placeholder of {connector.label}'s "
                           f"documentation, not an address of yours; nothing was sent. Give "
                           f"{_hint(connector)}")
    if (what := connector.address.not_the_api(host_of(base_url))) is not None:
        raise AddressError(f"{chosen.where}: {shown(chosen.url)} is {what}, not {connector.label}'s API; "
                           f"nothing was sent. Give {_hint(connector)}")
    if probe and connector.address.probe is not None:
        check_address(bundle, chosen, base_url)
    return base_url


def address_from_files(bundle: ProfileBundle, credentials: Credentials) -> Given | None:
    if credentials.base_url:
        return Given(credentials.base_url, f"{credentials.base_url_at}: base_url")
    written = bundle.profile.model.connection.get("base_url")
    if written:
        return Given(written, f"{bundle.profile.position(('connection', 'base_url'))}: connection.base_url")
    return None


def saved_address(saved: dict[str, Any] | None, where: str) -> Given | None:
    """The address a saved plan was made against, when it consulted the CRM (an offline plan's is the
    connector's own, which may be a placeholder)."""
    if not saved or not saved.get("consulted_crm") or not saved.get("base_url"):
        return None
    return Given(str(saved["base_url"]), f"{where}: base_url")


def shown(text: str) -> str:
    """An address as messages show it: without user info or query, either of which may hold a secret
    (`https://user:password@host`, `?hapikey=...`)."""
    try:
        parts = urlsplit(text if "://" in text else f"//{text}")
    except ValueError:
        return "the address given"
    scheme = f"{parts.scheme}://" if parts.scheme else ""
    return scheme + parts.netloc.rpartition("@")[2] + parts.path + ("?…" if parts.query else "")


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def normalize(connector: ConnectorSpec, given: Given) -> str:
    """scheme://host[:port] plus the connector's API path, for the forms people copy (the host alone, a
    path of `also_paths`); any other path is kept as written (a proxy's prefix)."""
    text = given.url.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as exc:
        raise AddressError(f"{given.where}: '{shown(text)}' is not a URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        if "://" not in text:
            raise AddressError(f"{given.where}: '{shown(text)}' has no scheme: write it "
                               f"https://{shown(text)} (http:// for a local emulator)")
        raise AddressError(f"{given.where}: '{shown(text)}': a CRM's address starts with https:// "
                           "(http:// for a local emulator)")
    spec = connector.address
    path, query = parts.path.rstrip("/"), parts.query
    if not path or any(re.fullmatch(p, path) for p in spec.also_paths):
        path, query = spec.api_path, ""
    if query:  # endpoints' paths are added to the base URL: a query would end up in the middle
        raise AddressError(f"{given.where}: '{shown(text)}': a base URL has no query (the part from ?); "
                           "leave it out")
    return urlunsplit((parts.scheme.lower(), _api_netloc(spec, parts), path, query, ""))


def _api_netloc(spec: AddressSpec, parts: SplitResult) -> str:
    """host[:port], its ending replaced when it is one of `host_suffixes` (the web app's host)."""
    host = parts.hostname or ""
    for copied, api in spec.host_suffixes.items():
        if host.endswith(copied.lower()):
            return host[: len(host) - len(copied)] + api + (f":{parts.port}" if parts.port else "")
    return parts.netloc


def check_address(bundle: ProfileBundle, given: Given, base_url: str) -> None:
    """Refuse an address that does not answer the connector's probe as the CRM does, naming the
    built-in CRM it answers as, if any."""
    connector = bundle.connector.model
    answer = ask(connector, base_url)
    if answer.verdict is not False:
        return
    for other in _other_connectors(connector):
        if ask(other, normalize(other, given)).verdict:
            raise AddressError(
                f"{given.where}: {shown(given.url)} is an address of {other.label}, not of "
                f"{connector.label}: the profile {bundle.profile.model.name} writes to {connector.label}; "
                f"nothing was sent. Give {_hint(connector)}")
    raise AddressError(f"{given.where}: {shown(given.url)} does not answer as {connector.label}'s API does "
                       f"({answer.said}); nothing was sent. Check the address: {_hint(connector)}")


def ask(connector: ConnectorSpec, base_url: str) -> Answer:
    """Send the connector's probe, without credentials, a few times if the answer is a transient one."""
    probe = connector.address.probe
    assert probe is not None
    url = base_url.rstrip("/") + probe.path
    failure = ""
    with httpx.Client(verify=tls_context(), timeout=PROBE_TIMEOUT, headers=connector.default_headers,
                      follow_redirects=False) as http:
        for attempt in range(PROBE_ATTEMPTS):
            if attempt:
                time.sleep(0.25 * 2 ** attempt)
            try:
                response = http.get(url)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure = type(exc).__name__
                continue
            except httpx.TransportError:  # went out, answer lost: cannot tell
                failure = ""
                continue
            if response.status_code != 429 and response.status_code < 500:
                return Answer(_is_answer(probe, response), _said(url, response))
            failure = ""
    if failure:
        raise Unreachable(f"cannot reach {shown(base_url)} ({failure}); nothing was sent")
    return Answer(None, "")


def _is_answer(probe: AddressProbe, response: httpx.Response) -> bool:
    if not matches([probe.answer], response.status_code, body_of(response)):
        return False
    if probe.header is None:
        return True
    value = response.headers.get(probe.header)
    return value is not None and (probe.header_contains is None or probe.header_contains in value)


def _said(url: str, response: httpx.Response) -> str:
    moved = response.headers.get("Location") if response.is_redirect else None
    said = f"GET {shown(url)} answered {response.status_code}"
    return said + (f", moved to {shown(moved)}" if moved else "")


def _other_connectors(connector: ConnectorSpec) -> list[ConnectorSpec]:
    others = []
    for name in connector_names():
        if name == connector.name:
            continue
        try:
            other = load_connector(name).model
        except LoadError:
            continue
        if other.address.probe is not None:
            others.append(other)
    return others


def _hint(connector: ConnectorSpec) -> str:
    return connector.address.hint or f"the address of your {connector.label} API"


def _needs_address(bundle: ProfileBundle) -> str:
    connector = bundle.connector.model
    return (f"no address for {connector.label}: {connector.base_url} in the connector is a placeholder, "
            f"and crmsync sends no credentials there. Give {_hint(connector)}, with --base-url URL, as "
            f"base_url in the credentials file, or as base_url in the connection of the profile "
            f"{bundle.profile.path}")

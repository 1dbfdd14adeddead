"""Which state store a command uses: a PostgreSQL URL (`--state-url`, or $CRMSYNC_STATE_URL) or, by
default, SQLite in the state dir; and the URL as it may be shown (its password never is)."""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from engine.errors import UsageError

ENV = "CRMSYNC_STATE_URL"
SCHEMES = ("postgresql", "postgres")
HIDDEN = "***"

_chosen: str | None = None  # set by the command line for the command it runs


def choose(url: str | None) -> None:
    """The state URL the command line was given (None: $CRMSYNC_STATE_URL, else SQLite)."""
    global _chosen
    if url is not None:
        check(url)
    _chosen = url


def state_url() -> str | None:
    url = _chosen or os.environ.get(ENV) or None
    if url is not None:
        check(url)
    return url


def check(url: str) -> None:
    if urlsplit(url).scheme not in SCHEMES:
        raise UsageError(f"--state-url {redact(url)}: not a PostgreSQL URL (postgresql://user@host:port/db); "
                         "leave it out for SQLite in the state dir")


def redact(url: str) -> str:
    """The URL with its password (in the user part or a `password=` parameter) replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return HIDDEN
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        if ":" in user:
            user = user.split(":", 1)[0] + ":" + HIDDEN
        netloc = f"{user}@{host}"
    query = urlencode([(k, HIDDEN if k.lower() == "password" else v) for k, v in parse_qsl(parts.query)],
                      safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub(message: str, url: str) -> str:
    """A driver's message with the URL's password taken out, wherever it appears."""
    for secret in passwords(url):
        message = message.replace(secret, HIDDEN)
    return message


def passwords(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [v for k, v in parse_qsl(parts.query) if k.lower() == "password" and v]
    return found + [p for p in re.findall(r"password=([^\s&]+)", url) if p not in found]

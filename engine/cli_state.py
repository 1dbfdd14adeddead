"""`--state-url` on every command that takes `--state-dir`: the PostgreSQL state store to use instead of
SQLite in the state dir (also $CRMSYNC_STATE_URL). Chosen while the command line is parsed, so each
command's store is opened from it without the URL being handed down through every call."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from engine.errors import UsageError

_URLS = "engine.state.urls"


def chosen(url: str | None) -> str | None:
    if url is None and _URLS not in sys.modules:
        return None  # nothing chosen yet in this process: no need to load the state store to say so
    from engine.state import choose  # the store's package (sqlite3 and more): only a command given a URL

    try:
        choose(url)
    except UsageError as exc:
        raise typer.BadParameter(str(exc).removeprefix("--state-url ")) from None
    return url


StateUrl = Annotated[str | None, typer.Option(
    "--state-url", envvar="CRMSYNC_STATE_URL", show_envvar=True, callback=chosen,
    help="PostgreSQL state store shared by several machines (postgresql://user@host:5432/db); "
    "default SQLite in the state dir")]

"""The state store behind one interface (engine/state/base.py): SQLite in the state dir by default,
PostgreSQL when a state URL is given (`--state-url`, or $CRMSYNC_STATE_URL)."""

from __future__ import annotations

from pathlib import Path

from engine.state.base import Link, StateStore, default_state_dir, now
from engine.state.locks import PushRunning
from engine.state.sqlite import Store
from engine.state.urls import choose, redact, state_url


def open_store(state_dir: Path | None = None, url: str | None = None) -> StateStore:
    """The store a command uses: PostgreSQL at `url` (else the chosen or environment's state URL),
    else SQLite in `state_dir` (else the default state dir)."""
    url = url or state_url()
    if url:
        from engine.state.postgres import PgStore  # the driver is loaded only where it is used

        return PgStore(url)
    return Store(state_dir or default_state_dir())


__all__ = ["Link", "PushRunning", "StateStore", "Store", "choose", "default_state_dir", "now", "open_store",
           "redact", "state_url"]

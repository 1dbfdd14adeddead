"""The tests' view of the state store, whichever one the run uses (CRMSYNC_TEST_STATE): read a state
dir's store through the engine's interface, never its SQLite file; and, with PostgreSQL, a store of its
own for each state dir a test uses (a test pushing with one state dir and pulling with another means
two stores), chosen by `using` while the code that opens it runs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.state import StateStore, open_store
from engine.state.urls import ENV


class StateDirs:
    """State dir -> the URL of its own PostgreSQL store, made on first use (None: SQLite)."""

    def __init__(self) -> None:
        self.fresh: Callable[[], str] | None = None
        self.urls: dict[Path, str] = {}
        self.kept: dict[Path, str] = {}  # a module-scoped fixture's state dirs: one store for its tests

    def reset(self, fresh: Callable[[], str] | None, primary: Path | None = None,
              url: str | None = None) -> None:
        self.fresh, self.urls = fresh, {}
        if primary is not None and url is not None:
            self.urls[primary.resolve()] = url

    def url(self, state_dir: Path) -> str | None:
        key = state_dir.resolve()
        if key in self.kept:
            return self.kept[key]
        if self.fresh is None:
            return None
        if key not in self.urls:
            self.urls[key] = self.fresh()
        return self.urls[key]


STATE_DIRS = StateDirs()
# why the review app's Pull page is tested on SQLite only (its PostgreSQL refusal: tests/test_review_state.py)
PULL_PAGE_READS_SQLITE = "the Pull page reads the pull tables with SQLite's JSON functions"


def kept_for_module(request: Any, state_dir: Path) -> None:
    """A state dir made by a module-scoped fixture (set up before each test's own store is chosen) keeps
    one store for every test of the module: with PostgreSQL, a schema of its own."""
    if os.environ.get("CRMSYNC_TEST_STATE") == "postgresql":
        STATE_DIRS.kept[state_dir.resolve()] = request.getfixturevalue("pg_server").fresh_schema()


@contextmanager
def using(state_dir: Path) -> Iterator[None]:
    """For the block (and the processes it starts), the store of this state dir is the one opened."""
    url = STATE_DIRS.url(state_dir)
    if url is None:
        yield
        return
    before = os.environ.get(ENV)
    os.environ[ENV] = url
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before


def state_env() -> dict[str, str]:
    """What a process started with an environment of its own needs to open the test's store."""
    return {ENV: os.environ[ENV]} if os.environ.get(ENV) else {}


def store_at(state_dir: Path) -> StateStore:
    with using(state_dir):
        return open_store(state_dir)


def rows(state_dir: Path, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """The rows of a query of the state dir's store (none while it cannot be read: not made yet)."""
    try:
        store = store_at(state_dir)
    except Exception:  # noqa: BLE001 - a store another process is still creating
        return []
    try:
        return list(store.db.execute(sql, params))
    finally:
        store.close()

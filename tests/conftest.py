"""Shared fixtures: the repository's folders, and no third-party plugins during tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["CRMSYNC_NO_ENTRY_POINTS"] = "1"

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds or installs packages; run with the rest")


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def examples() -> Path:
    return ROOT / "examples" / "data"


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """State never lands in the working directory during tests."""
    monkeypatch.setenv("CRMSYNC_HOME", str(tmp_path / "state"))
    for name in ("CRMSYNC_ACCESS_TOKEN", "CRMSYNC_CLIENT_ID", "CRMSYNC_CLIENT_SECRET",
                 "CRMSYNC_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module (tests/browserkit.py). Not for the session: while Playwright's sync
    API is open the test thread has a running event loop, and a later module's asyncio.run (a plan, a
    push) would fail under it."""
    from tests.browserkit import launched

    yield from launched()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A new page with no cookies, 1280x800."""
    from tests.browserkit import fresh_page

    yield from fresh_page(browser)

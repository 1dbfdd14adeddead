"""The browser test kit: the review app served on a free port in a thread, and Debian's Chromium
(/usr/bin/chromium) driven by Playwright for Python (never `playwright install`: the browser is the
system's). Without Chromium the browser tests skip, saying why, except under CI (env CI set), where a
missing browser fails them: CI installs it (.ci/run)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.review.app import PushOptions, Review, build_app
from engine.review.serve import address, bind, prepare

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 400, "height": 800}


def need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"Debian's Chromium is not installed ({CHROMIUM}): apt-get install chromium"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI installs it in .ci/run)")
    pytest.skip(message)


@contextmanager
def serving(review: Review) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 and a free port, in a thread; its address with the token."""
    import uvicorn

    sock = bind(0)
    server = uvicorn.Server(uvicorn.Config(build_app(review), log_level="warning", access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    started = threading.Event()
    while not server.started and thread.is_alive():
        started.wait(0.02)
    try:
        yield address(sock, review)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def review_of(profile: Path, source: Path, state_dir: Path, **options: Any) -> Review:
    """A review prepared as `crmsync review` prepares it (the plan made and loaded), in a thread of its
    own: Playwright's sync API keeps an event loop running in the test's thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(prepare, profile, source, PushOptions(state_dir=state_dir, **options)).result()


def review_against(crm_url: str, source: Path, tmp_path: Path, profile: Path | None = None) -> Review:
    """A review of the HubSpot profile (unless told) planned against a served sandbox, with its
    credentials file, state in tmp_path/state."""
    from tests.pushkit import PROFILES, credentials_file

    return review_of(profile or PROFILES["hubspot"], source, tmp_path / "state", base_url=crm_url,
                     credentials_file=credentials_file("hubspot", tmp_path / "creds"))


def launched() -> Iterator[Any]:
    """Chromium for a test module (its module fixture yields from this). Not for a session: while
    Playwright's sync API runs, the test thread has a running event loop, and every later test that
    calls asyncio.run() (a plan, a push) in that thread would fail."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        running = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield running
        running.close()


def fresh_page(browser: Any, viewport: dict[str, int] | None = None) -> Iterator[Any]:
    """A new page with no cookies (a browser context of its own), at 1280x800 unless told."""
    context = browser.new_context(viewport=viewport or WIDE)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@contextmanager
def signed_in(review: Review) -> Iterator[httpx.Client]:
    """An HTTP client of the served app that has opened the printed address: it holds the access cookie
    (POSTs still need `review.keys.csrf`)."""
    with serving(review) as url, httpx.Client(base_url=url.split("/?")[0], timeout=60) as client:
        opened = client.get(url)
        assert opened.status_code == 303, opened.text
        yield client

"""Shared fixtures: the repository's folders, and no third-party plugins during tests."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pgserver import Server, start_server

os.environ["CRMSYNC_NO_ENTRY_POINTS"] = "1"
if "CRMSYNC_CACHE_DIR" not in os.environ:  # the loaded-spec cache (engine/speccache.py): the session's own,
    # shared by its workers (they inherit the environment), never the user's
    os.environ["CRMSYNC_CACHE_DIR"] = tempfile.mkdtemp(prefix="crmsync-test-cache-")
    atexit.register(shutil.rmtree, os.environ["CRMSYNC_CACHE_DIR"], ignore_errors=True)

ROOT = Path(__file__).resolve().parent.parent
# the state store every test's commands use: `sqlite` (the default) or `postgresql` (a server the tests
# start, a fresh schema per test), e.g. CRMSYNC_TEST_STATE=postgresql pytest tests/test_push.py
TEST_STATE = os.environ.get("CRMSYNC_TEST_STATE", "sqlite")
if TEST_STATE not in ("sqlite", "postgresql"):
    raise pytest.UsageError(f"CRMSYNC_TEST_STATE={TEST_STATE}: say sqlite or postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds or installs packages; run with the rest")
    config.addinivalue_line("markers", "pg_suite: run again against PostgreSQL by the README's test command")
    config.addinivalue_line("markers", "sqlite_only(reason): reads the state dir's SQLite itself; runs "
                            "against SQLite also when CRMSYNC_TEST_STATE=postgresql")


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def examples() -> Path:
    return ROOT / "examples" / "data"


# the files the README's test command runs again with their state in PostgreSQL (-m pg_suite): every file
# that pushes, plans against a CRM with state, retries, resumes, reads runs or the log, links or pulls.
# Left out: test_state_store.py, test_shared_limits.py (each test runs on both stores itself), the fleet's
# (PostgreSQL always), test_credentials_state_dir.py (the state dir's SQLite files and their modes),
# test_review_pull_queries.py, test_review_browser_pull.py (the review's Pull page reads SQLite only: with
# PostgreSQL it says so, tests/test_review_state.py), test_packaging.py (builds a wheel).
PG_SUITE = ("test_associations.py", "test_auth_placement.py", "test_auth_token_endpoint.py",
            "test_cli.py", "test_connection_address.py", "test_credentials_files.py",
            "test_daily_allocation.py", "test_deleted_in_crm.py", "test_dynamics_push.py",
            "test_dynamics_throttling.py", "test_hostile_policy.py", "test_hostile_profiles.py",
            "test_hostile_templates.py", "test_hubspot_associations.py", "test_hubspot_auth.py",
            "test_hubspot_orphans.py", "test_input_kept.py", "test_input_log.py",
            "test_input_missing.py", "test_input_reading.py", "test_input_terminal.py",
            "test_account_orgs.py", "test_jsonpath_checks.py", "test_jsonpath_no_id.py",
            "test_limits_published.py",
            "test_list_endpoint_optional.py", "test_log_filters.py", "test_matching.py",
            "test_plan_and_apply.py", "test_plan_metadata.py", "test_plan_stale.py",
            "test_plugins_connector_file.py", "test_pull_decisions.py", "test_pull_listing.py",
            "test_pull_sandboxes.py", "test_pull_zoho_since.py", "test_push.py",
            "test_push_faults.py", "test_push_lifecycle.py", "test_push_lost_answers.py",
            "test_push_limit.py",
            "test_push_lock.py", "test_push_pipeline.py", "test_report.py", "test_retry.py",
            "test_review_browser.py", "test_review_pages_http.py", "test_review_push.py",
            "test_runs.py", "test_state_orgs.py", "test_team_approval.py", "test_team_cli.py",
            "test_team_engine.py", "test_team_owners.py", "test_terminal_demo.py",
            "test_terminal_progress.py", "test_terminal_summary.py", "test_values_linkcrm.py",
            "test_words_results.py", "test_zoho_push.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in PG_SUITE:
            item.add_marker(pytest.mark.pg_suite)


@pytest.fixture(scope="session")
def pg_server(worker_id: str) -> Iterator[Server]:
    """One PostgreSQL server per pytest worker, started on first use and stopped at the end."""
    server = start_server(worker_id)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: Server) -> str:
    """The URL of an empty PostgreSQL state store (a schema of its own)."""
    return pg_server.fresh_schema()


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """State never lands in the working directory during tests; with CRMSYNC_TEST_STATE=postgresql it
    is in a fresh PostgreSQL schema instead of the state dir's SQLite."""
    from engine.state import choose
    from tests.statekit import STATE_DIRS

    choose(None)  # a command line parsed in an earlier test chose nothing for this one
    monkeypatch.setenv("CRMSYNC_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("CRMSYNC_STATE_URL", raising=False)
    STATE_DIRS.reset(None)
    if TEST_STATE == "postgresql" and "sqlite_only" not in request.keywords:
        server: Server = request.getfixturevalue("pg_server")
        url = server.fresh_schema()
        monkeypatch.setenv("CRMSYNC_STATE_URL", url)
        STATE_DIRS.reset(server.fresh_schema, tmp_path / "state", url)
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

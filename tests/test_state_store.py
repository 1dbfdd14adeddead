"""The state store behind one interface: the same tables, migrations and guarantees in SQLite (the
state dir) and PostgreSQL (a server these tests start); the URL's password never shown."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.pull.state import known_matches, save_matches
from engine.runs.listing import list_runs
from engine.state import Link, PushRunning, StateStore, open_store
from engine.state.postgres import StateUnavailable
from tests import pgserver
from tests.pgserver import Server

ROOT = Path(__file__).resolve().parent.parent
NUMBERED = [1, 2, 3, 4, 5]  # every migration, each applied once


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """None: SQLite in the state dir; else the URL of a fresh PostgreSQL store, which the commands and
    engine calls of the test use too."""
    if request.param == "sqlite":
        monkeypatch.delenv("CRMSYNC_STATE_URL", raising=False)
        return None
    url = request.getfixturevalue("pg_url")
    monkeypatch.setenv("CRMSYNC_STATE_URL", url)
    return url


@pytest.fixture
def store(store_url: str | None, tmp_path: Path) -> Iterator[StateStore]:
    opened = open_store(tmp_path / "state", store_url)
    yield opened
    opened.close()


def test_migrations_are_numbered_recorded_and_applied_once(store_url: str | None, tmp_path: Path) -> None:
    for _ in range(2):
        store = open_store(tmp_path / "state", store_url)
        assert store.schema_version() == NUMBERED
        assert {"details", "stop_reason", "summary"} <= store.columns("runs")
        store.close()


def test_two_processes_opening_a_new_store_at_once_apply_each_migration_once(
        store_url: str | None, tmp_path: Path) -> None:
    opener = ("import sys; from pathlib import Path; from engine.state import open_store\n"
              "s = open_store(Path(sys.argv[1]), sys.argv[2] or None); print(s.schema_version()); s.close()")
    processes = [subprocess.Popen([sys.executable, "-c", opener, str(tmp_path / "state"), store_url or ""],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
                 for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, [err for _, err in outputs]
    assert {out.strip() for out, _ in outputs} == {str(NUMBERED)}
    store = open_store(tmp_path / "state", store_url)
    rows = store.db.execute("SELECT version FROM schema_version").fetchall()
    assert sorted(r[0] for r in rows) == NUMBERED
    store.close()


def test_a_state_dir_made_before_numbered_migrations_gets_its_columns(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    old = sqlite3.connect(state / "state.sqlite3")
    old.executescript("CREATE TABLE runs (run_id TEXT PRIMARY KEY, profile TEXT NOT NULL, triggered_by TEXT "
                      "NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL);"
                      "INSERT INTO runs VALUES ('old', 'p', 'ana', '2026-01-01T00:00:00Z', NULL, 'done');")
    old.close()
    store = open_store(state)
    assert store.schema_version() == NUMBERED
    assert {"details", "stop_reason", "summary"} <= store.columns("runs")
    assert [r["run_id"] for r in store.db.execute("SELECT run_id FROM runs")] == ["old"]
    store.close()


def test_links_journal_and_activity_read_back_alike(store: StateStore, tmp_path: Path) -> None:
    store.start_run("r1", "p", "ana", {"base_url": "http://crm"})
    with store.transaction():
        store.write_journal("r1", [("employer/1", "Account", "insert", '{"domain": "a.com"}')])
        store.intend_associations("p", [("employer/1", "parent")])
        store.intend_associations("p", [("employer/1", "parent")])  # once only
    done = [("employer/1", "insert", "done")]
    store.record_outcomes("p", "r1", [Link("employer", "1", "Account", "A1")], done,
                          [{"run_id": "r1", "triggered_by": "ana", "object": "Account", "action": "insert",
                            "result": "success", "crm_id": "A1", "stream": "employer", "source_id": "1",
                            "changed": ["Name"]},
                           {"run_id": "r1", "triggered_by": "ana", "object": "Account", "action": "none",
                            "result": "skipped", "stream": None, "source_id": None}])
    store.finish_run("r1", "done", summary={"created": 1})
    assert store.links("p") == {("employer", "1"): Link("employer", "1", "Account", "A1")}
    assert [r["state"] for r in store.db.execute("SELECT state FROM journal WHERE run_id = ?", ("r1",))] == \
        ["done"]
    assert store.associations_due("p") == {("employer/1", "parent")}
    [inserted] = store.activity(action="insert", profile="p")
    assert (inserted["crm_id"], inserted["changed"], inserted["request"]) == ("A1", '["Name"]', None)
    assert store.known("stream") == {"employer"} and store.known("profile") == {"p"}
    [run] = list_runs(tmp_path / "state")
    assert (run.state, run.counts) == ("succeeded", {"created": 1})


def test_pull_matches_keep_their_order(store: StateStore) -> None:
    save_matches(store, "p", "contacts", [("9", "new", []), ("1", "match_found", [{"ref": "x", "score": 1}]),
                                          ("5", "linked", [])])
    assert [m.crm_id for m in known_matches(store, "p")] == ["9", "1", "5"]
    assert [m.crm_id for m in known_matches(store, "p", "companies")] == []


def test_a_push_lock_is_per_profile_and_org_and_dies_with_its_holder(pg_url: str, tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from engine.state import open_store\n"
        f"with open_store(url={pg_url!r}).push_lock('p', 'https://org-a.example'):\n"
        "    print('held', flush=True); time.sleep(120)")], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    store = open_store(url=pg_url)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert store.push_lock_held("p", "https://org-a.example")
        refused = rf"another push of p is running \(crmsync push pid {holder.pid} on .*, since .*\); nothing"
        with pytest.raises(PushRunning, match=refused), store.push_lock("p", "https://org-a.example"):
            pass
        with store.push_lock("p", "https://org-b.example"), store.push_lock("q", "https://org-a.example"):
            assert store.push_lock_held("p", "https://org-b.example")
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        released = until(lambda: not store.push_lock_held("p", "https://org-a.example"))
        assert released, "the server kept the lock of a killed holder"
        with store.push_lock("p", "https://org-a.example"):
            pass
    finally:
        holder.kill()
        store.close()


def until(condition: Callable[[], bool], tries: int = 300) -> bool:
    """Whether the condition comes true within a while (the server notices a dead client's socket)."""
    for _ in range(tries):
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_password_in_the_state_url_is_never_shown(pg_server: Server) -> None:
    url = f"postgresql://crmsync:s3cret-pw@127.0.0.1:{pg_server.port}/nosuchdb?password=s3cret-pw"
    with pytest.raises(StateUnavailable) as refused:
        open_store(url=url)
    assert "s3cret-pw" not in str(refused.value) and "crmsync:***@127.0.0.1" in str(refused.value)
    assert "nosuchdb" in str(refused.value)
    result = CliRunner().invoke(app, ["runs", "--state-url", url])
    assert result.exit_code == 2 and "s3cret-pw" not in result.output and "***" in result.output


def test_a_state_url_that_is_not_postgresql_is_bad_usage() -> None:
    result = CliRunner().invoke(app, ["runs", "--state-url", "mysql://root:pw@localhost/crm"])
    assert result.exit_code == 2 and "not a PostgreSQL URL" in result.output
    assert "pw@" not in result.output


def test_the_state_url_of_the_command_line_or_the_environment_is_the_store_used(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRMSYNC_STATE_URL", raising=False)
    store = open_store(url=pg_url)
    store.start_run("in-pg", "p", "ana")
    store.finish_run("in-pg", "finished")
    store.close()
    given = CliRunner().invoke(app, ["runs", "--state-url", pg_url, "--format", "json"])
    assert given.exit_code == 0, given.output
    assert [r["run_id"] for r in json.loads(given.stdout)] == ["in-pg"]
    monkeypatch.setenv("CRMSYNC_STATE_URL", pg_url)
    from_env = CliRunner().invoke(app, ["runs", "--format", "json"])
    assert [r["run_id"] for r in json.loads(from_env.stdout)] == ["in-pg"]
    monkeypatch.delenv("CRMSYNC_STATE_URL")
    sqlite = CliRunner().invoke(app, ["runs", "--state-dir", str(tmp_path / "sqlite"), "--format", "json"])
    assert json.loads(sqlite.stdout) == []


def test_without_the_server_binaries_the_tests_skip_saying_why_and_fail_on_ci(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgserver, "server_bin", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        pgserver.start_server("w")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run on CI: the PostgreSQL server binaries"):
        pgserver.start_server("w")

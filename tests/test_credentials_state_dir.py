"""What crmsync creates in a state dir is its owner's only: folders 0700, files 0600 (the SQLite
database and its -wal/-shm/-journal files, the push locks, kept credentials), whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.store import Link, Store
from tests.pushkit import push, served

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common default: new files 0644 and folders 0755 unless crmsync says otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


@pytest.mark.sqlite_only("the state dir's SQLite files and their modes")
def test_a_push_creates_its_state_dir_private(examples: Path, tmp_path: Path, open_umask: None) -> None:
    state = tmp_path / "new" / "state"
    with served("hubspot") as (_, url):
        result = push("hubspot", examples, url, state)
    assert result.summary()["created"] > 0
    found = modes(state)
    assert {"state.sqlite3", "locks", "locks/hubspot-benefitflow.lock"} <= set(found)
    assert {name: mode for name, mode in found.items() if (state / name).is_dir()} == \
        {".": 0o700, "locks": 0o700}
    assert {name: mode for name, mode in found.items() if (state / name).is_file()} == \
        dict.fromkeys((n for n in found if (state / n).is_file()), 0o600)


@pytest.mark.sqlite_only("the state dir's SQLite files and their modes")
def test_the_database_and_its_wal_and_shm_files_are_private_while_open(tmp_path: Path,
                                                                       open_umask: None) -> None:
    store = Store(tmp_path / "home" / "state")
    try:
        store.save_links("p", [Link("employer", "emp-001", "companies", "1")])
        with store.transaction():
            store.db.execute("INSERT INTO runs (run_id, profile, triggered_by, started_at, status) "
                             "VALUES ('r', 'p', 'cli', 'now', 'running')")
            found = modes(tmp_path / "home")
    finally:
        store.close()
    assert {"state/state.sqlite3", "state/state.sqlite3-wal", "state/state.sqlite3-shm"} <= set(found)
    folders = {".", "state"}  # a parent it had to create is private too
    assert found == {**dict.fromkeys(folders, 0o700), **dict.fromkeys(set(found) - folders, 0o600)}


@pytest.mark.sqlite_only("the state dir's SQLite files and their modes")
def test_a_rollback_journal_is_private_too(tmp_path: Path, open_umask: None) -> None:
    """Before WAL is on (and in any SQLite that cannot use it) SQLite writes a -journal file."""
    store = Store(tmp_path / "state")
    try:
        store.db.execute("PRAGMA journal_mode=DELETE")
        store.db.execute("PRAGMA locking_mode=EXCLUSIVE")  # keeps the journal while the lock is held
        store.db.execute("PRAGMA journal_mode=PERSIST")
        store.save_links("p", [Link("employer", "emp-001", "companies", "1")])
        found = modes(tmp_path / "state")
    finally:
        store.close()
    assert "state.sqlite3-journal" in found
    assert found == {".": 0o700, **dict.fromkeys((n for n in found if n != "."), 0o600)}


def test_the_sandboxs_tls_key_is_private(tmp_path: Path, open_umask: None) -> None:
    """`crmsync sandbox serve --tls` keeps its throwaway CA in .crmsync/sandbox-tls, a private key with it."""
    import subprocess
    import sys

    crmsync = Path(sys.executable).parent / "crmsync"
    process = subprocess.Popen([str(crmsync), "sandbox", "serve", "hubspot", "--tls"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(2)]
        assert lines[1].startswith("listening on https://127.0.0.1:"), lines
        found = modes(tmp_path / ".crmsync")
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert found["."] == 0o700 and found["sandbox-tls"] == 0o700
    assert found["sandbox-tls/sandbox-key.pem"] == 0o600

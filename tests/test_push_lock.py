"""One push of a profile (and CRM org) at a time in a store: a second one started alongside (an
overlapping cron job, another worker) would plan what the first is creating as new and create it twice.
The lock goes with its process, however that ends: a file lock for SQLite, an advisory lock for
PostgreSQL (CRMSYNC_TEST_STATE=postgresql)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from engine.state import PushRunning
from tests.pushkit import push, records, served
from tests.statekit import store_at

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the SQLite store's lock is fcntl's")
ORG = "http://127.0.0.1:1"  # the CRM the pushes are said to push to, where no sandbox serves one


@contextmanager
def push_lock(state: Path, profile: str, org: str = ORG) -> Iterator[None]:
    """The lock as a push holds it."""
    store = store_at(state)
    try:
        with store.push_lock(profile, org):
            yield
    finally:
        store.close()


def test_a_second_push_of_the_profile_is_refused_while_one_runs(examples: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with served("hubspot") as (emulator, url):
        portal = f"hubspot:{emulator.account_id}"  # type: ignore[attr-defined]  # the org a push locks
        with push_lock(state, "hubspot-benefitflow", portal):  # as a push in progress holds it
            with pytest.raises(PushRunning, match=rf"another push of hubspot-benefitflow is running \(.*pid "
                                                  rf"{os.getpid()}\b.*, since .*\); nothing was sent"):
                push("hubspot", examples, url, state)
            assert records(url)["companies"] == []
        assert push("hubspot", examples, url, state).summary()["created"] == 50


def test_other_profiles_are_not_held_back(tmp_path: Path) -> None:
    with (push_lock(tmp_path, "hubspot-benefitflow"), push_lock(tmp_path, "salesforce-benefitflow"),
          pytest.raises(PushRunning), push_lock(tmp_path, "hubspot-benefitflow")):
        pass


def test_the_lock_of_a_killed_push_is_gone(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from engine.state import open_store\n"
        f"with open_store(Path({str(tmp_path)!r})).push_lock('hubspot-benefitflow', {ORG!r}):\n"
        "    print('held', flush=True); time.sleep(60)")], stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parent.parent)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused = pytest.raises(PushRunning, match=f"pid {holder.pid}")
        with refused, push_lock(tmp_path, "hubspot-benefitflow"):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with push_lock(tmp_path, "hubspot-benefitflow"):
        pass

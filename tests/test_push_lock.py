"""One push of a profile at a time in a state dir: a second one started alongside (an overlapping cron
job) would plan what the first is creating as new and create it twice. The lock goes with its process,
however that ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.store import PushRunning, push_lock
from tests.pushkit import push, records, served

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the lock is fcntl's")


def test_a_second_push_of_the_profile_is_refused_while_one_runs(examples: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with served("hubspot") as (_, url):
        with push_lock(state, "hubspot-benefitflow"):  # as a push in progress holds it
            with pytest.raises(PushRunning, match=rf"another push of hubspot-benefitflow is running \(pid "
                                                  rf"{os.getpid()}, since .*\); nothing was sent"):
                push("hubspot", examples, url, state)
            assert records(url)["companies"] == []
        assert push("hubspot", examples, url, state).summary()["created"] == 50


def test_other_profiles_are_not_held_back(tmp_path: Path) -> None:
    with (push_lock(tmp_path, "hubspot-benefitflow"), push_lock(tmp_path, "salesforce-benefitflow"),
          pytest.raises(PushRunning), push_lock(tmp_path, "hubspot-benefitflow")):
        pass


def test_the_lock_of_a_killed_push_is_gone(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from engine.store import push_lock\n"
        f"with push_lock(Path({str(tmp_path)!r}), 'hubspot-benefitflow'):\n"
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

"""The push lock of a SQLite state dir: a file per profile under locks/, held with fcntl."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.credfile import private_file
from engine.errors import CrmsyncError
from engine.state.base import now

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


class PushRunning(CrmsyncError):
    """Another push of the same profile (and CRM org) holds the store's push lock."""


def refusal(profile: str, holder: str, where: str) -> PushRunning:
    return PushRunning(f"another push of {profile} is running ({holder}, state in {where}); "
                       "nothing was sent: run again once it has ended")


@contextmanager
def push_lock(state_dir: Path, profile: str) -> Iterator[None]:
    """One push of a profile at a time in a state dir: a second, started alongside (an overlapping
    cron job), would plan the records the first is creating as new and create them again. The
    operating system drops the lock when its process ends, however it ends (kill -9 too). Where there
    is no fcntl (Windows), pushes are not serialised."""
    path = private_file(state_dir / "locks" / f"{profile}.lock")
    with path.open("a+", encoding="utf-8") as handle:
        if fcntl is not None:
            try:
                _take(handle)
            except BlockingIOError:
                handle.seek(0)
                raise refusal(profile, handle.read().strip() or "a process", str(state_dir)) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {now()}")
        handle.flush()
        yield


def _take(handle: Any) -> None:
    """The lock, at once or within a moment: `push_lock_held` takes it shared for an instant to see
    whether a push holds it, and a push starting then must not be refused for that."""
    for _ in range(20):
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(0.01)
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def push_lock_held(state_dir: Path, profile: str) -> bool:
    """Whether a live process holds the profile's push lock (a run marked running without it died)."""
    path = state_dir / "locks" / f"{profile}.lock"
    if fcntl is None or not path.exists():
        return False
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False

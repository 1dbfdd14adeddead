"""Work the pages start and do not wait for (a retry, a pull): in a thread of its own, its end and its
error kept on its job for the page that polls it. An error is said on the page, never lost in a thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from engine.errors import CrmsyncError


class Job(Protocol):
    done: bool
    error: str | None
    thread: threading.Thread | None


def run_said(job: Job, work: Callable[[], None], what: str) -> None:
    try:
        work()
    except CrmsyncError as exc:
        job.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - said on the page, never lost in a thread
        job.error = f"the {what} failed: {type(exc).__name__}: {exc}"
    finally:
        job.done = True


def start(job: Job, work: Callable[[], None], what: str) -> None:
    job.thread = threading.Thread(target=run_said, args=(job, work, what), name=f"review-{what}", daemon=True)
    job.thread.start()

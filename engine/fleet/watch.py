"""The push's progress as a fleet worker keeps it: counts per stream, read by the activity's heartbeat
(from the worker's event loop) while the push runs in a thread."""

from __future__ import annotations

import copy
import os
import socket
from typing import TYPE_CHECKING

from rich.console import Console

from engine.fleet.model import Progress, StreamProgress
from engine.progress import PushProgress

if TYPE_CHECKING:
    from engine.plan import PlannedRecord
    from engine.push import Outcome


def quiet_console() -> Console:
    """A console whose output goes nowhere: a worker's push prints nothing, its summary goes to Temporal."""
    return Console(file=open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the push


def worker_name() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


class Watch(PushProgress):
    """Draws nothing; counts what the push tells the bars, for the heartbeat and the `progress` query.
    Written by the push's thread only; `snapshot` is a copy, so a reader never sees a dict change size."""

    def __init__(self, attempt: int, note: str = "") -> None:
        super().__init__(quiet_console(), enabled=False)
        self.now = Progress(state="pushing", attempt=attempt, worker=worker_name(), note=note)

    def start(self, stream: str, records: list[PlannedRecord]) -> None:
        total = sum(1 for r in records if r.status in ("net_new", "update"))
        self.now.streams.setdefault(stream, StreamProgress()).total += total

    def answered(self, outcome: Outcome) -> None:
        counts = self.now.streams.setdefault(outcome.record.stream, StreamProgress())
        if outcome.result == "success":
            counts.sent += 1
        else:
            counts.failed += 1

    def associations(self, due: int, made: int, failed: int) -> None:
        self.now.associations += made

    def stop(self) -> None:
        return None

    def snapshot(self) -> Progress:
        return copy.deepcopy(self.now)

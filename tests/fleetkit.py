"""Helpers for the fleet tests and benchmark: `crmsync worker` processes, `crmsync enqueue` as a user
types it, and a Temporal client to follow the workflows."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from engine.sandbox.common import running
from engine.sandbox.hubspot import HubSpotSandbox

ROOT = Path(__file__).resolve().parent.parent


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "CRMSYNC_HOME": str(home), "CRMSYNC_NO_ENTRY_POINTS": "1"}


def crmsync(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], env=env_for(home), capture_output=True,
                          text=True, timeout=timeout, check=False)


@dataclass
class Workers:
    """`crmsync worker` processes on one task queue, each started and waited for until it is ready."""

    address: str
    state_url: str
    task_queue: str
    home: Path
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    def start(self, max_pushes: int = 4) -> subprocess.Popen[str]:
        log = (self.home / f"worker-{len(self.processes)}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "worker", "--temporal", self.address, "--state-url",
             self.state_url, "--task-queue", self.task_queue, "--max-pushes", str(max_pushes)],
            env=env_for(self.home), stdout=subprocess.PIPE, stderr=log, text=True)
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.rstrip().endswith("ready"):
                self.processes.append(process)
                return process
            if not line and process.poll() is not None:
                break
        process.kill()
        raise RuntimeError(f"worker not ready: {(self.home / 'worker-0.log').read_text(errors='replace')}")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def running_workers(address: str, state_url: str, task_queue: str, home: Path, count: int = 2,
                    max_pushes: int = 4) -> Iterator[Workers]:
    home.mkdir(parents=True, exist_ok=True)
    workers = Workers(address, state_url, task_queue, home)
    try:
        for _ in range(count):
            workers.start(max_pushes)
        yield workers
    finally:
        workers.stop()


class OneWriteAtATime(HubSpotSandbox):
    """HubSpot answering batch writes one at a time, each after `pause` seconds (a CRM that throttles):
    a push of a few hundred records sends for seconds, long enough to kill its worker in the middle."""

    def __init__(self, pause: float, **options: Any) -> None:
        super().__init__(**options)
        self.pause = pause
        self.gate: asyncio.Lock | None = None

    def app(self) -> ASGIApp:
        inner = super().app()

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or "/batch/" not in scope["path"] or scope["path"].endswith("/read"):
                await inner(scope, receive, send)
                return
            self.gate = self.gate or asyncio.Lock()
            async with self.gate:
                await asyncio.sleep(self.pause)
                await inner(scope, receive, send)

        return app


@contextmanager
def served_slow_hubspot(pause: float) -> Iterator[str]:
    with running(OneWriteAtATime(pause)) as url:
        yield url

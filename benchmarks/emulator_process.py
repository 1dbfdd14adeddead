"""An emulator in its own process, as a real CRM is not in the engine's: the benchmarks' CPU figures
then count the engine's work only, and the two do not share an interpreter."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def serving(command: list[str], what: str) -> Iterator[str]:
    """Run `command` (which prints `listening on URL` once it accepts connections) until the block ends;
    yields the URL."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith("listening on "):
                yield line.removeprefix("listening on ").strip()
                return
        raise RuntimeError(f"the {what} emulator did not start")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)

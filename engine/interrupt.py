"""Ctrl-C in a push: the first press stops sending and lets the requests in flight be answered and
recorded (what the CRM applied is what the run reports); a second press cuts them off. Either way the
run is marked `interrupted`, and the same command run again resumes (the journal, DESIGN.md rule 7)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from engine.client import CrmClient, Interrupted

RESUME = ("run the same command again to resume: what this run wrote is found and linked, nothing is "
          "created twice")
FIRST = ("interrupted (Ctrl-C): nothing more was sent after it, and the requests already in flight were "
         f"answered and recorded; {RESUME}")
SECOND = ("interrupted (Ctrl-C): the requests in flight, if any, were cut off, and the CRM may have "
          f"applied some of them; {RESUME}")  # a sentence: callers may add what was written


@contextmanager
def stop_on_ctrl_c(client: CrmClient) -> Iterator[None]:
    """Within a running event loop, on the main thread (elsewhere Ctrl-C is left as it is)."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    presses = 0

    def pressed() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            client.halt(Interrupted(FIRST))
            sys.stderr.write("\nCtrl-C: stopping; nothing more is sent, the requests in flight are being "
                             "answered (Ctrl-C again cuts them off)\n")
        elif main is not None:
            main.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, pressed)
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread, or no signals here
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)

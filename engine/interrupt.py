"""Ctrl-C in a push: the first press stops sending and lets the requests in flight be answered and
recorded (what the CRM applied is what the run reports); a second press cuts them off. Either way the
run is marked `interrupted`, and the same command run again resumes (the journal, DESIGN.md rule 7).
A push running in a thread (a fleet worker's activity) is stopped the same way, from another thread,
by a `Halt` the thread runs under (`halted_by`)."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from engine.client import CrmClient, Interrupted

RESUME = ("run the same command again to resume: what this run wrote is found and linked, nothing is "
          "created twice")
FIRST = ("interrupted (Ctrl-C): nothing more was sent after it, and the requests already in flight were "
         f"answered and recorded; {RESUME}")
SECOND = ("interrupted (Ctrl-C): the requests in flight, if any, were cut off, and the CRM may have "
          f"applied some of them; {RESUME}")  # a sentence: callers may add what was written


class Halt:
    """A first Ctrl-C for a push running in another thread: asked from any thread, before the push's
    client exists too (it is halted as soon as it does)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: tuple[asyncio.AbstractEventLoop, CrmClient] | None = None
        self.why: str | None = None  # once a stop was asked

    def request(self, why: str) -> None:
        with self._lock:
            if self.why is not None:
                return
            self.why, target = why, self._client
        if target is not None:
            loop, client = target
            loop.call_soon_threadsafe(client.halt, Interrupted(why))

    def attach(self, client: CrmClient) -> None:
        with self._lock:
            self._client, why = (asyncio.get_running_loop(), client), self.why
        if why is not None:
            client.halt(Interrupted(why))

    def detach(self) -> None:
        with self._lock:
            self._client = None


_this_thread = threading.local()


@contextmanager
def halted_by(halt: Halt) -> Iterator[None]:
    """The pushes this thread runs in the block may be stopped by `halt`."""
    _this_thread.halt = halt
    try:
        yield
    finally:
        _this_thread.halt = None


@contextmanager
def stop_on_ctrl_c(client: CrmClient) -> Iterator[None]:
    """Within a running event loop, on the main thread (elsewhere Ctrl-C is left as it is), and by the
    thread's `Halt` if it runs under one."""
    halt: Halt | None = getattr(_this_thread, "halt", None)
    if halt is not None:
        halt.attach(client)
    try:
        with _on_sigint(client):
            yield
    finally:
        if halt is not None:
            halt.detach()


@contextmanager
def _on_sigint(client: CrmClient) -> Iterator[None]:
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

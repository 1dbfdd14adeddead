"""The cyclic garbage collector paused while a step builds many small objects that live on."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, then switch it back on if it was on. For steps that
    make hundreds of thousands of small objects which hold no reference cycles and outlive the step (the
    matching features of every record): each collection rescans all of them, which cost a third of the
    CPU of matching 100,000 records against 100,000 (benchmarks/pull_speed.py). Memory freed by reference
    counting is freed as ever; only cycles wait for the collector's next pass."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()

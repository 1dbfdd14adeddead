"""The collector pause around matching gives the collector back as it found it, whatever happens."""

from __future__ import annotations

import gc

import pytest

from engine.gcpause import collector_paused


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_comes_back_on_when_the_step_fails() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a step that fails")
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()

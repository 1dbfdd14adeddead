"""A plan against a CRM (`plan --base-url`) keeps the cyclic collector running: each look-up's answer
(httpx's response and its stream refer to each other) is garbage only the collector finds, so the
answers alive at once stay bounded as the input grows 3x. Counted in live objects, never in time."""

from __future__ import annotations

import gc
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from engine import plan as plan_module
from engine import render as render_module
from engine.cli import app
from engine.exampledata import generate
from engine.spool.seen import SeenMap
from tests.pushkit import PROFILES, credentials_file, served

WINDOW = 50


def answers_alive_at_most(tmp_path: Path, total: int, url: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """`plan --base-url` of `total` generated records; the most httpx responses alive as windows end."""
    generate(tmp_path / "data", total)
    most, flush, windows = [0], SeenMap.flush, [0]

    def counted(self: SeenMap) -> None:
        windows[0] += 1
        most[0] = max(most[0], sum(1 for o in gc.get_objects() if type(o) is httpx.Response))
        flush(self)
    monkeypatch.setattr(SeenMap, "flush", counted)
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(app, ["plan", str(PROFILES["salesforce"]), "--source", str(tmp_path / "data"),
                                      "--base-url", url, "--credentials",
                                      str(credentials_file("salesforce", tmp_path / "creds")),
                                      "--format", "json", "--out", str(out)],
                                env={"CRMSYNC_HOME": str(tmp_path / "state")})
    assert result.exit_code in (0, 1), result.output
    assert out.stat().st_size > 0 and windows[0] >= total // WINDOW
    return most[0]


def test_a_plan_against_the_crm_holds_a_bounded_number_of_answers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_module, "WINDOW", WINDOW)
    monkeypatch.setattr(render_module, "FULL_LENGTH", 0.0)  # every look-up full: no window held back
    with served("salesforce") as (_, url):
        small = answers_alive_at_most(tmp_path / "small", 600, url, monkeypatch)
        large = answers_alive_at_most(tmp_path / "large", 1_800, url, monkeypatch)
    assert large <= small + 10 < 1_800 // WINDOW  # a few windows' answers, not every look-up's

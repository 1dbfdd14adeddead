"""How a long push is going, on a terminal (issue 13, point 4): `crmsync push` run as a user runs it, its
stderr a terminal (a pseudo-terminal) 80 columns wide: a bar per stream and for the whole run with what
the CRM accepted (`X/Y sent`, the refused apart), the rate, the time taken and the time left, and a bar
for the associations. Nothing of it when the output is not a terminal or is JSON."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

from engine.sandbox.common import running
from tests.pushkit import PROFILES, credentials_file, served
from tests.statekit import using
from tests.test_hubspot_results import KeepsItsRulesToItself
from tests.test_terminal_summary import BAD_URLS, LONG_STREAM, RECORDS, setup  # noqa: F401 - a fixture

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def push_on_a_terminal(*args: str) -> tuple[str, str, int]:
    """The command's stdout (a pipe) and its stderr (a terminal) as text without the escape codes."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "LINES": "40", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", "push", *args], stdout=subprocess.PIPE,
                               stderr=follower, env=env)
    os.close(follower)
    screen = bytearray()
    while True:  # read as it comes: a full terminal buffer would block the command
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the command closed its end
                break
            if not chunk:
                break
            screen += chunk
        elif process.poll() is not None:
            break
    stdout = process.stdout.read().decode() if process.stdout else ""
    code = process.wait(timeout=60)
    os.close(leader)
    return stdout, ANSI.sub("", screen.decode(errors="replace")), code


def frames(screen: str) -> list[str]:
    return [line for line in re.split(r"\r?\n|\r", screen) if line.strip()]


def test_each_stream_and_the_whole_run_show_what_was_sent_the_rate_and_the_time(
        setup: tuple[Path, Path, Path], tmp_path: Path) -> None:  # noqa: F811 - the fixture
    profile, source, creds = setup
    with running(KeepsItsRulesToItself()) as url:
        stdout, screen, code = push_on_a_terminal(str(profile), "--source", str(source), "--base-url", url,
                                                  "--state-dir", str(tmp_path / "state"),
                                                  "--credentials", str(creds))
    assert code == 1, stdout + screen
    lines = frames(screen)
    assert lines and all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    sent = f"{RECORDS - BAD_URLS:,}/{RECORDS:,} sent {BAD_URLS} failed"  # refused ones are not "sent"
    last = {line.split()[0]: line for line in lines}  # each bar's final state
    stream, overall = last[LONG_STREAM[:15] + "…"], last["all"]
    for bar in (stream, overall):
        assert sent in bar and "━" in bar, bar
        assert re.search(r" \d[\d,.]*/s ", bar), bar  # the rate, in records a second
        assert re.search(r" \d+:\d\d ETA 0:00$", bar), bar  # the time taken, and none left
    assert overall.startswith("all streams ")
    assert stdout.splitlines()[-1] == "(push --verbose lists them record by record)"  # the summary, apart


def test_the_associations_have_their_bar_and_json_has_no_bars(examples: Path, tmp_path: Path) -> None:
    creds = credentials_file("hubspot", tmp_path / "creds")
    shown = {}
    for fmt in ("table", "json"):  # each into an empty CRM
        with served("hubspot") as (_, url), using(tmp_path / fmt):
            shown[fmt] = push_on_a_terminal(str(PROFILES["hubspot"]), "--source", str(examples), "--base-url",
                                            url, "--credentials", str(creds), "--state-dir",
                                            str(tmp_path / fmt), "--format", fmt)
    (_, screen, code), (as_json, quiet, json_code) = shown["table"], shown["json"]
    assert code == json_code == 1  # the examples hold invalid records
    made = json.loads(as_json)["associations"]["created"]
    last = {line.split()[0]: line for line in frames(screen)}
    assert f"{made:,}/{made:,} made" in last["associations"], last
    assert "9/9 sent" in last["employer"] and "50/50 sent" in last["all"]
    assert quiet.strip() == ""  # --format json: stdout is the JSON, and nothing is drawn

"""`crmsync review` as a user runs it: it plans, prints the address with its token, serves until
stopped; a bad profile is a located error before anything is served."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import PROFILES

ROOT = Path(__file__).resolve().parent.parent


def test_review_prints_its_address_and_serves_the_plan_there(examples: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "engine.cli", "review", str(PROFILES["hubspot"]), "--source",
               str(examples), "--state-dir", str(tmp_path / "state"), "--no-browser", "--port", "0"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    served = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = served.stdout.readline()  # type: ignore[union-attr]
        found = re.search(r"open (http://127\.0\.0\.1:\d+/\?token=[\w-]{43})$", line.strip())
        assert found, line + served.stderr.read() if served.poll() is not None else line  # type: ignore[union-attr]
        url = found[1]
        assert httpx.get(url.split("?")[0], timeout=30).status_code == 403
        with httpx.Client(timeout=30, follow_redirects=True) as client:
            page = client.get(url)
        assert page.status_code == 200 and "Bluebird Bakery Co." in page.text
        assert (tmp_path / "state" / "review" / "hubspot-benefitflow.sqlite").stat().st_mode & 0o077 == 0
    finally:
        served.send_signal(signal.SIGINT)  # as Ctrl-C
        assert served.wait(timeout=30) == 130  # stopped by Ctrl-C, as a push is


def test_a_broken_profile_is_a_located_error_and_nothing_is_served(tmp_path: Path, examples: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: p\nconnector: hubspot\nstreams: {e: [1, 2}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["review", str(broken), "--source", str(examples), "--no-browser"])
    assert result.exit_code == 2 and result.stderr.startswith(f"{broken}:3:19: malformed YAML")


def test_a_port_in_use_is_bad_usage_said_plainly(examples: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["review", str(PROFILES["hubspot"]), "--source", str(examples),
                                          "--state-dir", str(tmp_path / "state"), "--no-browser",
                                          "--port", str(port)])
    assert result.exit_code == 2 and f"--port {port}: cannot listen on 127.0.0.1" in result.stderr


def test_review_of_a_source_missing_its_files_says_so_on_the_terminal(tmp_path: Path) -> None:
    """A folder without the profile's files is planned (the page shows it), but the terminal says which
    files are missing before the address: a review of nothing must not look like a review of an export."""
    (tmp_path / "src").mkdir()
    command = [sys.executable, "-m", "engine.cli", "review", str(PROFILES["hubspot"]), "--source",
               str(tmp_path / "src"), "--state-dir", str(tmp_path / "state"), "--no-browser", "--port", "0"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    served = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert "open http://127.0.0.1:" in served.stdout.readline()  # type: ignore[union-attr]
    finally:
        served.send_signal(signal.SIGINT)
        served.wait(timeout=30)
    said = served.stderr.read()  # type: ignore[union-attr]
    for stream in ("broker", "employer", "broker_office", "employer_contact", "broker_contact"):
        assert f"source: {stream}: no source file" in said

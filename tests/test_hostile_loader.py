"""Hostile files given to the loaders: each ends, fast, in one located error and exit 2, from `validate`
and from `plan` alike, as a stranger would type them; nothing of a file that is not a crmsync file is
quoted. Cases that would hang run in a subprocess with a timeout, so a regression fails instead of
hanging the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "data"
STREAMS = ("streams:\n  employer:\n    object: companies\n"
           "    identity: {key: domain, source: {domain: $.website}}\n")
VALID = "name: t\nconnector: hubspot\n" + STREAMS

LAUGHS = "".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n"
                 for a, b in zip("abcdefgh", "bcdefghi", strict=True))
BOMB = "name: t\nconnector: hubspot\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + LAUGHS + STREAMS

P = pytest.param
# (profile text, where the error is as line:col, a fragment of its message)
PROFILES = [
    P(BOMB, "8:8", "aliases expand this document past 100,000 values", id="alias-bomb"),
    P("name: t\nconnector: hub\x00spot\n" + STREAMS, "2:15", "character U+0000 is not allowed",
      id="nul-byte"),
    P("name: t\nconnector: hubspot\nx: " + "[" * 100 + "]" * 100 + "\n" + STREAMS, "3:67",
      "nested more than 64 levels deep", id="deep-nesting"),
    P("name: t\nconnector: hubspot\nx: " + "7" * 5000 + "\n" + STREAMS, "3:4",
      "a number of 5,000 digits is too long", id="5000-digit-number"),
]


def run(*args: object) -> tuple[int, str]:
    """The CLI in a subprocess, killed after 60 s: a hang fails the test."""
    done = subprocess.run([sys.executable, "-m", "engine.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=60, cwd=ROOT, env={**os.environ, "COLUMNS": "200"})
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(("text", "where", "fragment"), PROFILES)
@pytest.mark.parametrize("command", ["validate", "plan"])
def test_hostile_profile_is_one_located_error(tmp_path: Path, command: str, text: str, where: str,
                                              fragment: str) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text(text, encoding="utf-8")
    extra = ["--source", EXAMPLES] if command == "plan" else []
    code, output = run(command, profile, *extra)
    assert code == 2, output
    assert f"{profile}:{where}: " in output and fragment in output, output
    assert "Traceback" not in output


@pytest.mark.parametrize(("make", "fragment"), [
    P(lambda p: os.mkfifo(p), "not a regular file (a named pipe)", id="fifo"),
    P(lambda p: os.symlink("/dev/zero", p), "not a regular file (a device)", id="dev-zero"),
    P(lambda p: p.write_bytes(b"#" * (17 * 1024 * 1024)), "larger than 16 MB", id="huge"),
])
def test_a_connector_path_that_is_no_file_ends_at_once(tmp_path: Path, make: object, fragment: str) -> None:
    """A FIFO would wait forever for a writer; /dev/zero would fill memory."""
    make(tmp_path / "crm.yaml")  # type: ignore[operator]
    profile = tmp_path / "profile.yaml"
    profile.write_text(VALID.replace("hubspot", "./crm.yaml"), encoding="utf-8")
    code, output = run("validate", profile)
    assert code == 2, output
    assert f"{profile}:2:12: connector " in output and fragment in output, output


def test_a_connector_path_naming_a_secret_file_quotes_nothing_of_it(tmp_path: Path) -> None:
    secret = tmp_path / "shadow"
    lines = ["root:$6$s3cr3tsalt$Hash0fTheR00tPassword:20263:0:99999:7:::",
             "postgres:!:20593::::::", "ana:$6$another$H4sh:20263:0:99999:7:::"]
    secret.write_text("\n".join(lines) + "\n", encoding="utf-8")
    profile = tmp_path / "profile.yaml"
    profile.write_text(VALID.replace("hubspot", str(secret)), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(profile)])
    assert result.exit_code == 2, result.output
    assert f"{profile}:2:12: connector {secret}: not a crmsync connector spec" in result.output
    for secret_part in ("s3cr3tsalt", "Hash0fTheR00tPassword", "postgres", "H4sh", "20263", "99999"):
        assert secret_part not in result.output, secret_part


def test_a_shared_anchor_used_a_few_times_still_loads(tmp_path: Path) -> None:
    """Aliases are YAML: a modest reuse is not refused."""
    text = VALID + ("    fields:\n      name: &name {source: $.name, overwrite: true}\n"
                    "      description: *name\n")
    profile = tmp_path / "profile.yaml"
    profile.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(profile)])
    assert result.exit_code == 0, result.output

"""Source values reach the terminal escaped (issue 9, point 32): an ESC sequence, a bidi override or rich
markup in a name or an email is shown as written, never obeyed, in the plan table, the push summary and
the log."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import PROFILES, copy_source, credentials_file, rewrite, served

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "data"
HOSTILE_NAME = "Evil\x1b]0;owned\x07\x1b[2J Co \u202egnp.exe [red]alarm[/red]"
HOSTILE_EMAIL = "not-an-email"
HOSTILE_ID = "ec-001\x1b[2J\u202e"
RAW = ("\x1b", "\x07", "\u202e")


def hostile_source(tmp_path: Path) -> Path:
    source = copy_source(EXAMPLES, tmp_path / "data")
    rewrite(source / "employer.jsonl", "emp-001", name=HOSTILE_NAME)
    rewrite(source / "employer_contact.jsonl", "ec-001", email=HOSTILE_EMAIL, id=HOSTILE_ID)
    return source


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "400"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.stdout


def assert_escaped(text: str) -> None:
    assert not any(raw in text for raw in RAW)
    assert "\\x1b" in text and "\\u202e" in text


def test_plan_table_shows_control_characters_and_markup_as_written(tmp_path: Path) -> None:
    stdout = invoke("plan", str(PROFILES["hubspot"]), "--source", str(hostile_source(tmp_path)))
    assert_escaped(stdout)
    assert "gnp.exe [red]ala" in stdout  # markup shown, not obeyed (the value is cut at 40 characters)


def test_push_summary_and_log_show_control_characters_escaped(tmp_path: Path) -> None:
    source = hostile_source(tmp_path)
    state = tmp_path / "state"
    with served("hubspot") as (_, url):
        stdout = invoke("push", str(PROFILES["hubspot"]), "--source", str(source), "--base-url", url,
                        "--state-dir", str(state),
                        "--credentials", str(credentials_file("hubspot", tmp_path / "creds")), "--verbose")
    assert "ec-001" in stdout and "failed" in stdout
    assert_escaped(stdout)
    log = invoke("log", "--state-dir", str(state), "--result", "error")
    assert "ec-001" in log
    assert_escaped(log)
    as_json = json.loads(invoke("log", "--state-dir", str(state), "--result", "error", "--format", "json"))
    assert HOSTILE_ID in [row["source_id"] for row in as_json]  # JSON keeps the value as it is

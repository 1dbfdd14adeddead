"""A credentials file, wherever it is (--credentials FILE or the state dir), is refused when others can
read it, and a malformed one is a located error (file:line:col, the key), exit 2, that never quotes a
value; nothing is sent to the CRM with it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import OAUTH, PROFILES, served

SECRET = "s3cr3t-never-shown"


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "300"})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output


def push_with(credentials: Path, examples: Path, state: Path) -> tuple[int, str, list[str]]:
    """The exit code, what was shown, and the paths the CRM was asked for."""
    with served("salesforce") as (emulator, url):
        code, shown = cli("push", str(PROFILES["salesforce"]), "--source", str(examples), "--base-url", url,
                          "--state-dir", str(state), "--credentials", str(credentials))
        return code, shown, [r["path"] for r in emulator.requests]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_credentials_file_others_can_read_is_refused_like_the_state_dirs(examples: Path,
                                                                           tmp_path: Path) -> None:
    given = tmp_path / "salesforce.json"
    given.write_text(json.dumps(OAUTH), encoding="utf-8")
    given.chmod(0o644)
    code, shown, sent = push_with(given, examples, tmp_path / "state")
    assert code == 2, shown
    assert f"{given}: other users can read these credentials; run `chmod 600 {given}`" in shown
    assert not [path for path in sent if "token" in path]  # no credential was sent
    assert "sandbox-secret" not in shown


@pytest.mark.parametrize(("content", "where", "says"), [
    (b'{\n  "client_id": "sandbox-client",\n  "client_secret": "s3cr3t-\xff-never-shown"\n}', ":3:28:",
     "not UTF-8 text; save the file as UTF-8"),
    (json.dumps({"client_id": "sandbox-client", "client_secret": [SECRET]}, indent=2).encode(), ":3:3:",
     "client_secret: a credentials value is a string, not a list"),
    (json.dumps({"client_id": {"id": SECRET}}).encode(), ":1:2:",
     "client_id: a credentials value is a string, not an object"),
    (json.dumps([SECRET]).encode(), ":1:1:", "a credentials file is a JSON object of client_id"),
    (b'{"client_id": "sandbox-client", "client_secret": s3cr3t-never-shown}', ":1:50:", "not JSON:"),
])
def test_a_malformed_credentials_file_is_a_located_error_that_shows_no_value(
        examples: Path, tmp_path: Path, content: bytes, where: str, says: str) -> None:
    given = tmp_path / "salesforce.json"
    given.write_bytes(content)
    given.chmod(0o600)
    code, shown, sent = push_with(given, examples, tmp_path / "state")
    assert code == 2, shown
    assert f"{given}{where} {says}" in shown
    assert "s3cr3t" not in shown and "Traceback" not in shown
    assert not [path for path in sent if "token" in path]  # no credential was sent


def test_a_state_dir_credentials_file_holding_a_list_is_located_too(examples: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    kept = state / "credentials" / "salesforce-benefitflow.json"
    kept.parent.mkdir(parents=True)
    kept.write_text(json.dumps({**OAUTH, "refresh_token": [SECRET]}), encoding="utf-8")
    kept.chmod(0o600)
    with served("salesforce") as (_, url):
        code, shown = cli("plan", str(PROFILES["salesforce"]), "--source", str(examples), "--base-url", url,
                          "--state-dir", str(state))
    assert code == 2, shown
    assert f"{kept}:1:" in shown and "refresh_token: a credentials value is a string, not a list" in shown
    assert SECRET not in shown


def test_a_token_pasted_with_its_line_break_is_used(examples: Path, tmp_path: Path) -> None:
    """No HTTP header can carry a line break: the request failed as `connection lost: LocalProtocolError`."""
    with served("hubspot") as (_, url):
        pasted = CliRunner().invoke(app, ["push", str(PROFILES["hubspot"]), "--source", str(examples),
                                          "--base-url", url, "--state-dir", str(tmp_path / "state")],
                                    env={"CRMSYNC_ACCESS_TOKEN": "sandbox-token\n", "COLUMNS": "300"})
    assert "LocalProtocolError" not in pasted.output
    assert "50 created" in pasted.output, pasted.output


@pytest.mark.parametrize("inside", ["sandbox token", "sandbox\ntoken", "sandbox\ttoken", "sandbox\x7ftoken"])
def test_a_credential_with_a_blank_inside_is_refused_by_name(inside: str, examples: Path,
                                                             tmp_path: Path) -> None:
    given = tmp_path / "hubspot.json"
    given.write_text(json.dumps({"access_token": inside}), encoding="utf-8")
    given.chmod(0o600)
    with served("hubspot") as (emulator, url):
        from_file = cli("push", str(PROFILES["hubspot"]), "--source", str(examples), "--base-url", url,
                        "--state-dir", str(tmp_path / "state"), "--credentials", str(given))
        from_env = CliRunner().invoke(app, ["push", str(PROFILES["hubspot"]), "--source", str(examples),
                                            "--base-url", url, "--state-dir", str(tmp_path / "state")],
                                      env={"CRMSYNC_ACCESS_TOKEN": inside, "COLUMNS": "300"})
        asked = [r["path"] for r in emulator.requests]
    assert from_file[0] == 2 and from_env.exit_code == 2
    assert f"{given}:1:2: access_token: holds a space, line break or control character inside" in from_file[1]
    assert "CRMSYNC_ACCESS_TOKEN: holds a space, line break or control character inside" in from_env.output
    assert "token" not in " ".join(asked) and "sandbox" not in from_env.output + from_file[1]

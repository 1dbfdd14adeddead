"""A token HubSpot refuses is said in words: what HubSpot answered, whole, what it means and what to do
(as the Salesforce and Dynamics refusals are), never a Python dict cut in the middle, never the token."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import PROFILES, served

WRONG = "pat-na1-00000000-wrong-token"


@pytest.mark.parametrize("command", [
    ["push", str(PROFILES["hubspot"]), "--source", "{examples}"],
    ["plan", str(PROFILES["hubspot"]), "--source", "{examples}"],
    ["validate", str(PROFILES["hubspot"])],
])
def test_a_refused_private_app_token_is_said_with_what_to_do(command: list[str], examples: Path,
                                                             tmp_path: Path) -> None:
    args = [a.format(examples=examples) for a in command]
    with served("hubspot") as (_, url):
        shown = CliRunner().invoke(app, [*args, "--base-url", url],
                                   env={"CRMSYNC_ACCESS_TOKEN": WRONG, "CRMSYNC_HOME": str(tmp_path / "s"),
                                        "COLUMNS": "300"})
    text = " ".join(shown.output.split())
    assert shown.exit_code == 1, shown.output
    assert "HubSpot refused the access token (401 INVALID_AUTHENTICATION: Authentication credentials " \
           "not found." in text
    assert "https://developers.hubspot.com/docs/methods/auth/oauth-overview)" in text  # whole, not cut
    assert "Settings > Integrations > Private Apps" in text and "CRMSYNC_ACCESS_TOKEN" in text
    assert "{'" not in text and WRONG not in text and "Traceback" not in text

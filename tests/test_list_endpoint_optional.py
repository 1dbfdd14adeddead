"""`endpoints.list` is optional: a connector without it loads, validates (with a warning that it cannot
pull, pointed at its `endpoints`) and pushes; pulling (issue 11) uses the endpoint where there is one."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import PROFILES, ROOT, credentials_file, records, served

LIST_BLOCK = re.compile(r"^  list:\n(?:    .*\n)+", re.MULTILINE)


def connector_without_list(tmp_path: Path) -> Path:
    text = (ROOT / "connectors" / "hubspot.yaml").read_text(encoding="utf-8")
    without, removed = LIST_BLOCK.subn("", text)
    assert removed == 1
    (tmp_path / "hubspot.yaml").write_text(without, encoding="utf-8")
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILES["hubspot"].read_text(encoding="utf-8").replace(
        "connector: hubspot", "connector: ./hubspot.yaml", 1), encoding="utf-8")
    return profile


def test_a_connector_without_list_validates_with_a_warning_that_it_cannot_pull(tmp_path: Path) -> None:
    profile = connector_without_list(tmp_path)
    result = CliRunner().invoke(app, ["validate", str(profile), "--format", "json"])
    assert result.exit_code == 0, result.output
    findings = json.loads(result.output)
    found = [f for f in (findings["findings"] if isinstance(findings, dict) else findings)
             if f["code"] == "cannot_pull"]
    assert len(found) == 1 and found[0]["severity"] == "warning"
    assert "cannot pull" in found[0]["message"] and "companies" in found[0]["message"]
    endpoints_line = (tmp_path / "hubspot.yaml").read_text(encoding="utf-8").splitlines().index("endpoints:")
    assert found[0]["where"] == f"{tmp_path / 'hubspot.yaml'}:{endpoints_line + 1}:1"


def test_the_built_in_connectors_can_pull() -> None:
    result = CliRunner().invoke(app, ["validate", str(PROFILES["hubspot"]), "--format", "json"])
    assert "cannot_pull" not in result.output


def test_a_connector_without_list_pushes(tmp_path: Path) -> None:
    profile = connector_without_list(tmp_path)
    creds = credentials_file("hubspot", tmp_path / "creds")
    with served("hubspot") as (_, url):
        result = CliRunner().invoke(app, ["push", str(profile), "--source", str(ROOT / "examples" / "data"),
                                          "--base-url", url, "--credentials", str(creds),
                                          "--state-dir", str(tmp_path / "state"), "--format", "json"])
        assert result.exit_code in (0, 1), result.output
        summary = json.loads(result.output)["summary"]
        assert summary["created"] > 0
        assert len(records(url)["companies"]) > 0

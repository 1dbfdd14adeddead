"""The team file's JSON Schema is what `crmsync schema team` prints, and the example team file names it
and loads."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from engine.cli import app
from engine.loader import load_model
from engine.team.model import Access, Team, team_problems

ROOT = Path(__file__).resolve().parent.parent


def test_the_team_schema_file_is_up_to_date() -> None:
    printed = CliRunner().invoke(app, ["schema", "team"])
    assert printed.exit_code == 0
    schema = json.loads(printed.stdout)
    assert schema["title"] == "crmsync team" and schema["additionalProperties"] is False
    assert (ROOT / "docs" / "schema" / "team.schema.json").read_text(encoding="utf-8") == printed.stdout, \
        "regenerate it: crmsync schema team > docs/schema/team.schema.json"


def test_the_example_team_file_names_its_schema_and_loads() -> None:
    path = ROOT / "examples" / "team.yaml"
    assert path.read_text(encoding="utf-8").splitlines()[0] == \
        "# yaml-language-server: $schema=../docs/schema/team.schema.json"
    team = load_model(path, Team, team_problems).model
    assert team.access("salesforce-leads", "contact") is Access.update_only
    assert team.access("hubspot-benefitflow", "contact") is Access.create_and_update
    assert team.access("hubspot-benefitflow", "opportunity") is Access.create_only  # the default

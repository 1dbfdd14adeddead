"""A saved plan applied after the CRM changed (issue 9, point 7): a record whose CRM values differ from
the plan's `current` is re-planned, reported and not written, and the push says the plan is stale."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import copy_source, records, served

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "profiles" / "hubspot-benefitflow.yaml"
ENV = {"CRMSYNC_ACCESS_TOKEN": "sandbox-token"}
runner = CliRunner()
HEADERS = {"Authorization": "Bearer sandbox-token"}
SEED = {"companies": [{"id": "501", "properties": {"name": "Bluebird Bakery (old name)",
                                                  "domain": "bluebird-bakery-example.com",
                                                  "benefitflow_id": "emp-001"}}]}


def test_a_field_edited_in_the_crm_after_the_plan_is_not_overwritten(examples: Path, tmp_path: Path) -> None:
    source = copy_source(examples, tmp_path / "src")
    plan_file, state = tmp_path / "plan.json", tmp_path / "state"
    with served("hubspot", seed=SEED) as (_, url):
        made = runner.invoke(app, ["plan", str(PROFILE), "--source", str(source), "--base-url", url,
                                   "--format", "json", "--out", str(plan_file), "--state-dir", str(state)],
                             env=ENV)
        assert made.exit_code in (0, 1), made.output
        saved = json.loads(plan_file.read_text(encoding="utf-8"))
        emp = next(r for r in saved["records"] if r["source_id"] == "emp-001")
        assert emp["status"] == "update" and {"field": "name", "current": "Bluebird Bakery (old name)",
                                              "new": "Bluebird Bakery Co."} in emp["changes"]
        # a person renames the company in the CRM after the plan was reviewed
        edited = httpx.patch(f"{url}/crm/v3/objects/companies/501", headers=HEADERS, timeout=30,
                             json={"properties": {"name": "Bluebird Bakery & Café (typed by sales)"}})
        assert edited.status_code == 200
        pushed = runner.invoke(app, ["push", "--plan", str(plan_file), "--base-url", url, "--format", "json",
                                     "--state-dir", str(state)], env=ENV)
        name = next(c for c in records(url)["companies"] if c["id"] == "501")["properties"]["name"]
    assert name == "Bluebird Bakery & Café (typed by sales)"
    assert pushed.exit_code == 1, pushed.output  # a stale plan is not "all well"
    result = json.loads(pushed.stdout)
    row = next(r for r in result["records"] if r["source_id"] == "emp-001")
    assert row["action"] is None and row["result"] == "skipped"
    assert "edited in the CRM since: name" in row["error"] and "re-plan" in row["error"]
    assert result["stale"] == ["employer/emp-001"]
    assert any("the plan is stale: 1 record(s)" in n for n in result["notices"])


def test_the_table_summary_says_the_plan_is_stale(examples: Path, tmp_path: Path) -> None:
    source = copy_source(examples, tmp_path / "src")
    plan_file, state = tmp_path / "plan.json", tmp_path / "state"
    with served("hubspot", seed=SEED) as (_, url):
        runner.invoke(app, ["plan", str(PROFILE), "--source", str(source), "--base-url", url,
                            "--format", "json", "--out", str(plan_file), "--state-dir", str(state)], env=ENV)
        httpx.patch(f"{url}/crm/v3/objects/companies/501", headers=HEADERS, timeout=30,
                    json={"properties": {"name": "Typed by hand"}})
        pushed = runner.invoke(app, ["push", "--plan", str(plan_file), "--base-url", url,
                                     "--state-dir", str(state)], env=ENV)
    assert pushed.exit_code == 1
    assert "the plan is stale" in pushed.output and "make a new plan" in pushed.output

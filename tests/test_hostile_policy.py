"""Policy-level source fields (covered lives, the carrier, the Form 5500 signer) mapped by a profile are
warned about in every plan (table, JSON, HTML) and every push summary (table, JSON), located at the
mapping, as `validate` warns: never sent silently."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import credentials_file, records, served

ROOT = Path(__file__).resolve().parent.parent
PROFILE = """\
name: policy
connector: hubspot
streams:
  employer:
    object: companies
    identity: {key: domain, source: {domain: $.website}}
    fields:
      name: $.name
      numberofemployees: $.covered_lives
      description: {template: "insured by {{ carrier }}"}
"""
WARNED = [("9:26", "numberofemployees", "covered lives is policy-level data"),
          ("10:20", "description", "the carrier is policy-level data")]


def setup(tmp_path: Path) -> tuple[Path, Path]:
    profile = tmp_path / "policy.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    source = tmp_path / "source"
    source.mkdir()
    lines = (ROOT / "examples" / "data" / "employer.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    (source / "employer.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return profile, source


def assert_warned(text: str, profile: Path) -> None:
    for where, field, reason in WARNED:
        assert f"{profile}:{where}: employer.{field}: maps source field" in text, text
        assert reason in text


def test_every_plan_warns_of_policy_fields_in_each_format(tmp_path: Path) -> None:
    profile, source = setup(tmp_path)
    runner = CliRunner()
    for _ in range(2):  # every run, not only the first
        table = runner.invoke(app, ["plan", str(profile), "--source", str(source)], env={"COLUMNS": "250"})
        assert table.exit_code == 0, table.output
        assert_warned(table.output.replace("warning ", ""), profile)
    plan = json.loads(runner.invoke(app, ["plan", str(profile), "--source", str(source), "--format",
                                          "json"]).output)
    assert [(w["where"], w["field"], w["code"]) for w in plan["warnings"]] == [
        (f"{profile}:{where}", field, "unsafe_source") for where, field, _ in WARNED]
    html = tmp_path / "plan.html"
    runner.invoke(app, ["plan", str(profile), "--source", str(source), "--format", "html",
                        "--out", str(html)])
    assert_warned(html.read_text(encoding="utf-8").replace("warning ", ""), profile)


def test_every_push_summary_warns_of_policy_fields(tmp_path: Path) -> None:
    profile, source = setup(tmp_path)
    credentials = credentials_file("hubspot", tmp_path)
    with served("hubspot") as (_, url):
        base = ["push", str(profile), "--source", str(source), "--base-url", url, "--state-dir",
                str(tmp_path / "state"), "--credentials", str(credentials)]
        first = CliRunner().invoke(app, base, env={"COLUMNS": "250"})
        assert first.exit_code == 0, first.output
        assert "2 created" in first.output
        assert_warned(first.output.replace("warning ", ""), profile)
        again = CliRunner().invoke(app, [*base, "--format", "json"])
        assert again.exit_code == 0, again.output
        summary = json.loads(again.output)
        assert summary["summary"]["unchanged"] == 2
        assert [(w["where"], w["field"]) for w in summary["warnings"]] == [
            (f"{profile}:{where}", field) for where, field, _ in WARNED]
        assert len(records(url)["companies"]) == 2

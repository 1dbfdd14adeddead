"""The plan a person reads: the table output and the self-contained HTML report."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import copy_source, rewrite

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "profiles" / "hubspot-benefitflow.yaml"
runner = CliRunner()


def test_the_html_report_shows_every_status_tab_and_escapes_what_the_source_says(examples: Path,
                                                                                  tmp_path: Path) -> None:
    source = copy_source(examples, tmp_path / "src")
    rewrite(source / "employer.jsonl", "emp-001", name="<script>alert('x')</script> & Co")
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["plan", str(PROFILE), "--source", str(source), "--format", "html",
                                 "--out", str(out)])
    assert result.exit_code == 1  # the example data has invalid records
    page = out.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co" in page
    tabs = dict(re.findall(r'<a class="tab" href="#(\w+)">[^<]+<b>(\d+)</b>', page))
    assert tabs == {"net_new": "50", "update": "0", "synced": "0", "invalid": "2", "skipped": "3",
                    "restricted": "0", "ambiguous": "0"}
    assert "not a value of this restricted picklist" in page  # emp-008's problem, in words
    assert page.count("<details>") == 12  # every request, each with its body
    assert "sandbox-token" not in page and "Bearer" not in page


def test_html_needs_an_out_file(examples: Path) -> None:
    result = runner.invoke(app, ["plan", str(PROFILE), "--source", str(examples), "--format", "html"])
    assert result.exit_code == 2 and "--format html needs --out FILE" in result.stderr


def test_the_table_shows_old_and_new_values_and_the_cost(examples: Path) -> None:
    result = runner.invoke(app, ["plan", str(PROFILE), "--source", str(examples)], env={"COLUMNS": "200"})
    assert "Net New: 50  Updates: 0  Synced: 0  Invalid: 2  Skipped: 3" in result.stdout
    assert "Requests: 12 (5 lookups, 5 writes, 2 associations)" in result.stdout
    assert "name: — → Bluebird Bakery Co." in result.stdout


def test_json_plan_redacts_authorization(examples: Path) -> None:
    result = runner.invoke(app, ["plan", str(PROFILE), "--source", str(examples), "--format", "json"],
                           env={"CRMSYNC_ACCESS_TOKEN": "pat-na1-secret"})
    plan = json.loads(result.stdout)
    assert {r["headers"]["Authorization"] for r in plan["requests"]} == {"<redacted>"}
    assert "pat-na1-secret" not in result.stdout

"""A change held back by `overwrite: false` is shown as kept, in the plan's JSON, table and HTML (issue 9,
point 12): a `synced` record that differs from the source says why."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import PROFILES, copy_source, credentials_file, push, rewrite, served
from tests.reportkit import shown_records

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "data"


def test_a_change_overwrite_holds_back_is_shown_as_kept(tmp_path: Path) -> None:
    source = copy_source(EXAMPLES, tmp_path / "data")
    state = tmp_path / "state"
    with served("hubspot") as (_, url):
        push("hubspot", source, url, state)
        rewrite(source / "employer.jsonl", "emp-001", phone="(415) 555-0999")  # phone: overwrite off
        common = ["plan", str(PROFILES["hubspot"]), "--source", str(source), "--base-url", url,
                  "--state-dir", str(state), "--credentials",
                  str(credentials_file("hubspot", tmp_path / "creds"))]
        as_json = CliRunner().invoke(app, [*common, "--format", "json"])
        table = CliRunner().invoke(app, common, env={"COLUMNS": "250"})
        html = CliRunner().invoke(app, [*common, "--format", "html", "--out", str(tmp_path / "plan.html")])
    assert html.exit_code == as_json.exit_code == table.exit_code
    [record] = [r for r in json.loads(as_json.stdout)["records"]
                if r["stream"] == "employer" and r["source_id"] == "emp-001"]
    assert record["status"] == "synced" and record["changes"] == []
    assert record["kept"] == [{"field": "phone", "current": "+14155550100", "new": "+14155550999"}]
    assert "kept (overwrite off) phone: +14155550100, not +14155550999" in table.stdout
    page = (tmp_path / "plan.html").read_text(encoding="utf-8")
    assert shown_records(page)["employer/emp-001"].kept == {"phone": ("+14155550100", "+14155550999")}
    untouched = [r for r in json.loads(as_json.stdout)["records"] if r["source_id"] == "emp-002"]
    assert untouched[0]["kept"] == []  # nothing differs: nothing kept

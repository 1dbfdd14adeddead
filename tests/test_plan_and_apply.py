"""Plan, then apply: `crmsync push --plan PLAN.json` sends exactly the saved plan; a record the CRM
changed since (a record it would create now exists, a field it would fill is now filled) is re-planned,
reported and not written blind. And the push's progress: a bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from engine.cli import app
from engine.pushrun import PushRequest, run_push
from tests.pushkit import copy_source, records, served
from tests.statekit import using

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "profiles" / "hubspot-benefitflow.yaml"
runner = CliRunner()


def plan_to_file(source: Path, url: str, out: Path, state: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["plan", str(PROFILE), "--source", str(source), "--base-url", url,
                                 "--format", "json", "--out", str(out), "--state-dir", str(state)],
                           env={"CRMSYNC_ACCESS_TOKEN": "sandbox-token"})
    assert result.exit_code in (0, 1), result.output  # 1: the example data has invalid records
    return json.loads(out.read_text(encoding="utf-8"))


def push_plan(plan: Path, url: str, state: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["push", "--plan", str(plan), "--base-url", url, "--format", "json",
                                 "--state-dir", str(state)], env={"CRMSYNC_ACCESS_TOKEN": "sandbox-token"})
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_push_plan_sends_exactly_the_saved_plan(examples: Path, tmp_path: Path) -> None:
    source = copy_source(examples, tmp_path / "src")
    with served("hubspot") as (_, url):
        saved = plan_to_file(source, url, tmp_path / "plan.json", tmp_path / "state")
        planned = {(r["stream"], r["source_id"]) for r in saved["records"] if r["status"] == "net_new"}
        # the source grows after the plan was made: the new record is not in the plan, so it is not sent
        with (source / "employer.jsonl").open("a", encoding="utf-8") as handle:
            late = {"id": "emp-999", "name": "Late Arrival Inc", "website": "late-example.com"}
            handle.write(json.dumps(late) + "\n")
        pushed = push_plan(tmp_path / "plan.json", url, tmp_path / "state")
        created = {(r["stream"], r["source_id"]) for r in pushed["records"] if r["action"] == "insert"
                   and r["result"] == "success"}
        assert created == planned
        late = next(r for r in pushed["records"] if r["source_id"] == "emp-999")
        assert late["result"] == "skipped" and late["action"] is None
        ids = [c["properties"].get("benefitflow_id") for c in records(url)["companies"]]
        assert "emp-999" not in ids and len(ids) == len([p for p in planned if p[0] in
                                                         ("broker", "broker_office", "employer")])


def test_a_record_the_crm_changed_since_the_plan_is_replanned_not_written(examples: Path,
                                                                           tmp_path: Path) -> None:
    source = copy_source(examples, tmp_path / "src")
    with served("hubspot") as (_, url):
        saved = plan_to_file(source, url, tmp_path / "plan.json", tmp_path / "state")
        assert next(r for r in saved["records"] if r["source_id"] == "emp-001")["status"] == "net_new"
        # meanwhile someone creates emp-001's company by hand, in the CRM
        headers = {"Authorization": "Bearer sandbox-token"}
        created = httpx.post(f"{url}/crm/v3/objects/companies", headers=headers, timeout=30, json={
            "properties": {"name": "Bluebird Bakery (by hand)", "domain": "bluebird-bakery-example.com"}})
        assert created.status_code == 201
        pushed = push_plan(tmp_path / "plan.json", url, tmp_path / "state")
        companies = [c for c in records(url)["companies"]
                     if c["properties"].get("domain") == "bluebird-bakery-example.com"]
    emp = next(r for r in pushed["records"] if r["source_id"] == "emp-001")
    assert emp["action"] is None and emp["result"] == "skipped"
    assert "changed since the plan was made: it was net_new, now update" in emp["error"]
    assert [c["properties"]["name"] for c in companies] == ["Bluebird Bakery (by hand)"]  # not overwritten
    others = [r for r in pushed["records"] if r["stream"] == "employer" and r["source_id"] != "emp-001"
              and r["status"] == "net_new"]
    assert others and all(r["result"] == "success" for r in others)


def test_progress_is_a_bar_on_a_terminal_and_nothing_otherwise(examples: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMSYNC_ACCESS_TOKEN", "sandbox-token")
    outputs = {}
    for terminal in (False, True):
        text = io.StringIO()
        console = Console(file=text, force_terminal=terminal, width=100)
        state = tmp_path / f"state-{terminal}"
        with served("hubspot") as (_, url), using(state):  # an empty CRM, a state of its own
            run_push(PushRequest(PROFILE, examples, base_url=url, state_dir=state, progress=True), console)
        outputs[terminal] = text.getvalue()
    assert outputs[False] == ""  # a log file or a pipe: the summary at the end says it all
    assert "employer" in outputs[True] and "━" in outputs[True] and "9/9 sent" in outputs[True]

"""Dynamics 365 / Dataverse pushes against the served emulator, as a user runs them: updates of a
populated environment (UpdateMultiple answers 204 with no body), upserts by an alternate key (whose
OData-EntityId names the key, not the record's GUID), and `validate --base-url`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import PROFILES, copy_source, credentials_file, push, records, rewrite, served

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RENAMED = {"emp-001": "Bluebird Bakery Holdings", "emp-002": "Cedar Valley Freight",
           "emp-003": "Granite Peak Industries"}


def renamed_source(examples: Path, tmp_path: Path) -> Path:
    """The examples with three employers renamed (the profile may overwrite `name`)."""
    source = copy_source(examples, tmp_path / "renamed")
    for source_id, name in RENAMED.items():
        rewrite(source / "employer.jsonl", source_id, name=name)
    return source


def test_an_update_of_several_records_at_once_is_reported_updated(examples: Path, tmp_path: Path) -> None:
    """UpdateMultiple answers 204 No Content for the whole batch (all-or-nothing on standard tables):
    every record in it was updated, none is `failed: no_result`."""
    with served("dynamics") as (_, url):
        push("dynamics", examples, url, tmp_path / "state")
        second = push("dynamics", renamed_source(examples, tmp_path), url, tmp_path / "state")
        updates = [o for o in second.outcomes if o.action == "update"]
        assert sorted(o.record.source_id for o in updates) == sorted(RENAMED)
        assert [(o.result, o.error_code) for o in updates] == [("success", None)] * len(RENAMED)
        assert second.summary()["updated"] == len(RENAMED)
        assert all(o.crm_id and GUID.match(o.crm_id) for o in updates)
        names = {a.get("bf_benefitflowid"): a["name"] for a in records(url)["accounts"]}
        assert {k: names[k] for k in RENAMED} == RENAMED


def test_an_update_of_several_records_exits_0_through_the_cli(examples: Path, tmp_path: Path) -> None:
    """The CLI as a user types it: the second push, whose only writes are three updates, exits 0 save for
    the records the examples make fail on purpose, which are the only failures it lists."""
    with served("dynamics") as (_, url):
        creds = credentials_file("dynamics", tmp_path / "creds")
        common = ["--base-url", url, "--credentials", str(creds), "--state-dir", str(tmp_path / "state"),
                  "--format", "json"]
        runner = CliRunner()
        runner.invoke(app, ["push", str(PROFILES["dynamics"]), "--source", str(examples), *common])
        second = runner.invoke(app, ["push", str(PROFILES["dynamics"]), "--source",
                                     str(renamed_source(examples, tmp_path)), *common])
        result = json.loads(second.stdout)
        assert result["summary"]["updated"] == len(RENAMED)
        failed = {r["source_id"]: r["error_code"] for r in result["records"] if r["result"] == "error"}
        assert "no_result" not in failed.values()
        assert set(failed) == {"emp-008", "emp-009", "emp-010"}  # invalid on purpose, never sent

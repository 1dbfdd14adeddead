"""Dynamics 365 / Dataverse pushes against the served emulator, as a user runs them: updates of a
populated environment (UpdateMultiple answers 204 with no body), upserts by an alternate key (whose
OData-EntityId names the key, not the record's GUID), and `validate --base-url`."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.catalog import load_connector
from engine.cli import app
from engine.client import Credentials, open_client
from engine.errors import CrmsyncError
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


def upsert_profile(tmp_path: Path) -> Path:
    """The shipped profile with every stream's new records written by upsert on the alternate key
    bf_benefitflowid (PATCH accounts(bf_benefitflowid='brk-001'))."""
    text = PROFILES["dynamics"].read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(    object: (account|contact)\n)", r"\1    upsert_key: bf_benefitflowid\n", text)
    path = tmp_path / "dynamics-upsert.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_upsert_by_alternate_key_links_the_records_guid(examples: Path, tmp_path: Path) -> None:
    """Dataverse's upsert names the record by its key in OData-EntityId
    (accounts(bf_benefitflowid='brk-001')): the record's GUID is read from the representation asked
    for, so children bind to their parents and a second push finds every record by its link."""
    profile = upsert_profile(tmp_path)
    with served("dynamics") as (emulator, url):
        first = push("dynamics", examples, url, tmp_path / "state", profile)
        written = [o for o in first.outcomes if o.action == "insert"]
        assert written and all(o.result == "success" for o in written), [o.error for o in written]
        assert all(GUID.match(o.crm_id or "") for o in written)
        assert any(r["method"] == "PATCH" and "bf_benefitflowid=" in r["path"] for r in emulator.requests)
        crm = records(url)
        accounts = {a["accountid"]: a for a in crm["accounts"]}
        by_key = {a["bf_benefitflowid"]: a for a in crm["accounts"]}
        assert by_key["bo-001"]["parentaccountid"] == by_key["brk-001"]["accountid"]
        contacts = {c["bf_benefitflowid"]: c for c in crm["contacts"]}
        assert accounts[contacts["ec-001"]["parentcustomerid"]]["bf_benefitflowid"] == "emp-001"
        assert accounts[contacts["bc-001"]["parentcustomerid"]]["bf_benefitflowid"] == "bo-001"
        second = push("dynamics", examples, url, tmp_path / "state", profile)
        assert second.summary()["created"] == 0 and second.summary()["updated"] == 0
        assert not [o for o in second.outcomes if o.result == "error" and o.record.status != "invalid"]


def test_an_upsert_that_finds_its_key_taken_is_counted_updated(examples: Path, tmp_path: Path) -> None:
    """A populated environment: an account already holds emp-001's alternate key under another website,
    so the plan (by domain) calls it new; Dataverse updates it and answers 200, not 201."""
    seed = {"accounts": [{"name": "Bluebird (old)", "websiteurl": "https://old-bluebird-example.com",
                          "bf_benefitflowid": "emp-001"}]}
    with served("dynamics", seed=seed) as (_, url):
        result = push("dynamics", examples, url, tmp_path / "state", upsert_profile(tmp_path))
        [bluebird] = [o for o in result.outcomes if o.record.source_id == "emp-001"]
        assert (bluebird.action, bluebird.result) == ("update", "success")
        [account] = [a for a in records(url)["accounts"] if a.get("bf_benefitflowid") == "emp-001"]
        assert bluebird.crm_id == account["accountid"] and account["name"] == "Bluebird Bakery Co."


def test_validate_against_the_environment_reads_its_metadata(tmp_path: Path) -> None:
    """`validate --base-url` signs in as a push does (Entra's token URL is made of the connection settings
    login_url and tenant) and reads the live table definitions, instead of a TemplateContextError."""
    with served("dynamics") as (emulator, url):
        creds = credentials_file("dynamics", tmp_path / "creds")
        result = CliRunner().invoke(app, ["validate", str(PROFILES["dynamics"]), "--base-url", url,
                                          "--credentials", str(creds), "--format", "json"])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["valid"] is True
        assert any("EntityDefinitions" in r["path"] and r["status"] == 200 for r in emulator.requests)


def test_a_client_without_the_connection_settings_says_which_it_needs(tmp_path: Path) -> None:
    """A caller that forgets the settings gets a located message, not a TemplateContextError traceback."""
    async def first_request(url: str) -> None:
        creds = Credentials.read(credentials_file("dynamics", tmp_path / "creds"))
        async with open_client(load_connector("dynamics").model, url, creds) as client:
            await client.send("GET", f"{url}/WhoAmI")

    with served("dynamics") as (_, url), pytest.raises(CrmsyncError, match="login_url"):
        asyncio.run(first_request(url))

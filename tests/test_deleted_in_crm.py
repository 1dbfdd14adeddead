"""A record deleted in the CRM behind its link (someone removed it, or the sandbox was reset): the push
says so (`deleted_in_crm`, counted apart), creates nothing blind, and re-creates it only when asked
(`--recreate-deleted`, counted as `recreated`, not `created`). `crmsync push` as a user types it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests.crms import CRMS
from tests.pushkit import COMPANIES, PEOPLE, PROFILES, credentials_file, expected_objects, records, served
from tests.statekit import rows, store_at


def cli_push(crm: str, source: Path, url: str, state: Path, creds: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["push", str(PROFILES[crm]), "--source", str(source), "--base-url", url,
                                      "--state-dir", str(state), "--credentials", str(creds),
                                      "--format", "json", *extra])
    assert result.exit_code in (0, 1), result.output
    report: dict[str, Any] = json.loads(result.stdout)
    report["exit_code"] = result.exit_code
    return report


def written(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in report["records"] if r["result"] == "success" and r["action"] == "insert"]


def reset(url: str) -> None:
    httpx.post(httpx.URL(url).copy_with(path="/_sandbox/reset"), timeout=30).raise_for_status()


def in_crm(crm: str, url: str) -> Counter[str]:
    crm_records = records(url)
    return Counter({kind: len(crm_records[name]) for kind, name in
                    (("companies", COMPANIES[crm]), ("people", PEOPLE[crm]))})


@pytest.mark.parametrize("crm", CRMS)
def test_records_deleted_in_the_crm_are_said_so_and_recreated_only_when_asked(
        crm: str, examples: Path, tmp_path: Path) -> None:
    state, creds = tmp_path / "state", credentials_file(crm, tmp_path / "creds")
    with served(crm) as (_, url):
        first = cli_push(crm, examples, url, state, creds)
        created = {r["source_id"] for r in written(first)}
        assert created
        before = in_crm(crm, url)
        reset(url)  # every record the first push created is gone; their links remain

        told = cli_push(crm, examples, url, state, creds)
        deleted = [r for r in told["records"] if r["error_code"] == "deleted_in_crm"]
        assert {r["source_id"] for r in deleted} == created
        assert all("deleted in the CRM" in r["error"] and "--recreate-deleted" in r["error"] for r in deleted)
        assert told["summary"]["deleted_in_crm"] == len(created) and told["exit_code"] == 1
        assert told["summary"]["created"] == told["summary"]["recreated"] == 0
        assert sum(in_crm(crm, url).values()) == 0  # nothing created without being asked

        recreated = cli_push(crm, examples, url, state, creds, "--recreate-deleted")
        assert recreated["summary"]["recreated"] == len(created)
        assert recreated["summary"]["created"] == 0 and recreated["summary"]["deleted_in_crm"] == 0
        assert {r["source_id"] for r in written(recreated)} == created
        assert all(r["recreated"] for r in written(recreated))
        assert in_crm(crm, url) == before  # each once, as the first push left them

        settled = cli_push(crm, examples, url, state, creds)
        assert settled["summary"]["unchanged"] == len(created)
        assert settled["summary"]["failed"] == first["summary"]["failed"]  # the invalid ones, as before
    expected = expected_objects(crm, examples)
    assert sum(before.values()) == sum(expected.values())


def test_a_contact_someone_deleted_in_a_populated_portal_is_said_so(examples: Path, tmp_path: Path) -> None:
    """Two contacts deleted through HubSpot's API between two pushes: those two are reported deleted in
    the CRM; everything else is as it was."""
    state, creds = tmp_path / "state", credentials_file("hubspot", tmp_path / "creds")
    with served("hubspot") as (_, url):
        cli_push("hubspot", examples, url, state, creds)
        contacts = records(url)["contacts"][:2]
        for contact in contacts:
            httpx.delete(f"{url}/crm/v3/objects/contacts/{contact['id']}",
                         headers={"Authorization": "Bearer sandbox-token"}, timeout=30).raise_for_status()
        gone = {c["properties"]["benefitflow_id"] for c in contacts}
        report = cli_push("hubspot", examples, url, state, creds)
        deleted = {r["source_id"] for r in report["records"] if r["error_code"] == "deleted_in_crm"}
        assert deleted == gone and report["summary"]["deleted_in_crm"] == 2
        assert report["summary"]["created"] == 0


def stale_links(state: Path) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in rows(state, "SELECT * FROM links")]


def restore_links(state: Path, links: list[tuple[Any, ...]]) -> None:
    store = store_at(state)
    try:
        with store.transaction():
            store.db.execute("DELETE FROM links")
            store.db.executemany(f"INSERT INTO links VALUES ({', '.join('?' * len(links[0]))})", links)
    finally:
        store.close()


@pytest.mark.parametrize("crm", CRMS)
def test_a_record_the_crm_holds_again_is_linked_to_it_not_failed_nor_made_twice(
        crm: str, examples: Path, tmp_path: Path) -> None:
    """A --recreate-deleted run cut off after the CRM made the records, before it linked them (found by
    a push killed through a closed pipe): the links still name the deleted records. The next push finds
    the records by identity and links them, instead of failing them as deleted on every push (and, with
    the flag, refusing to make them twice)."""
    state, creds = tmp_path / "state", credentials_file(crm, tmp_path / "creds")
    with served(crm) as (_, url):
        refused = cli_push(crm, examples, url, state, creds)["summary"]["failed"]  # the examples' bad ones
        old_links = stale_links(state)
        reset(url)
        cli_push(crm, examples, url, state, creds, "--recreate-deleted")
        held = in_crm(crm, url)
        restore_links(state, old_links)  # as if the run had died before its links were written

        for flag in ((), ("--recreate-deleted",)):
            again = cli_push(crm, examples, url, state, creds, *flag)
            assert again["summary"]["deleted_in_crm"] == 0 and again["summary"]["recreated"] == 0
            assert again["summary"]["failed"] == refused  # the examples' invalid records, nothing else
            assert in_crm(crm, url) == held  # nothing made twice
        relinked = [r for r in cli_push(crm, examples, url, state, creds)["records"] if r["warnings"]]
        assert not any("found by identity" in w for r in relinked for w in r["warnings"])
        final = cli_push(crm, examples, url, state, creds)
        assert final["summary"]["unchanged"] == sum(held.values()) and final["summary"]["failed"] == refused

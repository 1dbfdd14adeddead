"""A first sync into a populated HubSpot portal: contacts and companies that are there already, not
associated, are associated once (the plan reads which associations exist), and a later push sends no
association again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import PROFILES, associated, credentials_file, push, records, served


def populated_portal(examples: Path, tmp_path: Path) -> tuple[dict[str, list[dict[str, Any]]], set[Any]]:
    """The companies and contacts a push of the examples makes (no association between them), and the
    associations that push made."""
    with served("hubspot") as (_, url):
        push("hubspot", examples, url, tmp_path / "first-state")
        crm = records(url)
        made = associated(url)
    seed = {kind: [{"id": r["id"], "properties": r["properties"]} for r in crm[kind] if not r["archived"]]
            for kind in ("companies", "contacts")}
    return seed, made


def association_writes(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in requests if r["path"].startswith("/crm/v4/associations/")
            and r["path"].endswith("/batch/create")]


def test_existing_contacts_are_associated_with_existing_companies_once(examples: Path,
                                                                       tmp_path: Path) -> None:
    seed, made = populated_portal(examples, tmp_path)
    assert made and ("ec-001", "emp-001", 279) in made and ("bo-001", "brk-001", 14) in made
    with served("hubspot", seed=seed) as (emulator, url):
        first = push("hubspot", examples, url, tmp_path / "state")
        after_first = associated(url)
        sent_first = len(association_writes(emulator.requests))
        second = push("hubspot", examples, url, tmp_path / "state")
        sent_second = len(association_writes(emulator.requests)) - sent_first
        reads = [r for r in emulator.requests if r["path"].endswith("/batch/read")
                 and r["path"].startswith("/crm/v4/associations/")]
    assert first.summary()["created"] == 0  # everything was there
    assert after_first == made
    assert first.associations == {"created": len(made), "failed": 0} and sent_first > 0
    jane = next(o for o in first.outcomes if o.record.source_id == "ec-001")
    assert "associated with employer/emp-001 (company) after both exist" in jane.record.notes
    assert second.associations == {"created": 0, "failed": 0} and sent_second == 0
    assert reads and all(r["status"] < 300 for r in reads)


def test_the_dry_run_against_a_populated_portal_shows_the_associations_to_make(
        examples: Path, tmp_path: Path) -> None:
    seed, _ = populated_portal(examples, tmp_path)
    creds = credentials_file("hubspot", tmp_path / "creds")
    with served("hubspot", seed=seed) as (emulator, url):
        shown = CliRunner().invoke(app, ["plan", str(PROFILES["hubspot"]), "--source", str(examples),
                                         "--base-url", url, "--format", "json", "--credentials", str(creds),
                                         "--state-dir", str(tmp_path / "state")])
        writes = association_writes(emulator.requests)
    plan = json.loads(shown.output)
    jane = next(r for r in plan["records"] if r["source_id"] == "ec-001")
    assert jane["status"] in ("synced", "update") and jane["associate"] == ["company"]
    assert writes == []  # a dry-run reads, never writes
    assert any("/crm/v4/associations/contacts/companies/batch/read" in r["url"] for r in plan["requests"])
    assert any("/crm/v4/associations/contacts/companies/batch/create" in r["url"] for r in plan["requests"])

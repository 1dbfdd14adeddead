"""Associations (HubSpot) are requests of their own, made after both records exist. One that a run
meant to make and did not (its answer an error, its parent refused, the run killed between the
create and the association) is made by a later run, once both ends exist; one made is never sent
again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.sandbox.common import running
from engine.sandbox.hubspot import HubSpotSandbox
from tests.pushkit import associated, copy_source, push, rewrite
from tests.statekit import store_at


class RefusesAssociations(HubSpotSandbox):
    """Answers every association write with HubSpot's 400 while `refusing`, and counts them (reads of
    which associations exist are answered)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.refusing = True
        self.association_requests = 0

    def app(self) -> ASGIApp:
        inner = super().app()

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope["path"] if scope["type"] == "http" else ""
            if "/crm/v4/associations/" in path and not path.endswith("/batch/read"):  # writes only
                self.association_requests += 1
                if self.refusing:
                    body = {"status": "error", "message": "injected", "category": "VALIDATION_ERROR"}
                    await JSONResponse(body, status_code=400)(scope, receive, send)
                    return
            await inner(scope, receive, send)

        return app


def test_associations_refused_once_are_made_by_the_next_run_and_then_never_sent_again(
        examples: Path, tmp_path: Path) -> None:
    emulator = RefusesAssociations()
    with running(emulator) as url:
        first = push("hubspot", examples, url, tmp_path / "state")
        assert first.summary()["created"] > 0 and first.associations["created"] == 0
        assert associated(url) == set()
        emulator.refusing = False
        second = push("hubspot", examples, url, tmp_path / "state")
        made = associated(url)
        sent = emulator.association_requests
        third = push("hubspot", examples, url, tmp_path / "state")
    assert second.summary()["created"] == 0 and second.associations["failed"] == 0
    assert {("ec-001", "emp-001", 279), ("bc-001", "bo-001", 279), ("bo-001", "brk-001", 14)} <= made
    assert second.associations["created"] == len(made)
    assert third.associations == {"created": 0, "failed": 0} and emulator.association_requests == sent
    # each association tried is a row of the activity log; a refused one is a warning on its record
    jane = next(o for o in first.outcomes if o.record.source_id == "ec-001")
    assert any(w.startswith("not associated with ") and w.endswith(
        "(company): VALIDATION_ERROR: injected; the next push tries again") for w in jane.warnings)
    store = store_at(tmp_path / "state")
    try:
        tried = {run.run_id: store.activity(run_id=run.run_id, action="associate") for run in (first, second)}
    finally:
        store.close()
    assert {(r["result"], r["error_code"], r["error"]) for r in tried[first.run_id]} == {
        ("error", "VALIDATION_ERROR", "injected")}
    assert len(tried[first.run_id]) == first.associations["failed"] == len(made)
    assert len(tried[second.run_id]) == len(made)
    assert {r["result"] for r in tried[second.run_id]} == {"success"}
    row = next(r for r in tried[second.run_id] if r["source_id"] == "ec-001")
    assert row["stream"] == "employer_contact" and row["object"] == "contacts" and row["record_url"]


def test_a_contact_whose_company_was_refused_is_associated_once_the_company_exists(
        examples: Path, tmp_path: Path) -> None:
    """emp-008 is refused (a funding type outside the restricted picklist): its contact ec-012 is created
    unassociated. Once the source is fixed, the next run creates the company and associates them."""
    source = copy_source(examples, tmp_path / "src")
    with running(HubSpotSandbox()) as url:
        first = push("hubspot", source, url, tmp_path / "state")
        assert not [edge for edge in associated(url) if edge[0] == "ec-012"]
        assert next(o for o in first.outcomes if o.record.source_id == "emp-008").result == "error"
        rewrite(source / "employer.jsonl", "emp-008", funding_type="Self-Funded")
        second = push("hubspot", source, url, tmp_path / "state")
        edges = associated(url)
    assert ("ec-012", "emp-008", 279) in edges
    contact = next(o for o in second.outcomes if o.record.source_id == "ec-012")
    assert contact.result == "unchanged"
    assert "associated with employer/emp-008 (company) after both exist" in contact.record.notes


def test_push_plan_makes_the_due_associations_the_saved_plan_shows_and_no_others(
        examples: Path, tmp_path: Path) -> None:
    from tests.test_plan_and_apply import plan_to_file, push_plan

    emulator = RefusesAssociations()
    with running(emulator) as url:
        push("hubspot", examples, url, tmp_path / "state")
        emulator.refusing = False
        # a plan lists the associations still to make, and applying it makes them
        saved = plan_to_file(examples, url, tmp_path / "plan.json", tmp_path / "state")
        listed = next(r for r in saved["records"] if r["source_id"] == "ec-001")
        assert listed["status"] == "synced" and listed["associate"] == ["company"]
        push_plan(tmp_path / "plan.json", url, tmp_path / "state")
        assert ("ec-001", "emp-001", 279) in associated(url)
        sent = emulator.association_requests
        # one made then, even without the state dir, reads that the CRM has them all: it lists none
        blind = plan_to_file(examples, url, tmp_path / "blind.json", tmp_path / "other-state")
        assert not [r for r in blind["records"] if r["associate"]]
        push_plan(tmp_path / "blind.json", url, tmp_path / "state")
        assert emulator.association_requests == sent


def test_the_push_summary_counts_the_associations(examples: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from engine.cli import app
    from tests.pushkit import PROFILES, credentials_file

    creds = credentials_file("hubspot", tmp_path / "creds")
    with running(HubSpotSandbox()) as url:
        shown = CliRunner().invoke(app, ["push", str(PROFILES["hubspot"]), "--source", str(examples),
                                         "--base-url", url, "--state-dir", str(tmp_path / "state"),
                                         "--credentials", str(creds)], env={"COLUMNS": "200"})
        made = associated(url)
    assert shown.exit_code == 1, shown.output  # the examples hold invalid records
    summary = next(line for line in shown.output.splitlines() if line.startswith("Run "))
    assert "50 created, 0 updated, 0 unchanged, 3 skipped, 2 failed;" in summary
    assert f"; {len(made)} associations made (" in summary and "failed (" not in summary
    assert "See every operation with: crmsync log --run " in shown.output

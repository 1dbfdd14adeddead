"""A HubSpot record the CRM created although it answered an error for it (a property of the wrong
type) is found by identity before it is reported failed: linked, never orphaned, never created twice,
and the next push updates it instead of creating another."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.responses import JSONResponse, Response

from engine.sandbox.common import running
from engine.sandbox.hubspot import HubSpotSandbox
from engine.sandbox.hubspot_records import Prepared, batch_body, now_iso
from tests.pushkit import PROFILES, copy_source, push, records, rewrite
from tests.statekit import store_at


class KeepsRefusedCreates(HubSpotSandbox):
    """A portal that creates a multi-status batch's refused inputs anyway, without the properties it
    refused, while its answer reports them in errors only (the answer a hostile corpus met);
    `echo`: the refused ones in results too."""

    def __init__(self, echo: bool = False, **options: Any) -> None:
        super().__init__(**options)
        self.echo = echo

    def batch_create(self, object_type: str, body: Any) -> Response:
        started = now_iso()
        schema = "SimplePublicObjectBatchInputForCreate"
        prepared = [self.prepare_create(object_type, item, {}, schema) for item in body["inputs"]]
        results, errors = [], []
        for item in prepared:
            made = item
            if item.problems:
                errors.append(self._trace_error(item))
                refused = {p["name"] for p in item.problems}
                made = Prepared({k: v for k, v in item.props.items() if k not in refused})
            record = self.public(object_type, self.commit_create(object_type, made), everything=True)
            if self.echo or not item.problems:
                results.append(record)
        return JSONResponse(batch_body(results, started, errors), status_code=207 if errors else 201)


@pytest.mark.parametrize("echo", [False, True], ids=["errors-only", "in-results-too"])
def test_a_record_created_despite_its_error_is_linked_by_identity(echo: bool, examples: Path,
                                                                  tmp_path: Path) -> None:
    source = copy_source(examples, tmp_path / "src")
    rewrite(source / "employer.jsonl", "emp-001", employee_count="many")  # checked as text by the profile
    profile = tmp_path / "profile.yaml"
    text = PROFILES["hubspot"].read_text(encoding="utf-8")
    profile.write_text(text.replace("numberofemployees: {source: $.employee_count, transform: integer}",
                                    "numberofemployees: $.employee_count")
                       .replace("  companies:\n    benefitflow_id:",
                                "  companies:\n    numberofemployees: {type: string}\n    benefitflow_id:"),
                       encoding="utf-8")
    with running(KeepsRefusedCreates(echo)) as url:
        first = push("hubspot", source, url, tmp_path / "state", profile=profile)
        second = push("hubspot", source, url, tmp_path / "state", profile=profile)
        crm = [r for r in records(url)["companies"] if r["properties"].get("benefitflow_id") == "emp-001"]
    bakery = next(o for o in first.outcomes if o.record.source_id == "emp-001")
    assert len(crm) == 1  # created once
    assert bakery.result == "error" and bakery.crm_id == crm[0]["id"]
    assert any("although it answered an error" in w for w in bakery.warnings)
    store = store_at(tmp_path / "state")
    try:
        link = store.links("hubspot-benefitflow")[("employer", "emp-001")]
    finally:
        store.close()
    assert link.crm_id == crm[0]["id"]
    again = next(o for o in second.outcomes if o.record.source_id == "emp-001")
    assert again.record.status == "update" and again.record.crm_id == crm[0]["id"]  # not created again


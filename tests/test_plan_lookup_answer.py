"""A look-up answer that does not carry a field the profile writes (issue 9, point 4): absent is
unknown, not empty, so a field a person typed in the CRM is not overwritten against `overwrite: false`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import push, records, served

ROOT = Path(__file__).resolve().parent.parent
SEED = {"companies": [{"id": "501", "properties": {"name": "Bluebird Bakery Co.",
                                                  "domain": "bluebird-bakery-example.com",
                                                  "phone": "+14155559999", "city": "Oakland"}}]}


def narrow_lookup_profile(tmp_path: Path, *, declared: bool = False) -> Path:
    """The shipped HubSpot profile on a copy of the connector whose company look-up asks for three
    properties, whatever the profile writes: its answers carry a subset of the mapped fields."""
    spec = (ROOT / "connectors" / "hubspot.yaml").read_text(encoding="utf-8")
    search = "      properties: $fields\n      limit: 200\n"
    assert spec.count(search) == 1
    spec = spec.replace(search, "      properties: [hs_object_id, domain, name]\n      limit: 200\n")
    if declared:  # the connector says so: validate warns before any push
        answer = "      fields: $.properties\n      next: $.paging.next.after\n"
        carries = "      carries: [hs_object_id, domain, name]\n"
        spec = spec.replace(answer, answer.replace("      next:", f"{carries}      next:"), 1)
    (tmp_path / "hubspot-narrow.yaml").write_text(spec, encoding="utf-8")
    profile = (ROOT / "profiles" / "hubspot-benefitflow.yaml").read_text(encoding="utf-8")
    path = tmp_path / "profile.yaml"
    path.write_text(profile.replace("connector: hubspot\n", "connector: hubspot-narrow.yaml\n", 1),
                    encoding="utf-8")
    return path


def test_a_field_absent_from_the_lookup_answer_is_not_overwritten(examples: Path, tmp_path: Path) -> None:
    profile = narrow_lookup_profile(tmp_path)
    with served("hubspot", seed=SEED) as (_, url):
        first = push("hubspot", examples, url, tmp_path / "state", profile=profile)
        again = push("hubspot", examples, url, tmp_path / "state", profile=profile)
        company = next(c for c in records(url)["companies"] if c["id"] == "501")["properties"]
    assert company["phone"] == "+14155559999" and company["city"] == "Oakland"  # what a person typed
    assert company["benefitflow_id"] == "emp-001"  # overwrite on: written
    for result in (first, again):
        emp = next(o for o in result.outcomes if o.record.source_id == "emp-001")
        assert emp.result in ("success", "unchanged"), emp
        assert {c.field for c in emp.record.changes} <= {"benefitflow_id", "name"}
        note = next(n for n in emp.record.notes if n.startswith("not in the CRM's look-up answer"))
        assert "phone" in note and "city" in note and "overwrite is off" in note


def test_validate_warns_of_each_mapped_field_the_declared_lookup_answer_lacks(tmp_path: Path) -> None:
    profile = narrow_lookup_profile(tmp_path, declared=True)
    checked = CliRunner().invoke(app, ["validate", str(profile), "--format", "json"])
    findings = json.loads(checked.stdout)["findings"]
    lacking = {(f["stream"], f["field"]) for f in findings if f["code"] == "lookup_lacks_field"}
    assert {("employer", "phone"), ("employer", "city"), ("broker", "zip")} <= lacking
    assert ("employer", "benefitflow_id") not in lacking  # overwrite on: written whatever the CRM holds
    assert checked.exit_code == 0  # a warning: the push does not write blind, it leaves these alone

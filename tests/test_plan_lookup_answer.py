"""A look-up answer that does not carry a field the profile writes (issue 9, point 4): absent is
unknown, not empty, so a field a person typed in the CRM is not overwritten against `overwrite: false`."""

from __future__ import annotations

from pathlib import Path

from tests.pushkit import push, records, served

ROOT = Path(__file__).resolve().parent.parent
SEED = {"companies": [{"id": "501", "properties": {"name": "Bluebird Bakery Co.",
                                                  "domain": "bluebird-bakery-example.com",
                                                  "phone": "+14155559999", "city": "Oakland"}}]}


def narrow_lookup_profile(tmp_path: Path) -> Path:
    """The shipped HubSpot profile on a copy of the connector whose company look-up asks for three
    properties, whatever the profile writes: its answers carry a subset of the mapped fields."""
    spec = (ROOT / "connectors" / "hubspot.yaml").read_text(encoding="utf-8")
    search = "      properties: $fields\n      limit: 200\n"
    assert spec.count(search) == 1
    spec = spec.replace(search, "      properties: [hs_object_id, domain, name]\n      limit: 200\n")
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

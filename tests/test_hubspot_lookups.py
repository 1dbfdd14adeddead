"""HubSpot look-ups as HubSpot's published OpenAPI asks for them, against a populated portal."""

from __future__ import annotations

from pathlib import Path

from tests.pushkit import push, served

JANE = {"id": "501", "properties": {"email": "jane.doe@bluebird-bakery-example.com", "firstname": "Jane"}}


def test_a_contact_already_in_the_portal_is_found_by_its_email(examples: Path, tmp_path: Path) -> None:
    """The contacts batch/read sends `propertiesWithHistory`, which BatchReadInputSimplePublicObjectId
    requires: without it the portal refuses every contact look-up."""
    with served("hubspot", seed={"contacts": [JANE]}) as (emulator, url):
        result = push("hubspot", examples, url, tmp_path / "state")
        reads = [r for r in emulator.requests if r["path"].endswith("/contacts/batch/read")]
    jane = next(o for o in result.outcomes if o.record.source_id == "ec-001")
    assert reads and all(r["status"] < 300 for r in reads)
    assert jane.crm_id == "501" and jane.action == "update" and jane.result == "success"

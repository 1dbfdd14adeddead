"""HubSpot's answers read as HubSpot means them: a 207 whose errors name a record is that record's
failure, even when it is the only record of its batch."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.pushkit import CREDENTIALS, push, records, served


def archive(url: str, object_name: str, crm_id: str) -> None:
    headers = {"Authorization": f"Bearer {CREDENTIALS['hubspot']['access_token']}"}
    answer = httpx.delete(f"{url}/crm/v3/objects/{object_name}/{crm_id}", headers=headers, timeout=30)
    assert answer.status_code == 204


def test_an_update_of_a_record_deleted_in_the_crm_alone_in_its_batch_is_a_failure(
        examples: Path, tmp_path: Path) -> None:
    with served("hubspot") as (_, url):
        first = push("hubspot", examples, url, tmp_path / "state")
        jane = next(o for o in first.outcomes if o.record.source_id == "ec-001")
        archive(url, "contacts", jane.crm_id)  # type: ignore[arg-type]
        second = push("hubspot", examples, url, tmp_path / "state")
        left = [r for r in records(url)["contacts"] if r["id"] == jane.crm_id and not r["archived"]]
    again = next(o for o in second.outcomes if o.record.source_id == "ec-001")
    updates = [o for o in second.outcomes if o.action == "update"]
    assert updates == [again]  # alone in its batch
    assert left == []
    assert again.result == "error" and again.error_code == "OBJECT_NOT_FOUND"
    assert "deleted" in (again.error or "")
    assert second.summary()["updated"] == 0 and second.summary()["failed"] >= 1

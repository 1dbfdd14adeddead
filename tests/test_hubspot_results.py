"""HubSpot's answers read as HubSpot means them: a 207 whose errors name a record is that record's
failure, even when it is the only record of its batch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from starlette.responses import JSONResponse
from starlette.routing import Route

from engine.sandbox.common import running
from engine.sandbox.hubspot import HubSpotSandbox
from tests.pushkit import CREDENTIALS, push, records, served


class KeepsItsRulesToItself(HubSpotSandbox):
    """A portal whose property-validations list is empty (a token without the schema scope, say): the
    plan cannot know the URL rule, so the portal's own 207 is what refuses the bad input."""

    def _property_routes(self) -> list[Any]:
        routes = super()._property_routes()
        empty = Route("/crm/v3/property-validations/{object_type}",
                      lambda request: JSONResponse({"results": []}), methods=["GET"])
        return [empty if getattr(r, "path", "").startswith("/crm/v3/property-validations") else r
                for r in routes]


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
    # the 207's OBJECT_NOT_FOUND, read as a record deleted behind its link (point 21 of the same issue)
    assert again.result == "error" and again.error_code == "deleted_in_crm"
    assert "deleted" in (again.error or "")
    assert second.summary()["updated"] == 0 and second.summary()["failed"] >= 1


def test_an_error_about_one_record_is_not_read_as_another_whose_ref_starts_alike(tmp_path: Path) -> None:
    """HubSpot's 207 names the refused input by its objectWriteTraceId (employer/e10): employer/e1,
    created in the same batch, is created, not failed."""
    source = tmp_path / "src"
    source.mkdir()
    lines = [{"id": "e1", "name": "One", "website": "one.example", "profile": "https://bf.example/e1"},
             {"id": "e10", "name": "Ten", "website": "ten.example", "profile": "not a url"}]
    (source / "employer.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    with running(KeepsItsRulesToItself()) as url:
        result = push("hubspot", source, url, tmp_path / "state", profile=profile)
        made = {r["properties"].get("benefitflow_id") for r in records(url)["companies"]}
    by_id = {o.record.source_id: o for o in result.outcomes}
    assert made == {"e1"}
    assert by_id["e1"].result == "success" and by_id["e1"].crm_id
    assert by_id["e10"].result == "error" and "not a valid URL" in (by_id["e10"].error or "")


PROFILE = """
name: prefixes
connector: hubspot
custom_fields:
  companies:
    benefitflow_id: {type: string, unique: true}
    benefitflow_profile_url: {type: string}
streams:
  employer:
    object: companies
    identity: {key: domain, source: {domain: $.website}}
    fields:
      name: $.name
      benefitflow_id: $.id
      benefitflow_profile_url: $.profile
"""

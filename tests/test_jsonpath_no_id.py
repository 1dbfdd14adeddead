"""A create the CRM answers as done, but whose result has nothing at the connector's id path: reported
(what path, what shape of answer, no value of it) and reconciled: the record is looked up by its
identity after the batch and linked, not counted failed, so the next push creates nothing twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from engine.cli import app
from engine.push import answer_shape
from engine.sandbox.common import running
from tests.madeup_limits import TinyLimits, write_files


def push(profile: Path, url: str, state: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["push", str(profile), "--source", str(profile.parent / "source"),
                                      "--base-url", url, "--state-dir", str(state), "--format", "json"],
                                env={"CRMSYNC_ACCESS_TOKEN": "tiny-secret-key"})
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def test_a_create_answered_without_an_id_is_found_by_identity_and_linked(tmp_path: Path) -> None:
    profile = write_files(tmp_path, "", companies=6, batch=3)
    crm = TinyLimits(create_ids=False)
    with running(crm) as url:  # type: ignore[arg-type]
        code, first = push(profile, url, tmp_path / "state")
        assert code == 0, first
        assert first["summary"]["created"] == 6 and first["summary"]["failed"] == 0
        warned = [w for r in first["records"] for w in r.get("warnings", [])]
        assert len(warned) == 6
        assert all("nothing at its id path '$.id'" in w and "{client_ref, status}" in w
                   and "found by its identity" in w for w in warned)
        assert not any("tiny-secret-key" in w or "Company" in w for w in warned)
        ids = {r["crm_id"] for r in first["records"]}
        assert ids == {r["id"] for r in crm.records["companies"]}
        code, second = push(profile, url, tmp_path / "state")
    assert code == 0, second
    assert second["summary"]["created"] == 0 and len(crm.records["companies"]) == 6


def test_one_not_found_by_identity_either_fails_saying_why(tmp_path: Path) -> None:
    """The CRM keeps no domain the look-up could find it by: failed, the message saying what was
    expected where; the next push looks it up again before creating."""
    profile = write_files(tmp_path, "", companies=2, batch=2)
    crm = TinyLimits(create_ids=False)
    original = crm.create

    def forgetful(obj: str, item: dict[str, Any]) -> dict[str, Any]:
        item.pop("domain", None)
        return original(obj, item)

    crm.create = forgetful  # type: ignore[method-assign]
    with running(crm) as url:  # type: ignore[arg-type]
        code, first = push(profile, url, tmp_path / "state")
    assert code == 1 and first["summary"]["failed"] == 2
    errors = [r["error"] for r in first["records"]]
    assert all("nothing at its id path '$.id'" in e and "nor is it found by its identity" in e
               for e in errors), errors


def test_the_shape_of_an_answer_names_keys_never_values() -> None:
    assert answer_shape({"code": "SUCCESS", "details": {"Created_Time": "x", "by": {"name": "Ada"}}}) == \
        "{code, details: {Created_Time, by: {name}}}"
    assert answer_shape([{"a": 1}]) == "[{a}, …]" and answer_shape("secret") == "str"

"""`crmsync validate` on the pull side: the `pull:` section's names are checked where they are written,
and `--pull` says which local fields a pull cannot fill."""

from __future__ import annotations

import json
from pathlib import Path

from tests.pushkit import PROFILES
from tests.test_pull_sandboxes import cli


def profile_with(tmp_path: Path, pull: str) -> Path:
    text = PROFILES["hubspot"].read_text(encoding="utf-8")
    text = text[:text.index("\npull:\n")] + "\n" + pull
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_pull_names_the_fields_a_pull_cannot_fill() -> None:
    result = cli("validate", PROFILES["hubspot"], "--pull", "--format", "json")
    assert result.exit_code == 0, result.output
    found = {f["stream"]: f for f in json.loads(result.stdout)["findings"] if f["code"] == "pull_cannot_fill"}
    assert set(found) == {"broker_office", "employer"}
    assert "name (a template)" in found["broker_office"]["message"]
    assert "renewal_month ($.plan_year_start)" in found["employer"]["message"]
    assert found["employer"]["where"].startswith(f"{PROFILES['hubspot']}:")
    plain = cli("validate", PROFILES["hubspot"], "--format", "json")
    assert json.loads(plain.stdout)["findings"] == []


def test_a_pull_section_s_mistakes_are_errors_where_they_are_written(tmp_path: Path) -> None:
    path = profile_with(tmp_path, "pull:\n  companies: {import_as: employer_contact, name: [nme]}\n"
                                  "  deals: {import_as: employer}\n")
    result = cli("validate", path, "--format", "json")
    assert result.exit_code == 1
    findings = {f["code"]: f for f in json.loads(result.stdout)["findings"]}
    assert findings["pull_import_as"]["where"].startswith(f"{path}:")
    assert "employer_contact" in findings["pull_import_as"]["message"]
    assert "'nme'" in findings["pull_unknown_field"]["message"]
    assert "'deals'" in findings["pull_unknown_object"]["message"]


def test_fields_declared_in_the_pull_section_come_back_on_import(tmp_path: Path) -> None:
    path = profile_with(tmp_path, "pull:\n  companies:\n    import_as: broker_office\n"
                                  "    fields: {broker_office: {$.name: name}}\n")
    result = cli("validate", path, "--pull", "--format", "json")
    codes = {(f["code"], f["stream"]) for f in json.loads(result.stdout)["findings"]}
    assert ("pull_cannot_fill", "broker_office") not in codes and ("pull_cannot_fill", "employer") in codes

"""The command line's contract (DESIGN.md): connectors, validate and schema, their formats, exit codes and
located errors on stderr, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from engine import sandbox
from engine.cli import app
from engine.sandbox.common import running

ROOT = Path(__file__).resolve().parent.parent
PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))
STREAM = "streams:\n  e:\n    object: companies\n    identity: {key: domain, source: {domain: $.website}}\n"
HUBSPOT = "name: p\nconnector: hubspot\n" + STREAM


def crmsync(*args: str) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def write(tmp_path: Path, text: str | bytes, name: str = "profile.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def assert_located_failure(result: Result, where: str, fragment: str) -> None:
    """Exit 2, the located message on stderr, nothing on stdout, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    assert result.stderr.startswith(f"{where}: "), result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


# ----- connectors --------------------------------------------------------------------------------

def test_connectors_json_lists_every_connector_file() -> None:
    result = crmsync("connectors", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == sorted(p.stem for p in (ROOT / "connectors").glob("*.yaml"))
    for row in rows:
        assert {"name", "label", "api_version", "objects"} <= set(row)
        assert row["objects"], row["name"]
        for obj in row["objects"]:
            assert {"name", "api_name", "fields", "identity_keys", "relations"} <= set(obj)
            assert obj["fields"] > 0 and obj["identity_keys"]


def test_connectors_table_names_every_connector_and_object() -> None:
    result = crmsync("connectors")
    assert result.exit_code == 0, result.output
    rows = json.loads(crmsync("connectors", "--format", "json").stdout)
    flat = " ".join(result.stdout.split())
    for row in rows:
        assert row["name"] in flat and row["api_version"] in flat
        for obj in row["objects"]:
            assert obj["name"] in flat


def test_connectors_rejects_an_unknown_format() -> None:
    result = crmsync("connectors", "--format", "xml")
    assert result.exit_code == 2 and "Traceback" not in result.output


# ----- validate ----------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", PROFILES, ids=[p.stem for p in PROFILES])
def test_validate_shipped_profile_table(profile: Path) -> None:
    result = crmsync("validate", profile)
    assert result.exit_code == 0, result.output
    assert f"{profile}: valid — 0 error(s), 0 warning(s)" in result.stdout


@pytest.mark.parametrize("profile", PROFILES, ids=[p.stem for p in PROFILES])
def test_validate_shipped_profile_json(profile: Path) -> None:
    result = crmsync("validate", profile, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report == {"profile": str(profile), "connector": report["connector"], "valid": True,
                      "findings": []}
    assert (ROOT / "connectors" / f"{report['connector']}.yaml").exists()


def test_validate_constant_outside_restricted_picklist_exits_1_naming_file_line_field(tmp_path: Path) -> None:
    fields = "    fields:\n      name: $.name\n      lifecyclestage: {value: Customer}\n"
    path = write(tmp_path, HUBSPOT + fields)
    result = crmsync("validate", path)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{path}:9:31: error e.lifecyclestage: 'Customer' is not a value of the "
                               "restricted picklist companies.lifecyclestage; did you mean 'customer'?")
    assert lines[0].endswith("(constant_not_in_picklist)")
    assert lines[-1] == f"{path}: invalid — 1 error(s), 0 warning(s)"

    report = json.loads(crmsync("validate", path, "--format", "json").stdout)
    assert report["valid"] is False
    [finding] = report["findings"]
    assert finding == {"severity": "error", "code": "constant_not_in_picklist", "message": finding["message"],
                       "where": f"{path}:9:31", "stream": "e", "field": "lifecyclestage"}


def test_validate_shows_names_from_the_file_as_written_not_as_markup(tmp_path: Path) -> None:
    path = write(tmp_path, HUBSPOT + '    fields:\n      "n[red]am[/]e": $.name\n      "x[/y]": $.x\n')
    result = crmsync("validate", path)
    assert result.exit_code == 1, result.output
    assert "companies has no field 'n[red]am[/]e'" in result.stdout
    assert "companies has no field 'x[/y]'" in result.stdout


def test_validate_with_warnings_only_exits_0(tmp_path: Path) -> None:
    path = write(tmp_path, HUBSPOT + "    fields:\n      website: $.website\n")
    result = crmsync("validate", path, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["valid"] is True and [f["code"] for f in report["findings"]] == ["transform_advised"]


def test_validate_with_saved_metadata_uses_the_live_fields(tmp_path: Path) -> None:
    """Live metadata wins over the profile's custom fields: a field the CRM says is read-only is refused."""
    metadata = write(tmp_path, json.dumps({"companies": {"benefitflow_id": {
        "type": "string", "creatable": False, "updatable": False}}}), "metadata.json")
    profile = ROOT / "profiles" / "hubspot-benefitflow.yaml"
    result = crmsync("validate", profile, "--metadata", metadata, "--format", "json")
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["findings"]
    assert {(f["code"], f["field"]) for f in findings} == {("read_only", "benefitflow_id")}
    assert {f["stream"] for f in findings} == {"broker", "broker_office", "employer"}


def test_validate_with_a_missing_metadata_file(tmp_path: Path) -> None:
    result = crmsync("validate", PROFILES[0], "--metadata", tmp_path / "none.json")
    assert_located_failure(result, str(tmp_path / "none.json"), "file not found")


def test_validate_reads_live_metadata_from_a_served_crm(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`ein` is a property of the customer's portal, unknown to the connector: offline it is an unknown
    field; with --base-url the live properties know it."""
    path = write(tmp_path, HUBSPOT + "    fields:\n      ein: $.ein\n")
    offline = json.loads(crmsync("validate", path, "--format", "json").stdout)
    assert [(f["code"], f["field"]) for f in offline["findings"]] == [("unknown_field", "ein")]
    monkeypatch.setenv("CRMSYNC_ACCESS_TOKEN", "sandbox-token")
    with running(sandbox.create("hubspot")) as url:
        result = crmsync("validate", path, "--base-url", url, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["findings"] == []


def test_metadata_saved_from_a_served_crm_is_used_offline(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`validate --base-url URL --save-metadata FILE` keeps what the CRM says; `--metadata FILE` then
    checks against it with no CRM at hand: the portal's own `ein` property is known."""
    path = write(tmp_path, HUBSPOT + "    fields:\n      ein: $.ein\n")
    saved = tmp_path / "portal-metadata.json"
    monkeypatch.setenv("CRMSYNC_ACCESS_TOKEN", "sandbox-token")
    with running(sandbox.create("hubspot")) as url:
        live = crmsync("validate", path, "--base-url", url, "--save-metadata", saved, "--format", "json")
    assert live.exit_code == 0, live.output
    assert f"saved the live metadata to {saved}" in live.stderr
    assert "ein" in json.loads(saved.read_text(encoding="utf-8"))["companies"]
    offline = crmsync("validate", path, "--metadata", saved, "--format", "json")
    assert offline.exit_code == 0 and json.loads(offline.stdout)["findings"] == []


def test_save_metadata_needs_a_crm_to_read_it_from(tmp_path: Path) -> None:
    result = crmsync("validate", PROFILES[0], "--save-metadata", tmp_path / "m.json")
    assert result.exit_code == 2 and "--save-metadata needs --base-url" in result.stderr


def test_plan_checks_against_saved_metadata(tmp_path: Path, examples: Path) -> None:
    """The portal allows company names of 12 characters at most: offline, with its saved metadata,
    every longer name is refused in the plan, as the CRM would refuse it."""
    metadata = write(tmp_path, json.dumps({"companies": {"name": {"type": "string", "max_length": 12}}}),
                     "metadata.json")
    profile = ROOT / "profiles" / "hubspot-benefitflow.yaml"
    plain = json.loads(crmsync("plan", profile, "--source", examples, "--format", "json",
                               "--state-dir", tmp_path / "s").stdout)
    checked = json.loads(crmsync("plan", profile, "--source", examples, "--format", "json",
                                 "--state-dir", tmp_path / "s", "--metadata", metadata).stdout)
    def invalid(plan: dict[str, Any]) -> set[str]:
        return {r["source_id"] for r in plan["records"] if r["status"] == "invalid"}

    too_long = {r["source_id"] for r in checked["records"]
                if any(p["code"] == "too_long" and p["field"] == "name" for p in r["problems"])}
    assert len(too_long) > 10 and invalid(checked) == invalid(plain) | too_long
    both = crmsync("plan", profile, "--source", examples, "--metadata", metadata, "--base-url", "http://x")
    assert both.exit_code == 2


def test_validate_base_url_and_metadata_together_is_bad_usage(tmp_path: Path) -> None:
    metadata = write(tmp_path, "{}", "metadata.json")
    result = crmsync("validate", PROFILES[0], "--base-url", "http://127.0.0.1:9", "--metadata", metadata)
    assert result.exit_code == 2
    assert "--base-url or --metadata, not both" in result.stderr and result.stdout == ""


LOCATED_FAILURES = [
    # (file text or bytes, line:col, message fragment)
    pytest.param("name: p\nconnector: hubspot\nstreams: {e: [1, 2}\n", "3:19", "malformed YAML",
                 id="bad-yaml"),
    pytest.param("", "1:1", "the file is empty", id="empty"),
    pytest.param("# only a comment\n", "1:1", "the file holds only comments", id="comments-only"),
    pytest.param("name: p\nconnector: nosuch\n" + STREAM, "2:12", "no built-in connector named 'nosuch'",
                 id="missing-connector"),
    pytest.param(b"name: p\nconnector: hub\xe9spot\n", "2:15", "not UTF-8 text (byte 0xe9)", id="non-utf8"),
    pytest.param("name: p\nconnector: hubspot\nname: q\n" + STREAM, "3:1", "duplicate key 'name'",
                 id="duplicate"),
    pytest.param(HUBSPOT + "    feilds: {}\n", "7:5",
                 "unknown key 'feilds'; did you mean 'fields'?", id="unknown-key"),
]


@pytest.mark.parametrize(("text", "where", "fragment"), LOCATED_FAILURES)
def test_validate_unreadable_file_is_a_located_error_exit_2(tmp_path: Path, text: str | bytes, where: str,
                                                            fragment: str) -> None:
    path = write(tmp_path, text)
    assert_located_failure(crmsync("validate", path), f"{path}:{where}", fragment)


def test_validate_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert_located_failure(crmsync("validate", path), str(path), "file not found")


def test_validate_reports_every_load_error_of_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, "name: p\nconector: hubspot\nstreams:\n  e:\n    objet: companies\n"
                           "    identity: {key: domain, source: {domain: $.website}}\n")
    result = crmsync("validate", path)
    assert result.exit_code == 2
    assert [line.split(": ")[0] for line in result.stderr.splitlines()] == [
        f"{path}:1:1", f"{path}:2:1", f"{path}:5:5", f"{path}:5:5"]


def test_cli_process_never_shows_a_traceback(tmp_path: Path) -> None:
    """Through the real entry point, not only the test runner: a located error on stderr and exit 2."""
    path = write(tmp_path, b"name: p\nconnector: \xff\n")
    done = subprocess.run([sys.executable, "-m", "engine.cli", "validate", str(path)], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == f"{path}:2:12: not UTF-8 text (byte 0xff); save the file as UTF-8"
    assert done.stdout == ""


# ----- schema ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["connector", "profile"])
def test_schema_prints_a_json_schema(kind: str) -> None:
    result = crmsync("schema", kind)
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/") and schema["title"] == f"crmsync {kind}"
    assert "properties" in schema and "$defs" in schema


def test_schema_of_an_unknown_kind_is_bad_usage() -> None:
    result = crmsync("schema", "plugin")
    assert result.exit_code == 2 and "Traceback" not in result.output

"""Input that would be dropped silently is said, per stream, and fails the plan and the push (exit 1)
unless `--allow-missing` (issue 9, point 11): a source folder without the profile's files, a stream's
file missing, a source path that matches no record (a typo), a CSV without a mapped column, a
semicolon-separated CSV."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import credentials_file, records, served

PROFILE = """name: tiny-hubspot
connector: hubspot
streams:
  employer:
    object: companies
    identity: {key: domain, source: {domain: $.website}}
    fields:
      name: {source: $.NAME_PATH, overwrite: true}
      phone: $.phone
  employer_contact:
    object: contacts
    identity: {key: email, source: {email: $.email}}
    parents:
      - {stream: employer, source: $.employer_id, relation: company}
    fields:
      firstname: $.first_name
      lastname: $.last_name
"""
EMPLOYERS = [{"id": "e1", "name": "Acme Tools", "website": "acme-tools-example.com", "phone": "+14155550100"},
             {"id": "e2", "name": "Birch Logistics", "website": "birch-logistics-example.com", "phone": None},
             {"id": "e3", "name": "Cobalt Mills", "website": "cobalt-mills-example.com"}]
CONTACTS = [{"id": "c1", "employer_id": "e1", "first_name": "Ada", "last_name": "Ng",
             "email": "ada@acme-tools-example.com"}]


def setup(tmp_path: Path, name_path: str = "name", files: tuple[str, ...] = ("employer", "employer_contact"),
          ) -> tuple[Path, Path]:
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE.replace("NAME_PATH", name_path), encoding="utf-8")
    source = tmp_path / "data"
    source.mkdir()
    for stream, rows in (("employer", EMPLOYERS), ("employer_contact", CONTACTS)):
        if stream in files:
            lines = "".join(json.dumps(row) + "\n" for row in rows)
            (source / f"{stream}.jsonl").write_text(lines, encoding="utf-8")
    return profile, source


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def plan(profile: Path, source: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    code, stdout, stderr = cli("plan", str(profile), "--source", str(source), "--format", "json", *extra)
    return code, json.loads(stdout), stderr


def push(profile: Path, source: Path, url: str, tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    return cli("push", str(profile), "--source", str(source), "--base-url", url, "--state-dir",
               str(tmp_path / "state"), "--credentials", str(credentials_file("hubspot", tmp_path / "creds")),
               *extra)


def stream(data: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [s for s in data["sources"] if s["stream"] == name]
    return found


def test_each_mapped_path_says_how_many_records_it_matched(tmp_path: Path) -> None:
    profile, source = setup(tmp_path)
    code, data, _ = plan(profile, source)
    employer = stream(data, "employer")
    assert employer["file"] == str(source / "employer.jsonl") and employer["records"] == 3
    matched = {p["path"]: p["matched"] for p in employer["paths"]}
    assert matched == {"$.id": 3, "$.website": 3, "$.name": 3, "$.phone": 2}  # e2's null phone is there
    assert data["input_findings"] == [] and code == 0
    _, table, _ = cli("plan", str(profile), "--source", str(source))
    assert "$.phone (phone): 2 of 3" in table


def test_a_folder_holding_none_of_the_stream_files_fails_the_plan(tmp_path: Path) -> None:
    profile, source = setup(tmp_path, files=())
    code, data, stderr = plan(profile, source)
    assert code == 1
    assert [f.split(":")[0] for f in data["input_findings"]] == ["employer", "employer_contact"]
    assert f"{source / 'employer.jsonl'}" in stderr and "no source file" in stderr
    code, _, _ = plan(profile, source, "--allow-missing")
    assert code == 0


def test_a_missing_stream_file_refuses_the_push_before_anything_is_sent(tmp_path: Path) -> None:
    profile, source = setup(tmp_path, files=("employer",))
    code, data, _ = plan(profile, source)
    assert code == 1 and "employer_contact: no source file" in data["input_findings"][0]
    with served("hubspot") as (_, url):
        code, stdout, stderr = push(profile, source, url, tmp_path)
        assert code == 1
        assert "nothing was sent" in stderr and str(source / "employer_contact.jsonl") in stderr
        assert records(url)["companies"] == []
        code, stdout, _ = push(profile, source, url, tmp_path, "--allow-missing")
        assert code == 0 and "source: employer_contact: no source file" in stdout
        assert len(records(url)["companies"]) == 3


def test_a_path_that_matches_no_record_holds_its_stream_back(tmp_path: Path) -> None:
    profile, source = setup(tmp_path, name_path="legal_nmae")
    code, data, stderr = plan(profile, source)
    assert code == 1
    assert {p["path"]: p["matched"] for p in stream(data, "employer")["paths"]}["$.legal_nmae"] == 0
    assert "$.legal_nmae (name) matched none of its 3 records" in stderr
    employers = [r for r in data["records"] if r["stream"] == "employer"]
    assert {r["status"] for r in employers} == {"skipped"}
    assert all("held back: $.legal_nmae" in r["notes"][0] for r in employers)
    with served("hubspot") as (_, url):
        code, stdout, _ = push(profile, source, url, tmp_path)
        assert code == 1 and "$.legal_nmae (name) matched none" in stdout
        assert records(url)["companies"] == []  # not created without their names
        code, _, _ = push(profile, source, url, tmp_path, "--allow-missing", "--format", "json")
        assert code == 0 and len(records(url)["companies"]) == 3


def write_csv(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_a_csv_without_a_mapped_column_fails_the_plan(tmp_path: Path) -> None:
    profile, source = setup(tmp_path, files=("employer_contact",))
    write_csv(source / "employer.csv", "id,website,phone\ne1,acme-tools-example.com,+14155550100\n")
    code, data, stderr = plan(profile, source)
    assert code == 1
    assert "$.name (name) matched none of its 1 records (no such column in the CSV)" in stderr
    assert stream(data, "employer")["file"] == str(source / "employer.csv")


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_semicolon_or_tab_csv_is_read_by_its_columns(tmp_path: Path, separator: str) -> None:
    profile, source = setup(tmp_path, files=("employer_contact",))
    rows = [["id", "name", "website", "phone"],
            ["e1", "Acme, Tools", "acme-tools-example.com", "+14155550100"]]
    write_csv(source / "employer.csv", "".join(separator.join(row) + "\n" for row in rows))
    code, data, _ = plan(profile, source)
    assert code == 0 and data["input_findings"] == []
    [employer] = [r for r in data["records"] if r["stream"] == "employer"]
    assert employer["status"] == "net_new"
    assert {c["field"]: c["new"] for c in employer["changes"]}["name"] == "Acme, Tools"
    _, table, _ = cli("plan", str(profile), "--source", str(source))
    assert f"read as {separator!r}-separated" in table


def test_the_html_report_shows_what_each_path_matched(tmp_path: Path) -> None:
    profile, source = setup(tmp_path, name_path="legal_nmae")
    report = tmp_path / "plan.html"
    code, _, _ = cli("plan", str(profile), "--source", str(source), "--format", "html", "--out", str(report))
    page = report.read_text(encoding="utf-8")
    assert code == 1
    assert '<div class="problem"><code>$.legal_nmae</code> (name): 0</div>' in page
    assert "<code>$.phone</code> (phone): 2</div>" in page
    assert "$.legal_nmae (name) matched none of its 3 records" in page

"""Source lines that cannot be read are refused alone, located, and never crash a plan or a push (issue 9,
points 20, 29 and 32): a UTF-8 BOM, JSON nested too deeply, a 5,000-digit number, a lone surrogate
escape, a line repeated, a report written into a folder that does not exist."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import COMPANIES, PROFILES, copy_source, credentials_file, records, served

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "data"
EMPLOYER = {"id": "emp-900", "name": "Juniper Tile Works", "website": "juniper-tile-example.com",
            "phone": "(415) 555-0190", "address": {"street": "9 Clay St", "city": "Oakland", "state": "CA",
                                                   "zip": "94607"},
            "industry": "Manufacturing", "employee_count": 12, "plan_year_start": "2025-01-01",
            "funding_type": "Fully Insured", "ein": "94-1239000", "broker_id": "brk-001"}


def source_with(tmp_path: Path, *lines: bytes | str, stream: str = "employer") -> Path:
    """The example data, with lines added at the end of one stream's file."""
    source = copy_source(EXAMPLES, tmp_path / "data")
    with (source / f"{stream}.jsonl").open("ab") as handle:
        for line in lines:
            handle.write((line.encode("utf-8") if isinstance(line, str) else line) + b"\n")
    return source


def plan_json(source: Path, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(app, ["plan", str(PROFILES["hubspot"]), "--source", str(source), "--format",
                                      "json", "--state-dir", str(tmp_path / "state"), *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout), result.stderr


def by_where(plan: dict[str, Any], suffix: str) -> dict[str, Any]:
    [record] = [r for r in plan["records"] if r["where"].endswith(suffix)]
    return record


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8-sig").splitlines())


def test_plan_out_into_a_folder_that_does_not_exist_makes_it(tmp_path: Path) -> None:
    report = tmp_path / "reports" / "today" / "plan.json"
    result = CliRunner().invoke(app, ["plan", str(PROFILES["hubspot"]), "--source", str(EXAMPLES),
                                      "--format", "json", "--out", str(report)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert json.loads(report.read_text(encoding="utf-8"))["records"]
    assert f"wrote {report}" in result.stderr


def test_plan_out_that_cannot_be_written_is_bad_usage(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder", encoding="utf-8")
    result = CliRunner().invoke(app, ["plan", str(PROFILES["hubspot"]), "--source", str(EXAMPLES),
                                      "--format", "html", "--out", str(tmp_path / "taken" / "plan.html")])
    assert result.exit_code == 2
    assert "cannot write the report" in result.stderr and "Traceback" not in result.output


def test_a_json_lines_file_starting_with_a_bom_is_read(tmp_path: Path) -> None:
    source = copy_source(EXAMPLES, tmp_path / "data")
    path = source / "employer.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    _, plan, _ = plan_json(source, tmp_path)
    first = by_where(plan, "employer.jsonl:1")
    assert first["source_id"] == "emp-001" and first["status"] == "net_new"


def test_deeply_nested_json_refuses_that_line_alone(tmp_path: Path) -> None:
    deep = '{"id": "emp-deep", "name": ' + "[" * 100_000 + "]" * 100_000 + "}"
    source = source_with(tmp_path, deep, json.dumps(EMPLOYER))
    code, plan, _ = plan_json(source, tmp_path)
    lines = line_count(source / "employer.jsonl")
    refused = by_where(plan, f"employer.jsonl:{lines - 1}")
    assert refused["status"] == "invalid" and "nested too deeply" in refused["problems"][0]["message"]
    assert by_where(plan, f"employer.jsonl:{lines}")["status"] == "net_new"  # the next line is planned
    assert code == 1


def test_a_5000_digit_number_refuses_that_line_alone(tmp_path: Path) -> None:
    huge = json.dumps({**EMPLOYER, "id": "emp-huge"})[:-1] + ', "employee_count": ' + "9" * 5000 + "}"
    source = source_with(tmp_path, huge, json.dumps(EMPLOYER))
    code, plan, _ = plan_json(source, tmp_path)
    lines = line_count(source / "employer.jsonl")
    refused = by_where(plan, f"employer.jsonl:{lines - 1}")
    assert refused["status"] == "invalid"
    assert f"employer.jsonl:{lines - 1}" in refused["problems"][0]["message"]
    assert "digits" in refused["problems"][0]["message"]
    assert by_where(plan, f"employer.jsonl:{lines}")["status"] == "net_new"
    assert code == 1


def test_a_lone_surrogate_refuses_that_record_before_anything_is_sent(tmp_path: Path) -> None:
    broken = json.dumps({**EMPLOYER, "id": "emp-901", "website": "surrogate-example.com"})
    broken = broken.replace("Juniper", "Juniper \\ud800")
    source = source_with(tmp_path, broken, json.dumps(EMPLOYER))
    with served("hubspot") as (_, url):
        result = CliRunner().invoke(app, [
            "push", str(PROFILES["hubspot"]), "--source", str(source), "--base-url", url, "--format", "json",
            "--state-dir", str(tmp_path / "state"),
            "--credentials", str(credentials_file("hubspot", tmp_path / "creds"))])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        pushed = json.loads(result.stdout)
        [refused] = [r for r in pushed["records"] if r["source_id"] == "@" + str(source / "employer.jsonl")
                     + f":{line_count(source / 'employer.jsonl') - 1}"]
        assert refused["result"] == "error" and "surrogate" in refused["error"]
        names = [c["properties"].get("name") for c in records(url)[COMPANIES["hubspot"]]]
        assert "Juniper Tile Works" in names  # the line after it is written
        assert not any("Juniper \ud800" in (n or "") for n in names)
        assert result.exit_code == 1


def test_a_line_repeated_in_one_file_is_written_and_counted_once(tmp_path: Path) -> None:
    source = source_with(tmp_path, json.dumps(EMPLOYER), json.dumps(EMPLOYER))
    with served("hubspot") as (_, url):
        result = CliRunner().invoke(app, [
            "push", str(PROFILES["hubspot"]), "--source", str(source), "--base-url", url, "--format", "json",
            "--state-dir", str(tmp_path / "state"),
            "--credentials", str(credentials_file("hubspot", tmp_path / "creds"))])
        pushed = json.loads(result.stdout)
        in_crm = records(url)
        created_in_crm = len(in_crm["companies"]) + len(in_crm["contacts"])
        assert pushed["summary"]["created"] == created_in_crm
        repeats = [r for r in pushed["records"] if r["source_id"] == "emp-900"]
        assert [r["result"] for r in repeats] == ["success", "skipped"]
        assert "again (first at" in repeats[1]["error"]
        assert sum(c["properties"].get("benefitflow_id") == "emp-900" for c in in_crm["companies"]) == 1


def test_a_5000_digit_number_in_a_csv_refuses_that_record_alone(tmp_path: Path) -> None:
    source = copy_source(EXAMPLES, tmp_path / "data")
    (source / "employer.jsonl").unlink()
    header = "id,name,website,phone,address.street,address.city,address.state,address.zip,industry," \
             "employee_count,plan_year_start,funding_type,ein,broker_id\n"
    rows = ["emp-1,Huge Co,huge-example.com,(415) 555-0101,1 A St,Oakland,CA,94607,Retail,"
            f"{'9' * 5000},2025-01-01,Fully Insured,94-1,brk-001",
            "emp-2,Small Co,small-example.com,(415) 555-0102,2 B St,Oakland,CA,94607,Retail,"
            "12,2025-01-01,Fully Insured,94-2,brk-001"]
    (source / "employer.csv").write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    code, plan, _ = plan_json(source, tmp_path)
    huge, small = (by_where(plan, f"employer.csv:{n}") for n in (2, 3))
    assert huge["status"] == "invalid" and huge["problems"][0]["field"] == "numberofemployees"
    assert "digits" in huge["problems"][0]["message"] and len(huge["problems"][0]["message"]) < 300
    assert small["status"] == "net_new"
    assert code == 1


CSV_HEADER = "id,name,website,phone,address.street,address.city,address.state,address.zip,funding_type\n"


def csv_source(tmp_path: Path, body: bytes) -> Path:
    source = copy_source(EXAMPLES, tmp_path / "data")
    (source / "employer.jsonl").unlink()
    (source / "employer.csv").write_bytes(CSV_HEADER.encode("utf-8") + body)
    return source


def test_a_csv_row_that_is_not_utf8_is_refused_alone(tmp_path: Path) -> None:
    latin1 = "emp-1,Caf\u00e9 Ol\u00e9,cafe-example.com,,1 A St,Oakland,CA,94607,Self-Funded\n"
    latin1 = latin1.encode("latin-1")
    fine = b"emp-2,Small Co,small-example.com,,2 B St,Oakland,CA,94607,Self-Funded\n"
    code, plan, _ = plan_json(csv_source(tmp_path, latin1 + fine), tmp_path, "--allow-missing")
    refused = by_where(plan, "employer.csv:2")
    assert refused["status"] == "invalid" and "not UTF-8" in refused["problems"][0]["message"]
    assert by_where(plan, "employer.csv:3")["status"] == "net_new"
    assert code == 1


def test_a_csv_row_with_more_values_than_columns_is_refused_alone(tmp_path: Path) -> None:
    shifted = b"emp-1,Smith, Jones & Co,smith-jones-example.com,,1 A St,Oakland,CA,94607,Self-Funded\n"
    fine = b"emp-2,Small Co,small-example.com,,2 B St,Oakland,CA,94607,Self-Funded\n"
    code, plan, _ = plan_json(csv_source(tmp_path, shifted + fine), tmp_path, "--allow-missing")
    refused = by_where(plan, "employer.csv:2")
    assert refused["status"] == "invalid"
    assert "10 values for 9 columns" in refused["problems"][0]["message"]
    assert by_where(plan, "employer.csv:3")["status"] == "net_new"
    assert code == 1


def test_nan_and_infinity_refuse_that_line_alone(tmp_path: Path) -> None:
    nan = json.dumps({**EMPLOYER, "id": "emp-nan", "address": {**EMPLOYER["address"], "zip": float("nan")}})
    assert "NaN" in nan  # Python writes it, and reads it back; JSON has no such value
    source = source_with(tmp_path, nan, json.dumps(EMPLOYER))
    code, plan, _ = plan_json(source, tmp_path)
    lines = line_count(source / "employer.jsonl")
    refused = by_where(plan, f"employer.jsonl:{lines - 1}")
    assert refused["status"] == "invalid" and "NaN is not a JSON value" in refused["problems"][0]["message"]
    assert by_where(plan, f"employer.jsonl:{lines}")["status"] == "net_new"
    assert code == 1

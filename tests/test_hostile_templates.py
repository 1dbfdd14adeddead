"""Hostile profile templates. Refused when the profile is checked (located at the template, exit 1 from
`validate`, exit 2 from `plan` before any data is read): loading another template, `format_map`, a
constant too large to hold. Failing on one record (a value or a rendering too large, `1/0`): that
record alone is `invalid`, with its stream, source id and field, and the others are planned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app

HEAD = """\
name: t
connector: hubspot
streams:
  employer:
    object: companies
    identity: {key: domain, source: {domain: $.website}}
    fields:
      name: $.name
"""
WHERE = "9:31"  # the template's value: `      description: {template: ...}` on line 9

P = pytest.param
REFUSED = [  # (template, finding code, a fragment of its message)
    P("{% include 'footer.txt' %}", "template_loads", "{% include %} loads another template", id="include"),
    P("{% extends 'base.txt' %}", "template_loads", "{% extends %} loads another template", id="extends"),
    P("{% import 'macros.txt' as m %}{{ m.x() }}", "template_loads", "{% import %}", id="import"),
    P("{% from 'macros.txt' import x %}", "template_loads", "{% import %}", id="from-import"),
    P("{{ '{name}'.format_map(address) }}", "template_format_map", "format_map is not allowed",
      id="format_map"),
    P("{{ 'a' * 10**9 }}", "template_too_large", "a value of 1,000,000,000 items or characters is too large",
      id="a-times-10**9"),
    P("{{ 9 ** 99999 }}", "template_too_large", "a number of more than 3,900 digits", id="huge-power"),
    P("{{ '%999999999d' % 1 }}", "template_too_large", "a format width past 1,048,576", id="huge-width"),
]


def write_profile(tmp_path: Path, template: str) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(HEAD + f"      description: {{template: {json.dumps(template)}}}\n", encoding="utf-8")
    return path


def write_source(tmp_path: Path, *records: dict[str, object]) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    lines = [json.dumps({"id": f"emp-{i}", "name": f"Employer {i}", "website": f"e{i}-example.com", **r})
             for i, r in enumerate(records, start=1)]
    (source / "employer.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return source


@pytest.mark.parametrize(("template", "code", "fragment"), REFUSED)
def test_validate_refuses_the_template_at_its_place(tmp_path: Path, template: str, code: str,
                                                   fragment: str) -> None:
    profile = write_profile(tmp_path, template)
    result = CliRunner().invoke(app, ["validate", str(profile), "--format", "json"])
    assert result.exit_code == 1, result.output
    findings = json.loads(result.output)["findings"]
    assert [(f["code"], f["where"], f["stream"], f["field"]) for f in findings] == [
        (code, f"{profile}:{WHERE}", "employer", "description")], findings
    assert fragment in findings[0]["message"]


@pytest.mark.parametrize(("template", "code", "fragment"), REFUSED)
def test_plan_refuses_the_template_before_reading_data(tmp_path: Path, template: str, code: str,
                                                      fragment: str) -> None:
    profile = write_profile(tmp_path, template)
    source = write_source(tmp_path, {})
    result = CliRunner().invoke(app, ["plan", str(profile), "--source", str(source)])
    assert result.exit_code == 2, result.output
    assert f"{profile}:{WHERE}: error employer.description: " in result.output and code in result.output
    assert fragment in result.output and "Traceback" not in result.output


RECORD_FAILS = [  # (template, the failing record's source fields, the planned one's, its problem)
    P("{{ name * copies }}", {"copies": 10**9}, {"copies": 2},
      "a value of 10,000,000,000 items or characters is too large", id="value-times-source-number"),
    P("{% for c in name %}{{ notes }}{% endfor %}", {"notes": "x" * 200_000}, {"notes": "x"},
      "the rendered value passes 1,048,576 characters", id="rendered-too-large"),
    P("{{ name.ljust(width) }}", {"width": 10**9}, {"width": 30}, "ljust() past 1,048,576 characters",
      id="padding"),
    P("{{ name|center(width) }}", {"width": 10**9}, {"width": 30}, "a width past 1,048,576 characters",
      id="center-filter"),
    P("{{ employee_count / divisor }}", {"employee_count": 5, "divisor": 0},
      {"employee_count": 5, "divisor": 2}, "ZeroDivisionError", id="division-by-zero"),
    P("{{ name ~ ' ' + size }}", {"size": 5}, {"size": "large"}, "TypeError: can only concatenate str",
      id="text-plus-number"),
]


@pytest.mark.parametrize(("template", "hostile", "harmless", "fragment"), RECORD_FAILS)
def test_a_template_failing_on_one_record_refuses_that_record_alone(tmp_path: Path, template: str,
                                                                    hostile: dict[str, object],
                                                                    harmless: dict[str, object],
                                                                    fragment: str) -> None:
    profile = write_profile(tmp_path, template)
    source = write_source(tmp_path, hostile, harmless)
    result = CliRunner().invoke(app, ["plan", str(profile), "--source", str(source), "--format", "json"])
    assert result.exit_code == 1, result.output
    records = {r["source_id"]: r for r in json.loads(result.output)["records"]}
    assert records["emp-1"]["status"] == "invalid"
    [problem] = records["emp-1"]["problems"]
    assert problem["field"] == "description" and fragment in problem["message"], problem
    assert problem["message"].startswith("employer emp-1: description: template: ")
    assert records["emp-2"]["status"] == "net_new", records["emp-2"]

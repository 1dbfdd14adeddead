"""`crmsync connectors NAME [OBJECT]` (issue 13, point 4): an object's fields with their types, marks
(required, identity, read-only) and picklist values, for a person writing a profile; `crmsync connectors`
alone keeps its listing (contract)."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner, Result

from engine.cli import app


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["connectors", *args], env={"COLUMNS": "80"})


def row(text: str, field: str) -> list[str]:
    """A field's row of the table, its cells (a cell folded over several lines joined again)."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if re.match(rf"│ {re.escape(field)} +│", line))
    folded = [lines[first]]
    for line in lines[first + 1:]:
        if not re.match(r"│ +│", line):  # the next field's row, or the table's end
            break
        folded.append(line)
    cells = [[cell.strip() for cell in line.strip("│").split("│")] for line in folded]
    return [" ".join(part for part in column if part) for column in zip(*cells, strict=True)]


def test_an_objects_fields_with_types_marks_and_values_at_80_columns() -> None:
    shown = run("hubspot", "contacts")
    assert shown.exit_code == 0, shown.output
    assert all(len(line) <= 80 for line in shown.stdout.splitlines())
    assert "contacts (18 fields); identity keys: email = email" in shown.stdout
    assert row(shown.stdout, "email")[1:3] == ["email", "identity"]
    assert row(shown.stdout, "hs_object_id")[1:3] == ["id", "read-only"]
    assert row(shown.stdout, "firstname")[1:] == ["string", "", ""]
    values = row(shown.stdout, "lifecyclestage")[3]
    assert values.startswith("subscriber, lead, ") and values.endswith("customer … and 2 more")  # of 8
    assert "companies" not in shown.stdout  # the one object asked for


def test_a_connector_alone_shows_every_object_and_marks_required_fields() -> None:
    shown = run("salesforce")
    assert shown.exit_code == 0, shown.output
    headings = re.findall(r"^(\w+) \(\d+ fields\); identity keys:", shown.stdout, re.M)
    assert headings == ["Account", "Contact", "Lead"]
    assert "required" in row(shown.stdout, "LastName")[2]
    assert all(len(line) <= 80 for line in shown.stdout.splitlines())


def test_json_gives_every_field_and_every_picklist_value() -> None:
    shown = run("hubspot", "contacts", "--format", "json")
    assert shown.exit_code == 0
    data = json.loads(shown.stdout)
    assert [o["name"] for o in data["objects"]] == ["contacts"]
    fields = {f["name"]: f for f in data["objects"][0]["fields"]}
    assert len(fields) == 18 and fields["email"]["identity"] and fields["hs_object_id"]["read_only"]
    options = [o["value"] for o in fields["lifecyclestage"]["options"]]
    assert len(options) == 8 and options[:2] == ["subscriber", "lead"]
    assert data["objects"][0]["identity_keys"] == {"email": ["email"]}


def test_an_unknown_connector_or_object_is_bad_usage_naming_the_known_ones() -> None:
    unknown = run("pipedrive")
    assert unknown.exit_code == 2 and unknown.stdout == ""
    assert "no connector 'pipedrive'; the built-in connectors: dynamics, hubspot, salesforce, zoho" \
        in unknown.stderr
    no_object = run("hubspot", "deals", "--format", "json")
    assert no_object.exit_code == 2 and no_object.stdout == ""
    assert "connector hubspot has no object 'deals'; its objects: companies, contacts" in no_object.stderr


def test_connectors_alone_keeps_its_listing() -> None:
    listing = json.loads(run("--format", "json").stdout)
    assert {row["name"] for row in listing} == {"dynamics", "hubspot", "salesforce", "zoho"}
    assert set(listing[0]) == {"name", "label", "api_version", "objects"}
    table = run().stdout
    assert "connector" in table.splitlines()[1] and "contacts (18 fields)" in " ".join(table.split())

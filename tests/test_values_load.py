"""Issue 10, points 3-5: misuse of the new keys is a load error at file:line:col (exit code 2), in the
LinkCRM connector and profile of docs/connector-spec.md (the table style of tests/test_loader.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests.test_docs import example_block
from tests.test_loader import assert_error_at, errors_of

P = pytest.param
CONNECTOR = example_block("connector-spec.md", "values-connector")
PROFILE = example_block("connector-spec.md", "values-profile")
ASSOCIATIONS = ('        associations:\n          method: GET\n'
                '          path: /{api_version}/people/{id}/links\n'
                '          response: {records: $, id: $.person_id, to: "$.links[*]", to_id: $.org_id}\n')


def changed(text: str, old: str, new: str, marker: str) -> tuple[str, str]:
    """`text` with `old` replaced by `new`, and the line:col of the last `marker` that starts before
    the end of the replacement (a key the change is in, or a word of the change)."""
    assert text.count(old) == 1, f"{old!r} is not once in the doc's example"
    end = text.index(old) + len(new)
    result = text.replace(old, new)
    at = result.rindex(marker, 0, end)
    line = result.count("\n", 0, at) + 1
    return result, f"{line}:{at - result.rfind(chr(10), 0, at)}"


CONNECTOR_CASES = [  # (text replaced, its replacement, where the error points, message fragment)
    P('read: "$.emails[*].value"', 'read: "$.emails[*"', '"$.emails[*"',
      "'$.emails[*' is not a valid JSONPath",
      id="field-read-not-a-jsonpath"),
    P("write: [{value: $value, primary: true, label: work}]\n        query_name",
      "write: [{value: x, primary: true}]\n        query_name", "[{value: x",
      "a `write` template says where the value goes with $value", id="write-without-value"),
    P("write: [{value: $value, primary: true, label: work}]\n        query_name",
      'write: [{value: $value, label: "{ref}"}]\n        query_name', '[{value: $value, label',
      "a `write` template has only $value, not ref", id="write-with-another-placeholder"),
    P("path: custom_fields.ind_7f", "path: custom_fields..ind_7f", "custom_fields..", "should match pattern",
      id="path-not-dotted-names"),
    P("read: $.org.id", 'read: "$.org["', '"$.org["', "'$.org[' is not a valid JSONPath",
      id="relation-read-not-a-jsonpath"),
    P('body: {org_id: "{to_id}"}', 'body: {org_id: "{to_id}", type: "{type_id}"}', "method: POST",
      "{type_id} is used by the associate endpoint, and this relation sets no type_id",
      id="association-type-placeholder-unset"),
    P('body: {org_id: "{to_id}"}', 'body: {org_id: "{to_id}", x: "{fields}"}', '"{fields}"',
      "unknown placeholder 'fields'", id="relation-endpoint-unknown-placeholder"),
    P(ASSOCIATIONS, "", "kind: association", "an association relation needs `associations` of its own or "
      "endpoints.associations", id="association-without-associations-endpoint"),
]


@pytest.mark.parametrize(("old", "new", "marker", "fragment"), CONNECTOR_CASES)
def test_connector_misuse_is_located(tmp_path: Path, old: str, new: str, marker: str, fragment: str) -> None:
    text, where = changed(CONNECTOR, old, new, marker)
    path = tmp_path / "linkcrm.yaml"
    path.write_text(text, encoding="utf-8")
    assert_error_at(errors_of(path, "connector"), path, where, fragment)


PROFILE_CASES = [
    P("  person:\n    source_ref:\n      parts", "  persn:\n    source_ref:\n      parts", "persn",
      "unknown object 'persn'; linkcrm has org, person", id="identity-key-unknown-object"),
    P("parts: [{name: id, field: source_ref}]", "parts: [{name: id, field: source_rf}]", "source_rf",
      "unknown field 'source_rf' of person", id="identity-key-unknown-field"),
    P("    source_ref:\n      parts", "    email:\n      parts", "email:",
      "linkcrm already has an identity key 'email' on person", id="identity-key-clash"),
    P("\nstreams:", "\nupsert_keys:\n  person: [source_ref, nme]\nstreams:", "nme",
      "unknown field 'nme' of person", id="upsert-key-unknown-field"),
    P("\nstreams:", "\nupsert_keys:\n  orgs: [domain]\nstreams:", "orgs",
      "unknown object 'orgs'", id="upsert-key-unknown-object"),
]


@pytest.mark.parametrize(("old", "new", "marker", "fragment"), PROFILE_CASES)
def test_profile_keys_misuse_is_located(tmp_path: Path, old: str, new: str, marker: str,
                                        fragment: str) -> None:
    (tmp_path / "linkcrm.yaml").write_text(CONNECTOR, encoding="utf-8")
    text, where = changed(PROFILE, old, new, marker)
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    assert_error_at(errors_of(path), path, where, fragment)


def test_validate_exits_2_naming_the_place(tmp_path: Path) -> None:
    (tmp_path / "linkcrm.yaml").write_text(CONNECTOR, encoding="utf-8")
    text, where = changed(PROFILE, "parts: [{name: id, field: source_ref}]",
                          "parts: [{name: id, field: source_rf}]", "source_rf")
    (tmp_path / "profile.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "profile.yaml")])
    assert result.exit_code == 2
    assert f"profile.yaml:{where}: unknown field 'source_rf'" in result.output

"""Every JSONPath of a connector is parsed when the file loads: a bad one is a located load error (exit 2
from `crmsync validate` and `crmsync push`), never a traceback in the middle of a push.

The cases change one line of test_loader's small valid connector, as its table of load errors does."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.catalog import load_connector
from engine.cli import app
from engine.connector import ConnectorSpec, JsonPathMark, jsonpath_error, jsonpath_problems
from tests.crms import CRMS
from tests.pushkit import PROFILES, ROOT
from tests.test_loader import assert_error_at, errors_of, tiny

P = pytest.param

CASES = [  # (line replaced, its new text, message fragment); the error is where the quoted path starts
    P(31, '  create: {method: POST, path: "/{object}", body: $fields, response: {records: "$.results[*"}}',
      "'$.results[*' is not a valid JSONPath", id="response-records"),
    P(31, '  create: {method: POST, path: "/{object}", body: $fields, response: {id: "$..[?(@.id ==]"}}',
      "is not a valid JSONPath", id="response-id"),
    P(33, '  list: {method: GET, path: "/{object}", response: {next: "$.paging.next.[link"}}',
      "is not a valid JSONPath", id="response-next"),
    P(35, 'metadata: {name: "$.na me", type: $.type, type_map: {text: string}}',
      "'$.na me' is not a valid JSONPath", id="metadata-name"),
    P(35, 'metadata: {name: $.name, type: $.type, type_map: {text: string}, options: "$.options[?(@"}',
      "is not a valid JSONPath", id="metadata-options"),
    P(37, '  body: {code: "$.code[", message: $.message}',
      "is not a valid JSONPath", id="error-body-code"),
    P(7, '  token_expired: [{status: 401, path: "$.errors[0", equals: [expired]}]',
      "is not a valid JSONPath", id="auth-token-expired-match"),
    P(8, '  refresh_refused: [{status: 400, path: "$.error)"}]',
      "is not a valid JSONPath", id="auth-refresh-refused-match"),
]


@pytest.mark.parametrize(("line_no", "replacement", "fragment"), CASES)
def test_a_bad_jsonpath_is_a_located_load_error(tmp_path: Path, line_no: int, replacement: str,
                                                fragment: str) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(tiny(line_no, replacement), encoding="utf-8")
    bad = next(q for q in replacement.split('"')[1::2] if q.startswith("$"))
    column = replacement.index(f'"{bad}') + 1
    where = f"{line_no}:{column}"
    assert_error_at(errors_of(path, "connector"), path, where, fragment)


def test_placeholders_in_a_jsonpath_stand_for_a_name() -> None:
    assert jsonpath_error("$.{vars.id_field}") is None
    assert jsonpath_error("$['{key_field}']") is None
    assert jsonpath_error("$.{vars.id_field}[") is not None


def test_the_built_in_connectors_have_no_bad_jsonpath() -> None:
    for name in CRMS:
        assert jsonpath_problems(load_connector(name).model) == [], name


def test_every_field_documented_as_a_jsonpath_is_checked() -> None:
    """The checker finds its fields by the `JsonPath` marker; a field whose description says JSONPath but
    lacks the marker would pass unchecked."""
    unmarked = []
    seen: set[type] = set()

    def visit(model: type) -> None:
        if model in seen or not hasattr(model, "model_fields"):
            return
        seen.add(model)
        for name, info in model.model_fields.items():
            marked = any(isinstance(m, JsonPathMark) for m in info.metadata) or any(
                isinstance(m, JsonPathMark) for a in getattr(info.annotation, "__args__", ())
                for m in getattr(a, "__metadata__", ()))
            if "JSONPath" in (info.description or "") and not marked:
                unmarked.append(f"{model.__name__}.{name}")
            for arg in [info.annotation, *_args(info.annotation)]:
                visit(arg)

    visit(ConnectorSpec)
    assert unmarked == []


def _args(annotation: object) -> list[object]:
    found: list[object] = []
    for arg in getattr(annotation, "__args__", ()):
        found += [arg, *_args(arg)]
    return found


def test_validate_and_push_refuse_a_connector_with_a_bad_response_path(tmp_path: Path) -> None:
    """Before: `crmsync validate` said valid and the push died with jsonpath-ng's traceback."""
    connector = (ROOT / "connectors" / "hubspot.yaml").read_text(encoding="utf-8")
    broken = connector.replace("records: $.results[*]", "records: $.results[*", 1)
    assert broken != connector
    (tmp_path / "hubspot.yaml").write_text(broken, encoding="utf-8")
    profile = tmp_path / "p.yaml"
    profile.write_text(PROFILES["hubspot"].read_text(encoding="utf-8").replace(
        "connector: hubspot", "connector: ./hubspot.yaml", 1), encoding="utf-8")
    line = broken.splitlines().index(next(t for t in broken.splitlines() if t.endswith("$.results[*"))) + 1
    runner = CliRunner()
    validated = runner.invoke(app, ["validate", str(profile)])
    assert validated.exit_code == 2, validated.output
    assert f"hubspot.yaml:{line}:" in validated.output and "is not a valid JSONPath" in validated.output
    pushed = runner.invoke(app, ["push", str(profile), "--source", str(tmp_path), "--base-url",
                                 "http://127.0.0.1:9", "--state-dir", str(tmp_path / "state")],
                           env={"CRMSYNC_ACCESS_TOKEN": "sandbox-token"})
    assert pushed.exit_code == 2, pushed.output
    assert "is not a valid JSONPath" in pushed.output and "Traceback" not in pushed.output

"""The JSON Schemas in docs/schema/ are exactly what `crmsync schema` prints, and the shipped YAML files
name them and (when a JSON Schema validator is installed) conform to them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from engine.cli import app
from engine.loader import to_plain

ROOT = Path(__file__).resolve().parent.parent
KINDS = {"connector": "connectors", "profile": "profiles"}


def printed_schema(kind: str) -> str:
    result = CliRunner().invoke(app, ["schema", kind])
    assert result.exit_code == 0, result.output
    return result.stdout


def shipped(kind: str) -> list[Path]:
    files = sorted((ROOT / KINDS[kind]).glob("*.yaml"))
    assert files, f"no {KINDS[kind]}/*.yaml"
    return files


def plain_yaml(path: Path) -> Any:
    return to_plain(YAML(typ="safe").load(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_schema_file_is_up_to_date(kind: str) -> None:
    path = ROOT / "docs" / "schema" / f"{kind}.schema.json"
    fix = f"regenerate it: crmsync schema {kind} > docs/schema/{kind}.schema.json"
    assert path.exists(), f"{path} is missing; {fix}"
    assert path.read_text(encoding="utf-8") == printed_schema(kind), f"{path} is out of date; {fix}"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_printed_schema_is_a_json_schema_of_the_file_kind(kind: str) -> None:
    schema = json.loads(printed_schema(kind))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == f"crmsync {kind}"
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    required = {"connector": {"name", "label", "base_url", "auth", "objects", "endpoints"},
                "profile": {"name", "connector", "streams"}}[kind]
    assert required <= set(schema["required"])


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_shipped_files_name_their_schema(kind: str) -> None:
    for path in shipped(kind):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == f"# yaml-language-server: $schema=../docs/schema/{kind}.schema.json", path
        assert (path.parent / "../docs/schema" / f"{kind}.schema.json").resolve().exists()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_shipped_files_conform_to_their_schema(kind: str) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="no JSON Schema validator installed")
    validator = jsonschema.Draft202012Validator(json.loads(printed_schema(kind)))
    for path in shipped(kind):
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
                    for e in validator.iter_errors(plain_yaml(path))]
        assert not problems, f"{path} does not conform to its schema:\n" + "\n".join(problems)


def test_the_schema_refuses_what_the_loader_refuses() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="no JSON Schema validator installed")
    validator = jsonschema.Draft202012Validator(json.loads(printed_schema("profile")))
    good = {"name": "p", "connector": "hubspot", "streams": {"e": {
        "object": "companies", "identity": {"key": "domain", "source": {"domain": "$.w"}},
        "fields": {"name": "$.name", "phone": {"source": "$.p", "transform": "phone_e164"}}}}}
    assert not list(validator.iter_errors(good))
    bad = json.loads(json.dumps(good))
    bad["streams"]["e"]["fields"]["name"] = {"sourse": "$.name"}
    bad["streams"]["e"]["colour"] = "blue"
    assert len(list(validator.iter_errors(bad))) == 2

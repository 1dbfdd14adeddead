"""Broken profiles: every kind `validate` reports that no plan can be made with ends `plan` (and `push`)
in the same located finding and exit 2, before any data is read or anything is sent; never a
traceback. A parent cycle is one of them (it passed `validate` and crashed `plan`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests.pushkit import credentials_file, records, served

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "data"
HEAD = "name: t\nconnector: hubspot\nstreams:\n"
EMPLOYER = "  employer:\n    object: companies\n    identity: {key: domain, source: {domain: $.website}}\n"
BROKER = EMPLOYER.replace("employer", "broker")


def parents(stream: str, relation: str = "parent_company", source: str = "$.broker_id") -> str:
    return f"    parents: [{{stream: {stream}, source: '{source}', relation: {relation}}}]\n"


P = pytest.param
BROKEN = [  # (profile text, finding code, where as line:col)
    P(HEAD + EMPLOYER.replace("companies", "compnies"), "unknown_object", "5:13", id="unknown_object"),
    P(HEAD + EMPLOYER.replace("key: domain", "key: domian"), "unknown_identity_key", "6:21",
      id="unknown_identity_key"),
    P(HEAD + EMPLOYER.replace("source: {domain: $.website}", "source: {}"), "identity_part_unmapped", "6:37",
      id="identity_part_unmapped"),
    P(HEAD + EMPLOYER + parents("brokers"), "unknown_stream", "7:24", id="unknown_stream"),
    P(HEAD + BROKER + EMPLOYER + parents("broker", "parent"), "unknown_relation", "10:65",
      id="unknown_relation"),
    P(HEAD + EMPLOYER + parents("employer"), "self_parent", "7:24", id="self_parent"),
    P(HEAD + BROKER + parents("employer", source="$.x") + EMPLOYER + parents("broker"), "parent_cycle",
      "11:24", id="parent_cycle"),
    P(HEAD + EMPLOYER + "    fields: {name: {source: $.name, transform: titlecase}}\n", "unknown_transform",
      "7:48", id="unknown_transform"),
    P(HEAD + EMPLOYER + "    fields: {name: {template: '{% for %}'}}\n", "bad_template", "7:31",
      id="bad_template"),
    P(HEAD + EMPLOYER + "    fields: {name: {source: '$.['}}\n", "bad_jsonpath", "7:29", id="bad_jsonpath"),
    P(HEAD + EMPLOYER + "    id: '$.['\n", "bad_jsonpath", "7:9", id="bad_jsonpath_id"),
    P(HEAD + BROKER + EMPLOYER + parents("broker", source="$.["), "bad_jsonpath", "10:40",
      id="bad_jsonpath_parent"),
    P(HEAD.replace("streams:\n", "custom_fields: {companies: {bf: {type: string, unique: true}}}\nstreams:\n")
      + EMPLOYER + "    upsert_key: bf\n    fields: {bf: {value: x}}\n", "upsert_key_constant", "8:17",
      id="upsert_key_constant"),
]


def write(tmp_path: Path, text: str) -> Path:
    profile = tmp_path / "profile.yaml"
    profile.write_text(text, encoding="utf-8")
    return profile


@pytest.mark.parametrize(("text", "code", "where"), BROKEN)
def test_plan_refuses_what_validate_reports_at_the_same_place(tmp_path: Path, text: str, code: str,
                                                              where: str) -> None:
    profile = write(tmp_path, text)
    checked = CliRunner().invoke(app, ["validate", str(profile), "--format", "json"])
    assert checked.exit_code == 1, checked.output
    found = [(f["code"], f["where"]) for f in json.loads(checked.output)["findings"]]
    assert (code, f"{profile}:{where}") in found, found
    result = CliRunner().invoke(app, ["plan", str(profile), "--source", str(EXAMPLES)])
    assert result.exit_code == 2, result.output
    assert f"{profile}:{where}: error " in result.output and f"({code})" in result.output, result.output
    assert "no plan is made until these are fixed" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


def test_push_of_a_profile_with_a_parent_cycle_sends_nothing(tmp_path: Path) -> None:
    text = HEAD + BROKER + parents("employer", source="$.x") + EMPLOYER + parents("broker")
    profile = write(tmp_path, text)
    with served("hubspot") as (_, url):
        result = CliRunner().invoke(app, [
            "push", str(profile), "--source", str(EXAMPLES), "--base-url", url, "--state-dir",
            str(tmp_path / "state"), "--credentials", str(credentials_file("hubspot", tmp_path))])
        assert result.exit_code == 2, result.output
        assert f"{profile}:11:24: error employer: the parent streams form a cycle" in result.output
        assert records(url)["companies"] == []
    assert not (tmp_path / "state" / "state.sqlite3").exists()  # no run left open: none was started

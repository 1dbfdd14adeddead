"""Per-record outcomes given as words (`response.success_values`, `created_values`), a refused answer
that still holds each record's result (`refused_with_results`), and one error code meaning two things
(`errors.classes[].fields`), against WordCRM (tests/madeup_words.py) served on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.push import PushResult
from engine.pushrun import PushRequest, run_push
from tests.madeup_words import served
from tests.pushkit import quiet
from tests.test_loader import assert_error_at, errors_of

CONNECTOR = """\
name: wordcrm
label: WordCRM
base_url: https://api.wordcrm.example
api_version: v1
auth:
  flows: [{kind: static_token}]
  token_expired: [{status: 401}]
  refresh_refused: [{status: [400, 401]}]
objects:
  person:
    api_name: people
    id_field: id
    identity_keys:
      email: {parts: [{name: email, field: email, normalize: email}]}
    fields:
      id: {type: id, creatable: false, updatable: false}
      name: {type: string}
      email: {type: email}
      ref: {type: string, unique: true}
endpoints:
  lookup:
    method: POST
    path: /v1/{object}/search
    body: {field: "{field}", values: $values}
    response: {records: "$.data[*]", id: $.id}
  create:
    method: POST
    path: /v1/{object}/upsert
    body: {data: $items, match_on: email}
    item: $fields
    batch: {max: 10, items: items}
    response: {records: "$.data[*]", id: $.id, success: $.status, success_values: [ok],
               refused_with_results: true}
  upsert:
    method: POST
    path: /v1/{object}/upsert
    body: {data: $items, match_on: "{key_field}"}
    item: {"{key_field}": "{key_value}", $merge: $fields}
    batch: {max: 10, items: items}
    response: {records: "$.data[*]", id: $.id, success: $.status, success_values: [ok],
               created: $.outcome, created_values: [created], refused_with_results: true}
  update:
    method: PUT
    path: /v1/{object}
    body: {data: $items}
    item: {id: "{id}", $merge: $fields}
    batch: {max: 10, items: items}
    response: {records: "$.data[*]", id: $.id, success: $.status, success_values: [ok],
               refused_with_results: true}
  metadata:
    method: GET
    path: /v1/{object}/fields
    response: {records: "$.fields[*]"}
metadata: {name: $.key, type: $.type, type_map: {text: string}}
errors:
  body: {code: $.code, message: $.message, fields: $.field}
  classes:
    - {kind: not_found, codes: [BAD_VALUE], fields: [id]}
    - {kind: validation, codes: [BAD_VALUE], statuses: [400]}
    - {kind: auth, statuses: [401]}
"""
PROFILE = """\
name: wordcrm-people
connector: ./wordcrm.yaml
streams:
  person:
    object: person
    upsert_key: ref
    identity: {key: email, source: {email: $.email}}
    fields:
      name: {source: $.name, overwrite: true}
      ref: $.id
"""


def people(*rows: tuple[str, str | None]) -> list[dict[str, Any]]:
    return [{"id": f"s{i}", "email": email, "name": name} for i, (email, name) in enumerate(rows, 1)]


def home(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    (tmp_path / "wordcrm.yaml").write_text(CONNECTOR, encoding="utf-8")
    (tmp_path / "profile.yaml").write_text(PROFILE, encoding="utf-8")
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "person.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows),
                                                    encoding="utf-8")
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps({"access_token": "word-token"}), encoding="utf-8")
    creds.chmod(0o600)
    return tmp_path


def push(where: Path, url: str) -> PushResult:
    request = PushRequest(where / "profile.yaml", where / "data", base_url=url, as_user="tester",
                          state_dir=where / "state", credentials_file=where / "creds.json", progress=False)
    return run_push(request, quiet())


def outcome(result: PushResult, source_id: str) -> Any:
    return next(o for o in result.outcomes if o.record.source_id == source_id)


def test_a_word_other_than_the_success_word_fails_the_record_with_its_own_error(tmp_path: Path) -> None:
    where = home(tmp_path, people(("ada@a.example", "Ada"), ("bo@a.example", ""),
                                  ("cy@a.example", "Queued Cy")))
    with served() as (crm, url):
        result = push(where, url)
        assert [p["ref"] for p in crm.people.values()] == ["s1"]
    ada, bo, cy = (outcome(result, s) for s in ("s1", "s2", "s3"))
    assert ada.result == "success" and ada.action == "insert"
    assert bo.result == "error" and bo.error_code == "BAD_VALUE" and bo.error == "a person needs a name"
    assert cy.result == "error" and "queued" in (cy.error or ""), cy  # never read as written
    assert result.summary()["created"] == 1 and result.summary()["failed"] == 2


def test_a_refused_answer_gives_each_record_its_own_error_without_splitting_the_batch(
        tmp_path: Path) -> None:
    where = home(tmp_path, people(("bo@a.example", ""), ("cy@a.example", "")))
    with served() as (crm, url):
        result = push(where, url)
        upserts = [s for s in crm.sent if s[1].endswith("/upsert")]
    assert len(upserts) == 1  # the 400 named each record: no halving to find the bad one
    assert all(o.error_code == "BAD_VALUE" and o.error == "a person needs a name" for o in result.outcomes)


def test_an_upsert_the_crm_answers_merged_is_counted_an_update(tmp_path: Path) -> None:
    where = home(tmp_path, people(("ada@a.example", "Ada"), ("bo@a.example", "Bo")))
    with served() as (crm, url):
        # Ada's record typed in by someone under another email, holding her ref: the upsert merges into it
        crm.people[50] = {"id": 50, "ref": "s1", "email": "ada@typed.example", "name": "Ada (typed)"}
        result = push(where, url)
        assert sorted(p["ref"] for p in crm.people.values()) == ["s1", "s2"]
    assert (outcome(result, "s1").action, outcome(result, "s1").crm_id) == ("update", "50")
    assert outcome(result, "s2").action == "insert" and result.summary()["created"] == 1


def test_an_update_of_a_record_deleted_in_the_crm_is_said_so(tmp_path: Path) -> None:
    where = home(tmp_path, people(("ada@a.example", "Ada"), ("bo@a.example", "Bo")))
    with served() as (crm, url):
        push(where, url)
        [bo_id] = [i for i, p in crm.people.items() if p["ref"] == "s2"]
        del crm.people[bo_id]
        home(tmp_path, people(("ada@a.example", "Ada Lovelace"), ("bo@a.example", "Bo Berg")))
        again = push(where, url)
    assert outcome(again, "s1").result == "success" and outcome(again, "s1").action == "update"
    bo = outcome(again, "s2")
    assert bo.error_code == "deleted_in_crm" and "BAD_VALUE: no such record" in (bo.error or ""), bo
    assert again.summary()["deleted_in_crm"] == 1


@pytest.mark.parametrize(("old", "new", "marker", "fragment"), [
    pytest.param("success: $.status, success_values: [ok],\n               refused_with_results: true}",
                 "success_values: [ok],\n               refused_with_results: true}", "{records",
                 "success_values needs `success`", id="success-values-without-success"),
    pytest.param("created: $.outcome, created_values", "created_values", "{records",
                 "created_values needs `created`", id="created-values-without-created"),
    pytest.param("{records: \"$.data[*]\", id: $.id, success: $.status, success_values: [ok],\n"
                 "               refused_with_results: true}\n  metadata",
                 "{records: \"$.data[*]\", id: $.id, refused_with_results: true}\n  metadata", "{records",
                 "refused_with_results needs `records` and `success`", id="refused-with-results-alone"),
    pytest.param("{kind: not_found, codes: [BAD_VALUE], fields: [id]}", "{kind: not_found, fields: [id]}",
                 "{kind: not_found", "`fields` narrows `codes`", id="class-fields-without-codes"),
])
def test_misused_result_words_are_located(tmp_path: Path, old: str, new: str, marker: str,
                                          fragment: str) -> None:
    assert CONNECTOR.count(old) >= 1, old
    text = CONNECTOR.replace(old, new, 1)
    end = CONNECTOR.index(old) + len(new)
    at = text.rindex(marker, 0, end)
    where = f"{text.count(chr(10), 0, at) + 1}:{at - text.rfind(chr(10), 0, at)}"
    path = tmp_path / "wordcrm.yaml"
    path.write_text(text, encoding="utf-8")
    assert_error_at(errors_of(path, "connector"), path, where, fragment)

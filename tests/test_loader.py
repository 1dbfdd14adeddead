"""Loading: every kind of bad spec or profile gives `path:line:col: message`, at the exact place.

Each case is a whole file (or a one-line change to a small valid connector) with the line and column
the error must point at and a fragment of its message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.catalog import load_connector, load_profile
from engine.errors import CrmsyncError, LoadError, LoadErrors

P = pytest.param

PROFILE_HEAD = "name: p\nconnector: hubspot\n"
STREAM = "streams:\n  e:\n    object: companies\n    identity: {key: domain, source: {domain: $.website}}\n"

# A small valid connector; connector cases replace one of its lines (numbered here from 1).
TINY = """\
name: tiny
label: Tiny
base_url: https://api.tiny.example
api_version: v1
auth:
  flows: [{kind: static_token}]
  token_expired: [{status: 401}]
  refresh_refused: [{status: 400}]
objects:
  company:
    api_name: companies
    id_field: id
    identity_keys:
      domain: {parts: [{name: domain, field: domain, normalize: domain}]}
    fields:
      id: {type: id, creatable: false, updatable: false}
      domain: {type: string}
  person:
    api_name: people
    id_field: id
    identity_keys:
      email: {parts: [{name: email, field: email, normalize: email}]}
    relations:
      employer: {kind: field, to: company, field: company_id}
    fields:
      id: {type: id, creatable: false, updatable: false}
      email: {type: email}
      company_id: {type: reference, references: company}
endpoints:
  lookup: {method: GET, path: "/{object}", query: {q: "{match}"}}
  create: {method: POST, path: "/{object}", body: $fields}
  update: {method: PATCH, path: "/{object}/{id}", body: $fields}
  list: {method: GET, path: "/{object}"}
  metadata: {method: GET, path: "/meta/{object}"}
metadata: {name: $.name, type: $.type, type_map: {text: string}}
errors:
  body: {code: $.code, message: $.message}
  classes: [{kind: validation, statuses: [400]}]
"""


def tiny(line: int, text: str) -> str:
    """TINY with line `line` (1-based) replaced by `text`."""
    lines = TINY.splitlines()
    lines[line - 1] = text
    return "\n".join(lines) + "\n"


def errors_of(path: Path, load: str = "profile") -> list[LoadError]:
    """The load errors of a profile or connector file (failing the test if it loads)."""
    with pytest.raises((LoadError, LoadErrors)) as caught:
        if load == "profile":
            load_profile(path)
        else:
            load_connector(str(path))
    exc = caught.value
    return exc.errors if isinstance(exc, LoadErrors) else [exc]


def assert_error_at(errors: list[LoadError], path: Path, where: str, fragment: str) -> None:
    line, col = map(int, where.split(":"))
    here = [e for e in errors if e.position and (e.position.line, e.position.col) == (line, col)]
    shown = "\n".join(map(str, errors))
    assert here, f"no error at {line}:{col}; got:\n{shown}"
    assert any(fragment in e.message for e in here), f"no {fragment!r} at {line}:{col}; got:\n{shown}"
    assert all(e.path == path for e in here)
    assert any(str(e).startswith(f"{path}:{line}:{col}: ") for e in here)


PROFILE_CASES = [  # (file text, line:col, message fragment)
    P(PROFILE_HEAD + 'streams: {a: [1, 2}\n',
      "3:19", "malformed YAML: expected ',' or ']'", id='malformed-yaml'),
    P(PROFILE_HEAD + 'description: "no end\nstreams: {}\n',
      "5:1", 'malformed YAML: found unexpected end of stream, while scanning a quoted scalar started at 3:14',
      id='unclosed-quote'),
    P('name: p\nstreams:\n  e: [1, 2\n  f: 3\n',
      "4:4", 'while parsing a flow sequence started at 3:6', id='unclosed-bracket'),
    P('name: p\nstreams:\n\te: 1\n',
      "3:1", 'YAML indents with spaces', id='tab'),
    P(PROFILE_HEAD + 'name: q\n',
      "3:1", "duplicate key 'name' (first defined at 1:1)", id='duplicate-top-key'),
    P(PROFILE_HEAD + 'streams:\n  e:\n    id: $.id\n    object: companies\n    object: contacts\n',
      "7:5", "duplicate key 'object' (first defined at 6:5)", id='duplicate-nested-key'),
    P('name: p\nconnecter: hubspot\n' + STREAM,
      "2:1", "unknown key 'connecter'; did you mean 'connector'?", id='unknown-top-key'),
    P(PROFILE_HEAD + 'custom_fields:\n  companies:\n    tier: {type: string, lable: Tier}\n' + STREAM,
      "5:26", "unknown key 'lable'; did you mean 'label'?", id='unknown-key-in-field-spec'),
    P(PROFILE_HEAD + STREAM + '    parents:\n      - stream: e\n        source: $.p\n'
                              '        relation: parent_company\n        requierd: true\n',
      "11:9", "unknown key 'requierd'; did you mean 'required'?", id='unknown-key-in-list-item'),
    P(PROFILE_HEAD + STREAM + "    fields:\n      name: {template: '{{ n }}', transfrom: strip}\n",
      "8:35", "unknown key 'transfrom' (a mapping with 'template'); did you mean 'transform'?",
      id='unknown-key-in-mapping-names-its-kind'),
    P(PROFILE_HEAD + STREAM + '    colour: blue\n',
      "7:5", "unknown key 'colour'; expected one of: fields, file, id, identity, name, object, owner, "
             'parents, unsafe_fields',
      id='unknown-key-no-close-match'),
    P('name: p\n' + STREAM,
      "1:1", "missing required key 'connector' in the top level", id='missing-top-key'),
    P(PROFILE_HEAD + 'streams:\n  e:\n    object: companies\n    identity: {key: domain}\n',
      "6:15", "missing required key 'source' in streams.e.identity", id='missing-nested-key'),
    P(PROFILE_HEAD + STREAM + '    parents:\n      - {stream: e, source: $.p}\n',
      "8:9", "missing required key 'relation' in streams.e.parents.0", id='missing-key-in-list-item'),
    P(PROFILE_HEAD + STREAM + '    parents: {stream: e}\n',
      "7:14", 'streams.e.parents: Input should be a valid list (got a mapping', id='wrong-type'),
    P(PROFILE_HEAD + STREAM + '    fields:\n      name: {source: $.n, overwrite: maybe}\n',
      "8:38", 'streams.e.fields.name.overwrite: Input should be a valid boolean', id='wrong-type-boolean'),
    P(PROFILE_HEAD + 'streams:\n  e:\n    object: companies\n'
                     '    identity: {key: domain, source: {domain: 3}}\n',
      "6:46", 'Input should be a valid string or a valid list (got a number: 3)', id='wrong-type-in-union'),
    P(PROFILE_HEAD + 'custom_fields:\n  companies:\n    tier: {type: strng}\n' + STREAM,
      "5:18", "custom_fields.companies.tier.type: Input should be 'id', 'string'", id='wrong-literal'),
    P(PROFILE_HEAD + STREAM + '    fields:\n      name: {sourse: $.name}\n',
      "8:13", "a mapping needs one of `source`, `value` or `template`; found 'sourse' (did you mean "
              "'source'?)",
      id='mapping-without-kind'),
    P(PROFILE_HEAD + STREAM + '    fields:\n      name: {source: $.name, value: x}\n',
      "8:30", "'source' and 'value' cannot be used together", id='mapping-two-kinds'),
    P(PROFILE_HEAD + STREAM + '    fields:\n      name: 3\n',
      "8:13", 'a mapping needs one of `source`, `value` or `template`', id='mapping-a-number'),
    P(PROFILE_HEAD + 'connection: {portal_id: 123456}\n' + STREAM,
      "3:25", "connection.portal_id: Input should be a valid string (got a number: 123456)",
      id='number-for-text'),
    P(PROFILE_HEAD + 'streams:\n',
      "3:1", "streams: Input should be a valid dictionary (got nothing)", id='empty-value-at-its-key'),
    P(PROFILE_HEAD + STREAM + '    fields:\n      name:\n',
      "8:7", "streams.e.fields.name: a mapping needs one of `source`, `value` or `template`",
      id='empty-mapping-at-its-key'),
    P(PROFILE_HEAD + 'streams: {}\n',
      "3:10", 'streams: needs at least 1 item(s), found 0', id='no-streams'),
    P('',
      "1:1", 'the file is empty', id='empty-file'),
    P('\n   \n\n',
      "1:1", 'the file is empty', id='blank-lines-only'),
    P('# a profile\n# to be written\n',
      "1:1", 'the file holds only comments', id='only-comments'),
    P('- name: p\n- connector: hubspot\n',
      "1:1", 'expected a mapping of keys at the top, got a list', id='top-level-list'),
    P('just some words\n',
      "1:1", 'expected a mapping of keys at the top, got a string', id='top-level-scalar'),
    P('name: p\nconnector: hubsopt\n' + STREAM,
      "2:12", "no built-in connector named 'hubsopt'; built-in: ", id='missing-builtin-connector'),
]


@pytest.mark.parametrize(("text", "where", "fragment"), PROFILE_CASES)
def test_profile_load_error_is_located(tmp_path: Path, text: str, where: str, fragment: str) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    assert_error_at(errors_of(path), path, where, fragment)


META = 'metadata: {name: $.name, type: $.type, type_map: {text: string}}\n'
CONNECTOR_CASES = [  # (line of TINY to replace, its replacement, line:col, message fragment)
    P(24, '      employer: {kind: field, to: company, feild: company_id}',
      "24:44", "unknown key 'feild' (kind: field); did you mean 'field'?", id='relation-branch-unknown-key'),
    P(24, '      employer: {kind: field, to: company, feild: company_id}',
      "24:17", "missing required key 'field' in objects.person.relations.employer (kind: field)",
      id='relation-branch-missing-key'),
    P(24, '      employer: {kind: bind, to: company, property: p, path: /c, field: x}',
      "24:66", "unknown key 'field' (kind: bind); expected one of: kind, path, property, read, to",
      id='relation-bind-branch-unknown-key'),
    P(24, '      employer: {to: company, field: company_id}',
      "24:17", "missing required key 'kind' in objects.person.relations.employer: one of field, bind, "
               'association',
      id='relation-without-kind'),
    P(24, '      employer: {kind: feild, to: company, field: company_id}',
      "24:24", "objects.person.relations.employer.kind: 'feild' is not one of field, bind, association; "
               "did you mean 'field'?",
      id='relation-misspelt-kind'),
    P(27, '      email: {type: email, requird: true}',
      "27:28", "unknown key 'requird'; did you mean 'required'?", id='unknown-key-in-field-spec'),
    P(27, '      email: {type: emial}',
      "27:21", "objects.person.fields.email.type: Input should be 'id', 'string'", id='field-type-literal'),
    P(17, '      domain: {type: string, options: [a, b]}',
      "17:15", '`options` are only for picklist and multipicklist fields, not string', id='model-check'),
    P(20, '    id_field: id\n    endpoints: {lookp: {method: GET, path: /x}}',
      "21:17", "objects.person.endpoints: unknown key 'lookp'; did you mean 'lookup'?",
      id='unknown-endpoint-name'),
    P(34, '  metdata: {method: GET, path: "/meta/{object}"}',
      "34:3", "unknown key 'metdata'; did you mean 'metadata'?", id='missing-endpoint'),
    P(7, '  token_expired: [{status: four}]',
      "7:28", 'auth.token_expired.0.status: Input should be a valid integer or a valid list (got a string: '
              "'four')",
      id='wrong-type-in-error-match'),
    P(32, '  update: {method: PATCH, path: "/{object}/{id}", body: $fields, response: {id_pattern: "(x"}}',
      "32:76", "endpoints.update.response: '(x' is not a valid regular expression: missing ), unterminated "
               "subpattern",
      id='bad-regular-expression'),
    # dangling references, checked right after loading
    P(24, '      employer: {kind: field, to: compnay, field: company_id}',
      "24:35", "unknown object 'compnay'", id='relation-to-unknown-object'),
    P(24, '      employer: {kind: field, to: company, field: companyid}',
      "24:51", "unknown field 'companyid' of person", id='relation-unknown-field'),
    P(22, '      email: {parts: [{name: email, field: e_mail, normalize: email}]}',
      "22:23", "unknown field 'e_mail' of person", id='identity-key-unknown-field'),
    P(28, '      company_id: {type: reference, references: firm}',
      "28:49", "unknown object 'firm'", id='reference-to-unknown-object'),
    P(32, '  update: {method: PATCH, path: "/{object}/{idd}", body: $fields}',
      "32:33", "unknown placeholder 'idd'; this endpoint has api_version, fields, id, items, object, ref "
               'and {vars.*}',
      id='endpoint-unknown-placeholder'),
    P(31, '  create: {method: POST, path: "/{object}", body: $feilds}',
      "31:51", "unknown placeholder 'feilds'", id='endpoint-unknown-whole-placeholder'),
    P(30, '  lookup: {method: GET, path: "/{vars.set}", query: {q: "{match}"}}',
      "30:31", '{vars.set} is not set in the vars of companies, people', id='endpoint-unset-var'),
    # the account request (how the org is known): after the metadata line
    P(35, META + 'account: {request: {path: /me}, id: $.id, sorce: doc}',
      "36:43", "unknown key 'sorce'; did you mean 'source'?", id='account-unknown-key'),
    P(35, META + 'account: {request: {path: /me}}',
      "36:10", "missing required key 'id' in account", id='account-without-id'),
    P(35, META + 'account: {request: {method: POST, path: /me}, id: $.id}',
      "36:29", "account.request.method: Input should be 'GET' (got a string: 'POST')",
      id='account-not-a-get'),
    P(35, META + 'account: {request: {path: /me}, id: $.id, pattern: "00D.*"}',
      "36:10", "account: `pattern` takes the id out with exactly one group: (...)",
      id='account-pattern-no-group'),
    P(35, META + 'account: {request: {path: "/me/{org}"}, id: $.id}',
      "36:20", "an account request path may use {api_version} only, not {org}", id='account-placeholder'),
    P(35, META + 'account: {request: {path: /me}, id: "$.[["}',
      "36:37", "'$.[[' is not a valid JSONPath", id='account-bad-jsonpath'),
]


@pytest.mark.parametrize(("line_no", "replacement", "where", "fragment"), CONNECTOR_CASES)
def test_connector_load_error_is_located(tmp_path: Path, line_no: int, replacement: str, where: str,
                                         fragment: str) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(tiny(line_no, replacement), encoding="utf-8")
    assert_error_at(errors_of(path, "connector"), path, where, fragment)


def test_the_tiny_connector_itself_loads(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    spec = load_connector(str(path)).model
    assert spec.objects["person"].relations["employer"].to == "company"


def test_every_problem_of_a_file_is_reported_in_order(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text("name: p\nconecter: hubspot\nstreams:\n  e:\n    objet: companies\n"
                    "    identity: {key: domain, source: {domain: $.w}}\n", encoding="utf-8")
    errors = errors_of(path)
    positions = [(e.position.line, e.position.col) for e in errors if e.position]
    assert positions == [(1, 1), (2, 1), (5, 5), (5, 5)]
    assert [e.message.split(";")[0] for e in errors] == [
        "missing required key 'connector' in the top level", "unknown key 'conecter'",
        "missing required key 'object' in streams.e", "unknown key 'objet'"]


@pytest.mark.parametrize(("raw", "line", "col"), [
    (b"name: p\nconnector: hub\xffspot\n", 2, 15),
    (b"\xfename: p\n", 1, 1),
    # the column counts characters, as editors do: two-byte letters before the bad byte count once
    (b"name: caf\xc3\xa9\nconnector: h\xc3\xa9\xc3\xa9\xe9\n", 2, 15),
])
def test_non_utf8_names_the_line_and_column_of_the_bad_byte(tmp_path: Path, raw: bytes, line: int,
                                                            col: int) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(raw)
    [error] = errors_of(path)
    assert (error.position.line, error.position.col) == (line, col)  # type: ignore[union-attr]
    assert "not UTF-8 text" in error.message and "save the file as UTF-8" in error.message


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (PROFILE_HEAD + STREAM).encode())
    assert load_profile(path).profile.model.name == "p"


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    [error] = errors_of(path)
    assert error.position is None and error.path == path
    assert str(error) == f"{path}: file not found"


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    [error] = errors_of(tmp_path)
    assert str(error).startswith(f"{tmp_path}: cannot read")


def test_a_profile_naming_a_missing_connector_file_points_at_its_connector_key(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text("name: p\ndescription: d\nconnector: connectors/mine.yaml\n" + STREAM, encoding="utf-8")
    [error] = errors_of(path)
    assert (error.path, error.position.line, error.position.col) == (path, 3, 12)  # type: ignore[union-attr]
    assert error.message == f"connector {tmp_path / 'connectors' / 'mine.yaml'}: file not found"


def test_a_profile_with_a_broken_connector_reports_the_connector_file(tmp_path: Path) -> None:
    connector = tmp_path / "tiny.yaml"
    connector.write_text(tiny(27, "      email: {type: emial}"), encoding="utf-8")
    path = tmp_path / "profile.yaml"
    path.write_text("name: p\nconnector: tiny.yaml\nstreams:\n  e:\n    object: person\n"
                    "    identity: {key: email, source: {email: $.email}}\n", encoding="utf-8")
    [error] = errors_of(path)
    assert error.path == connector and (error.position.line, error.position.col) == (27, 21)  # type: ignore[union-attr]


def test_a_profile_can_use_a_connector_file_next_to_it(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY, encoding="utf-8")
    path = tmp_path / "profile.yaml"
    path.write_text("name: p\nconnector: tiny.yaml\nstreams:\n  e:\n    object: person\n"
                    "    identity: {key: email, source: {email: $.email}}\n", encoding="utf-8")
    bundle = load_profile(path)
    assert bundle.connector.model.name == "tiny" and bundle.connector.path == tmp_path / "tiny.yaml"


def test_an_unquoted_yaml_date_is_the_text_it_looks_like(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(PROFILE_HEAD + STREAM + "    fields:\n      description: {value: 2024-01-31}\n"
                    "      name: {value: 2024-01-31 10:30:00}\n", encoding="utf-8")
    fields = load_profile(path).profile.model.streams["e"].fields
    assert fields["description"].value == "2024-01-31"  # type: ignore[union-attr]
    assert fields["name"].value == "2024-01-31T10:30:00"  # type: ignore[union-attr]


def test_load_errors_are_crmsync_errors_with_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("- a\n", encoding="utf-8")
    with pytest.raises(CrmsyncError) as caught:
        load_profile(path)
    assert caught.value.exit_code == 2

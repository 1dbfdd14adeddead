"""The auth keys of the connector language (`send`, `client_auth`): each misuse is a load error at the
file:line:col of the key or value, in the table style of tests/test_loader.py (a one-line change to its
small valid connector, whose lines 5-8 are `auth:`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.catalog import load_connector
from tests.test_loader import assert_error_at, errors_of, tiny

P = pytest.param
FLOWS = "  flows: [{kind: static_token}]"

AUTH_CASES = [  # (line replaced, its replacement, line:col, message fragment)
    P(6, "  flows: [{kind: static_token, client_auth: client_secret_basic}]",
      "6:11", "`client_auth` is for flows with a token endpoint", id="client-auth-on-static-token"),
    P(6, "  flows: [{kind: refresh_token, token_url: /t, client_auth: secret_basic}]",
      "6:61", "Input should be 'client_secret_post' or 'client_secret_basic'", id="client-auth-unknown"),
    P(6, '  send: {header: "x api"}\n' + FLOWS,
      "6:9", "'x api' is not an HTTP header name", id="send-bad-header-name"),
    P(6, "  send: {header: x-api-token, query: api_token}\n" + FLOWS,
      "6:9", "`send` takes either `header` (with an optional `prefix`) or `query`",
      id="send-header-and-query"),
    P(6, "  send: {}\n" + FLOWS,
      "6:9", "`send` takes either `header`", id="send-neither"),
    P(6, '  send: {query: api_token, prefix: "Key "}\n' + FLOWS,
      "6:9", "`prefix` is only for a header", id="send-prefix-with-query"),
    P(6, '  send: {header: x-key, prefx: "Key "}\n' + FLOWS,
      "6:25", "unknown key 'prefx'; did you mean 'prefix'?", id="send-misspelt-key"),
    P(6, "  flows: [{kind: static_token, send: {qurey: api_key}}]",
      "6:39", "unknown key 'qurey'; did you mean 'query'?", id="flow-send-misspelt-key"),
    P(4, "api_version: v1\nconnection:\n  accounts_url: {description: d, follows_base_url: true, "
         "default_by_host: {.tiny.eu: 'https://accounts.tiny.eu'}}",
      "6:17", "`default_by_host` and `follows_base_url` both say", id="default-by-host-and-follows"),
    P(4, "api_version: v1\nconnection:\n  accounts_url: {description: d, default_by_host: {'tiny eu': x}}",
      "6:17", "default_by_host: 'tiny eu' is not a host ending", id="default-by-host-bad-ending"),
]


@pytest.mark.parametrize(("line_no", "replacement", "where", "fragment"), AUTH_CASES)
def test_an_auth_misuse_is_located(tmp_path: Path, line_no: int, replacement: str, where: str,
                                   fragment: str) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(tiny(line_no, replacement), encoding="utf-8")
    assert_error_at(errors_of(path, "connector"), path, where, fragment)


def test_send_defaults_to_a_bearer_authorization_header_and_a_flow_may_send_its_own_way(
        tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(tiny(6, "  flows: [{kind: static_token, send: {query: api_token}}, "
                            "{kind: client_credentials, token_url: /t, client_auth: client_secret_basic}]"),
                    encoding="utf-8")
    auth = load_connector(str(path)).model.auth
    static, credentials = auth.flows
    assert (auth.send.header, auth.send.prefix) == ("Authorization", "Bearer ")
    assert auth.send_for(None).query == "api_token" and auth.send_for(static).query == "api_token"
    assert auth.send_for(credentials) == auth.send
    assert credentials.token_endpoint_auth == "client_secret_basic"
    assert static.client_auth is None

"""How the OAuth client authenticates at the token endpoint (`client_auth`), a token endpoint on
another host than the API (`token_url` from a connection setting), and the API host taken from the
token answer (`instance_url_field`), against DuoCRM served on two ports (tests/madeup_auth.py)."""

from __future__ import annotations

from pathlib import Path

import httpx

from engine.catalog import connection_settings, load_connector
from tests.madeup_auth import (
    CLIENT_ID,
    CLIENT_SECRET,
    OAUTH_AUTH,
    REFRESH_TOKEN,
    DuoState,
    cli,
    connector_yaml,
    files_holding,
    served_duo,
    workspace,
)

OAUTH = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}
ZOHO_STYLE = {"header": "Authorization", "prefix": "Duo-oauthtoken "}
COMPANIES = [{"id": "e1", "name": "Acme", "website": "https://acme.example"},
             {"id": "e2", "name": "Beta", "website": "beta.example"},
             {"id": "e3", "name": "Gamma", "website": "gamma.example"},
             {"id": "e4", "name": "Delta", "website": "delta.example"}]


def companies(api: str) -> dict[str, str]:
    rows = httpx.get(f"{api}/_sandbox/records", timeout=10).json()["companies"]
    return {r["domain"]: r["name"] for r in rows}


def test_a_push_authenticates_by_http_basic_on_the_accounts_host_and_calls_the_api_host_it_names(
        tmp_path: Path) -> None:
    state = DuoState(send=ZOHO_STYLE)
    state.seed(name="Acme (old name)", domain="acme.example")
    with served_duo(state) as (accounts, api):
        paths = workspace(tmp_path, OAUTH_AUTH, COMPANIES[:2], OAUTH)
        base_url = accounts + "/crm/v1"  # the API is not there: only the token answer says where it is
        first = cli(paths, "push", base_url)
        assert first.exit_code == 0, first.output
        assert companies(api) == {"acme.example": "Acme", "beta.example": "Beta"}
        again = cli(paths, "push", base_url, "--format", "json")
        assert again.exit_code == 0, again.output
        assert companies(api) == {"acme.example": "Acme", "beta.example": "Beta"}
    assert state.token_calls == ["basic", "basic"]  # one token per run, the client by HTTP Basic
    assert set(state.api_hosts) == {httpx.URL(api).netloc.decode()}


def test_a_token_expiring_mid_run_is_refreshed_by_http_basic(tmp_path: Path) -> None:
    state = DuoState(send=ZOHO_STYLE, token_requests=3)
    with served_duo(state) as (accounts, api):
        paths = workspace(tmp_path, OAUTH_AUTH, COMPANIES, OAUTH)
        result = cli(paths, "push", accounts + "/crm/v1")
        assert result.exit_code == 0, result.output
        assert companies(api) == {"acme.example": "Acme", "beta.example": "Beta", "gamma.example": "Gamma",
                                  "delta.example": "Delta"}
    assert len(state.token_calls) >= 2 and set(state.token_calls) == {"basic"}


def test_a_wrong_client_secret_stops_with_the_reconnect_hint_and_shows_no_secret(tmp_path: Path) -> None:
    wrong = "duo-wrong-secret-q7z"
    state = DuoState(send=ZOHO_STYLE)
    with served_duo(state) as (accounts, api):
        paths = workspace(tmp_path, OAUTH_AUTH, COMPANIES[:1], {**OAUTH, "client_secret": wrong})
        result = cli(paths, "push", accounts + "/crm/v1")
        assert companies(api) == {}
    assert result.exit_code == 1, result.output
    assert "DuoCRM refused to refresh the access token" in result.output
    assert "reconnect crmsync to DuoCRM (Setup > Connected apps)" in result.output
    assert wrong not in result.output and REFRESH_TOKEN not in result.output
    assert files_holding(tmp_path, wrong) == []
    assert state.token_calls == ["basic"]


def test_client_secret_post_stays_the_default(tmp_path: Path) -> None:
    """Without `client_auth` the secret is posted in the form, as before: DuoCRM refuses that."""
    state = DuoState(send=ZOHO_STYLE)
    with served_duo(state) as (accounts, _):
        paths = workspace(tmp_path, OAUTH_AUTH.replace("      client_auth: client_secret_basic\n", ""),
                          COMPANIES[:1], OAUTH)
        result = cli(paths, "push", accounts + "/crm/v1")
    assert result.exit_code == 1, result.output
    assert state.token_calls == ["post"]
    assert "client authentication must use HTTP Basic" in result.output


def test_the_accounts_host_follows_the_data_centre_of_the_base_url(tmp_path: Path) -> None:
    """`default_by_host`: the accounts host a token is asked of is the base URL's data centre's."""
    data_centres = ("      default_by_host: {.duocrm.eu: 'https://accounts.duocrm.eu', "
                    ".duocrm.in: 'https://accounts.duocrm.in'}\n")
    text = connector_yaml(OAUTH_AUTH).replace(
        "  accounts_url: {description: the accounts host of the customer's data centre, default: "
        "https://accounts.duocrm.example}\n",
        "  accounts_url:\n      description: the accounts host of the customer's data centre\n"
        "      default: https://accounts.duocrm.example\n" + data_centres)
    (tmp_path / "duocrm.yaml").write_text(text, encoding="utf-8")
    connector = load_connector(str(tmp_path / "duocrm.yaml")).model

    def accounts(base_url: str, **profile: str) -> str:
        return connection_settings(connector, profile, base_url)["accounts_url"]

    assert accounts("https://www.duocrm.eu/crm/v1") == "https://accounts.duocrm.eu"
    assert accounts("https://api.eu1.duocrm.in/crm/v1") == "https://accounts.duocrm.in"
    assert accounts("https://api.duocrm.example/crm/v1") == "https://accounts.duocrm.example"
    assert accounts("https://www.duocrm.eu/crm/v1", accounts_url="https://sso.acme.example") == \
        "https://sso.acme.example"

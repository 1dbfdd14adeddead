"""Where a credential goes (`auth.send`: a header of the CRM's choosing with its prefix, or a query
parameter), and that it is redacted wherever it shows: plan JSON and HTML, table output, the activity
log and error messages, by placement and by value (a header a plugin adds). Against DuoCRM
(tests/madeup_auth.py), served over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.hookspecs import hookimpl
from engine.plugins import manager
from tests.madeup_auth import API_KEY, DuoState, cli, files_holding, served_duo, workspace

KEY = {"access_token": API_KEY}
COMPANIES = [{"id": "e1", "name": "Acme", "website": "acme.example"},
             {"id": "e2", "name": "Beta", "website": "beta.example"}]
ECHOED = {"id": "e3", "name": "ECHO", "website": "echo.example"}  # refused, the URL quoted


def static_auth(send: str) -> str:
    return f"""\
auth:
  send: {send}
  flows: [{{kind: static_token}}]
  token_expired: [{{status: 401, path: $.code, equals: [EXPIRED]}}]
  refresh_refused: [{{status: 400}}]
  reconnect_hint: create a new DuoCRM API key
"""


def domains(api: str) -> dict[str, str]:
    rows = httpx.get(f"{api}/_sandbox/records", timeout=10).json()["companies"]
    return {r["domain"]: r["name"] for r in rows}


def saved_plan(paths: dict[str, Path], api: str) -> dict[str, Any]:
    out = paths["state"].parent / "plan.json"
    result = cli(paths, "plan", api + "/crm/v1", "--format", "json", "--out", str(out))
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def test_an_api_key_in_a_header_of_the_crms_choosing_without_prefix(tmp_path: Path) -> None:
    state = DuoState(send={"header": "x-api-token"}, static_keys={API_KEY})
    state.seed(name="Acme (old)", domain="acme.example")
    with served_duo(state) as (_, api):
        paths = workspace(tmp_path, static_auth("{header: x-api-token}"), COMPANIES, KEY)
        plan = saved_plan(paths, api)
        pushed = cli(paths, "push", api + "/crm/v1")
        assert pushed.exit_code == 0, pushed.output
        assert domains(api) == {"acme.example": "Acme", "beta.example": "Beta"}
    assert {r["kind"] for r in plan["requests"]} == {"lookup", "create", "update"}
    assert all(r["headers"].get("x-api-token") == "<redacted>" and "Authorization" not in r["headers"]
               for r in plan["requests"])
    assert files_holding(tmp_path, API_KEY) == []


def test_an_api_key_in_a_query_parameter_is_redacted_in_the_plans_urls(tmp_path: Path) -> None:
    state = DuoState(send={"query": "api_token"}, static_keys={API_KEY})
    with served_duo(state) as (_, api):
        paths = workspace(tmp_path, static_auth("{query: api_token}"), COMPANIES, KEY)
        plan = saved_plan(paths, api)
        html = cli(paths, "plan", api + "/crm/v1", "--format", "html", "--out", str(tmp_path / "plan.html"))
        table = cli(paths, "plan", api + "/crm/v1")
        pushed = cli(paths, "push", api + "/crm/v1", "--format", "json")
        assert pushed.exit_code == 0, pushed.output
        assert domains(api) == {"acme.example": "Acme", "beta.example": "Beta"}
    assert html.exit_code == 0 and table.exit_code == 0, html.output + table.output
    assert plan["requests"] and all(r["url"].endswith("api_token=<redacted>") for r in plan["requests"])
    assert all("Authorization" not in r["headers"] for r in plan["requests"])
    assert API_KEY not in table.output + pushed.output
    assert files_holding(tmp_path, API_KEY) == []


class SigningPlugin:
    """A plugin quirk that puts the API key in a header of its own (as some CRMs' signing schemes do)."""

    @hookimpl
    def crmsync_adjust_request(self, connector: Any, request: Any) -> None:
        if connector.name == "duocrm":
            request.headers["X-Duo-Signature"] = f"key={API_KEY}"


@pytest.fixture
def signing_plugin() -> Iterator[None]:
    plugin = SigningPlugin()
    manager().register(plugin, name="test-duo-signing")
    try:
        yield
    finally:
        manager().unregister(plugin)


@pytest.mark.usefixtures("signing_plugin")
def test_a_secret_a_plugin_or_the_crm_puts_anywhere_never_reaches_plan_log_or_console(tmp_path: Path) -> None:
    state = DuoState(send={"query": "api_token"}, static_keys={API_KEY})
    with served_duo(state) as (_, api):
        paths = workspace(tmp_path, static_auth("{query: api_token}"), [*COMPANIES, ECHOED], KEY)
        plan = saved_plan(paths, api)
        html = cli(paths, "plan", api + "/crm/v1", "--format", "html", "--out", str(tmp_path / "plan.html"))
        pushed = cli(paths, "push", api + "/crm/v1")
    assert html.exit_code == 0, html.output
    assert pushed.exit_code == 1, pushed.output  # the echoed record failed alone
    assert all(r["headers"]["X-Duo-Signature"] == "<redacted>" for r in plan["requests"])
    logged = cli_log(paths)
    refused = [e for e in logged if e["result"] == "error"]
    assert len(refused) == 1 and "api_token=<redacted>" in refused[0]["error"], logged
    assert API_KEY not in pushed.output + json.dumps(logged)
    assert files_holding(tmp_path, API_KEY) == []


def cli_log(paths: dict[str, Path]) -> list[dict[str, Any]]:
    from typer.testing import CliRunner

    from engine.cli import app

    result = CliRunner().invoke(app, ["log", "--state-dir", str(paths["state"]), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.usefixtures("signing_plugin")
def test_a_plugins_header_holding_the_token_is_redacted_in_the_saved_plan_with_the_default_placement(
        tmp_path: Path) -> None:
    state = DuoState(send={"header": "Authorization", "prefix": "Bearer "}, static_keys={API_KEY})
    auth = static_auth("x").replace("  send: x\n", "")  # no `send`: Authorization: Bearer, as before
    with served_duo(state) as (_, api):
        paths = workspace(tmp_path, auth, COMPANIES, KEY)
        plan = saved_plan(paths, api)
        html = cli(paths, "plan", api + "/crm/v1", "--format", "html", "--out", str(tmp_path / "plan.html"))
    assert html.exit_code == 0, html.output
    assert all(r["headers"] == {"Authorization": "<redacted>", "X-Duo-Signature": "<redacted>"}
               for r in plan["requests"])
    assert files_holding(tmp_path, API_KEY) == []

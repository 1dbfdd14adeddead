"""The CRM's address: required where the connector's is a documented placeholder, and never sent a
credential there; taken from --base-url, the credentials file or the profile's connection; accepted in
the forms people copy from their CRM; and one of another CRM, or without a scheme, refused (exit 2) with
a message that says so, before any credential is sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from engine.catalog import load_connector
from engine.cli import app
from tests.pushkit import OAUTH, PEOPLE, PROFILES, credentials_file, push, records, served

PROBES = {"/services/data/", "/api/data/v9.2/", "/crm/v3/objects/contacts"}  # paths no credential goes to


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "400", **(env or {})})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL crmsync asks for, none of them reached (the placeholder host is not ours to call)."""
    asked: list[str] = []

    def refuse(self: Any, request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        raise httpx.ConnectError("the test lets nothing out", request=request)

    async def refuse_async(self: Any, request: httpx.Request) -> httpx.Response:
        return refuse(self, request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", refuse_async)
    return asked


@pytest.fixture
def oauth_env() -> dict[str, str]:
    return {f"CRMSYNC_{k.upper()}": v for k, v in OAUTH.items()}


def push_cli(crm: str, examples: Path, state: Path, *extra: str, env: dict[str, str] | None = None,
             profile: Path | None = None) -> tuple[int, str]:
    return cli("push", str(profile or PROFILES[crm]), "--source", str(examples), "--state-dir", str(state),
               *extra, env=env)


# ----- point 17: no credential for a placeholder ------------------------------------------------

def test_a_push_without_an_address_sends_nothing_to_the_placeholder(examples: Path, tmp_path: Path,
                                                                    network: list[str],
                                                                    oauth_env: dict[str, str]) -> None:
    code, shown = push_cli("salesforce", examples, tmp_path / "state", env=oauth_env)
    assert code == 2, shown
    assert network == []  # not the token endpoint of MyDomainName.my.salesforce.com, nor anything else
    assert "no address for Salesforce: https://MyDomainName.my.salesforce.com in the connector is a " \
           "placeholder, and crmsync sends no credentials there." in shown
    assert "--base-url URL, as base_url in the credentials file, or as base_url in the connection" in shown
    assert "sandbox-secret" not in shown


def test_the_placeholder_given_as_the_address_is_refused(examples: Path, tmp_path: Path, network: list[str],
                                                        oauth_env: dict[str, str]) -> None:
    for url in ("https://MyDomainName.my.salesforce.com", "https://mydomainname.my.salesforce.com/"):
        code, shown = push_cli("salesforce", examples, tmp_path / "state", "--base-url", url, env=oauth_env)
        assert code == 2, shown
        assert f"--base-url: {url} is a placeholder of Salesforce's documentation" in shown
    code, shown = push_cli("dynamics", examples, tmp_path / "state", env=oauth_env)
    assert code == 2 and "no address for Microsoft Dynamics 365 (Dataverse)" in shown
    assert network == []


def test_a_plan_made_offline_gives_no_address_to_push_plan(examples: Path, tmp_path: Path, network: list[str],
                                                          oauth_env: dict[str, str]) -> None:
    """An offline plan carries the connector's placeholder as its base_url: `push --plan` does not use it."""
    saved = tmp_path / "plan.json"
    cli("plan", str(PROFILES["salesforce"]), "--source", str(examples), "--format", "json",
        "--out", str(saved), "--state-dir", str(tmp_path / "state"))
    assert json.loads(saved.read_text(encoding="utf-8"))["base_url"] == "https://MyDomainName.my.salesforce.com"
    code, shown = cli("push", "--plan", str(saved), "--state-dir", str(tmp_path / "state"), env=oauth_env)
    assert code == 2 and "no address for Salesforce" in shown, shown
    assert network == []


def test_a_connector_whose_placeholder_is_a_served_host_never_hears_from_a_push(
        examples: Path, tmp_path: Path, oauth_env: dict[str, str]) -> None:
    """The same over real HTTP: a connector file that names the served emulator's host its placeholder."""
    with served("salesforce") as (emulator, url):
        text = (Path(PROFILES["salesforce"]).parent.parent / "connectors" / "salesforce.yaml").read_text()
        text = text.replace("base_url: https://MyDomainName.my.salesforce.com", f"base_url: {url}")
        text = text.replace("placeholders: [", "placeholders: [127.0.0.1, ")
        (tmp_path / "crm.yaml").write_text(text, encoding="utf-8")
        profile = tmp_path / "profile.yaml"
        profile.write_text(PROFILES["salesforce"].read_text(encoding="utf-8").replace(
            "connector: salesforce", "connector: ./crm.yaml"), encoding="utf-8")
        code, shown = push_cli("salesforce", examples, tmp_path / "state", env=oauth_env, profile=profile)
        heard = list(emulator.requests)
    assert code == 2 and "no address for Salesforce" in shown, shown
    assert heard == []


# ----- where the address comes from --------------------------------------------------------------

def test_the_address_in_the_credentials_file_or_the_profiles_connection_is_used(
        examples: Path, tmp_path: Path) -> None:
    with served("salesforce") as (_, url):
        creds = credentials_file("salesforce", tmp_path / "creds", base_url=url)
        by_file = push("salesforce", examples, "", tmp_path / "one", credentials=creds).summary()
        profile = tmp_path / "profile.yaml"
        profile.write_text(PROFILES["salesforce"].read_text(encoding="utf-8").replace(
            "connector: salesforce\n", f"connector: {PROFILES['salesforce'].parent.parent}/connectors/"
            f"salesforce.yaml\nconnection:\n  base_url: {url}/services/data/v60.0\n"), encoding="utf-8")
        by_profile = push("salesforce", examples, "", tmp_path / "two", profile=profile).summary()
        valid, said = cli("validate", str(profile))
    assert by_file["created"] > 0 and by_profile["created"] == 0 and by_profile["updated"] == 0
    assert valid == 0 and "unknown_connection_setting" not in said, said


def test_a_wrong_address_in_the_profile_is_located(examples: Path, tmp_path: Path,
                                                   oauth_env: dict[str, str]) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILES["salesforce"].read_text(encoding="utf-8").replace(
        "connector: salesforce\n", f"connector: {PROFILES['salesforce'].parent.parent}/connectors/"
        "salesforce.yaml\nconnection:\n  base_url: acme.my.salesforce.com\n"), encoding="utf-8")
    code, shown = push_cli("salesforce", examples, tmp_path / "state", env=oauth_env, profile=profile)
    assert code == 2
    assert f"{profile}:8:13: connection.base_url: 'acme.my.salesforce.com' has no scheme: write it " \
           "https://acme.my.salesforce.com" in shown


# ----- point 18: the forms people copy, and addresses that are not this CRM's ---------------------

@pytest.mark.parametrize(("crm", "given", "base_url"), [
    ("dynamics", "https://org.crm.dynamics.com", "https://org.crm.dynamics.com/api/data/v9.2"),
    ("dynamics", "https://org.crm4.dynamics.com/", "https://org.crm4.dynamics.com/api/data/v9.2"),
    ("dynamics", "https://org.crm.dynamics.com/api/data/v9.2/", "https://org.crm.dynamics.com/api/data/v9.2"),
    ("dynamics", "https://org.crm.dynamics.com/main.aspx?appid=1", "https://org.crm.dynamics.com/api/data/v9.2"),
    ("salesforce", "https://acme.my.salesforce.com/", "https://acme.my.salesforce.com"),
    ("salesforce", "https://acme.my.salesforce.com/services/data/v60.0", "https://acme.my.salesforce.com"),
    ("salesforce", "HTTPS://acme.my.salesforce.com/services/data/", "https://acme.my.salesforce.com"),
    ("salesforce", "https://acme.lightning.force.com/lightning/r/Account/001/view", "https://acme.my.salesforce.com"),
    ("salesforce", "https://acme--uat.sandbox.lightning.force.com/", "https://acme--uat.sandbox.my.salesforce.com"),
    ("hubspot", "https://api.hubapi.com/crm/v3/objects/contacts", "https://api.hubapi.com"),
    ("hubspot", "https://proxy.example/hubspot", "https://proxy.example/hubspot"),  # kept as written
])
def test_the_forms_people_copy(crm: str, given: str, base_url: str) -> None:
    from engine.address import Given, normalize

    assert normalize(load_connector(crm).model, Given(given, "--base-url")) == base_url


COPIED = {"dynamics": lambda url: url.removesuffix("/api/data/v9.2"),  # the environment URL alone
          "salesforce": lambda url: url + "/services/data/v60.0/"}  # the instance URL with the REST path


@pytest.mark.parametrize("crm", sorted(COPIED))
def test_a_push_to_a_copied_address_creates_then_updates(crm: str, examples: Path, tmp_path: Path) -> None:
    """Dynamics' environment URL alone (as the Dataverse SDK takes it), Salesforce's with the REST path."""
    source = tmp_path / "source"
    source.mkdir()
    for file in examples.glob("*.jsonl"):
        (source / file.name).write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    with served(crm) as (_, url):
        given = COPIED[crm](url)
        first = push(crm, source, given, tmp_path / "state").summary()
        contact = json.loads((source / "employer_contact.jsonl").read_text().splitlines()[0])
        contact["last_name"] = "Doe-Whitfield"  # a field the profile may overwrite
        lines = (source / "employer_contact.jsonl").read_text().splitlines()
        (source / "employer_contact.jsonl").write_text("\n".join([json.dumps(contact), *lines[1:]]) + "\n")
        second = push(crm, source, given, tmp_path / "state").summary()
        crm_people = records(url)[PEOPLE[crm]]
    assert first["created"] > 0
    assert second["created"] == 0 and second["updated"] == 1, second
    assert any("Doe-Whitfield" in json.dumps(p) for p in crm_people)


@pytest.mark.parametrize(("crm", "other", "label"), [
    ("salesforce", "hubspot", "HubSpot"), ("hubspot", "dynamics", "Microsoft Dynamics 365 (Dataverse)"),
    ("dynamics", "salesforce", "Salesforce"), ("dynamics", "hubspot", "HubSpot")])
def test_an_address_of_another_crm_is_refused_before_any_credential(crm: str, other: str, label: str,
                                                                    examples: Path, tmp_path: Path) -> None:
    with served(other) as (emulator, url):
        pushed = push_cli(crm, examples, tmp_path / "state", "--base-url", url,
                          "--credentials", str(credentials_file(crm, tmp_path / "creds")))
        planned = cli("plan", str(PROFILES[crm]), "--source", str(examples), "--base-url", url,
                      "--state-dir", str(tmp_path / "state"),
                      "--credentials", str(credentials_file(crm, tmp_path / "creds")))
        asked = {r["path"] for r in emulator.requests}
    for code, shown in (pushed, planned):
        assert code == 2, shown
        assert f"--base-url: {url} is an address of {label}, not of " in shown
        assert "nothing was sent" in shown and "HTTPStatusError" not in shown
    assert all(path.endswith(tuple(PROBES)) for path in asked), asked


def test_an_address_that_is_no_crm_says_what_it_answered(examples: Path, tmp_path: Path) -> None:
    with served("hubspot") as (_, url):
        code, shown = cli("validate", str(PROFILES["salesforce"]), "--base-url", f"{url}/nothing-here",
                          "--credentials", str(credentials_file("salesforce", tmp_path / "creds")))
    assert code == 2, shown
    assert f"{url}/nothing-here does not answer as Salesforce's API does (GET {url}/nothing-here/services/" \
           "data/ answered 404); nothing was sent. Check the address: your org's My Domain URL" in shown


@pytest.mark.parametrize(("crm", "url", "what"), [
    ("salesforce", "https://login.salesforce.com", "Salesforce's sign-in host"),
    ("dynamics", "https://login.microsoftonline.com/", "Microsoft Entra ID's sign-in host"),
    ("hubspot", "https://app.hubspot.com/contacts/123456", "the HubSpot web app")])
def test_a_host_of_the_crm_that_serves_no_api_is_refused(crm: str, url: str, what: str, examples: Path,
                                                         tmp_path: Path, network: list[str]) -> None:
    creds = credentials_file(crm, tmp_path / "creds")
    code, shown = push_cli(crm, examples, tmp_path / "state", "--base-url", url, "--credentials", str(creds))
    assert code == 2, shown
    assert f"--base-url: {url} is {what}" in shown and "nothing was sent" in shown
    assert network == []


def test_an_address_that_cannot_be_reached_stops_before_sending(examples: Path, tmp_path: Path) -> None:
    from engine.sandbox.common import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    code, shown = push_cli("hubspot", examples, tmp_path / "state", "--base-url", url,
                           "--credentials", str(credentials_file("hubspot", tmp_path / "creds")))
    assert code == 1, shown
    assert f"cannot reach {url} (ConnectError); nothing was sent" in shown


@pytest.mark.parametrize("command", ["push", "plan", "validate"])
def test_an_address_without_a_scheme_is_refused(command: str, examples: Path, tmp_path: Path) -> None:
    with served("salesforce") as (emulator, url):
        bare = url.removeprefix("http://")
        args = ["--source", str(examples)] if command != "validate" else []
        code, shown = cli(command, str(PROFILES["salesforce"]), *args, "--base-url", bare,
                          "--credentials", str(credentials_file("salesforce", tmp_path / "creds")),
                          "--state-dir", str(tmp_path / "state"))
        heard = list(emulator.requests)
    assert code == 2, shown
    assert f"--base-url: '{bare}' has no scheme: write it https://{bare} (http:// for a local emulator)" \
        in shown
    assert heard == []


def test_a_message_about_an_address_shows_no_password_or_query(examples: Path, tmp_path: Path) -> None:
    with served("hubspot") as (_, url):
        given = url.replace("http://", "http://ana:hunter2@") + "/nothing"
        queried = f"{url}/nothing?hapikey=k3y-never-shown"
        creds = str(credentials_file("salesforce", tmp_path / "creds"))
        profile = str(PROFILES["salesforce"])
        answered = cli("validate", profile, "--base-url", given, "--credentials", creds)
        with_query = cli("validate", profile, "--base-url", queried, "--credentials", creds)
    bare = cli("validate", profile, "--base-url", "ana:hunter2@acme.my.salesforce.com")
    assert answered[0] == 2 and f"--base-url: {url}/nothing does not answer as Salesforce" in answered[1]
    assert with_query[0] == 2 and f"'{url}/nothing?…': a base URL has no query" in with_query[1]
    assert bare[0] == 2 and "'acme.my.salesforce.com' has no scheme" in bare[1]
    assert "hunter2" not in answered[1] + bare[1] and "k3y" not in with_query[1]

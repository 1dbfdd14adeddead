"""A CRM org is known by the account id the CRM answers once authenticated (the connector's `account:`),
not by its address: two HubSpot portals served at one address are two orgs (two budgets, two bindings,
two push locks), one Salesforce org at two addresses is one org, an account request the CRM refuses keys
by the address with a warning, and a connector without `account:` keys by the address. Real HTTP to the
emulators; the store is SQLite or PostgreSQL (this file is in PG_SUITE)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from engine.sandbox.common import AuthConfig, running
from engine.state.locks import PushRunning
from tests.pushkit import ROOT, credentials_file, push, served
from tests.runskit import Counting, cli, employer_profile, employers
from tests.statekit import rows, store_at
from tests.test_state_orgs import bound

PORTAL_A, PORTAL_B = 11_111_111, 22_222_222
TOKEN_B = "portal-b-private-app-token"


@contextmanager
def two_portals() -> Iterator[tuple[Counting, str]]:
    """One address serving two portals: the token says which (as api.hubapi.com does)."""
    emulator = Counting(account_id=PORTAL_A, portals={TOKEN_B: PORTAL_B},
                        auth=AuthConfig(static_tokens={"sandbox-token": "app@a", TOKEN_B: "app@b"}))
    with running(emulator) as url:
        yield emulator, url


def refused_push(profile: Path, source: Path, url: str, state: Path, creds: Path) -> str:
    """What a push refused before sending anything (exit 2) says, on one line."""
    refused = cli("push", profile, "--source", source, "--base-url", url, "--state-dir", state,
                  "--credentials", creds)
    said = " ".join(refused.stderr.split())
    assert refused.returncode == 2, said
    return said


def account_requests(url: str, path: str) -> int:
    root = httpx.URL(url).copy_with(path="/")
    return sum(1 for r in httpx.get(root.join("/_sandbox/requests"), timeout=30).json() if r["path"] == path)


def json_of(answer: object) -> dict:  # type: ignore[type-arg]
    assert answer.returncode in (0, 1), answer.stderr  # type: ignore[attr-defined]
    return json.loads(answer.stdout)  # type: ignore[attr-defined,no-any-return]


def test_a_profile_bound_to_one_portal_is_refused_with_another_portals_token_at_the_same_address(
        tmp_path: Path) -> None:
    source, state, profile = employers(tmp_path / "src", good=2, bad=0), tmp_path / "state", \
        employer_profile(tmp_path)
    creds_a = credentials_file("hubspot", tmp_path / "a")
    creds_b = credentials_file("hubspot", tmp_path / "b", access_token=TOKEN_B)
    with two_portals() as (emulator, url):
        assert push("hubspot", source, url, state, profile=profile, credentials=creds_a).summary()[
            "created"] == 2
        assert bound(state, "prefixes") == f"hubspot:{PORTAL_A}"
        emulator.writes.clear()
        said = refused_push(profile, source, url, state, creds_b)
        assert f"belongs to the CRM org hubspot:{PORTAL_A}, not to hubspot:{PORTAL_B} (at {url})" in said
        assert "nothing was sent" in said and "--org-moved does not apply" in said
        assert emulator.writes == []  # the other customer's portal got nothing
        assert TOKEN_B not in said
    assert bound(state, "prefixes") == f"hubspot:{PORTAL_A}"


def test_two_portals_at_one_address_get_two_budgets_two_bindings_and_one_account_request_each(
        tmp_path: Path) -> None:
    source, state = employers(tmp_path / "src", good=2, bad=0), tmp_path / "state"
    profile_a = employer_profile(tmp_path)
    profile_b = tmp_path / "b" / "profile.yaml"
    profile_b.parent.mkdir()
    profile_b.write_text(profile_a.read_text(encoding="utf-8").replace("name: prefixes", "name: other"),
                         encoding="utf-8")
    creds_b = credentials_file("hubspot", tmp_path / "cb", access_token=TOKEN_B)
    with two_portals() as (_, url):
        first = push("hubspot", source, url, state, profile=profile_a)
        second = push("hubspot", source, url, state, profile=profile_b, credentials=creds_b)
        assert first.summary()["created"] == 2
        # the emulator keeps one set of records for both portals: the second finds them by domain
        assert second.summary()["failed"] == 0 and second.summary()["unchanged"] == 2
        assert account_requests(url, "/account-info/v3/details") == 2  # once per push
    assert (bound(state, "prefixes"), bound(state, "other")) == (f"hubspot:{PORTAL_A}", f"hubspot:{PORTAL_B}")
    budgets = {r[0] for r in rows(state, "SELECT DISTINCT org FROM org_budgets")}
    assert budgets == {f"hubspot:{PORTAL_A}", f"hubspot:{PORTAL_B}"}  # HubSpot's limits, one set per portal


def test_two_portals_do_not_block_each_others_push_lock(tmp_path: Path) -> None:
    store, other = store_at(tmp_path / "state"), store_at(tmp_path / "state")
    a, b = f"hubspot:{PORTAL_A}", f"hubspot:{PORTAL_B}"
    try:
        with store.push_lock("prefixes", a):
            with other.push_lock("other", b):  # another profile, another portal: both run
                pass
            if os.environ.get("CRMSYNC_TEST_STATE") == "postgresql":  # keyed by profile and org
                with other.push_lock("prefixes", b):
                    pass
            with pytest.raises(PushRunning), other.push_lock("prefixes", a):
                pass  # the same profile and portal: refused
    finally:
        store.close()
        other.close()


def test_one_salesforce_org_at_two_addresses_is_one_org(tmp_path: Path) -> None:
    source, state = ROOT / "examples" / "data", tmp_path / "state"
    with served("salesforce") as (emulator, url):
        first = push("salesforce", source, url, state)
        created = first.summary()["created"]
        assert created > 0
        my_domain = url.replace("127.0.0.1", "localhost")  # the same org at its other address
        again = push("salesforce", source, my_domain, state)  # accepted without --org-moved
        assert again.summary()["created"] == 0 and again.summary()["unchanged"] > 0
        assert all("moved" not in n and "bound" not in n for n in again.notices), again.notices
    assert bound(state, "salesforce-benefitflow") == f"salesforce:{emulator.org_id}"  # type: ignore[attr-defined]


def test_a_refused_account_request_keys_by_the_address_with_a_warning(tmp_path: Path) -> None:
    source, state, profile = employers(tmp_path / "src", good=2, bad=0), tmp_path / "state", \
        employer_profile(tmp_path)
    creds = credentials_file("hubspot", tmp_path / "c")
    common = ["--source", source, "--state-dir", state, "--credentials", creds, "--format", "json"]
    with running(Counting(missing_scopes={"oauth"})) as url:
        said = json_of(cli("push", profile, "--base-url", url, *common))
        assert said["summary"]["created"] == 2
        (warning,) = [w for w in said["warnings"] if w["code"] == "org_by_address"]
        assert "refused (403)" in warning["message"] and url in warning["message"]
        shown = json_of(cli("runs", said["run_id"], "--state-dir", state, "--format", "json"))
        assert shown["org"] == url and shown["account_id"] is None and "403" in shown["org_warning"]
    assert bound(state, "prefixes") == url


def test_a_profile_bound_to_a_portal_is_refused_when_the_account_request_is(tmp_path: Path) -> None:
    source, state, profile = employers(tmp_path / "src", good=2, bad=0), tmp_path / "state", \
        employer_profile(tmp_path)
    creds = credentials_file("hubspot", tmp_path / "c")
    with running(Counting(account_id=PORTAL_A)) as url:
        first = push("hubspot", source, url, state, profile=profile, credentials=creds)
        assert first.summary()["created"] == 2
    emulator = Counting(account_id=PORTAL_A, missing_scopes={"oauth"})  # the token lost its scope
    with running(emulator) as url:
        said = refused_push(profile, source, url, state, creds)
        assert f"belongs to the CRM org hubspot:{PORTAL_A}, not to the org at {url} (" in said
        assert "refused (403)" in said and "nothing was sent" in said
        assert emulator.writes == []


def test_a_connector_without_account_keys_by_the_address(tmp_path: Path) -> None:
    source, state = employers(tmp_path / "src", good=2, bad=0), tmp_path / "state"
    spec = (ROOT / "connectors" / "hubspot.yaml").read_text(encoding="utf-8")
    start = spec.index("\naccount:\n")
    end = spec.index("\n\n", start + 1)
    assert "source:" in spec[start:end]
    (tmp_path / "tinyspot.yaml").write_text(spec[:start] + spec[end:], encoding="utf-8")
    profile = employer_profile(tmp_path)
    profile.write_text(profile.read_text(encoding="utf-8").replace("connector: hubspot",
                                                                   "connector: ./tinyspot.yaml"),
                       encoding="utf-8")
    with running(Counting()) as url:
        result = push("hubspot", source, url, state, profile=profile)
        assert result.summary()["created"] == 2 and not result.warnings
        assert account_requests(url, "/account-info/v3/details") == 0
    assert bound(state, "prefixes") == url


def test_the_dry_run_lists_the_account_request_and_runs_show_the_account_id(tmp_path: Path) -> None:
    source, state, profile = employers(tmp_path / "src", good=2, bad=0), tmp_path / "state", \
        employer_profile(tmp_path)
    creds = credentials_file("hubspot", tmp_path / "c")
    common = ["--source", source, "--state-dir", state, "--credentials", creds, "--format", "json"]
    with running(Counting(account_id=PORTAL_A)) as url:
        plan = cli("plan", profile, "--base-url", url, *common)
        assert plan.returncode == 0, plan.stderr
        planned = json.loads(plan.stdout)
        first = planned["requests"][0]
        assert (first["kind"], first["method"], first["url"]) == ("account", "GET",
                                                                  f"{url}/account-info/v3/details")
        assert planned["org"] == {"org": f"hubspot:{PORTAL_A}", "account_id": str(PORTAL_A),
                                  "account_facts": {"data_hosting_location": "na1"}}
        assert account_requests(url, "/account-info/v3/details") == 1
        pushed = json_of(cli("push", profile, "--base-url", url, *common))
        shown = cli("runs", pushed["run_id"], "--state-dir", state)
        assert f"CRM org: hubspot:{PORTAL_A}" in shown.stdout, shown.stdout + shown.stderr
        listed = json_of(cli("runs", pushed["run_id"], "--state-dir", state, "--format", "json"))
        assert (listed["org"], listed["account_id"]) == (f"hubspot:{PORTAL_A}", str(PORTAL_A))
        for text in (plan.stdout, shown.stdout, json.dumps(listed)):
            assert "sandbox-token" not in text  # the account id is no secret; the token is

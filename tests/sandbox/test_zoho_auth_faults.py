"""Zoho emulator: the Zoho Accounts token endpoint, the Zoho-oauthtoken header, token expiry, faults,
latency, seeds, the /_sandbox routes, credits, concurrency, and `crmsync sandbox serve zoho` — over HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.sandbox.common import SandboxConfigError, free_port
from engine.sandbox.zoho import ZohoSandbox
from tests.sandbox.zoho_kit import OAUTH, only_error, served


def token_answer(org_http: httpx.Client, **params: str) -> httpx.Response:
    return org_http.post("/oauth/v2/token", params={"grant_type": "refresh_token", **OAUTH, **params})


def test_token_answer_names_the_api_domain_and_lasts_an_hour() -> None:
    with served() as org:
        answer = token_answer(org.http).json()
        assert answer["api_domain"] == org.url and answer["expires_in"] == 3600
        assert answer["token_type"] == "Bearer" and answer["access_token"]


def test_token_by_form_body_and_by_http_basic() -> None:
    with served() as org:
        form = org.http.post("/oauth/v2/token", data={"grant_type": "refresh_token", **OAUTH})
        assert "access_token" in form.json()
        basic = base64.b64encode(b"sandbox-client:sandbox-secret").decode()
        answer = org.http.post(
            "/oauth/v2/token",
            data={"grant_type": "refresh_token", "refresh_token": "sandbox-refresh"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert "access_token" in answer.json()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"refresh_token": "stolen"}, "invalid_code"),
        ({"client_id": "someone"}, "invalid_client"),
        ({"client_secret": "guess"}, "invalid_client_secret"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
    ],
)
def test_a_refused_token_request_answers_zohos_error_body_with_200(change: dict[str, str], code: str) -> None:
    with served() as org:
        answer = token_answer(org.http, **change)
        assert answer.status_code == 200 and answer.json() == {"error": code}
    with served(token_error_status=400) as org:
        assert token_answer(org.http, **change).status_code == 400


def test_api_wants_the_zoho_oauthtoken_scheme() -> None:
    with served() as org:
        for headers in ({}, {"Authorization": f"Bearer {org.token}"}):
            answer = org.http.get("/crm/v7/Accounts", params={"fields": "Account_Name"}, headers=headers)
            assert only_error(answer, 401)["code"] == "AUTHENTICATION_FAILURE"
        unknown = org.http.get(
            "/crm/v7/Accounts",
            params={"fields": "Account_Name"},
            headers={"Authorization": "Zoho-oauthtoken nope"},
        )
        assert only_error(unknown, 401) == {
            "code": "INVALID_TOKEN",
            "details": {},
            "message": "invalid oauth token",
            "status": "error",
        }


def test_expired_tokens_answer_invalid_token_and_a_new_one_works() -> None:
    with served() as org:
        assert org.http.post("/_sandbox/expire-tokens").json() == {"expired": True}
        assert only_error(org.get("/Accounts", fields="Account_Name"), 401)["code"] == "INVALID_TOKEN"
        fresh = {"Authorization": f"Zoho-oauthtoken {org.new_token()}"}
        assert (
            org.http.get("/crm/v7/Accounts", params={"fields": "Account_Name"}, headers=fresh).status_code
            == 204
        )


def test_expire_every_fault_expires_the_nth_call() -> None:
    with served(faults="expire_every=2") as org:
        assert org.get("/Accounts", fields="Account_Name").status_code == 204
        assert only_error(org.get("/Accounts", fields="Account_Name"), 401)["code"] == "INVALID_TOKEN"


def test_5xx_fault_answers_zohos_internal_error_and_writes_nothing() -> None:
    with served(faults="5xx=1.0") as org:
        body = only_error(org.post("/Accounts", {"data": [{"Account_Name": "A"}]}), 500)
        assert body["code"] == "INTERNAL_ERROR"
        assert org.sandbox.records["Accounts"] == {}
        assert "access_token" in token_answer(org.http).json()  # the token endpoint has no faults


def test_drop_fault_writes_then_cuts_the_answer() -> None:
    with served(faults="drop=1.0") as org:
        with pytest.raises(httpx.HTTPError):
            org.post("/Accounts", {"data": [{"Account_Name": "A"}]})
        assert len(org.http.get("/_sandbox/records").json()["Accounts"]) == 1
        writes = [e for e in org.http.get("/_sandbox/requests").json() if e["path"] == "/crm/v7/Accounts"]
        assert [e.get("fault") for e in writes] == ["drop"]


def test_drop_before_fault_writes_nothing() -> None:
    with served(faults="drop_before=1.0") as org:
        with pytest.raises(httpx.HTTPError):
            org.post("/Accounts", {"data": [{"Account_Name": "A"}]})
        assert org.http.get("/_sandbox/records").json()["Accounts"] == []


def test_seed_records_are_served_and_reset_restores_them(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"Accounts": [{"id": "5550000000000000042", "Account_Name": "Seeded"}]}))
    with served(seed=seed) as org:
        org.insert("Accounts", {"Account_Name": "New"})
        assert len(org.http.get("/_sandbox/records").json()["Accounts"]) == 2
        assert org.http.post("/_sandbox/reset").json() == {"reset": True}
        (only,) = org.http.get("/_sandbox/records").json()["Accounts"]
        assert (only["id"], only["Account_Name"]) == ("5550000000000000042", "Seeded")


def test_a_seed_of_an_unknown_module_is_refused() -> None:
    with pytest.raises(SandboxConfigError, match="Widgets"):
        ZohoSandbox(seed={"Widgets": [{"Name": "x"}]})


def test_request_log_records_method_path_query_and_status() -> None:
    with served() as org:
        org.get("/Accounts", fields="Account_Name")
        entry = org.http.get("/_sandbox/requests").json()[-2]  # the last is this read of the log
        assert entry == {
            "method": "GET",
            "path": "/crm/v7/Accounts",
            "query": "fields=Account_Name",
            "status": 204,
        }


def test_daily_credits_count_one_per_started_ten_records() -> None:
    with served(daily_credits=3) as org:
        assert (
            org.post("/Accounts", {"data": [{"Account_Name": f"A{i}"} for i in range(20)]}).status_code == 201
        )
        assert org.post("/Accounts", {"data": [{"Account_Name": "B"}]}).status_code == 201  # 3 credits spent
        body = only_error(org.post("/Accounts", {"data": [{"Account_Name": "C"}]}), 429)
        assert body["code"] == "TOO_MANY_REQUESTS"
        assert len(org.sandbox.records["Accounts"]) == 21


def test_edition_sets_the_credits_and_the_concurrency() -> None:
    assert (ZohoSandbox(edition="free").daily_credits, ZohoSandbox(edition="free").concurrency) == (5000, 5)
    standard = ZohoSandbox(edition="standard", users=10)
    assert (standard.daily_credits, standard.concurrency) == (52_500, 10)
    with pytest.raises(SandboxConfigError, match="edition"):
        ZohoSandbox(edition="gold")


def test_calls_beyond_the_concurrency_limit_answer_429() -> None:
    with served(concurrency=2, latency_ms=300) as org:

        async def burst() -> list[int]:
            async with httpx.AsyncClient(base_url=org.url, headers=org.headers, timeout=30) as client:
                answers = await asyncio.gather(
                    *(client.get("/crm/v7/Accounts", params={"fields": "Account_Name"}) for _ in range(6))
                )
            return [a.status_code for a in answers]

        statuses = asyncio.run(burst())
        assert statuses.count(204) >= 2 and 429 in statuses
        refused = [e for e in org.http.get("/_sandbox/requests").json() if e["status"] == 429]
        assert refused and all(e["fault"] == "concurrency" for e in refused)


def test_crmsync_sandbox_serve_zoho_as_a_user_types_it() -> None:
    port = free_port()
    crmsync = Path(sys.executable).with_name("crmsync")
    process = subprocess.Popen(
        [str(crmsync), "sandbox", "serve", "zoho", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert f"listening on http://127.0.0.1:{port}" in line
        answer: dict[str, Any] = httpx.post(
            f"http://127.0.0.1:{port}/oauth/v2/token", params={"grant_type": "refresh_token", **OAUTH}
        ).json()
        assert answer["api_domain"] == f"http://127.0.0.1:{port}"
    finally:
        os.kill(process.pid, signal.SIGINT)
        process.wait(timeout=20)


def test_the_organization_api_answers_the_orgs_id_behind_its_scope() -> None:
    with served(org_id="5550000000123456") as org:
        answer = org.get("/org")
        assert answer.status_code == 200, answer.text
        (details,) = answer.json()["org"]
        assert details["id"] == "5550000000123456" and details["domain_name"] and details["iso_code"] == "USD"
    with served(missing_scopes={"ZohoCRM.org.READ"}) as org:
        assert only_error(org.get("/org"), 401)["code"] == "OAUTH_SCOPE_MISMATCH"
    assert ZohoSandbox().org_id != ZohoSandbox().org_id  # each emulator an org of its own

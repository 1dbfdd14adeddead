"""A pull of Zoho CRM after a complete one sends Get Records with If-Modified-Since, as Zoho documents it:
only the records modified since, and 304 Not Modified (no body) when none was; an empty module (204,
no body) pulls as no records. Against the served emulator, over HTTP."""

from __future__ import annotations

import time
from pathlib import Path

from tests.pushkit import PROFILES, credentials_file, served
from tests.sandbox import zoho_kit
from tests.test_pull_listing import company, pull
from tests.test_pull_sandboxes import cli, empty_dir


def listed(emulator: object) -> list[dict[str, object]]:
    return [r for r in emulator.requests  # type: ignore[attr-defined]
            if r["path"] == "/crm/v7/Accounts" and r["status"] != 401]


def test_a_later_pull_with_nothing_modified_is_answered_304_and_keeps_what_it_had(tmp_path: Path) -> None:
    seeded = 4
    state = tmp_path / "state"
    with served("zoho", seed={"Accounts": [company("zoho", i) for i in range(seeded)]}) as (emulator, url):
        time.sleep(2.2)  # the emulator's Modified_Time has whole seconds: the seeds are before the listing
        first = pull("zoho", PROFILES["zoho"], url, empty_dir(tmp_path / "empty"), state)
        assert first.fetched[0].records == seeded and not first.fetched[0].incremental
        emulator.requests.clear()
        second = pull("zoho", PROFILES["zoho"], url, tmp_path / "empty", state)
        assert second.fetched[0].incremental and second.fetched[0].records == 0
        assert [r["status"] for r in listed(emulator)] == [304]
        assert len(second.records) == seeded


def test_an_empty_zoho_module_pulls_as_no_records(tmp_path: Path) -> None:
    with served("zoho") as (_, url):
        result = cli("pull", PROFILES["zoho"], "--source", empty_dir(tmp_path / "empty"), "--base-url", url,
                     "--object", "accounts", "--state-dir", tmp_path / "state",
                     "--credentials", credentials_file("zoho", tmp_path / "creds"))
        assert result.exit_code == 0, result.output
        assert "New: 0" in result.stdout


def test_the_emulator_lists_only_what_was_modified_since_and_refuses_an_unreadable_time() -> None:
    with zoho_kit.served() as org:
        [old] = org.insert("Accounts", {"Account_Name": "Old"})
        stamp = org.sandbox.records["Accounts"][old]["Modified_Time"]
        org.sandbox.records["Accounts"][old]["Modified_Time"] = "2026-01-01T00:00:00+00:00"
        [new] = org.insert("Accounts", {"Account_Name": "New"})
        ask = {**org.headers, "If-Modified-Since": "2026-06-01T00:00:00Z"}
        answer = org.http.get("/crm/v7/Accounts", params={"fields": "Account_Name"}, headers=ask)
        assert answer.status_code == 200 and [r["id"] for r in answer.json()["data"]] == [new]
        later = {**org.headers, "If-Modified-Since": stamp.replace("20", "21", 1)}  # a century on
        unchanged = org.http.get("/crm/v7/Accounts", params={"fields": "Account_Name"}, headers=later)
        assert unchanged.status_code == 304 and unchanged.content == b""
        bad = {**org.headers, "If-Modified-Since": "yesterday"}
        refused = org.http.get("/crm/v7/Accounts", params={"fields": "Account_Name"}, headers=bad)
        assert zoho_kit.only_error(refused, 400)["code"] == "INVALID_DATA"

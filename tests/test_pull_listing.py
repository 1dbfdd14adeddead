"""A pull pages through every record with the connector's list endpoint, asks for full pages (the
fewest requests the CRM allows), goes on from the page it stood at when it was killed, and a later pull
asks only for the records modified since the last one, where the connector can filter by modification
time. Against the served sandboxes, whose list routes page as the CRMs document."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from engine.pull.run import run_pull
from tests.crms import CRMS
from tests.pushkit import PROFILES, ROOT, credentials_file, push, served
from tests.statekit import rows

EXAMPLES = ROOT / "examples" / "data"
SMALL_PAGE = 7
# what each CRM makes of a page size of 7: Salesforce's batchSize is at least 200
PAGE = {"hubspot": SMALL_PAGE, "salesforce": 200, "dynamics": SMALL_PAGE, "zoho": SMALL_PAGE}
COMPANY = {"hubspot": "companies", "salesforce": "Account", "dynamics": "account", "zoho": "accounts"}
SEED_OBJECT = {"hubspot": "companies", "salesforce": "Account", "dynamics": "accounts", "zoho": "Accounts"}
LIST_PATH = {"hubspot": "/crm/v3/objects/companies", "salesforce": "/query", "dynamics": "/accounts",
             "zoho": "/crm/v7/Accounts"}


def company(crm: str, i: int) -> dict[str, Any]:
    name, site = f"Seeded Company {i:04d}", f"https://seeded{i}.example.com"
    return {"hubspot": {"name": name, "domain": f"seeded{i}.example.com"},
            "salesforce": {"Name": name, "Website": site},
            "dynamics": {"name": name, "websiteurl": site},
            "zoho": {"Account_Name": name, "Website": site}}[crm]


def small_pages(crm: str, where: Path) -> Path:
    """The shipped profile on a copy of its connector whose list pages hold SMALL_PAGE records."""
    where.mkdir(parents=True, exist_ok=True)
    spec = (ROOT / "connectors" / f"{crm}.yaml").read_text(encoding="utf-8")
    (where / f"{crm}.yaml").write_text(re.sub(r"page_size: \d+", f"page_size: {SMALL_PAGE}", spec),
                                       encoding="utf-8")
    profile = PROFILES[crm].read_text(encoding="utf-8").replace(f"connector: {crm}\n",
                                                                 f"connector: ./{crm}.yaml\n")
    (where / "profile.yaml").write_text(profile, encoding="utf-8")
    return where / "profile.yaml"


def list_requests(emulator: Any, crm: str) -> list[dict[str, Any]]:
    return [r for r in emulator.requests
            if (r["path"].endswith(LIST_PATH[crm]) and r["status"] != 401)  # 401: an address probe
            or (crm == "hubspot" and r["path"].endswith("/companies/search"))
            or (crm == "salesforce" and "/query/" in r["path"] and "Account" not in r.get("query", "x"))]


def pull(crm: str, profile: Path, url: str, source: Path, state: Path) -> Any:
    return run_pull(profile, source, base_url=url, state_dir=state, object_name=COMPANY[crm],
                    credentials_file=credentials_file(crm, state.parent / "creds"))


@pytest.mark.parametrize("crm", CRMS)
def test_every_page_is_fetched_in_as_few_requests_as_the_page_size_allows(crm: str, tmp_path: Path) -> None:
    count = 2 * PAGE[crm] + 3
    profile = small_pages(crm, tmp_path / "spec")
    (tmp_path / "empty").mkdir()
    with served(crm, seed={SEED_OBJECT[crm]: [company(crm, i) for i in range(count)]}) as (emulator, url):
        result = pull(crm, profile, url, tmp_path / "empty", tmp_path / "state")
        fetched = result.fetched[0]
        assert (fetched.records, fetched.pages) == (count, math.ceil(count / PAGE[crm]))
        assert len({r.crm_id for r in result.records}) == count
        assert result.summary() == {"match_found": 0, "new": count, "linked": 0}
        assert len(list_requests(emulator, crm)) == fetched.pages


@pytest.mark.parametrize("crm", CRMS)
def test_a_later_pull_asks_only_for_the_records_modified_since(crm: str, tmp_path: Path) -> None:
    seeded = 5
    profile = PROFILES[crm]
    state = tmp_path / "state"
    with served(crm, seed={SEED_OBJECT[crm]: [company(crm, i) for i in range(seeded)]}) as (emulator, url):
        time.sleep(2.2)  # the CRM's clock (its Date header) has whole seconds: the seeds are before it
        first = pull(crm, profile, url, EXAMPLES, state)
        assert not first.fetched[0].incremental and first.fetched[0].records == seeded
        time.sleep(1.1)
        pushed = push(crm, EXAMPLES, url, tmp_path / "pusher")  # companies made after the first pull
        made = sum(1 for o in pushed.records if o.object == COMPANY[crm] and o.action == "insert") \
            if hasattr(pushed, "records") else None
        emulator.requests.clear()
        second = pull(crm, profile, url, EXAMPLES, state)
        assert second.fetched[0].incremental
        new_ones = second.fetched[0].records
        assert 0 < new_ones < seeded + new_ones == len(second.records)
        if made is not None:
            assert new_ones == made
        sent = list_requests(emulator, crm)
        assert sent and all(_filters_by_time(crm, r) for r in sent)


def _filters_by_time(crm: str, request: dict[str, Any]) -> bool:
    query = request.get("query", "")
    return {"hubspot": request["path"].endswith("/search"),
            "salesforce": "SystemModstamp" in query or "/query/" in request["path"],
            "dynamics": "modifiedon" in query,
            # the log keeps no headers: tests/test_pull_zoho_since.py sees If-Modified-Since at work
            "zoho": request["path"].endswith("/Accounts")}[crm]


@pytest.mark.parametrize("crm", CRMS)
def test_a_pull_killed_between_pages_goes_on_from_the_next_one(crm: str, tmp_path: Path) -> None:
    count = 6 * PAGE[crm]
    profile = small_pages(crm, tmp_path / "spec")
    (tmp_path / "empty").mkdir()
    state = tmp_path / "state"
    seed = {SEED_OBJECT[crm]: [company(crm, i) for i in range(count)]}
    with served(crm, seed=seed, latency_ms=150) as (emulator, url):
        command = [sys.executable, "-m", "engine.cli", "pull", str(profile),
                   "--source", str(tmp_path / "empty"), "--base-url", url, "--object", COMPANY[crm],
                   "--state-dir", str(state),
                   "--credentials", str(credentials_file(crm, tmp_path / "creds"))]
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            pages = _wait_for_pages(state, child, 2)
        finally:
            child.kill()
            child.wait(timeout=30)
        emulator.requests.clear()
        result = pull(crm, profile, url, tmp_path / "empty", state)
        fetched = result.fetched[0]
        assert fetched.resumed and fetched.pages <= math.ceil(count / PAGE[crm]) - pages
        assert len(list_requests(emulator, crm)) == fetched.pages
        assert len(result.records) == count == len({r.crm_id for r in result.records})


def _wait_for_pages(state: Path, child: subprocess.Popen[bytes], least: int) -> int:
    """Until the pull in `child` has kept `least` pages of a listing still in progress."""
    for _ in range(600):
        if child.poll() is not None:
            raise AssertionError(f"the pull ended before it was killed: {child.stderr.read().decode()}")
        row = next(iter(rows(state, "SELECT pages, listing FROM pull_state")), None)
        if row and row[1] and row[0] >= least:
            return int(row[0])
        time.sleep(0.05)
    raise AssertionError("the pull kept no page in 30 s")


def test_the_json_of_a_pull_has_the_contract_s_shape(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from engine.cli import app

    (tmp_path / "empty").mkdir()
    with served("hubspot", seed={"companies": [company("hubspot", 1)]}) as (_, url):
        result = CliRunner().invoke(app, ["pull", str(PROFILES["hubspot"]),
                                          "--source", str(tmp_path / "empty"), "--base-url", url,
                                          "--state-dir", str(tmp_path / "state"),
                                          "--credentials", str(credentials_file("hubspot", tmp_path / "c")),
                                          "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["summary"]) == {"match_found", "new", "linked"}
    assert [set(r) >= {"object", "crm_id", "status", "values", "candidates", "linked_to", "record_url"}
            for r in data["records"]] == [True]


def test_a_listed_record_without_an_id_stops_the_pull_saying_where(tmp_path: Path) -> None:
    """Rather than every such record be kept as one (their ids all missing)."""
    from typer.testing import CliRunner

    from engine.cli import app

    profile = small_pages("hubspot", tmp_path / "spec")
    spec = tmp_path / "spec" / "hubspot.yaml"
    text = spec.read_text(encoding="utf-8")
    listing = text.index("\n  list:\n")
    broken = text[listing:].replace("      id: $.id\n", "      id: $.identifier\n", 1)
    spec.write_text(text[:listing] + broken, encoding="utf-8")
    (tmp_path / "empty").mkdir()
    with served("hubspot", seed={"companies": [company("hubspot", i) for i in range(3)]}) as (_, url):
        result = CliRunner().invoke(app, ["pull", str(profile), "--source", str(tmp_path / "empty"),
                                          "--base-url", url, "--state-dir", str(tmp_path / "state"),
                                          "--credentials", str(credentials_file("hubspot", tmp_path / "c"))])
    assert result.exit_code == 1
    assert "has no id at $.identifier" in result.stderr and "companies" in result.stderr

"""A CRM org's rate limit holds across processes that share a store: two pushes of two profiles of one
org, run at once by two processes, draw on the org's one budget, and the CRM (which counts requests per
fixed window and refuses what is over) never sees it exceeded. Every request counts: the look-ups a push
makes while it plans, the requests it sends again after a 503, its writes. With SQLite (one state dir)
and with PostgreSQL (one state URL): the limiter's state lives in the store's org_budgets and
org_requests tables (docs/fleet.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

from engine.sandbox.common import running
from engine.state import open_store
from tests.madeup_limits import TinyLimits, write_files

ROOT = Path(__file__).resolve().parent.parent
LIMIT, PERIOD = 3, 0.5
PUSH = "import sys; from engine.cli import app; sys.argv[0] = 'crmsync'; app()"


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The store both processes use: the state dir's SQLite, or a PostgreSQL URL (in the environment
    the processes inherit)."""
    monkeypatch.delenv("CRMSYNC_STATE_URL", raising=False)
    if request.param == "postgresql":
        monkeypatch.setenv("CRMSYNC_STATE_URL", request.getfixturevalue("pg_url"))
    return str(request.param)


def profile_named(directory: Path, name: str, first: int) -> Path:
    """A profile of its own name and its own companies (numbered from `first`), of the one connector."""
    profile = write_files(directory, f"limits:\n  rate:\n    - {{requests: {LIMIT}, per_seconds: {PERIOD}, "
                                     "window: fixed}", companies=16)
    profile.write_text(profile.read_text(encoding="utf-8").replace("name: tinylimits-companies",
                                                                   f"name: {name}"), encoding="utf-8")
    source = directory / "source" / "employer.jsonl"
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    renumbered = [{**r, "id": f"e{first + i}", "website": f"https://c{first + i}.example"}
                  for i, r in enumerate(rows)]
    source.write_text("".join(json.dumps(r) + "\n" for r in renumbered), encoding="utf-8")
    return profile


@dataclass
class Flaky(TinyLimits):
    """Holds some of the companies already (a push looks them up, then updates them) and answers every
    third look-up 503 once (the client sends it again)."""

    unavailable: int = 0  # 503s answered

    def handle(self, request: Request, body: Any) -> JSONResponse:
        if request.method == "GET" and "filter" in request.query_params:
            looked = sum(1 for r in self.requests if r["method"] == "GET" and r["status"] != 429)
            if looked % 3 == 0:
                self.unavailable += 1
                return JSONResponse({"error": {"code": "UNAVAILABLE", "message": "try again"}}, 503)
        return super().handle(request, body)


def held_already(first: int, how_many: int) -> list[dict[str, Any]]:
    """The CRM's own records of every other company of a profile numbered from `first`."""
    return [{"id": f"old{first + i}", "name": "Old name", "domain": f"c{first + i}.example"}
            for i in range(0, how_many, 2)]


def start_push(profile: Path, url: str, state: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", PUSH, "push", str(profile), "--source",
                             str(profile.parent / "source"), "--base-url", url, "--state-dir", str(state),
                             "--format", "json"], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "CRMSYNC_ACCESS_TOKEN": "tiny-key"})


def test_two_processes_pushing_two_profiles_of_one_org_share_its_limit(shared_store: str,
                                                                       tmp_path: Path) -> None:
    profiles = [profile_named(tmp_path / "a", "tiny-a", 0), profile_named(tmp_path / "b", "tiny-b", 100)]
    crm = Flaky(fixed=(LIMIT, PERIOD))
    crm.records["companies"] = held_already(0, 16) + held_already(100, 16)
    state = tmp_path / "state"
    with running(crm) as url:  # type: ignore[arg-type]
        pushes = [start_push(profile, url, state) for profile in profiles]
        answers = [p.communicate(timeout=300) for p in pushes]
    for push, (out, err) in zip(pushes, answers, strict=True):
        assert push.returncode == 0, err
        summary = json.loads(out)["summary"]
        assert (summary["created"], summary["updated"]) == (8, 8), summary
    per_window = Counter(int(r["at"] // PERIOD) for r in crm.requests)
    assert crm.refused == 0 and max(per_window.values()) <= LIMIT, sorted(per_window.items())
    lookups = [r for r in crm.requests if r["method"] == "GET" and r["path"] == "/v2/companies"]
    assert len(lookups) >= 2 and crm.unavailable >= 1  # planned look-ups and requests sent again, counted
    assert sum(1 for r in lookups if r["status"] == 503) == crm.unavailable
    assert len(crm.records["companies"]) == 32 and all(
        c["name"] != "Old name" for c in crm.records["companies"])
    store = open_store(state)  # both runs drew on the one org's places in the store
    try:
        orgs = {r[0] for r in store.db.execute("SELECT org FROM org_budgets")}
    finally:
        store.close()
    assert orgs == {url}

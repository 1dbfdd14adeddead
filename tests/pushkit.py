"""Helpers for push tests: a served sandbox, pushes through the public API, and reading the CRM back."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from engine import sandbox
from engine.push import PushResult
from engine.pushrun import PushRequest, run_push
from engine.sandbox.common import Sandbox, running
from tests.statekit import using

ROOT = Path(__file__).resolve().parent.parent
PROFILES = {"hubspot": ROOT / "profiles" / "hubspot-benefitflow.yaml",
            "salesforce": ROOT / "profiles" / "salesforce-benefitflow.yaml",
            "dynamics": ROOT / "profiles" / "dynamics-benefitflow.yaml",
            "zoho": ROOT / "profiles" / "zoho-benefitflow.yaml"}
# the object names each sandbox uses for companies and people
COMPANIES = {"hubspot": "companies", "salesforce": "Account", "dynamics": "accounts", "zoho": "Accounts"}
PEOPLE = {"hubspot": "contacts", "salesforce": "Contact", "dynamics": "contacts", "zoho": "Contacts"}


# where each CRM's API lives on its host (the base URL a user gives --base-url)
API_ROOT = {"hubspot": "", "salesforce": "", "dynamics": "/api/data/v9.2", "zoho": "/crm/v7"}


@contextmanager
def served(crm: str, **options: Any) -> Iterator[tuple[Sandbox, str]]:
    """A served emulator and the base URL of its API."""
    emulator = sandbox.create(crm, **options)
    with running(emulator) as url:
        yield emulator, url + API_ROOT[crm]


def quiet() -> Console:
    return Console(file=open("/dev/null", "w"), force_terminal=False)  # noqa: SIM115 - closed with the process


CREDENTIALS = {"hubspot": {"access_token": "sandbox-token"}}
OAUTH = {"client_id": "sandbox-client", "client_secret": "sandbox-secret", "refresh_token": "sandbox-refresh"}


def credentials_file(crm: str, directory: Path, **override: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{crm}-credentials.json"
    path.write_text(json.dumps({**CREDENTIALS.get(crm, OAUTH), **override}), encoding="utf-8")
    path.chmod(0o600)  # crmsync refuses a credentials file others can read
    return path


def push(crm: str, source: Path, base_url: str, state: Path, profile: Path | None = None,
         as_user: str = "tester", credentials: Path | None = None, *, found: bool = False) -> PushResult:
    """`found`: no --credentials file; crmsync finds them (the environment, the state dir)."""
    given = None if found else credentials or credentials_file(crm, state.parent / "creds")
    request = PushRequest(profile or PROFILES[crm], source, base_url=base_url, as_user=as_user,
                          state_dir=state, credentials_file=given, progress=False)
    with using(state):
        return run_push(request, quiet())


def records(base_url: str) -> dict[str, list[dict[str, Any]]]:
    root = httpx.URL(base_url).copy_with(path="/")
    return httpx.get(root.join("/_sandbox/records"), timeout=30).json()


def copy_source(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def rewrite(path: Path, record_id: str, **changes: Any) -> None:
    """Change fields of one record of a JSON Lines file."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        if data.get("id") == record_id:
            data.update(changes)
        lines.append(json.dumps(data, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def duplicates(values: list[Any]) -> dict[Any, int]:
    return {k: n for k, n in Counter(values).items() if n > 1}


def expected_objects(crm: str, source: Path, profile: Path | None = None) -> Counter[str]:
    """How many records of each object a complete push must leave in an empty CRM: the offline plan's
    new records (invalid ones, skipped ones and same-run duplicates excluded)."""
    from engine.catalog import load_profile
    from engine.plan import make_plan_sync

    plan = make_plan_sync(load_profile(profile or PROFILES[crm]), source)
    return Counter(r.object for r in plan.records if r.status == "net_new")


HUBSPOT_ASSOCIATIONS = (279, 14)  # the profile's: contact -> its company; office -> its broker


def associated(url: str) -> set[tuple[str, str, int]]:
    """HubSpot: (from's benefitflow id, to's benefitflow id, type id) of every association the shipped
    profile makes (HubSpot adds each one's reverse, left out)."""
    crm = records(url)
    key = {(kind, r["id"]): r["properties"].get("benefitflow_id") for kind in ("contacts", "companies")
           for r in crm[kind]}
    return {(key[a["fromObjectType"], a["fromId"]], key[a["toObjectType"], a["toId"]], a["associationTypeId"])
            for a in crm["associations"] if a["associationTypeId"] in HUBSPOT_ASSOCIATIONS}


def killed_at_random(crm: str, source: Path, url: str, state: Path, creds: Path, times: int,
                     seed: int = 2026) -> tuple[list[str], dict[str, str]]:
    """`crmsync push` as a user types it, killed with SIGKILL `times` times at random points; the
    command and environment, for the run that finishes the job."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    rng = random.Random(seed)
    command = [sys.executable, "-m", "engine.cli", "push", str(PROFILES[crm]), "--source", str(source),
               "--base-url", url, "--state-dir", str(state), "--credentials", str(creds), "--format", "json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(times):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.8, 3.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
    return command, env

"""Helpers for the runs, retry and small-batch tests: a HubSpot portal that refuses what the plan cannot
foresee, one that keeps the inputs of every batch write it got (to count what was sent), a one-stream
profile and its source."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from engine.sandbox.hubspot import HubSpotSandbox
from tests.pushkit import ROOT, credentials_file
from tests.test_hubspot_results import PROFILE, KeepsItsRulesToItself

Receive = Callable[[], Awaitable[dict[str, Any]]]


class Written:
    """Mixin: keeps (path, inputs) of every batch create/update/upsert the portal is sent."""

    writes: list[tuple[str, list[dict[str, Any]]]]

    def reset_state(self) -> None:
        super().reset_state()  # type: ignore[misc]
        self.writes = []

    def app(self) -> Any:
        inner = super().app()  # type: ignore[misc]

        async def keep(scope: dict[str, Any], receive: Receive, send: Any) -> None:
            if scope["type"] != "http" or scope["method"] != "POST" or "/batch/" not in scope["path"] \
                    or scope["path"].endswith("/read"):
                await inner(scope, receive, send)
                return
            messages, body = [], b""
            while True:
                message = await receive()
                messages.append(message)
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            self.writes.append((scope["path"], json.loads(body).get("inputs", [])))

            async def replay() -> dict[str, Any]:
                return messages.pop(0) if messages else await receive()

            await inner(scope, replay, send)

        return keep

    def sent(self) -> list[str]:
        """Each input written, as `create id` / `update id` (the benefitflow id, else the CRM id)."""
        out = []
        for path, inputs in self.writes:
            kind = path.rsplit("/", 1)[-1]
            for item in inputs:
                props = item.get("properties", {})
                out.append(f"{kind} {props.get('benefitflow_id') or props.get('email') or item.get('id')}")
        return out


class Refusing(Written, KeepsItsRulesToItself):
    """Refuses a company whose profile URL is not a URL, with HubSpot's own 207 message."""


class Counting(Written, HubSpotSandbox):
    pass


def employers(source: Path, good: int, bad: int) -> Path:
    """`good` employers the portal takes, `bad` ones whose profile URL it refuses (e1.. then b1..)."""
    source.mkdir(parents=True, exist_ok=True)
    lines = [{"id": f"e{i}", "name": f"Employer {i}", "website": f"e{i}.example",
              "profile": f"https://bf.example/e{i}"} for i in range(1, good + 1)]
    lines += [{"id": f"b{i}", "name": f"Bad {i}", "website": f"b{i}.example", "profile": "not a url"}
              for i in range(1, bad + 1)]
    (source / "employer.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return source


def employer_profile(directory: Path) -> Path:
    path = directory / "profile.yaml"
    path.write_text(PROFILE, encoding="utf-8")
    return path


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`crmsync ...` as a user types it (its own process: exit code, stdout, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "engine.cli", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=300)


def creds(tmp_path: Path) -> Path:
    return credentials_file("hubspot", tmp_path / "creds")

"""Helpers for team tests: a team file beside a copy of a shipped profile, sources before and after a
change (an existing record gains a value, a new one appears), pushes as a user, and the CRM read back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from engine.push import PushResult
from engine.pushrun import PushRequest, run_push
from tests.pushkit import PROFILES, credentials_file, quiet, records

ADMIN, STANDARD = "ana", "bo"
USERS = [{"id": ADMIN, "email": "ana@customer.example", "role": "admin"},
         {"id": STANDARD, "email": "bo@customer.example", "role": "standard"}]

# the records a test watches: one of each kind that exists and gains a value, one of each kind that is new
UPDATED = {"contact": ("employer_contact", "ec-001", "title", "HR Director"),
           "account": ("employer", "emp-001", "phone", "+14155550100")}
NEW = {"contact": ("employer_contact", "ec-017"), "account": ("employer", "emp-012")}


def team_yaml(permissions: dict[str, str] | None = None, users: list[dict[str, str]] | None = None,
              **more: Any) -> str:
    return json.dumps({"users": users or USERS, "permissions": permissions or {}, **more}, indent=2)


def profile_with_team(crm: str, directory: Path, team: str, profile: Path | None = None) -> Path:
    """A copy of the shipped profile with team.yaml beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    copied = directory / (profile or PROFILES[crm]).name
    shutil.copy(profile or PROFILES[crm], copied)
    (directory / "team.yaml").write_text(team, encoding="utf-8")
    return copied


def _edit(path: Path, drop: set[str], blank: dict[str, str]) -> None:
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        if data["id"] in drop:
            continue
        if data["id"] in blank:
            data[blank[data["id"]]] = None
        kept.append(json.dumps(data, ensure_ascii=False))
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")


def before_source(examples: Path, directory: Path) -> Path:
    """The example data without the NEW records and with the UPDATED values blank: pushed first, it
    leaves a populated CRM that the examples then update (UPDATED) and add to (NEW)."""
    shutil.copytree(examples, directory)
    by_stream: dict[str, tuple[set[str], dict[str, str]]] = {}
    for stream, source_id, field, _ in UPDATED.values():
        by_stream.setdefault(stream, (set(), {}))[1][source_id] = field
    for stream, source_id in NEW.values():
        by_stream.setdefault(stream, (set(), {}))[0].add(source_id)
    for stream, (drop, blank) in by_stream.items():
        _edit(directory / f"{stream}.jsonl", drop, blank)
    return directory


def push_as(crm: str, profile: Path, source: Path, url: str, state: Path, as_user: str | None,
            team_file: Path | None = None) -> PushResult:
    request = PushRequest(profile, source, base_url=url, as_user=as_user, state_dir=state,
                          credentials_file=credentials_file(crm, state.parent / "creds"), progress=False,
                          team_file=team_file)
    return run_push(request, quiet())


def outcome(result: PushResult, stream: str, source_id: str) -> Any:
    return next(o for o in result.outcomes if (o.record.stream, o.record.source_id) == (stream, source_id))


def crm_values(url: str) -> list[set[str]]:
    """Every CRM record (companies and people alike) as the set of its values, as text."""
    found = []
    for object_records in records(url).values():
        for record in object_records if isinstance(object_records, list) else []:
            if isinstance(record, dict):
                flat = {**record, **(record.get("properties") or {})}
                found.append({str(v) for v in flat.values() if isinstance(v, str | int)})
    return found


def in_crm(url: str, *values: str) -> bool:
    """Whether one CRM record holds all these values."""
    return any(set(values) <= record for record in crm_values(url))


def approved(profile: Path, state: Path, by: str = ADMIN) -> Path:
    """The profile approved by an admin as it is (what lets a standard user push it)."""
    from engine.catalog import load_profile
    from engine.team.gate import approve_profile

    approve_profile(load_profile(profile), None, by, state)
    return profile

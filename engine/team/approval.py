"""Admin approval of a profile: `crmsync approve PROFILE --as ADMIN` keeps, in the state dir, the
content hashes of the profile, its connector and the team file, with their content; a standard user's
push of a profile whose content differs from the approved one is refused, naming what changed.

The hash is of the content (the parsed YAML), not of the bytes: a comment or a re-indent changes no
mapping and needs no new approval.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.catalog import ProfileBundle
from engine.credfile import write_private_json
from engine.errors import CrmsyncError, UsageError
from engine.loader import Loaded, to_plain
from engine.store import now
from engine.team.load import Actor
from engine.team.model import Team

PARTS = ("profile", "connector", "team")  # what an approval covers, in the order changes are named
SHOWN = 6  # changes named per part; the rest are counted


class NotApproved(CrmsyncError):
    """A standard user's push of a profile an admin has not approved as it is (exit 1: the files are
    well formed and the command well used; nothing was sent)."""


@dataclass(frozen=True)
class Approval:
    approved_by: str
    at: str
    contents: dict[str, Any]  # part -> its plain content (None: no team file)
    hashes: dict[str, str | None]

    def as_dict(self) -> dict[str, Any]:
        return {"approved_by": self.approved_by, "at": self.at, "hashes": self.hashes,
                "contents": self.contents}


def approval_path(state_dir: Path, profile: str) -> Path:
    return state_dir / "approvals" / f"{profile}.json"


def content_hash(content: Any) -> str | None:
    if content is None:
        return None
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def current_contents(bundle: ProfileBundle, team: Loaded[Team] | None) -> dict[str, Any]:
    return {"profile": to_plain(bundle.profile.document), "connector": to_plain(bundle.connector.document),
            "team": to_plain(team.document) if team is not None else None}


def approve(bundle: ProfileBundle, team: Loaded[Team] | None, who: Actor, state_dir: Path) -> Approval:
    """Record the profile as it is now as approved by `who` (an admin)."""
    contents = current_contents(bundle, team)
    approval = Approval(who.name, now(), contents, {part: content_hash(contents[part]) for part in PARTS})
    write_private_json(approval_path(state_dir, bundle.profile.model.name), approval.as_dict())
    return approval


def read_approval(state_dir: Path, profile: str) -> Approval | None:
    path = approval_path(state_dir, profile)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Approval(data["approved_by"], data["at"], data["contents"], data["hashes"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path}: not an approval crmsync wrote ({exc}); an admin approves the profile "
                         "again: crmsync approve PROFILE --as ADMIN") from None


def what_changed(approval: Approval, contents: dict[str, Any], files: dict[str, str]) -> list[str]:
    """Each part whose content differs from the approved one, with the keys that changed."""
    found = []
    for part in PARTS:
        if content_hash(contents[part]) == approval.hashes.get(part):
            continue
        keys = list(differences(approval.contents.get(part), contents[part]))
        more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
        found.append(f"{part} {files[part]}: {', '.join(keys[:SHOWN])}{more}")
    return found


def differences(before: Any, after: Any, where: str = "") -> Iterator[str]:
    """The key paths whose value differs (`streams.employer.fields.Name changed`, `... added`)."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            path = f"{where}.{key}" if where else str(key)
            if key not in after:
                yield f"{path} removed"
            elif key not in before:
                yield f"{path} added"
            else:
                yield from differences(before[key], after[key], path)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (one, other) in enumerate(zip(before, after, strict=True)):
            yield from differences(one, other, f"{where}.{i}" if where else str(i))
    elif before != after:
        what = "added" if before is None else "removed" if after is None else \
            f"changed ({_short(before)} → {_short(after)})"
        yield f"{where or 'the whole file'} {what}"


def _short(value: Any, width: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"

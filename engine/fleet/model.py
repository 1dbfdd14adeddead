"""What a fleet push carries through Temporal: the job (paths and names, never a credential), its
progress and its summary. Plain dataclasses of strings and numbers, which the SDK's default converter
writes as JSON and which workflow code may import."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_TASK_QUEUE = "crmsync"
DEFAULT_NAMESPACE = "default"
WORKFLOW_PREFIX = "crmsync-push"
SCHEDULE_PREFIX = "crmsync-schedule"
# custom search attributes (Keyword): used where the namespace has them (`crmsync worker` registers
# them when the server lets it), else the same facts are in the memo
SEARCH_ATTRIBUTES = ("CrmsyncProfile", "CrmsyncOrg", "CrmsyncState")


@dataclass
class PushJob:
    """One push as `crmsync enqueue` or a schedule asks for it. Paths are absolute and must be the same
    on every worker (a shared filesystem); credentials stay on the workers (their environment, their
    state dir, or the file at `credentials_file`), never in Temporal's history."""

    profile: str  # the profile YAML file
    source: str  # the folder of source files
    profile_name: str  # the profile's own name (what the push lock and the workflow id say)
    org: str  # the CRM org: `<crm>:<account id>`, else its base URL (engine/fleet/jobs.py fleet_org)
    base_url: str | None = None  # as given with --base-url (else found by the worker as `push` finds it)
    as_user: str | None = None
    credentials_file: str | None = None
    team_file: str | None = None
    daily_reserve: float = 0.1
    heartbeat_seconds: float = 30.0  # a worker silent this long is taken for dead; its push is resumed
    push_timeout_minutes: float = 360.0  # one attempt of the push, at most
    attempts: int = 20  # of the push activity, before the workflow gives up
    search_attributes: bool = False  # the namespace has SEARCH_ATTRIBUTES: the workflow keeps State there
    org_known_by: str = "address"  # binding (the store's), account (learned at enqueue) or address


@dataclass
class StreamProgress:
    total: int = 0  # records to write (net_new and update)
    sent: int = 0  # accepted by the CRM
    failed: int = 0


@dataclass
class Progress:
    """How a push is going: what `progress` (the workflow query) answers and the heartbeat carries."""

    state: str = "queued"  # queued, preparing, pushing, retrying, finished, failed, skipped
    attempt: int = 0  # of the push activity (2 and more: resumed from the journal after a failure)
    worker: str = ""  # the worker that carries the current attempt
    streams: dict[str, StreamProgress] = field(default_factory=dict)
    associations: int = 0
    note: str = ""


@dataclass
class PushSummary:
    """The end of a push: `PushResult`'s summary and what concerns the whole run (no record list)."""

    run_id: str | None
    summary: dict[str, int]
    stopped: str | None = None
    interrupted: bool = False
    notices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    attempts: int = 1
    skipped: str | None = None  # a scheduled push that did not start: one of this profile and org ran


def org_key(org: str) -> str:
    """The org as a workflow id shows it: `<crm>:<account id>` as it is, a base URL without scheme,
    user info or query."""
    if re.fullmatch(r"[a-z][a-z0-9_]*:[^/\s]+", org):  # an account id keeps its case (Salesforce's ids)
        return re.sub(r"[^A-Za-z0-9._:-]", "_", org)
    parts = urlsplit(org if "://" in org else f"//{org}")
    host = parts.netloc.rpartition("@")[2].lower()
    return re.sub(r"[^A-Za-z0-9._:/-]", "_", host + parts.path.rstrip("/"))


def workflow_id(profile_name: str, org: str) -> str:
    """One push of a profile to one CRM org at a time: Temporal refuses a second workflow with this id
    while one runs."""
    return f"{WORKFLOW_PREFIX}/{profile_name}/{org_key(org)}"


def schedule_id(profile_name: str, org: str) -> str:
    return f"{SCHEDULE_PREFIX}/{profile_name}/{org_key(org)}"

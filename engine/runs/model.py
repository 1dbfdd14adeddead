"""What the engine says of a run and of a record a run could not write: plain data, for the command
line and the web app alike."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# A run's state, as a person reads it:
SUCCEEDED = "succeeded"  # ended, every record it tried written
WITH_FAILURES = "with_failures"  # ended, some records refused (by the CRM, or invalid)
STOPPED = "stopped"  # a stop asked for or forced: Ctrl-C, the daily reserve reached, a token refused
INTERRUPTED = "interrupted"  # the process died mid-run (killed, a crash, the machine off)
RUNNING = "running"  # its process is alive and holds the profile's push lock
FAILED = "failed"  # it ended on an error before it could finish (a look-up refused, bad input)
STATES = (SUCCEEDED, WITH_FAILURES, STOPPED, INTERRUPTED, RUNNING, FAILED)

# the counts of a run, per record (`unchanged` only once a run has ended: it is not logged per record)
COUNTS = ("created", "updated", "unchanged", "failed", "restricted", "skipped", "recreated", "held_back")


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    profile: str
    kind: str  # push, or decisions (link / unlink / import made by a person)
    state: str  # one of STATES
    reason: str | None  # why it stopped or failed
    counts: dict[str, int]
    associations: dict[str, int]  # made, failed
    started_at: str
    finished_at: str | None
    duration_s: float | None  # to its end, or so far while it runs
    triggered_by: str
    profile_path: str | None = None  # what it was asked, where recorded (runs of crmsync 0.x lack them)
    source_dir: str | None = None
    base_url: str | None = None
    as_user: str | None = None
    plan_file: str | None = None
    team_file: str | None = None
    credentials_file: str | None = None  # the path it was given, never what the file holds
    options: dict[str, Any] = field(default_factory=dict)  # --limit, --only, --recreate-deleted...
    org: str | None = None  # the CRM org it pushed to: `<crm>:<account id>`, else the address
    account_id: str | None = None  # what the CRM answered for whose account the credentials are (no secret)
    org_warning: str | None = None  # why the org was known by its address although the connector says how

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RejectedRow:
    """A record a run could not write: its last attempt in that run failed."""

    run_id: str
    at: str
    stream: str
    source_id: str
    object: str
    action: str  # insert, update, or none (refused before sending: invalid, cut off by a stop)
    error_code: str | None
    error: str | None  # the CRM's message (redacted when it was recorded, as the log is)
    crm_id: str | None
    request: dict[str, Any] | None  # the fields it sent
    fixed_by: str | None = None  # a later run that wrote it: a retry does not send it again

    @property
    def ref(self) -> str:
        return f"{self.stream}/{self.source_id}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ref": self.ref}

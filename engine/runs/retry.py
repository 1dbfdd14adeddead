"""`crmsync retry RUN`: plan again and send only the records that failed in that run, as they stand
now: a record a later run wrote is not sent again (and said), one the source no longer holds is said."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from engine.errors import UsageError
from engine.push import PushResult
from engine.runs.listing import get_run
from engine.runs.model import RejectedRow, RunSummary
from engine.runs.rejected import rejected_rows


@dataclass
class RetryRequest:
    run_id: str
    state_dir: Path | None = None
    profile: Path | None = None  # else the run's, as recorded
    source: Path | None = None  # else the run's
    base_url: str | None = None  # else the run's
    credentials_file: Path | None = None  # else the run's, if it was given one
    as_user: str | None = None  # else whoever the run was pushed as
    team_file: Path | None = None
    progress: bool = True


@dataclass
class RetryResult:
    run_id: str  # the run retried
    refs: list[str]  # the records sent again
    fixed: list[RejectedRow] = field(default_factory=list)  # written by a later run: not sent again
    gone: list[str] = field(default_factory=list)  # not in the source any more: not sent
    push: PushResult | None = None  # None: nothing was left to send
    allow_missing: bool = False  # as the run was pushed: a source that lost data is no failure

    def as_dict(self) -> dict[str, Any]:
        return {"retry_of": self.run_id, "resent": self.refs,
                "already_written": [{"ref": r.ref, "by_run": r.fixed_by} for r in self.fixed],
                "not_in_source": self.gone, "push": self.push.as_dict() if self.push else None}

    def notes(self) -> list[str]:
        from engine.runs.selection import named

        said = []
        if self.fixed:
            said.append(f"{len(self.fixed):,} record(s) that failed in {self.run_id} were written by a later "
                        f"run since, and are not sent again: "
                        f"{named([f'{r.ref} (run {r.fixed_by})' for r in self.fixed])}")
        if self.gone:
            said.append(f"{len(self.gone):,} record(s) that failed in {self.run_id} are not in the source "
                        f"any more, and are not sent: {named(self.gone)}")
        if not self.refs:
            said.append(f"nothing to retry: no record of run {self.run_id} is still failing")
        return said


def retry_failed(request: RetryRequest, console: Console) -> RetryResult:
    """Re-plan the run's profile over its source (or those given) and push only its failed records still
    failing. A run recorded without what it was asked (before crmsync kept it) needs --profile and
    --source."""
    run = get_run(request.state_dir, request.run_id)
    if run.kind != "push":
        raise UsageError(f"run {run.run_id} is not a push (it holds a person's link/import decisions): "
                         "there is nothing to send again")
    profile, source = where_from(request, run)
    rows = rejected_rows(request.state_dir, run.run_id)
    result = RetryResult(run.run_id, [], fixed=[r for r in rows if r.fixed_by])
    failing = sorted({r.ref for r in rows if not r.fixed_by})
    if failing:
        result.gone = not_in_source(profile, source, failing)
        result.refs = [ref for ref in failing if ref not in result.gone]
    if result.refs:
        result.allow_missing = bool(run.options.get("allow_missing"))
        result.push = send(request, run, profile, source, result.refs, console)
    return result


def where_from(request: RetryRequest, run: RunSummary) -> tuple[Path, Path]:
    profile = request.profile or (Path(run.profile_path) if run.profile_path else None)
    source = request.source or (Path(run.source_dir) if run.source_dir else None)
    if profile is None or source is None:
        raise UsageError(f"run {run.run_id} was recorded without its profile and source (by an older "
                         "crmsync): give --profile PROFILE and --source DIR")
    return profile, source


def not_in_source(profile: Path, source: Path, refs: list[str]) -> list[str]:
    from engine.catalog import load_profile
    from engine.runs.selection import missing_refs

    bundle = load_profile(profile)
    known = [ref for ref in refs if ref.partition("/")[0] in bundle.profile.model.streams]
    return sorted(set(refs) - set(known)) + missing_refs(bundle, source, frozenset(known))


def send(request: RetryRequest, run: RunSummary, profile: Path, source: Path, refs: list[str],
         console: Console) -> PushResult:
    from engine.pushrun import PushRequest, run_push

    options = run.options
    credentials = request.credentials_file or (Path(run.credentials_file) if run.credentials_file else None)
    team = request.team_file or (Path(run.team_file) if run.team_file else None)
    push = PushRequest(profile=profile, source=source, base_url=request.base_url or run.base_url,
                       as_user=request.as_user or run.as_user, state_dir=request.state_dir,
                       credentials_file=credentials, progress=request.progress,
                       daily_reserve=options.get("daily_reserve", 0.1),
                       recreate_deleted=bool(options.get("recreate_deleted")),
                       allow_missing=bool(options.get("allow_missing")),
                       team_file=team,
                       only=refs, retry_of=run.run_id)
    return run_push(push, console)

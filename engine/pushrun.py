"""`crmsync push` as one call: credentials, state, connection settings, progress, a saved plan checked
against the CRM as it is now, and the summary users know ("5 created, 2 updated... see crmsync log")."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from engine.account import learn_org
from engine.address import Given, resolve_address, saved_address
from engine.catalog import ProfileBundle, connection_settings, load_profile
from engine.client import DEFAULT_DAILY_RESERVE, Credentials, Interrupted, open_client
from engine.errors import CrmsyncError, UsageError
from engine.interrupt import SECOND, stop_on_ctrl_c
from engine.plan import PlannedRecord
from engine.progress import PushProgress
from engine.push import PushResult, push
from engine.report import warning_line
from engine.runs.recording import Recorded, run_details
from engine.runs.selection import BatchSelection, batch_selection
from engine.spool.jsonin import SavedRecords, read_saved_plan
from engine.state import StateStore, default_state_dir, open_store
from engine.state.budget import shared_limits
from engine.state.orgs import Org, bind_org
from engine.summary import print_push_summary, say
from engine.team.gate import admit_push
from engine.team.permissions import Permissions
from engine.terminal import visible
from engine.validate import refuse_unplannable


@dataclass
class PushRequest:
    profile: Path | None
    source: Path | None
    plan_file: Path | None = None
    base_url: str | None = None
    as_user: str | None = None
    state_dir: Path | None = None
    credentials_file: Path | None = None
    progress: bool = True
    daily_reserve: float = DEFAULT_DAILY_RESERVE  # of the CRM's daily API allocation, left to others
    recreate_deleted: bool = False  # a record deleted in the CRM behind its link is created again
    allow_missing: bool = False  # send what the source gave although a stream's file or a path is missing
    team_file: Path | None = None  # else team.yaml beside the profile, if there is one
    limit: int | None = None  # send at most so many records' writes (a small batch first)
    only: list[str] | None = None  # send only these records (stream/source_id)
    retry_of: str | None = None  # the run whose failed records this one sends again (crmsync retry)
    watch: PushProgress | None = None  # told of the push's progress instead of bars (a fleet worker)
    org_moved: bool = False  # the profile's CRM org answers at a new address: its state is bound to this one


def load_saved_plan(path: Path) -> dict[str, Any]:
    """The saved plan's keys, its records read as a stream into an index on disk (SavedRecords)."""
    try:
        with path.open(encoding="utf-8") as stream:
            data = read_saved_plan(stream)
    except FileNotFoundError:
        raise UsageError(f"{path}: file not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a plan saved by `crmsync plan --format json --out`: {exc}") from None
    if not isinstance(data, dict) or not {"profile_path", "source_dir", "records"} <= set(data):
        raise UsageError(f"{path}: not a plan saved by `crmsync plan --format json --out`")
    return data


def restrict_to_saved(records: Iterable[PlannedRecord], saved: dict[str, Any]) -> list[str]:
    """Write only what the saved plan said; a record whose plan changed since (the CRM's current values
    too: someone edited a field the plan updates) is re-planned, reported and not written blind. Called
    per stream, as each is decided; returns the refs of the records held back as changed."""
    held: list[str] = []
    before = saved["records"] if isinstance(saved["records"], SavedRecords) else \
        {f"{r['stream']}/{r['source_id']}": r for r in saved["records"]}
    for record in records:
        old = before.get(record.ref)
        planned_associations = (old or {}).get("associate")
        if record.status == "synced" and record.associate and record.associate != planned_associations:
            record.notes.append(f"changed since the plan was made: it now has associations to make "
                                f"({', '.join(record.associate)}); re-plan and review before writing")
            record.status, record.associate = "skipped", []
            held.append(record.ref)
        if record.status not in ("net_new", "update"):
            continue
        if old is None:
            record.notes.append("not in the saved plan; not written")
            record.status = "skipped"
            continue
        new_changes = sorted((c.field, _wire(c.current), _wire(c.new)) for c in record.changes)
        old_changes = sorted((c["field"], _wire(c.get("current")), _wire(c["new"]))
                             for c in old.get("changes", []))
        if (old["status"] != record.status or old_changes != new_changes
                or record.associate != old.get("associate", record.associate)):
            edited = _edited_in_crm(old_changes, new_changes)
            record.notes.append(f"changed since the plan was made: it was {old['status']}, "
                                f"now {record.status} with {len(record.changes)} change(s)"
                                + (f"; edited in the CRM since: {', '.join(edited)}" if edited else "")
                                + "; re-plan and review before writing")
            record.status = "skipped"
            held.append(record.ref)
    return held


def _wire(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def _edited_in_crm(old: list[tuple[str, str, str]], new: list[tuple[str, str, str]]) -> list[str]:
    """The fields the plan would change whose CRM value is not the one the plan saw."""
    seen = {name: current for name, current, _ in old}
    return [f"{name} (planned on {seen[name]}, now {current})" for name, current, _ in new
            if name in seen and seen[name] != current]


class InputMissing(CrmsyncError):
    """A stream's source file is missing: nothing is sent (exit 1), unless --allow-missing."""


def refuse_missing_files(bundle: ProfileBundle, source: Path) -> None:
    from engine.coverage import missing_files

    streams = {name: spec.file for name, spec in bundle.profile.model.streams.items()}
    if source.is_dir() and (missing := missing_files(source, streams)):
        raise InputMissing("nothing was sent: the source is incomplete\n" + "\n".join(missing))


def run_push(request: PushRequest, console: Console) -> PushResult:
    saved = load_saved_plan(request.plan_file) if request.plan_file else None
    profile_path = Path(saved["profile_path"]) if saved else request.profile
    source = Path(saved["source_dir"]) if saved else request.source
    bundle = load_profile(profile_path)  # type: ignore[arg-type]
    refuse_unplannable(bundle)  # before a run is recorded or a credential read
    if not request.allow_missing:
        refuse_missing_files(bundle, source)  # type: ignore[arg-type]
    selection = batch_selection(bundle, source, request.limit, request.only)  # type: ignore[arg-type]
    state_dir = request.state_dir or default_state_dir()
    permissions = admit_push(bundle, request.team_file, request.as_user, state_dir)  # before a credential
    credentials = Credentials.load(request.credentials_file, state_dir=state_dir,
                                   names=bundle.credential_names)
    given = Given(request.base_url, "--base-url") if request.base_url else \
        saved_address(saved, str(request.plan_file))
    base_url = resolve_address(bundle, credentials, given)  # before any credential is sent
    triggered_by = permissions.actor.name
    store = open_store(state_dir)
    binding = Binding(store, bundle.profile.model.name, request.org_moved)
    with closing(store):
        progress = request.watch or PushProgress(console, request.progress)
        try:
            return asyncio.run(_push(bundle, source, base_url, credentials, store, triggered_by, saved,  # type: ignore[arg-type]
                                     progress, request.daily_reserve, request.recreate_deleted,
                                     request.allow_missing, permissions,
                                     Recorded(run_details(request, bundle, source, base_url), selection),
                                     binding))
        except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C twice, or before the run began
            raise Interrupted(SECOND) from None
        finally:
            progress.stop()


@dataclass
class Binding:
    """The profile's state, bound to the org the push learns once authenticated (engine/account.py)."""

    store: StateStore
    profile: str
    moved: bool = False
    org: Org | None = None
    notice: str | None = None

    @contextmanager
    def held(self, org: Org, details: dict[str, Any]) -> Iterator[None]:
        """The push lock of the profile and org, then the binding (OrgMismatch before anything is
        sent), recorded in the run's details."""
        with self.store.push_lock(self.profile, org.key):
            self.org, self.notice = org, bind_org(self.store, self.profile, org, moved=self.moved)
            details.update(org.details())
            if self.notice:
                details["org_rebound"] = self.notice
            yield

    def tell(self, result: PushResult) -> None:
        if self.notice:
            result.notices.append(self.notice)
        if self.org is not None and self.org.warning:
            result.warnings.append({"where": self.org.address, "stream": None, "field": None,
                                    "message": self.org.warning, "code": "org_by_address"})


async def _push(bundle: ProfileBundle, source: Path, base_url: str, credentials: Credentials,
                store: StateStore,
                triggered_by: str, saved: dict[str, Any] | None, progress: PushProgress,
                daily_reserve: float, recreate_deleted: bool = False,
                allow_missing: bool = False, permissions: Permissions | None = None,
                recorded: Recorded | None = None, binding: Binding | None = None) -> PushResult:
    connection = connection_settings(bundle.connector.model, bundle.profile.model.connection, base_url)
    recorded = recorded or Recorded({}, BatchSelection())
    stale: list[str] = []

    def before_stream(stream: str, records: list[PlannedRecord]) -> None:
        """A window of a decided stream: what the saved plan did not say, or the batch does not send,
        is held back."""
        if saved is not None:
            stale.extend(restrict_to_saved(records, saved))
        recorded.selection(stream, records)
    restricts = saved is not None or recorded.selection.active  # else the records are written as planned

    async with open_client(bundle.connector.model, base_url, credentials, connection=connection,
                           daily_reserve=daily_reserve) as client:
        org = await learn_org(client, base_url)
        binding = binding or Binding(store, bundle.profile.model.name)
        with binding.held(org, recorded.details), stop_on_ctrl_c(client), \
                shared_limits(store, org.key, client.limiter):
            _, result = await push(bundle, source, client=client, store=store, triggered_by=triggered_by,
                                   connection=connection, before_stream=before_stream if restricts else None,
                                   on_handed=progress.start,
                                   on_outcome=progress.answered, on_associations=progress.associations,
                                   recreate_deleted=recreate_deleted, allow_missing=allow_missing,
                                   permissions=permissions, details=recorded.details,
                                   held_back=recorded.selection.held_back)
    binding.tell(result)
    if (held := recorded.selection.notice()) is not None:
        result.notices.append(held)
    if permissions is not None:
        result.warnings += permissions.warnings()
    if stale:
        result.stale = stale
        result.notices.append(f"the plan is stale: {len(stale)} record(s) changed since it was made (in the "
                              "CRM or the source) were re-planned and not written; make a new plan, review "
                              "it and push that")
    return result


def print_push(result: PushResult, console: Console, *, verbose: bool = False) -> None:
    """What the run did: record by record only when `verbose`; what concerns the whole run; then the
    summary, last."""
    if verbose:
        print_outcomes(result, console)
    for warning in result.warnings:
        say(console, warning_line(warning))
    for notice in result.notices:
        say(console, f"[yellow]notice:[/] {visible(notice)}")
    for finding in result.input_findings:
        say(console, f"[red]source:[/] {visible(finding)}")
    print_push_summary(result, console, verbose=verbose)


def print_outcomes(result: PushResult, console: Console) -> None:
    """A line per record that failed, was restricted or was written with a warning."""
    for outcome in result.outcomes:
        r = outcome.record
        who = visible(f"{r.stream} {r.source_id} ({r.object})")
        if outcome.result == "error":
            say(console, f"  [red]failed[/] {who}: {visible(outcome.error_code)}: {visible(outcome.error)}")
        if outcome.result == "restricted":
            say(console, f"  [yellow]restricted[/] {who}: {visible(outcome.error or '')}")
        for warning in outcome.warnings:
            say(console, f"  [yellow]warning[/] {who}: {visible(warning)}")


__all__ = ["PushRequest", "run_push", "print_push", "CrmsyncError"]

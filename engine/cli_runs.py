"""What each run did, on the command line: `crmsync runs` (every run), `crmsync runs RUN` (one),
`crmsync runs RUN --failed` (its rejected rows, also as CSV) and `crmsync retry RUN` (send its failed
records again). Registered on engine.cli's app by `register`. Exit codes as the contract says: 0 all
well; 1 records that failed; 2 bad usage (an unknown run id, with the known ones) or an unreadable file."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from engine.cli_pull import StateDir, TableOrJson, consoles, fail
from engine.cli_state import StateUrl
from engine.errors import CrmsyncError

if TYPE_CHECKING:
    from engine.push import PushResult
    from engine.runs.model import RejectedRow, RunSummary



class RunsFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def runs(
    run_id: Annotated[str | None, typer.Argument(help="one run: its details (with --failed, its rejected "
                                                 "rows)")] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="the runs of this profile (its "
                                                "name)")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="with RUN: the records it could not write, with "
                                         "the CRM's error")] = False,
    stream: Annotated[str | None, typer.Option("--stream", help="with --failed: of this stream")] = None,
    code: Annotated[str | None, typer.Option("--code", help="with --failed: with this error code")] = None,
    search: Annotated[str | None, typer.Option("--search", help="with --failed: a piece of the source id, "
                                               "CRM id, error code or message")] = None,
    last: Annotated[int | None, typer.Option("--last", min=1, help="the newest so many runs")] = None,
    fmt: Annotated[RunsFormat, typer.Option("--format", help="csv: with --failed")] = RunsFormat.table,
    state_dir: StateDir = None,
    state_url: StateUrl = None,
) -> None:
    """Every run with its state, counts, duration and who; one run; or a run's rejected rows."""
    from engine.runs import get_run, list_runs, rejected_csv, rejected_rows

    out, err = consoles()
    if (failed or stream or code or search) and run_id is None:
        err.print("--failed (and --stream, --code, --search) need a RUN: crmsync runs RUN --failed")
        raise typer.Exit(2)
    if fmt is RunsFormat.csv and not failed:
        err.print("--format csv is for a run's rejected rows: crmsync runs RUN --failed --format csv")
        raise typer.Exit(2)
    try:
        if run_id is None:
            listed = list_runs(state_dir, profile=profile, limit=last)
        elif failed:
            rows = rejected_rows(state_dir, run_id, stream=stream, code=code, search=search)
        else:
            one = get_run(state_dir, run_id)
    except CrmsyncError as exc:
        raise fail(exc) from None
    if run_id is None:
        print_json([r.as_dict() for r in listed]) if fmt is RunsFormat.json else print_runs(listed, out)
    elif not failed:
        print_json(one.as_dict()) if fmt is RunsFormat.json else print_run(one, out)
    elif fmt is RunsFormat.csv:
        sys.stdout.write(rejected_csv(rows))
    else:
        print_json([r.as_dict() for r in rows]) if fmt is RunsFormat.json else print_rejected(rows, out)


def print_runs(listed: list[RunSummary], out: Console) -> None:
    """Two lines a run, newest first: id, state, when, how long, who, profile; then its counts (reads at
    80 columns, where a table of ten columns folds every cell)."""
    from engine.terminal import visible

    if not listed:
        out.print("no runs yet in this state dir")
        return
    for r in listed:
        started = r.started_at.replace("T", " ")[:16]
        took = seconds(r.duration_s)
        head = f"{r.run_id}  {r.state:<13}  {started}  {took:>7}  {r.triggered_by}  {r.profile}"
        out.print(visible(head), markup=False, highlight=False)
        out.print(visible(f"    {counts_cell(r.counts)}" + (f" — {r.reason}" if r.reason else "")),
                  markup=False, highlight=False)
    out.print(f"{len(listed):,} run(s); one run's rejected rows: crmsync runs RUN --failed", highlight=False)


def counts_cell(counts: dict[str, int]) -> str:
    """The counts that are not zero, short: `3 created, 1 failed`."""
    shown = [f"{n:,} {what}" for what, n in counts.items() if n and what != "deleted_in_crm"]
    return ", ".join(shown) or "nothing"


def print_run(r: RunSummary, out: Console) -> None:
    from engine.terminal import visible

    lines = [f"run {r.run_id} ({r.kind}) of {r.profile}: {r.state}" + (f" — {r.reason}" if r.reason else ""),
             f"started {r.started_at}, " + (f"finished {r.finished_at}" if r.finished_at else "not finished")
             + f" ({seconds(r.duration_s)}), by {r.triggered_by}",
             f"records: {counts_cell(r.counts)}",
             f"associations: {r.associations['made']:,} made, {r.associations['failed']:,} failed"]
    asked = (("source", r.source_dir), ("profile file", r.profile_path), ("base url", r.base_url),
             ("CRM org", r.org), ("org warning", r.org_warning), ("plan", r.plan_file))
    lines += [f"{what}: {value}" for what, value in asked if value]
    if r.options:
        lines.append("options: " + ", ".join(f"{k}={v}" for k, v in r.options.items() if k != "only")
                     + (f", only {len(r.options['only']):,} record(s)" if r.options.get("only") else ""))
    if r.counts.get("failed"):
        lines.append(f"its rejected rows: crmsync runs {r.run_id} --failed; send them again: "
                     f"crmsync retry {r.run_id}")
    for line in lines:
        out.print(visible(line), highlight=False)


def print_rejected(rows: list[RejectedRow], out: Console) -> None:
    """One line per record (a CRM's message is long: a table column would fold it to a ribbon)."""
    from engine.terminal import visible

    for r in rows:
        since = f" [written since by run {r.fixed_by}]" if r.fixed_by else ""
        out.print(visible(f"{r.ref} ({r.object}, {r.action}): {r.error_code or 'error'}: {r.error or ''}"
                          f"{since}"), markup=False, highlight=False)
    out.print(f"{len(rows):,} rejected row(s)", highlight=False)


def seconds(value: float | None) -> str:
    if value is None:
        return "?"
    minutes, rest = divmod(value, 60)
    return f"{int(minutes)}m{rest:04.1f}s" if minutes else f"{rest:.1f}s"


def retry(
    run_id: Annotated[str, typer.Argument(help="the run whose failed records to send again")],
    profile: Annotated[Path | None, typer.Option("--profile", help="the profile file (else the "
                                                 "run's)")] = None,
    source: Annotated[Path | None, typer.Option("--source", help="folder of source files (else the "
                                                "run's)")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="the CRM's API base URL (else the "
                                                 "run's)")] = None,
    credentials: Annotated[Path | None, typer.Option("--credentials", help="JSON credentials file (else the "
                                                     "run's, if it was given one)")] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="who triggers the retry (else the "
                                                "run's)")] = None,
    team: Annotated[Path | None, typer.Option("--team", help="the team file (else the run's)")] = None,
    fmt: Annotated[TableOrJson, typer.Option("--format")] = TableOrJson.table,
    state_dir: StateDir = None,
    state_url: StateUrl = None,
) -> None:
    """Plan again and send only the records that failed in RUN (those a later run wrote are not sent)."""
    from engine.runs import RetryRequest, retry_failed

    out, err = consoles()
    request = RetryRequest(run_id, state_dir=state_dir, profile=profile, source=source, base_url=base_url,
                           credentials_file=credentials, as_user=as_user, team_file=team,
                           progress=fmt is TableOrJson.table)
    try:
        result = retry_failed(request, err)
    except CrmsyncError as exc:
        raise fail(exc) from None
    if fmt is TableOrJson.json:
        print_json(result.as_dict())
    else:
        for note in result.notes():
            out.print(f"note: {note}", markup=False, highlight=False)
        if result.push is not None:
            from engine.pushrun import print_push

            print_push(result.push, out)
    raise typer.Exit(0 if result.push is None else exit_code(result.push, result.allow_missing))


def exit_code(result: PushResult, allow_missing: bool) -> int:
    """As `crmsync push` ends: 130 cut off by Ctrl-C, 1 a record failed or the run stopped, else 0."""
    if result.interrupted:
        return 130
    held = result.input_findings and not allow_missing
    orphans = result.held_back.get("parent_not_sent")  # a record to send again whose parent was not sent
    return 1 if result.summary()["failed"] or result.stopped or result.stale or held or orphans else 0


def register(app: typer.Typer) -> None:
    app.command("runs")(runs)
    app.command("retry")(retry)

"""The command line: the contract in ../shared/DESIGN.md. Names, flags and JSON keys are fixed.

Exit codes: 0 all well; 1 findings (validation errors, records that failed); 2 bad usage or an
unreadable or malformed file.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TextIO

import typer
from rich.console import Console
from rich.markup import escape

from engine.cli_lazy import LazyApp, LazyGroup, LightHelpCommand, LightHelpGroup
from engine.cli_pull import register as register_pull_commands
from engine.cli_runs import register as register_runs_commands
from engine.cli_state import StateUrl
from engine.errors import CrmsyncError
from engine.fleet.cli import register as register_fleet_commands
from engine.review.cli import register as register_review_commands
from engine.terminal import visible

if TYPE_CHECKING:  # each command imports what it needs: `crmsync --help` loads no connector language
    from engine.connector import ConnectorSpec
    from engine.findings import Finding
    from engine.plan import Plan

app = LazyApp(cls=LazyGroup, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
              help="crmsync: a declarative CRM integration engine.")
sandbox_app = typer.Typer(cls=LightHelpGroup, add_completion=False, no_args_is_help=True,
                          help="Local emulators of the CRMs' APIs.")
app.add_typer(sandbox_app, name="sandbox")

class Output(Console):
    """A console whose reader may go away (`crmsync push ... | head`): rich would exit the process on the
    next print, cutting a push off between the CRM's answer and its record of it. Instead the console
    falls silent and the command finishes; its exit code still says how it went."""

    def on_broken_pipe(self) -> None:
        self.quiet = True


out = Output(soft_wrap=True, emoji=False)
err = Output(stderr=True, soft_wrap=True, emoji=False)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        print(f"crmsync {version('crmsync')}")
        raise typer.Exit(0)


@app.callback()
def _fresh_consoles(
    _version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_print_version,
                                           help="the installed version, then exit")] = False,
) -> None:
    """Build the consoles per invocation: rich reads COLUMNS and the terminal when a console is made."""
    global out, err
    out = Output(soft_wrap=True, emoji=False)
    err = Output(stderr=True, soft_wrap=True, emoji=False)


class TableOrJson(StrEnum):
    table = "table"
    json = "json"


class PlanFormat(StrEnum):
    table = "table"
    json = "json"
    html = "html"


class SchemaKind(StrEnum):
    connector = "connector"
    profile = "profile"
    team = "team"


class Crm(StrEnum):
    salesforce = "salesforce"
    hubspot = "hubspot"
    dynamics = "dynamics"
    zoho = "zoho"


def fail(error: CrmsyncError) -> typer.Exit:
    """Print a user-facing error (never a traceback) and give its exit code."""
    err.print(str(error), markup=False, highlight=False)
    return typer.Exit(error.exit_code)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


@app.command()
def connectors(
    name: Annotated[str | None, typer.Argument(help="a connector: its objects' fields")] = None,
    object_name: Annotated[str | None, typer.Argument(metavar="[OBJECT]", help="one object's fields")] = None,
    fmt: Annotated[TableOrJson, typer.Option("--format")] = TableOrJson.table,
) -> None:
    """The built-in connectors and their objects; with NAME, its objects' fields (types, marks, values)."""
    if name is not None:
        _connector_fields(name, object_name, fmt)
        return
    from rich.table import Table

    from engine.catalog import connector_names, load_connector

    rows = []
    try:
        for name in connector_names():
            spec = load_connector(name).model
            rows.append(_connector_row(spec))
    except CrmsyncError as exc:
        raise fail(exc) from None
    if fmt is TableOrJson.json:
        print_json(rows)
        return
    table = Table("connector", "label", "api", "objects")
    for row in rows:
        table.add_row(row["name"], row["label"], row["api_version"],
                      ", ".join(f"{o['name']} ({o['fields']} fields)" for o in row["objects"]))
    out.print(table)


def _connector_fields(name: str, object_name: str | None, fmt: TableOrJson) -> None:
    from engine.catalog import connector_names, load_connector
    from engine.connector_fields import describe, print_fields
    from engine.errors import UsageError

    known = connector_names()
    try:
        if name not in known:
            raise UsageError(f"no connector {name!r}; the built-in connectors: {', '.join(known)}")
        spec = load_connector(name).model
        if fmt is TableOrJson.json:
            print_json(describe(spec, object_name))
        else:
            print_fields(spec, object_name, out)
    except CrmsyncError as exc:
        raise fail(exc) from None


def _connector_row(spec: ConnectorSpec) -> dict[str, Any]:
    return {"name": spec.name, "label": spec.label, "api_version": spec.api_version,
            "objects": [{"name": name, "api_name": obj.api_name, "fields": len(obj.fields),
                         "identity_keys": list(obj.identity_keys), "relations": list(obj.relations)}
                        for name, obj in spec.objects.items()]}


@app.command("validate")
def validate_command(
    profile: Annotated[Path, typer.Argument(help="the profile YAML file")],
    base_url: Annotated[str | None,
                        typer.Option("--base-url", help="read live metadata from this CRM")] = None,
    metadata: Annotated[Path | None, typer.Option("--metadata", help="live metadata saved to a file")] = None,
    save_metadata: Annotated[Path | None, typer.Option(
        "--save-metadata", help="with --base-url: save the live metadata read, for --metadata later")] = None,
    fmt: Annotated[TableOrJson, typer.Option("--format")] = TableOrJson.table,
    state_dir: StateDir = None,
    state_url: StateUrl = None,
    credentials: CredentialsFile = None,
    pull: Annotated[bool, typer.Option("--pull", help="also say which local fields a pull cannot "
                                       "fill")] = False,
) -> None:
    """Check a profile (and its connector) before any data is read."""
    from engine import validatecache

    if base_url and metadata:
        err.print("use --base-url or --metadata, not both")
        raise typer.Exit(2)
    if save_metadata and not base_url:
        err.print("--save-metadata needs --base-url: it saves what the CRM says")
        raise typer.Exit(2)
    offline = not base_url and not metadata
    kept = validatecache.recall(profile, pull) if offline else None
    if kept is not None:  # the same files as a run before: its findings, without loading any model
        _report_validation(profile, *kept, fmt)
    from engine.catalog import load_profile
    from engine.validate import validate

    try:
        bundle = load_profile(profile)
        live = _live_fields(bundle, base_url, metadata, credentials, state_dir)
        findings = validate(bundle, live, pull=pull)
    except CrmsyncError as exc:
        raise fail(exc) from None
    if offline:
        validatecache.keep(profile, pull, bundle, findings)
    if save_metadata:
        from engine.metadata import save

        save(live, save_metadata)
        err.print(f"saved the live metadata to {save_metadata}")
    _report_validation(profile, bundle.connector.model.name, findings, fmt)


def _report_validation(profile: Path, connector: str, findings: list[Finding], fmt: TableOrJson) -> NoReturn:
    errors = [f for f in findings if f.severity == "error"]
    if fmt is TableOrJson.json:
        print_json({"profile": str(profile), "connector": connector, "valid": not errors,
                    "findings": [f.as_dict() for f in findings]})
    else:
        _print_findings(profile, findings)
    raise typer.Exit(1 if errors else 0)


def _live_fields(bundle: Any, base_url: str | None, metadata: Path | None, credentials: Path | None,
                 state_dir: Path | None) -> dict[str, Any]:
    if not base_url and not metadata:
        return {}
    from engine.metadata import live_fields  # reading a CRM's metadata is the dry-run's job

    return live_fields(bundle, base_url=base_url, metadata_file=metadata, credentials_file=credentials,
                       state_dir=state_dir)


def _print_findings(profile: Path, findings: list[Finding]) -> None:
    n_err = sum(f.severity == "error" for f in findings)
    for f in findings:  # names and messages come from the user's files: never read as markup
        style = "red" if f.severity == "error" else "yellow"
        what = escape(".".join(p for p in (f.stream, f.field) if p))
        out.print(f"{escape(f.where)}: [{style}]{f.severity}[/] [bold]{what}[/]: {escape(f.message)} "
                  f"[dim]({f.code})[/]", highlight=False)
    verdict = "[red]invalid[/]" if n_err else "[green]valid[/]"
    out.print(f"{escape(str(profile))}: {verdict} — {n_err} error(s), {len(findings) - n_err} warning(s)",
              highlight=False)


@app.command()
def schema(kind: Annotated[SchemaKind, typer.Argument(help="connector or profile")]) -> None:
    """JSON Schema of a connector spec, a profile or a team file, to stdout."""
    from engine.connector import ConnectorSpec
    from engine.profile import Profile
    from engine.team.model import Team

    model = {SchemaKind.connector: ConnectorSpec, SchemaKind.profile: Profile, SchemaKind.team: Team}[kind]
    document = model.model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = f"crmsync {kind.value}"
    print_json(document)


StateDir = Annotated[Path | None, typer.Option("--state-dir", help="default .crmsync/ or $CRMSYNC_HOME")]
CredentialsFile = Annotated[Path | None, typer.Option("--credentials", help="JSON file of client_id, "
                                                      "client_secret, refresh_token or access_token")]
AllowMissing = Annotated[bool, typer.Option(
    "--allow-missing", help="accept a source that lost data (a stream's file missing, a mapped path that "
    "matched no record): plan and send what there is; the findings are still shown")]
TeamFile = Annotated[Path | None, typer.Option("--team", help="the team file (users, roles, permissions); "
                                               "default team.yaml beside the profile, if there is one")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="every record, one line each (else the "
                                       "summary tells failures by cause; the activity log has each one)")]
Limit = Annotated[int | None, typer.Option("--limit", min=1, help="a small batch first: at most N records' "
                                           "writes (a record whose new parent is held back waits too)")]
Only = Annotated[list[str] | None, typer.Option("--only", help="only this record, as stream/source_id "
                                                "(repeat for more)")]


@app.command()
def plan(
    profile: Annotated[Path, typer.Argument(help="the profile YAML file")],
    source: Annotated[Path, typer.Option("--source", help="folder of source files (<stream>.jsonl or .csv)")],
    base_url: Annotated[str | None, typer.Option("--base-url", help="consult this CRM (reads only)")] = None,
    fmt: Annotated[PlanFormat, typer.Option("--format")] = PlanFormat.table,
    out_file: Annotated[Path | None, typer.Option("--out", help="write the report here")] = None,
    state_dir: StateDir = None,
    state_url: StateUrl = None,
    credentials: CredentialsFile = None,
    metadata: Annotated[Path | None, typer.Option(
        "--metadata", help="without --base-url: check against live metadata saved to a file")] = None,
    allow_missing: AllowMissing = False,
    team: TeamFile = None,
    as_user: Annotated[str | None, typer.Option("--as", help="plan as this user of the team: what they may "
                                                "not write is shown restricted")] = None,
    verbose: Verbose = False,
    summary_only: Annotated[bool, typer.Option("--summary", help="the summary alone: counts, cost, "
                                               "problems by cause")] = False,
    limit: Limit = None,
    only: Only = None,
    with_requests: Annotated[bool, typer.Option("--requests", help="html: put each request's headers and "
                                                "body in the page, and each record its own (credentials "
                                                "hidden); left out by default")] = False,
) -> None:
    """Dry-run: what a push would do, record by record, and every request it would send."""
    from engine.dryrun import dry_run
    from engine.report import print_plan

    if fmt is PlanFormat.html and out_file is None:
        err.print("--format html needs --out FILE (- for stdout)")
        raise typer.Exit(2)
    if with_requests and fmt is not PlanFormat.html:
        err.print("--requests goes with --format html (the JSON plan always holds the requests)")
        raise typer.Exit(2)
    if base_url and metadata:
        err.print("use --base-url or --metadata, not both: with --base-url the CRM's own metadata is read")
        raise typer.Exit(2)
    if summary_only and fmt is not PlanFormat.table:
        err.print(f"--summary is the table's summary alone; --format {fmt.value} has its own (\"summary\")")
        raise typer.Exit(2)
    try:
        result = dry_run(profile, source, base_url=base_url, state_dir=state_dir,
                         credentials_file=credentials, metadata_file=metadata, allow_missing=allow_missing,
                         team_file=team, as_user=as_user, limit=limit, only=only)
    except CrmsyncError as exc:
        raise fail(exc) from None
    findings = result.input_findings()
    if fmt is PlanFormat.html:
        _write_html(out_file, result, with_requests)  # type: ignore[arg-type]
    elif fmt is PlanFormat.json:  # written record by record: a plan's records may be millions
        from engine.spool.jsonout import write_json

        if out_file:
            _write_report(out_file, lambda stream: write_json(result.json_parts(), stream))
        else:
            write_json(result.json_parts(), sys.stdout)
    else:
        print_plan(result, out, verbose=verbose, summary_only=summary_only)
    if fmt is not PlanFormat.table:  # the table says them itself
        for finding in findings:
            err.print(f"source: {finding}", markup=False, highlight=False)
    if result.held_notice:
        err.print(f"held back: {result.held_notice}", markup=False, highlight=False)
    raise typer.Exit(1 if result.summary()["invalid"] or (findings and not allow_missing) else 0)


def _write_report(path: Path, text: str | Callable[[TextIO], None]) -> None:
    """Write a report (its text, or what writes it as a stream), making its folder if need be; a path
    that cannot be written is bad usage. Written beside and then moved in place: a report cut off
    half-way never replaces a whole one."""
    part = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with part.open("w", encoding="utf-8") as stream:
            if isinstance(text, str):
                stream.write(text)
            else:
                text(stream)
        part.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # none to remove, or its folder could not be made
            part.unlink(missing_ok=True)
        err.print(f"{path}: cannot write the report: {exc.strerror or exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    err.print(f"wrote {path}", markup=False, highlight=False)


def _write_html(path: Path, plan: Plan, with_requests: bool) -> None:
    """The HTML report written as it is made (`-`: to stdout), a file as `_write_report` writes it."""
    from engine.htmlreport import write_html

    if str(path) == "-":
        write_html(plan, sys.stdout, requests=with_requests)
        return
    _write_report(path, lambda stream: write_html(plan, stream, requests=with_requests))


class LogFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class Action(StrEnum):
    insert = "insert"
    update = "update"
    associate = "associate"  # an association made after both records exist (HubSpot)
    none = "none"  # a record refused or held back before anything was sent
    link = "link"  # a person tied a CRM record to a local record (crmsync link)
    unlink = "unlink"
    import_ = "import"  # a CRM record imported as a local record, and linked


class Result(StrEnum):
    success = "success"
    error = "error"
    skipped = "skipped"  # held back before sending (its identity incomplete, a repeat, a parent missing)
    restricted = "restricted"  # the user who pushed may not write it (the team's permissions)
    failed = "failed"  # the push summary's word for error: the same rows

    @property
    def logged(self) -> str:
        """The result as the activity log writes it."""
        return Result.error.value if self is Result.failed else self.value


@app.command()
def push(
    profile: Annotated[Path | None, typer.Argument(help="the profile YAML file")] = None,
    source: Annotated[Path | None, typer.Option("--source", help="folder of source files")] = None,
    plan_file: Annotated[Path | None, typer.Option(
        "--plan", help="send exactly a plan saved by `plan --format json --out`")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="the CRM's API base URL (else "
                                                 "base_url in the credentials file or the profile's "
                                                 "connection)")] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="who triggers the run (activity log); with a "
                                                "team file, one of its users")] = None,
    fmt: Annotated[TableOrJson, typer.Option("--format")] = TableOrJson.table,
    state_dir: StateDir = None,
    state_url: StateUrl = None,
    credentials: CredentialsFile = None,
    daily_reserve: Annotated[int, typer.Option(
        "--daily-reserve", min=0, max=100, help="percent of the CRM's daily API allocation to leave to the "
        "org's other integrations: the run stops sending once only that is left")] = 10,
    recreate_deleted: Annotated[bool, typer.Option(
        "--recreate-deleted", help="create again a record deleted in the CRM behind its link (counted "
        "apart as recreated); without it, such a record fails as deleted_in_crm")] = False,
    allow_missing: AllowMissing = False,
    team: TeamFile = None,
    verbose: Verbose = False,
    limit: Limit = None,
    only: Only = None,
    org_moved: Annotated[bool, typer.Option(
        "--org-moved", help="the CRM org the profile's state belongs to now answers at this address (a new "
        "domain): bind its state here; without it a push to another org's address is refused")] = False,
) -> None:
    """Send a profile's records (or a saved plan) to the CRM, fast and safely."""
    from engine.pushrun import PushRequest, run_push

    if plan_file is None and (profile is None or source is None):
        err.print("give PROFILE and --source DIR, or --plan PLAN.json")
        raise typer.Exit(2)
    request = PushRequest(profile=profile, source=source, plan_file=plan_file, base_url=base_url,
                          as_user=as_user, state_dir=state_dir, credentials_file=credentials,
                          progress=fmt is TableOrJson.table, daily_reserve=daily_reserve / 100,
                          recreate_deleted=recreate_deleted, allow_missing=allow_missing, team_file=team,
                          limit=limit, only=only, org_moved=org_moved)
    try:
        outcome = run_push(request, console=err)
    except CrmsyncError as exc:
        raise fail(exc) from None
    if fmt is TableOrJson.json:
        from engine.spool.jsonout import write_json

        write_json(outcome.json_parts(), sys.stdout)  # its records one by one: a million is gigabytes
    else:
        from engine.pushrun import print_push

        print_push(outcome, out, verbose=verbose)
    summary = outcome.summary()
    held_back = outcome.input_findings and not allow_missing
    named_unsent = only and outcome.held_back.get("parent_not_sent")  # --only REF not sent: its parent
    raise typer.Exit(130 if outcome.interrupted else 1 if summary["failed"] or outcome.stopped
                     or outcome.stale or held_back or named_unsent else 0)


@app.command("log")
def log_command(
    since: Annotated[str | None, typer.Option(
        "--since", help="ISO date or time (UTC unless it says), or back from now: 30m, 2h, 2d, 1w, "
        "yesterday")] = None,
    until: Annotated[str | None, typer.Option(
        "--until", help="ISO date or time, or back from now: 2d, yesterday (a day: to its end)")] = None,
    by: Annotated[str | None, typer.Option("--by", help="who triggered the run")] = None,
    object_name: Annotated[str | None, typer.Option("--object")] = None,
    action: Annotated[Action | None, typer.Option("--action")] = None,
    result: Annotated[Result | None, typer.Option("--result")] = None,
    run: Annotated[str | None, typer.Option("--run", help="a run id")] = None,
    fmt: Annotated[LogFormat, typer.Option("--format")] = LogFormat.table,
    state_dir: StateDir = None,
    state_url: StateUrl = None,
    profile: Annotated[str | None, typer.Option("--profile", help="the runs of this profile (its "
                                                "name)")] = None,
    stream: Annotated[str | None, typer.Option("--stream", help="the records of this source stream")] = None,
    source_id: Annotated[str | None, typer.Option("--source-id", help="one source record (with --stream, "
                                                  "of that stream)")] = None,
) -> None:
    """The activity log: every operation a push attempted."""
    from engine.activity import print_log, query_log

    notes: list[str] = []
    try:
        rows = query_log(state_dir, notes, since=since, until=until, by=by, object_name=object_name,
                         action=action.value if action else None, result=result.logged if result else None,
                         run_id=run, profile=profile, stream=stream, source_id=source_id)
    except CrmsyncError as exc:
        raise fail(exc) from None
    print_log(rows, fmt.value, out)
    for note in notes:
        err.print(f"[yellow]note:[/] {visible(note)}", highlight=False)


@app.command()
def approve(
    profile: Annotated[Path, typer.Argument(help="the profile YAML file")],
    as_user: Annotated[str, typer.Option("--as", help="the admin who approves it")],
    team: TeamFile = None,
    state_dir: StateDir = None,
    state_url: StateUrl = None,
) -> None:
    """Approve a profile as it is now: standard users may push it until it (or the team file) changes."""
    from engine.catalog import load_profile
    from engine.store import default_state_dir
    from engine.team.gate import approve_profile

    try:
        approval = approve_profile(load_profile(profile), team, as_user, state_dir or default_state_dir())
    except CrmsyncError as exc:
        raise fail(exc) from None
    out.print(f"{visible(str(profile))}: approved by {visible(approval.approved_by)} at {approval.at}",
              highlight=False)


@app.command()
def demo(
    state_dir: StateDir = None,
    state_url: StateUrl = None,
    report: Annotated[Path, typer.Option("--report", help="where to write the HTML dry-run report")] = Path(
        "crmsync-demo-report.html"),
) -> None:
    """The whole job on a local HubSpot sandbox, end to end."""
    from engine.demo import run_demo

    try:
        ok = run_demo(out, state_dir=state_dir, report=report)
    except CrmsyncError as exc:
        raise fail(exc) from None
    raise typer.Exit(0 if ok else 1)


@sandbox_app.command("serve", cls=LightHelpCommand)
def sandbox_serve(
    crm: Annotated[Crm, typer.Argument(help="which CRM to emulate")],
    port: Annotated[int, typer.Option("--port", help="0 picks a free port")] = 0,
    seed: Annotated[Path | None, typer.Option("--seed", help="JSON file of {object: [records]}")] = None,
    latency_ms: Annotated[int, typer.Option("--latency-ms")] = 0,
    faults: Annotated[str | None, typer.Option("--faults", help="e.g. 5xx=0.05,drop=0.01,seed=7")] = None,
    tls: Annotated[bool, typer.Option("--tls", help="serve HTTPS with a throwaway local CA")] = False,
) -> None:
    """Serve a local emulator of a CRM's API on 127.0.0.1."""
    from engine import sandbox
    from engine.credfile import private_dir
    from engine.sandbox.common import SandboxConfigError, serve_forever

    try:
        emulator = sandbox.create(crm.value, latency_ms=latency_ms, faults=faults,
                                  seed=str(seed) if seed else None)
    except SandboxConfigError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from None
    tls_dir = private_dir(Path.cwd() / ".crmsync" / "sandbox-tls") if tls else None  # holds a private key
    with contextlib.suppress(KeyboardInterrupt):
        serve_forever(emulator, port=port, tls_dir=tls_dir, announce=lambda line: print(line, flush=True))


register_pull_commands(app)  # pull, link, unlink, import
register_review_commands(app)  # review
register_runs_commands(app)  # runs, retry
register_fleet_commands(app)  # worker, enqueue, schedule (crmsync on Temporal)


def main() -> None:  # pragma: no cover - the console script calls `app`
    app()


if __name__ == "__main__":  # python -m engine.cli
    app()

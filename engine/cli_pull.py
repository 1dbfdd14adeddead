"""The pull side of the command line: `pull`, `link`, `unlink`, `import` (registered on engine.cli's app
by `register`). Exit codes as the contract says: 0 all well; 1 a record refused or a pull cut off;
2 bad usage or an unreadable or malformed file."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from engine.cli_state import StateUrl
from engine.errors import CrmsyncError

StateDir = Annotated[Path | None, typer.Option("--state-dir", help="default .crmsync/ or $CRMSYNC_HOME")]
CredentialsFile = Annotated[Path | None, typer.Option("--credentials", help="JSON file of client_id, "
                                                      "client_secret, refresh_token or access_token")]
ObjectOption = Annotated[str | None, typer.Option("--object", help="one CRM object only (companies, "
                                                  "Account...)")]


class PullFormat(StrEnum):
    table = "table"
    json = "json"
    html = "html"


class TableOrJson(StrEnum):
    table = "table"
    json = "json"


def consoles() -> tuple[Console, Console]:
    return Console(soft_wrap=True, emoji=False), Console(stderr=True, soft_wrap=True, emoji=False)


def fail(error: CrmsyncError) -> typer.Exit:
    consoles()[1].print(str(error), markup=False, highlight=False)
    return typer.Exit(error.exit_code)


def pull(
    profile: Annotated[Path, typer.Argument(help="the profile YAML file")],
    source: Annotated[Path, typer.Option("--source", help="folder of the local records (<stream>.jsonl or "
                                         ".csv)")],
    base_url: Annotated[str | None, typer.Option("--base-url", help="the CRM's API base URL")] = None,
    object_name: ObjectOption = None,
    fmt: Annotated[PullFormat, typer.Option("--format")] = PullFormat.table,
    out_file: Annotated[Path | None, typer.Option("--out", help="write the report here")] = None,
    full: Annotated[bool, typer.Option("--full", help="list every record again, not only those modified "
                                       "since the last pull")] = False,
    state_dir: StateDir = None,
    state_url: StateUrl = None,
    credentials: CredentialsFile = None,
) -> None:
    """Bring the CRM's records in and match them to the local records: Match Found (ranked candidates),
    New or Linked."""
    from engine.pull.report import print_pull, pull_html, pull_json
    from engine.pull.run import run_pull

    out, err = consoles()
    if fmt is PullFormat.html and out_file is None:
        err.print("--format html needs --out FILE")
        raise typer.Exit(2)
    try:
        result = run_pull(profile, source, base_url=base_url, object_name=object_name, state_dir=state_dir,
                          credentials_file=credentials, full=full)
    except CrmsyncError as exc:
        raise fail(exc) from None
    if fmt is PullFormat.table and out_file is None:
        print_pull(result, out)
        return
    text = pull_html(result) if fmt is PullFormat.html else pull_json(result)
    if out_file is None:
        sys.stdout.write(text)
        return
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        err.print(f"{out_file}: cannot write the report: {exc.strerror or exc}", markup=False,
                  highlight=False)
        raise typer.Exit(2) from None
    err.print(f"wrote {out_file}", markup=False, highlight=False)


def link(
    profile: Annotated[Path, typer.Argument(help="the profile YAML file")],
    crm_id: Annotated[str | None, typer.Argument(help="the CRM record's id")] = None,
    local_ref: Annotated[str | None, typer.Argument(help="the local record, STREAM/SOURCE_ID")] = None,
    decisions: Annotated[Path | None, typer.Option("--decisions", help="CSV or JSON of crm_id, local_ref "
                                                   "(or skip)")] = None,
    best: Annotated[bool, typer.Option("--accept-best", help="link each record of the last pull whose best "
                                       "candidate scores at least --min-score")] = False,
    min_score: Annotated[float, typer.Option("--min-score", min=0, max=1)] = 0.9,
    walk: Annotated[bool | None, typer.Option("--walk/--no-walk", help="go through the Match Found records "
                                              "one at a time (default: on a terminal, with nothing else "
                                              "given)")] = None,
    source: Annotated[Path | None, typer.Option("--source", help="the local records, to search them in the "
                                                "walk")] = None,
    object_name: ObjectOption = None,
    as_user: Annotated[str | None, typer.Option("--as", help="who decides (activity log)")] = None,
    fmt: Annotated[TableOrJson, typer.Option("--format")] = TableOrJson.table,
    state_dir: StateDir = None,
    state_url: StateUrl = None,
) -> None:
    """Link CRM records to local records: one, from a decisions file, the confident ones, or walking
    through them. A push plan's ambiguous record is resolved the same way (CRM_ID LOCAL_REF)."""
    from engine.pull.commands import link_command

    given = sum([crm_id is not None, decisions is not None, best])
    walking = given == 0 and (walk if walk is not None else sys.stdin.isatty())
    if given > 1 or (given == 0 and not walking):
        consoles()[1].print("give CRM_ID LOCAL_REF, --decisions FILE or --accept-best (one of them), or "
                            "--walk to go through the records one at a time")
        raise typer.Exit(2)
    if crm_id is not None and local_ref is None:
        consoles()[1].print("give the local record to link to: crmsync link PROFILE CRM_ID STREAM/SOURCE_ID")
        raise typer.Exit(2)
    try:
        code = link_command(profile, crm_id=crm_id, local_ref=local_ref, decisions=decisions, best=best,
                            min_score=min_score, walk=walking, source=source, object_name=object_name,
                            by=as_user or "cli", as_json=fmt is TableOrJson.json, state_dir=state_dir)
    except CrmsyncError as exc:
        raise fail(exc) from None
    raise typer.Exit(code)


def unlink(
    profile: Annotated[Path, typer.Argument(help="the profile YAML file")],
    what: Annotated[list[str], typer.Argument(help="local records (STREAM/SOURCE_ID) or CRM ids")],
    as_user: Annotated[str | None, typer.Option("--as", help="who decides (activity log)")] = None,
    fmt: Annotated[TableOrJson, typer.Option("--format")] = TableOrJson.table,
    state_dir: StateDir = None,
    state_url: StateUrl = None,
) -> None:
    """Undo links: the next pull shows the CRM record again, and the next push looks it up anew."""
    from engine.pull.commands import unlink_command

    try:
        code = unlink_command(profile, what, by=as_user or "cli", as_json=fmt is TableOrJson.json,
                              state_dir=state_dir)
    except CrmsyncError as exc:
        raise fail(exc) from None
    raise typer.Exit(code)


def import_(
    profile: Annotated[Path, typer.Argument(help="the profile YAML file")],
    crm_ids: Annotated[list[str] | None, typer.Argument(help="the New records to import")] = None,
    all_new: Annotated[bool, typer.Option("--all-new", help="every New record of the last pull")] = False,
    as_stream: Annotated[str | None, typer.Option("--as", help="the stream (kind of local record) they "
                                                  "become; default pull.<object>.import_as")] = None,
    with_companies: Annotated[bool, typer.Option("--with-companies", help="bring each contact's company: "
                                                 "imported when New, linked when matched")] = False,
    out_dir: Annotated[Path, typer.Option("--out", help="folder of the JSON Lines written, one file per "
                                          "stream")] = Path("crmsync-import"),
    object_name: ObjectOption = None,
    by: Annotated[str | None, typer.Option("--by", help="who imports (activity log)")] = None,
    fmt: Annotated[TableOrJson, typer.Option("--format")] = TableOrJson.table,
    state_dir: StateDir = None,
    state_url: StateUrl = None,
) -> None:
    """Import New CRM records as local records (JSON Lines in the source shape), linked at once."""
    from engine.pull.commands import import_command

    if bool(crm_ids) == all_new:
        consoles()[1].print("give the CRM ids to import, or --all-new (one of them)")
        raise typer.Exit(2)
    try:
        code = import_command(profile, crm_ids or [], as_stream=as_stream, with_companies=with_companies,
                              out_dir=out_dir, object_name=object_name, by=by or "cli",
                              as_json=fmt is TableOrJson.json, state_dir=state_dir)
    except CrmsyncError as exc:
        raise fail(exc) from None
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("pull")(pull)
    app.command("link")(link)
    app.command("unlink")(unlink)
    app.command("import")(import_)

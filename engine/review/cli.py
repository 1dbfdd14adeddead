"""`crmsync review PROFILE --source DIR`: registered on engine.cli's app by `register`. Exit codes as the
contract says: 1 the plan could not be made (the CRM refused a read); 2 bad usage or an unreadable or
malformed file; stopped by Ctrl-C once serving, 130 (as a push)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli_pull import CredentialsFile, StateDir, consoles, fail
from engine.cli_state import StateUrl
from engine.errors import CrmsyncError


def review(
    profile: Annotated[Path, typer.Argument(help="the profile YAML file")],
    source: Annotated[Path, typer.Option("--source", help="folder of source files (<stream>.jsonl or .csv)")],
    base_url: Annotated[str | None, typer.Option("--base-url", help="consult this CRM (reads only until "
                                                 "you push from the page)")] = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0: any free port")] = 0,
    as_user: Annotated[str | None, typer.Option("--as", help="plan and push as this team user")] = None,
    team: Annotated[Path | None, typer.Option("--team", help="the team file; default team.yaml beside the "
                                              "profile, if there is one")] = None,
    credentials: CredentialsFile = None,
    state_dir: StateDir = None,
    state_url: StateUrl = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="print the address, open nothing")] = False,
) -> None:
    """Review a plan in the browser: filter, search, choose, approve, push."""
    from engine.review.app import PushOptions
    from engine.review.serve import address, bind, prepare, serve

    out, err = consoles()
    options = PushOptions(base_url, credentials, state_dir, as_user, team)
    try:
        prepared = prepare(profile, source, options)
    except CrmsyncError as exc:
        raise fail(exc) from None
    try:
        sock = bind(port)
    except OSError as exc:
        err.print(f"--port {port}: cannot listen on 127.0.0.1: {exc.strerror or exc}", markup=False)
        raise typer.Exit(2) from None
    url = address(sock, prepared)

    for finding in prepared.findings:  # said here too, not only on the page: a stranger may not look
        err.print(f"source: {finding}", markup=False, highlight=False)
    from engine.review.pages_pull import unavailable

    if (why := unavailable()) is not None:
        err.print(f"notice: {why}", markup=False, highlight=False)

    def ready() -> None:
        out.print(f"crmsync review of {prepared.bundle.profile.model.name}: open {url}", markup=False,
                  highlight=False, soft_wrap=True)
        out.print("(the address holds this session's access token; Ctrl-C stops the app)", markup=False)
        if not no_browser:
            import webbrowser

            webbrowser.open(url)

    serve(prepared, sock, ready)


def register(app: typer.Typer) -> None:
    app.command("review")(review)

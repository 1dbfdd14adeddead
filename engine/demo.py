"""`crmsync demo`: the whole job on a local sandbox, end to end — validate, dry-run (with an HTML
report), push, push again (everything now synced), the activity log."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule

from engine.activity import print_log, query_log
from engine.catalog import builtin_dir, load_profile
from engine.dryrun import dry_run
from engine.htmlreport import write_html
from engine.pushrun import PushRequest, print_push, run_push
from engine.report import print_plan
from engine.summary import say
from engine.terminal import visible
from engine.validate import validate

DEMO_CRM = "hubspot"
DEMO_PROFILE = "hubspot-benefitflow.yaml"
LOG_ROWS_SHOWN = 8  # of the activity log, at the end
DEMO_TOKEN = "sandbox-token"  # the sandbox's private-app token; a real portal's never appears in output


def run_demo(console: Console, *, state_dir: Path | None, report: Path) -> bool:
    from engine import sandbox
    from engine.sandbox.common import running

    profile = builtin_dir("profiles") / DEMO_PROFILE
    source = builtin_dir("examples") / "data"
    state = state_dir or Path(tempfile.mkdtemp(prefix="crmsync-demo-"))
    previous = os.environ.get("CRMSYNC_ACCESS_TOKEN")
    os.environ["CRMSYNC_ACCESS_TOKEN"] = DEMO_TOKEN
    try:
        with running(sandbox.create(DEMO_CRM)) as base_url:
            console.print(Rule(f"1. validate {profile.name}"))
            findings = validate(load_profile(profile))
            for f in findings:
                say(console, visible(f"{f.where}: {f.severity} {f.stream}.{f.field}: {f.message}"))
            say(console, f"{len(findings):,} finding(s)")
            console.print(Rule(f"2. dry-run against the {DEMO_CRM} sandbox at {base_url}"))
            plan = dry_run(profile, source, base_url=base_url, state_dir=state)
            print_plan(plan, console)
            with report.open("w", encoding="utf-8") as page:
                write_html(plan, page)
            say(console, f"HTML report: {visible(str(report.resolve()))}")
            console.print(Rule("3. push"))
            first = run_push(PushRequest(profile, source, base_url=base_url, as_user="demo",
                                         state_dir=state), console)
            print_push(first, console)
            console.print(Rule("4. push again: nothing left to write"))
            second = run_push(PushRequest(profile, source, base_url=base_url, as_user="demo",
                                          state_dir=state), console)
            print_push(second, console)
            console.print(Rule("5. activity log of the first push"))
            print_log_excerpt(query_log(state, run_id=first.run_id), first.run_id, state, console)
    finally:
        if previous is None:
            os.environ.pop("CRMSYNC_ACCESS_TOKEN", None)
        else:
            os.environ["CRMSYNC_ACCESS_TOKEN"] = previous
    s1, s2 = first.summary(), second.summary()
    ok = s1["created"] > 0 and s2["created"] == 0 and s2["updated"] == 0 and not first.stopped
    console.print(Rule("done"))
    say(console, f"first push: {counts(s1)}; second push: {counts(s2)}; state in {visible(str(state))}")
    return ok


def counts(summary: dict[str, int]) -> str:
    return ", ".join(f"{summary[k]:,} {k}" for k in ("created", "updated", "unchanged", "failed"))


def print_log_excerpt(rows: list[dict[str, Any]], run_id: str, state: Path, console: Console) -> None:
    """The log's first rows, and how to see the rest."""
    print_log(rows[:LOG_ROWS_SHOWN], "table", console)
    if len(rows) > LOG_ROWS_SHOWN:
        say(console, f"… and {len(rows) - LOG_ROWS_SHOWN:,} more ({len(rows):,} in all): crmsync log --run "
                     f"{visible(run_id)} --state-dir {visible(str(state))}")

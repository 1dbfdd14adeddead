"""Show a plan to a person: a summary with the run's estimated cost, then a table per status (the tabs
users know: Net New, Updates, Synced...), changed fields as old → new. The HTML page is
engine/htmlreport."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from engine.coverage import StreamSource
from engine.plan import STATUSES, Plan, PlannedRecord
from engine.summary import Failure, causes, plan_failure, print_causes, say
from engine.terminal import visible

ROWS_SHOWN = 10  # of each status, without --verbose
TITLES = {"net_new": "Net New", "update": "Updates", "synced": "Synced", "invalid": "Invalid",
          "skipped": "Skipped", "restricted": "Restricted", "ambiguous": "Ambiguous"}


def short(value: Any, width: int = 40) -> str:
    text = "—" if value in (None, "") else (value if isinstance(value, str)
                                            else json.dumps(value, ensure_ascii=False))
    return text if len(text) <= width else text[: width - 1] + "…"


def describe(record: PlannedRecord) -> str:
    if record.problems:
        return "; ".join(p.message for p in record.problems)
    parts = [f"{c.field}: {short(c.current, 24)} → {short(c.new)}" for c in record.changes]
    kept = [f"kept (overwrite off) {c.field}: {short(c.current, 24)}, not {short(c.new)}"
            for c in record.kept]
    return "; ".join(parts + kept + record.notes)


def daily_line(budget: dict[str, Any]) -> str:
    line = (f"Daily API allocation: {budget['used']:,} of {budget['allocation']:,} used; a push keeps "
            f"{budget['reserve']:,} for the org's other integrations and needs about {budget['needed']:,}")
    if budget["enough"]:
        return line
    return f"{line}: [red]not enough: it would stop after about {budget['usable']:,} requests[/]"


def warning_line(finding: dict[str, Any]) -> str:
    """A profile warning (a validate finding) as one line of rich markup, its text escaped."""
    what = ".".join(p for p in (finding.get("stream"), finding.get("field")) if p)
    return (f"[yellow]warning[/] {escape(finding['where'])}: {escape(what)}: {escape(finding['message'])} "
            f"({escape(finding['code'])})")


def print_plan(plan: Plan, console: Console, *, verbose: bool = False, summary_only: bool = False) -> None:
    """The sources read and the records by status (the first few of each, all with `verbose`), then the
    summary, last; or the summary alone."""
    if not summary_only:
        print_sources(plan, console)
        for warning in plan.warnings:
            say(console, warning_line(warning))
        most = None if verbose else ROWS_SHOWN
        shown = first_of_each_status(plan, most)
        for status in STATUSES:
            print_status_table(plan, status, console, most, shown[status])
    print_plan_summary(plan, console, verbose=verbose or summary_only)


def first_of_each_status(plan: Plan, most: int | None) -> dict[str, list[PlannedRecord]]:
    """The first `most` records of each status (all with None), in one reading of the plan's records
    (which may be on disk, a million of them)."""
    shown: dict[str, list[PlannedRecord]] = {status: [] for status in STATUSES}
    for record in plan.records:
        rows = shown[record.status]
        if most is None or len(rows) < most:
            rows.append(record)
    return shown


def print_status_table(plan: Plan, status: str, console: Console, most: int | None,
                       rows: list[PlannedRecord] | None = None) -> None:
    """`rows`: the status's first `most` records, read already (else read here)."""
    if rows is None:
        rows = first_of_each_status(plan, most)[status]
    total = plan.summary()[status]
    if not total:
        return
    table = Table(title=f"{TITLES[status]} ({total:,})", title_justify="left", show_lines=False)
    for column in ("stream", "source id", "object", "crm id", "details"):
        table.add_column(column, overflow="fold")
    for record in rows[:most]:
        table.add_row(visible(record.stream), visible(record.source_id), visible(record.object),
                      visible(record.crm_id or ""), visible(describe(record)))
    console.print(table)
    if most is not None and total > most:
        say(console, f"  … and {total - most:,} more {TITLES[status].lower()} (plan --verbose shows "
                     "every record)")


def print_plan_summary(plan: Plan, console: Console, *, verbose: bool = False) -> None:
    """Where the plan goes, its counts and cost, what the source lost, and its problems by cause."""
    summary = plan.summary()
    where = plan.base_url if plan.consulted_crm else f"{plan.base_url} (not consulted: no --base-url)"
    say(console, f"[bold]Plan[/] for profile [bold]{visible(plan.profile)}[/] → {visible(plan.connector)} "
                 f"at {visible(where)}")
    counts = [f"{TITLES[s]}: [bold]{summary[s]:,}[/]" for s in STATUSES]
    one_line = "  ".join(counts)
    if len(Text.from_markup(one_line)) <= console.width:
        say(console, one_line)
    else:  # what would be written, then what would not
        say(console, "  ".join(counts[:3]))
        say(console, "  ".join(counts[3:]))
    cost = plan.cost
    requests = ", ".join(f"{v:,} {k}" for k, v in cost["requests"].items())
    say(console, f"Requests: {cost['total_requests']:,} ({requests}); at least {cost['min_seconds']:,} s "
                 f"within the published limits ({'; '.join(cost['rate_limits']) or 'none published'})")
    if budget := cost.get("daily_allocation"):
        say(console, daily_line(budget))
    for finding in plan.input_findings():
        say(console, f"[red]source:[/] {visible(finding)}")
    by_status: dict[str, list[Failure]] = {s: [] for s in ("invalid", "restricted", "skipped", "ambiguous")}
    for record in plan.records:  # one reading: the records may be on disk
        if record.status in by_status:
            by_status[record.status].append(plan_failure(record))
    print_causes(console, f"[red]Invalid[/]: {summary['invalid']:,} record(s), never sent, by cause:",
                 causes(by_status["invalid"]))
    print_causes(console, f"[yellow]Restricted[/]: {summary['restricted']:,} record(s), by reason:",
                 causes(by_status["restricted"]))
    print_causes(console, f"Ambiguous: {summary['ambiguous']:,} record(s), a person must choose "
                          "(crmsync link):", causes(by_status["ambiguous"]), top=3)
    print_causes(console, f"Skipped: {summary['skipped']:,} record(s), by reason:",
                 causes(by_status["skipped"]), top=3)
    if not verbose:
        say(console, "[dim]Every record: plan --verbose, or --format html --out FILE[/]")


def source_details(source: StreamSource) -> str:
    """The paths that matched fewer than all records, with their counts; the rest said in one word."""
    if source.file is None:
        return "no file: " + ", ".join(source.looked_for)
    short_of = [f"{path} ({what}): {matched} of {source.records}" for what, path, matched in source.paths
                if matched < source.records]
    every = len(source.paths) - len(short_of)
    delimiter = source.delimiter()
    read_as = [f"read as {delimiter!r}-separated"] if delimiter not in (None, ",") else []
    return "; ".join([*read_as, *short_of, f"{every} path(s) matched every record"])


def print_sources(plan: Plan, console: Console) -> None:
    """Per stream: the file read, its records, and what each mapped path matched; then the findings."""
    if not plan.sources:
        return
    table = Table(title="Source", title_justify="left")
    for column in ("stream", "file", "records", "paths"):
        table.add_column(column, overflow="fold")
    for source in plan.sources:
        table.add_row(visible(source.stream), visible(source.file or "—"), str(source.records),
                      visible(source_details(source)))
    console.print(table)

"""Show a plan to a person: a summary with the run's estimated cost, then a table per status (the tabs
users know: Net New, Updates, Synced...), changed fields as old → new. The HTML page is
engine/htmlreport."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.coverage import StreamSource
from engine.plan import STATUSES, Plan, PlannedRecord
from engine.terminal import visible

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


def print_plan(plan: Plan, console: Console) -> None:
    summary = plan.summary()
    where = plan.base_url if plan.consulted_crm else f"{plan.base_url} (not consulted: no --base-url)"
    console.print(f"[bold]Plan[/] for profile [bold]{visible(plan.profile)}[/] → {visible(plan.connector)} "
                  f"at {visible(where)}",
                  highlight=False)
    console.print("  ".join(f"{TITLES[s]}: [bold]{summary[s]}[/]" for s in STATUSES), highlight=False)
    cost = plan.cost
    requests = ", ".join(f"{v} {k}" for k, v in cost["requests"].items())
    console.print(f"Requests: {cost['total_requests']} ({requests}); at least {cost['min_seconds']} s "
                  f"within the published limits ({'; '.join(cost['rate_limits']) or 'none published'})",
                  highlight=False)
    if budget := cost.get("daily_allocation"):
        console.print(daily_line(budget), highlight=False)
    print_sources(plan, console)
    for warning in plan.warnings:
        console.print(warning_line(warning), highlight=False)
    for status in STATUSES:
        rows = [r for r in plan.records if r.status == status]
        if not rows:
            continue
        table = Table(title=f"{TITLES[status]} ({len(rows)})", title_justify="left", show_lines=False)
        for column in ("stream", "source id", "object", "crm id", "details"):
            table.add_column(column, overflow="fold")
        for record in rows:
            table.add_row(visible(record.stream), visible(record.source_id), visible(record.object),
                          visible(record.crm_id or ""), visible(describe(record)))
        console.print(table)


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
    for finding in plan.input_findings():
        console.print(f"[red]source:[/] {visible(finding)}", highlight=False)

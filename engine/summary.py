"""The end of a push or a plan as a person reads it: short, last, at 80 columns. Failures are told by
cause (the CRM's code, the field, the message's shape without its values) with their counts, not record
by record: 37 records refused for one picklist value are one line, and the log has each of them."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.console import Console

from engine.terminal import visible

if TYPE_CHECKING:
    from engine.plan import PlannedRecord
    from engine.push import Outcome, PushResult

TOP_CAUSES = 5
TRAILING_VALUE = 60  # the most characters after a message's last colon read as a value
EXAMPLE_LINES = 2  # of a cause's example message
# the parts of a message that differ from record to record: quoted values, emails, numbers, long ids
VALUES = re.compile(r"'[^']*'|\"[^\"]*\"|[\w.+-]+@[\w-]+(\.[\w-]+)+|\b(?=\w*\d)\w{6,}\b|\d+(\.\d+)?")


@dataclass
class Cause:
    code: str
    field: str | None
    shape: str
    example: str  # the first record's message, as the CRM (or the check) said it
    refs: list[str] = field(default_factory=list)

    def title(self) -> str:
        n = len(self.refs)
        what = " ".join(p for p in (self.code, self.field) if p)
        return (f"{what} — " if what else "") + f"{n:,} record{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class Failure:
    """One record's failure, for grouping: its ref, the code, the field it concerns, the message."""

    ref: str
    code: str
    field: str | None
    message: str


def shape(message: str) -> str:
    """The message without what changes from one record to the next: quoted values, emails, numbers,
    ids, and a value it ends with after a colon (`bad value for restricted picklist field: Self Insured`)."""
    head, colon, tail = message.rpartition(": ")
    if colon and head and len(tail) <= TRAILING_VALUE:
        message = f"{head}: …"
    return VALUES.sub("…", message)


def causes(failures: Iterable[Failure]) -> list[Cause]:
    """Failures grouped by code and field, or code and message shape when no field is named; the
    largest group first."""
    groups: dict[tuple[str, str | None, str], Cause] = {}
    for failure in failures:  # a field named: its code and field say the cause, whatever the values
        key = (failure.code, failure.field, "" if failure.field else shape(failure.message))
        cause = groups.setdefault(key, Cause(failure.code, failure.field, key[2], failure.message))
        cause.refs.append(failure.ref)
    return sorted(groups.values(), key=lambda c: -len(c.refs))


def without_prefix(message: str, *prefixes: str | None) -> str:
    """A message less the record and field it starts by naming (`employer emp-008: Name: ...`)."""
    for prefix in prefixes:
        if prefix and message.startswith(f"{prefix}: "):
            message = message[len(prefix) + 2:]
    return message


def field_named(message: str, fields: Iterable[str]) -> str | None:
    """The record's field a CRM's message names: the longest one named (`name` is in many a longer
    name's message), and not as a key of JSON quoted in the message (`"name": "benefitflow_url"`)."""
    named = [name for name in fields
             if re.search(rf"(?<![\w.]){re.escape(name)}(?![\w]|\"\s*:)", message)]
    return max(named, key=len, default=None)


def say(console: Console, markup: str) -> None:
    """One line of rich markup, wrapped at the console's width (the consoles default to no wrapping)."""
    console.print(markup, highlight=False, soft_wrap=False)


def print_causes(console: Console, heading: str, found: list[Cause], top: int = TOP_CAUSES) -> None:
    """`heading`, then each of the largest causes: its code, field and count, and one example."""
    if not found:
        return
    say(console, heading)
    width = max(console.width - 4, 20)
    for cause in found[:top]:
        say(console, f"  [red]{visible(cause.title())}[/]")
        for line in textwrap.wrap(cause.example, width, max_lines=EXAMPLE_LINES, placeholder=" …"):
            say(console, f"    [dim]{visible(line)}[/]")
    if len(found) > top:
        rest = sum(len(c.refs) for c in found[top:])
        say(console, f"  … and {len(found) - top:,} more cause(s), {rest:,} record(s)")


def associations_line(counts: dict[str, int]) -> str:
    made, failed = counts.get("created", 0), counts.get("failed", 0)
    if not made and not failed:
        return ""
    return f"; {made:,} associations made" + (f", [red]{failed:,} failed[/]" if failed else "")


def deleted_line(summary: dict[str, int]) -> str:
    """Records whose linked CRM record was deleted in the CRM: created again, or failed for that."""
    parts = []
    if summary["recreated"]:
        parts.append(f"[yellow]{summary['recreated']:,} recreated[/] (deleted in the CRM)")
    if summary["deleted_in_crm"]:
        parts.append(f"[red]{summary['deleted_in_crm']:,} of the failed deleted in the CRM[/] "
                     "(--recreate-deleted creates them again)")
    return "".join(f"; {part}" for part in parts)


def restricted_line(summary: dict[str, int]) -> str:
    """Records the user who pushed may not write (the team's permissions): not sent."""
    n = summary["restricted"]
    return f"; [yellow]{n:,} restricted[/] (not sent: the user may not write them)" if n else ""


def owners_line(owners: dict[str, int]) -> str:
    """Records written without the owner the profile gives them: no active CRM user has its email."""
    n = owners["not_found"] + owners["inactive"]
    return f"; [yellow]{n:,} written without their owner[/] (not an active user of the CRM)" if n else ""




def counts_line(result: PushResult) -> str:
    s = result.summary()
    return (f"Run [bold]{visible(result.run_id)}[/]: [green]{s['created']:,} created[/], "
            f"[green]{s['updated']:,} updated[/], {s['unchanged']:,} unchanged, {s['skipped']:,} skipped, "
            f"[{'red' if s['failed'] else 'green'}]{s['failed']:,} failed[/]"
            f"{deleted_line(s)}{restricted_line(s)}{owners_line(result.owners())}"
            f"{associations_line(result.associations)} ({result.requests_sent:,} requests)")


def failure_of(outcome: Outcome) -> Failure:
    """A failed, skipped or restricted record as its cause: a check's problem (the field it names), or
    the CRM's code and message (the record's field it names)."""
    record = outcome.record
    if record.status == "invalid" and record.problems:
        return plan_failure(record)
    who = f"{record.stream} {record.source_id}"
    message = outcome.error or ""
    named = field_named(message, [*record.values, *(c.field for c in record.changes)])
    code = outcome.error_code or ""
    return Failure(record.ref, code, named, without_prefix(message, who, named) or "no reason given")


def plan_failure(record: PlannedRecord) -> Failure:
    """A planned record held back, as its cause: its first problem, or the reason it is not written."""
    who = f"{record.stream} {record.source_id}"
    if record.problems:
        problem = record.problems[0]
        return Failure(record.ref, problem.code, problem.field,
                       without_prefix(problem.message, who, problem.field))
    reason = record.reason or "; ".join(record.notes) or "no reason given"
    return Failure(record.ref, "", None, without_prefix(reason, who))  # the heading says the status


def warnings_of(result: PushResult) -> Iterator[Failure]:
    return (Failure(o.record.ref, "warning", None, w) for o in result.outcomes for w in o.warnings)


def print_push_summary(result: PushResult, console: Console, *, verbose: bool = False) -> None:
    """The counts, why the run stopped, the largest causes of failure, and where to look."""
    s = result.summary()
    say(console, counts_line(result))
    if result.stopped:
        say(console, f"[red]stopped:[/] {visible(result.stopped)}")
    if result.unplanned:
        say(console, "[red]not planned[/] (the run stopped before deciding them; nothing of them was "
                     f"sent): {visible(', '.join(result.unplanned))}")
    # grouped as the outcomes are read back from disk: a million records' Failures are never all held
    failed, refused, skipped = (causes(failure_of(o) for o in result.outcomes if o.result == kind)
                                 for kind in ("error", "restricted", "skipped"))
    print_causes(console, f"[red]Failed[/]: {s['failed']:,} record(s), by cause:", failed)
    print_causes(console, f"[yellow]Restricted[/]: {s['restricted']:,} record(s), by reason:", refused)
    print_causes(console, f"Skipped: {s['skipped']:,} record(s), by reason:", skipped, top=3)
    warned = causes(warnings_of(result))
    warnings = sum(len(cause.refs) for cause in warned)
    print_causes(console, f"[yellow]Warnings[/]: {warnings:,}, by cause:", warned, top=3)
    run = visible(result.run_id)
    if s["failed"]:
        say(console, f"See the failed ones: crmsync log --run {run} --result error")
    say(console, f"See every operation with: crmsync log --run {run}")
    if not verbose and (s["failed"] or s["restricted"] or warnings):
        say(console, "[dim](push --verbose lists them record by record)[/]")

"""How a long push is going, on a terminal: a bar per stream and one for the whole run, each with what
the CRM accepted (`X/Y sent`), the rate, the time taken and the time left; a bar for the associations.
Nothing when the output is not a terminal (a log file, a pipe, `--format json`): the summary says it all.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:  # rich.progress is loaded only when a bar is drawn
    from rich.progress import Progress, Task
    from rich.text import Text

    from engine.plan import PlannedRecord
    from engine.push import Outcome

OVERALL = "all streams"
ASSOCIATIONS = "associations"
REDRAW = 0.1  # seconds between two hand-overs of the counts to rich (it redraws 10 times a second)
NAME_WIDTH = 16  # a stream's name is cut to this, so a line fits 80 columns


def columns() -> tuple[Any, ...]:
    from rich.progress import BarColumn, ProgressColumn, TextColumn
    from rich.text import Text

    class SentColumn(ProgressColumn):
        """`accepted/total sent`, and the failures when there are some."""

        def render(self, task: Task) -> Text:
            sent, failed = task.fields.get("sent", 0), task.fields.get("failed", 0)
            word = task.fields.get("word", "sent")
            text = Text(f"{sent:,}/{int(task.total or 0):,} {word}")
            if failed:
                text.append(f" {failed:,} failed", style="red")
            return text

    class RateColumn(ProgressColumn):
        """Records answered per second (sent or refused: both are the CRM's work)."""

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("—/s" if speed is None else f"{speed:,.0f}/s" if speed >= 10 else f"{speed:.1f}/s",
                        style="cyan")

    class TimesColumn(ProgressColumn):
        """The time taken and the time left (`0:42 ETA 1:05`), short enough for 80 columns."""

        def render(self, task: Task) -> Text:
            taken = task.finished_time if task.finished else task.elapsed
            left = 0 if task.finished else task.time_remaining
            return Text(f"{clock(taken)} ETA {clock(left)}", style="yellow")

    return (TextColumn("{task.description}", style="bold"), BarColumn(bar_width=10), SentColumn(),
            RateColumn(), TimesColumn())


def clock(seconds: float | None) -> str:
    """`m:ss`, or `h:mm:ss` from an hour; `-:--` when not known yet."""
    if seconds is None:
        return "-:--"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def label(name: str) -> str:
    from engine.terminal import visible

    cut = name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 1] + "…"
    return visible(cut.ljust(NAME_WIDTH))


@dataclass
class Tally:
    total: int = 0
    sent: int = 0  # accepted by the CRM (associations: made)
    failed: int = 0


class PushProgress:
    """The bars of one push. `enabled` false (or a console that is not a terminal): it draws nothing.
    Counts are kept here and handed to rich at most every REDRAW seconds: a push answers thousands of
    records a second, and each hand-over takes rich's lock."""

    def __init__(self, console: Console, enabled: bool) -> None:
        self.progress: Progress | None = None
        if enabled and console.is_terminal:
            from rich.progress import Progress

            self.progress = Progress(*columns(), console=console, transient=False)
        self.tasks: dict[str, Any] = {}
        self.tallies: dict[str, Tally] = {}
        self.drawn = 0.0

    def start(self, stream: str, records: Sequence[PlannedRecord]) -> None:
        """One stream's bar, once the stream is decided (the first one starts the display)."""
        if self.progress is None:
            return
        from engine.spool.records import RecordSpool

        by_status = records.counts()[0] if isinstance(records, RecordSpool) else \
            Counter(r.status for r in records)  # a spool counts them as they are written to disk
        total = by_status["net_new"] + by_status["update"]
        if not total:
            return
        if not self.tasks:
            self.add(OVERALL)
            self.progress.start()
        self.add(stream).total += total
        self.tallies[OVERALL].total += total
        self.draw(now=True)

    def add(self, name: str, word: str = "sent") -> Tally:
        assert self.progress is not None
        self.tasks[name] = self.progress.add_task(label(name), total=0, sent=0, failed=0, word=word)
        return self.tallies.setdefault(name, Tally())

    def answered(self, outcome: Outcome) -> None:
        """One record's answer: `sent` only when the CRM accepted it."""
        stream = outcome.record.stream
        if stream not in self.tallies:
            return
        for name in (stream, OVERALL):
            tally = self.tallies[name]
            if outcome.result == "success":
                tally.sent += 1
            else:
                tally.failed += 1
        self.draw()

    def associations(self, due: int, made: int, failed: int) -> None:
        """The association phase: `due` more to make, `made` and `failed` answered."""
        if self.progress is None or not self.tasks:
            return
        tally = self.tallies.get(ASSOCIATIONS) or self.add(ASSOCIATIONS, word="made")
        tally.total, tally.sent, tally.failed = tally.total + due, tally.sent + made, tally.failed + failed
        self.draw(now=bool(due))

    def draw(self, now: bool = False) -> None:
        if self.progress is None or (not now and time.monotonic() - self.drawn < REDRAW):
            return
        self.drawn = time.monotonic()
        for name, tally in self.tallies.items():
            self.progress.update(self.tasks[name], total=tally.total, completed=tally.sent + tally.failed,
                                 sent=tally.sent, failed=tally.failed)

    def stop(self) -> None:
        if self.progress is not None and self.tasks:
            self.draw(now=True)
            self.progress.stop()

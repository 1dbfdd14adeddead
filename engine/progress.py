"""How a long push is going, on a terminal: a bar per stream and one for the whole run, each with what
the CRM accepted (`X/Y sent`), the rate, the time taken and the time left; a bar for the associations.
Nothing when the output is not a terminal (a log file, a pipe, `--format json`): the summary says it all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:  # rich.progress is loaded only when a bar is drawn
    from rich.progress import Progress, Task
    from rich.text import Text

    from engine.plan import PlannedRecord
    from engine.push import Outcome

OVERALL = "all streams"
ASSOCIATIONS = "associations"
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


class PushProgress:
    """The bars of one push. `enabled` false (or a console that is not a terminal): it draws nothing."""

    def __init__(self, console: Console, enabled: bool) -> None:
        self.progress: Progress | None = None
        if enabled and console.is_terminal:
            from rich.progress import Progress

            self.progress = Progress(*columns(), console=console, transient=False)
        self.tasks: dict[str, Any] = {}

    def start(self, stream: str, records: list[PlannedRecord]) -> None:
        """One stream's bar, once the stream is decided (the first one starts the display)."""
        total = sum(1 for r in records if r.status in ("net_new", "update"))
        if self.progress is None or not total:
            return
        if not self.tasks:
            self.tasks[OVERALL] = self.progress.add_task(label(OVERALL), total=0, sent=0, failed=0)
            self.progress.start()
        self.tasks[stream] = self.progress.add_task(label(stream), total=total, sent=0, failed=0)
        self.grow(OVERALL, total)

    def grow(self, name: str, more: int) -> None:
        assert self.progress is not None
        task = self.tasks[name]
        self.progress.update(task, total=(self.progress.tasks[self.index(task)].total or 0) + more)

    def index(self, task_id: Any) -> int:
        assert self.progress is not None
        return next(i for i, t in enumerate(self.progress.tasks) if t.id == task_id)

    def answered(self, outcome: Outcome) -> None:
        """One record's answer: `sent` only when the CRM accepted it."""
        stream = outcome.record.stream
        if self.progress is None or stream not in self.tasks:
            return
        field = "sent" if outcome.result == "success" else "failed"
        for name in (stream, OVERALL):
            self.count(self.tasks[name], field)

    def count(self, task_id: Any, field: str, n: int = 1) -> None:
        assert self.progress is not None
        task = self.progress.tasks[self.index(task_id)]
        self.progress.update(task_id, advance=n, **{field: task.fields.get(field, 0) + n})

    def associations(self, due: int, made: int, failed: int) -> None:
        """The association phase: `due` more to make, `made` and `failed` answered."""
        if self.progress is None or not self.tasks:
            return
        if ASSOCIATIONS not in self.tasks:
            self.tasks[ASSOCIATIONS] = self.progress.add_task(label(ASSOCIATIONS), total=0, sent=0,
                                                              failed=0, word="made")
        task = self.tasks[ASSOCIATIONS]
        if due:
            self.grow(ASSOCIATIONS, due)
        if made:
            self.count(task, "sent", made)
        if failed:
            self.count(task, "failed", failed)

    def stop(self) -> None:
        if self.progress is not None and self.tasks:
            self.progress.stop()

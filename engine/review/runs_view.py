"""What the Runs pages show, read through engine.runs (never a second reading of the store): a page of
runs, newest first; a run's rejected rows filtered (stream, error code, search) a page at a time, the
choices the filter offers, and the rows as the CSV download holds them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from engine.runs import RejectedRow, RunSummary, count_runs, list_runs, rejected_rows

RUNS_PAGE = 25
REJECTED_PAGE = 50
SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class RejectedFilter:
    stream: str = ""
    code: str = ""
    q: str = ""  # a piece of the source id, CRM id, error code or message

    @classmethod
    def of(cls, params: Mapping[str, str]) -> RejectedFilter:
        return cls(**{name: str(params.get(name, "")).strip()[:200] for name in cls.__dataclass_fields__})

    def query(self, **more: Any) -> str:
        return urlencode({k: v for k, v in {**asdict(self), **more}.items() if v not in ("", None)})

    def is_empty(self) -> bool:
        return not any(asdict(self).values())


@dataclass(frozen=True)
class Paged:
    """One page of a longer list: its items, the page number (from 1), the last page and the total."""

    items: list[Any]
    page: int
    last: int
    total: int


def pages_of(total: int, size: int, asked: int) -> tuple[int, int]:
    """(the page shown, the last page): the asked one within 1..last."""
    last = max((total + size - 1) // size, 1)
    return min(max(asked, 1), last), last


def runs_page(state_dir: Path, asked: int, profile: str | None = None) -> Paged:
    """The runs of the state dir, newest first, `RUNS_PAGE` a page."""
    total = count_runs(state_dir, profile=profile)
    page, last = pages_of(total, RUNS_PAGE, asked)
    runs = list_runs(state_dir, profile=profile, limit=RUNS_PAGE, offset=(page - 1) * RUNS_PAGE)
    return Paged(runs, page, last, total)


def filtered_rejected(state_dir: Path, run_id: str, chosen: RejectedFilter) -> list[RejectedRow]:
    return rejected_rows(state_dir, run_id, stream=chosen.stream or None, code=chosen.code or None,
                         search=chosen.q or None)


def rejected_page(state_dir: Path, run_id: str, chosen: RejectedFilter, asked: int,
                  every: list[RejectedRow] | None = None) -> Paged:
    """A page of the run's rejected rows the filter finds; `every`: all of them, read already (an
    empty filter's rows, not read again)."""
    rows = every if every is not None and chosen.is_empty() else filtered_rejected(state_dir, run_id, chosen)
    page, last = pages_of(len(rows), REJECTED_PAGE, asked)
    start = (page - 1) * REJECTED_PAGE
    return Paged(rows[start:start + REJECTED_PAGE], page, last, len(rows))


def choices_of(rows: list[RejectedRow]) -> dict[str, list[str]]:
    """The streams and error codes of a run's rejected rows (what the filter's lists offer)."""
    return {"streams": sorted({r.stream for r in rows}),
            "codes": sorted({r.error_code for r in rows if r.error_code})}


def still_failing(rows: list[RejectedRow]) -> int:
    """The rejected records no later run has written: what a retry would send."""
    return sum(1 for r in rows if not r.fixed_by)


def csv_filename(run: RunSummary) -> str:
    """The download's file name: nothing of the run id a header or a file system would misread."""
    return f"rejected-{SAFE_NAME.sub('_', run.run_id)[:80]}.csv"


def written(run: RunSummary) -> int:
    return run.counts.get("created", 0) + run.counts.get("updated", 0)

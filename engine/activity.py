"""`crmsync log`: the activity log, filtered, as a table, JSON or CSV (keys fixed by the contract)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import re
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from engine.errors import UsageError
from engine.state import StateStore, open_store
from engine.terminal import visible

COLUMNS = ("at", "run_id", "triggered_by", "object", "action", "result", "crm_id", "record_url", "error")


SPAN = re.compile(r"(\d+)\s*(s|m|h|d|w)", re.IGNORECASE)
SPAN_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
TIME_FORMS = ("an ISO date (2026-12-01, a UTC day), an ISO time (2026-12-01T08:30:00Z, "
              "2026-12-01 08:30+02:00) or a time back from now (30m, 12h, 2d, 1w, today, yesterday)")


def parse_bound(option: str, value: str | None, end: bool, clock: dt.datetime | None = None) -> str | None:
    """A `--since`/`--until` value as the log's UTC timestamps are written; a bare day (a date, `today`,
    `yesterday`) covers the whole day. What cannot be read is bad usage, never an empty log."""
    if value is None:
        return None
    now = clock or dt.datetime.now(dt.UTC)
    text = value.strip().casefold()
    day = {"today": now.date(), "yesterday": now.date() - dt.timedelta(days=1)}.get(text)
    if day is None and len(text) == 10:
        with contextlib.suppress(ValueError):
            day = dt.date.fromisoformat(text)
    if day is not None:
        moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min, dt.UTC)
    elif text == "now":
        moment = now
    elif match := SPAN.fullmatch(text):
        moment = now - dt.timedelta(**{SPAN_UNITS[match[2]]: int(match[1])})
    else:
        moment = _iso_time(option, value)
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iso_time(option: str, value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{option} {value!r}: not a time crmsync can read; give {TIME_FORMS}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # the log is kept in UTC


# query_log's filter -> (its option, the log's column it selects on, what a value names). Not `--by`:
# a user who has not pushed yet is no mistake, and their log is empty.
NAMED = {"run_id": ("--run", "run_id", "run"), "object_name": ("--object", "object", "object"),
         "profile": ("--profile", "profile", "profile"), "stream": ("--stream", "stream", "stream")}


def check_names(store: StateStore, filters: dict[str, Any]) -> None:
    """A filter naming a run or an object the log has never seen is a mistake (a typo, an object of
    another CRM, another state dir): say so, with what the log knows, instead of an empty answer."""
    for name, (option, column, what) in NAMED.items():
        value = filters.get(name)
        if value is None:
            continue
        known = store.known(column)
        if value not in known:
            listed = ", ".join(sorted(known)[:12]) or "none: nothing was pushed with this state dir yet"
            raise UsageError(f"{option} {value}: no {what} of that name in the activity log in "
                             f"{store.location} (known: {listed})")


def unknown_user(store: StateStore, by: str | None) -> str | None:
    """`--by` naming nobody the log knows is said, not refused: a user who has not pushed yet is no
    mistake, but a typo must not pass for an empty log."""
    if by is None or by in (known := store.known("triggered_by")):
        return None
    listed = ", ".join(sorted(known)[:12]) or "none: nothing was pushed with this state dir yet"
    return f"--by {by}: nobody of that name pushed with the state dir {store.location} (known: {listed})"


def query_log(state_dir: Path | None, notes: list[str] | None = None, **filters: Any) -> list[dict[str, Any]]:
    """The log's rows that pass the filters; `notes` gets what the user should know about the filters."""
    store = open_store(state_dir)
    try:
        filters["since"] = parse_bound("--since", filters.get("since"), end=False)
        filters["until"] = parse_bound("--until", filters.get("until"), end=True)
        check_names(store, filters)
        if notes is not None and (note := unknown_user(store, filters.get("by"))):
            notes.append(note)
        rows = store.activity(**filters)
    finally:
        store.close()
    out = []
    for row in rows:
        entry = {k: row[k] for k in COLUMNS}
        if row["error_code"] and row["error"]:
            entry["error"] = f"{row['error_code']}: {row['error']}"
        entry.update({"error_code": row["error_code"], "stream": row["stream"],
                      "source_id": row["source_id"], "changed": json.loads(row["changed"]) if row["changed"]
                      else None})
        out.append(entry)
    if notes is not None and not out and (note := unknown_record(filters)):
        notes.append(note)
    return out


def unknown_record(filters: dict[str, Any]) -> str | None:
    """A `--source-id` the log holds nothing of is said (not refused: it may not be pushed yet)."""
    if filters.get("source_id") is None:
        return None
    named = "/".join(v for v in (filters.get("stream"), filters["source_id"]) if v)
    return f"--source-id {filters['source_id']}: no operation of {named} in the log (refs are as the log " \
           "and the plan write them: the source's own id)"


def print_log(rows: list[dict[str, Any]], fmt: str, console: Console) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=[*COLUMNS, "error_code", "stream", "source_id",
                                                        "changed"])
        writer.writeheader()
        writer.writerows({**r, "changed": " ".join(r["changed"] or ())} for r in rows)
        return
    # a column every row shares (one run, one user) is said once above the table, so the rest fits
    shared = {key: rows[0][key] for key in ("run_id", "triggered_by")
              if rows and all(r[key] == rows[0][key] for r in rows)}
    if shared:
        console.print("  ".join(f"{key}: {visible(value)}" for key, value in shared.items()), highlight=False)
    columns = [c for c in ("at", "run_id", "triggered_by") if c not in shared]
    changed = any(r["changed"] for r in rows)  # a column of its own only where an update changed fields
    table = Table(*columns, "object", "action", "result", "source", "crm id",
                  *(["changed"] if changed else []), "error / record url")
    for r in rows:
        at = [r["at"].replace("T", " ")[:19] if c == "at" else r[c] for c in columns]
        cells = [*at, r["object"], r["action"], r["result"], f"{r['stream']} {r['source_id']}",
                 r["crm_id"] or "", *([", ".join(r["changed"] or ())] if changed else []),
                 r["error"] or r["record_url"] or ""]
        table.add_row(*(visible(cell) for cell in cells))
    console.print(table)
    console.print(f"{len(rows)} operation(s)")

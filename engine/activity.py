"""`crmsync log`: the activity log, filtered, as a table, JSON or CSV (keys fixed by the contract)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from engine.store import Store, default_state_dir

COLUMNS = ("at", "run_id", "triggered_by", "object", "action", "result", "crm_id", "record_url", "error")


def _bound(value: str | None, end: bool) -> str | None:
    """A bare date covers the whole day."""
    if value and len(value) == 10:
        return value + ("T23:59:59.999Z" if end else "T00:00:00.000Z")
    return value


def query_log(state_dir: Path | None, **filters: Any) -> list[dict[str, Any]]:
    store = Store(state_dir or default_state_dir())
    try:
        filters["since"] = _bound(filters.get("since"), end=False)
        filters["until"] = _bound(filters.get("until"), end=True)
        rows = store.activity(**filters)
    finally:
        store.close()
    out = []
    for row in rows:
        entry = {k: row[k] for k in COLUMNS}
        if row["error_code"] and row["error"]:
            entry["error"] = f"{row['error_code']}: {row['error']}"
        entry.update({"error_code": row["error_code"], "stream": row["stream"],
                      "source_id": row["source_id"]})
        out.append(entry)
    return out


def print_log(rows: list[dict[str, Any]], fmt: str, console: Console) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=[*COLUMNS, "error_code", "stream", "source_id"])
        writer.writeheader()
        writer.writerows(rows)
        return
    # a column every row shares (one run, one user) is said once above the table, so the rest fits
    shared = {key: rows[0][key] for key in ("run_id", "triggered_by")
              if rows and all(r[key] == rows[0][key] for r in rows)}
    if shared:
        console.print("  ".join(f"{key}: {value}" for key, value in shared.items()), highlight=False)
    columns = [c for c in ("at", "run_id", "triggered_by") if c not in shared]
    table = Table(*columns, "object", "action", "result", "source", "crm id", "error / record url")
    for r in rows:
        at = [r["at"].replace("T", " ")[:19] if c == "at" else r[c] for c in columns]
        table.add_row(*at, r["object"], r["action"], r["result"], f"{r['stream']} {r['source_id']}",
                      r["crm_id"] or "", r["error"] or r["record_url"] or "")
    console.print(table)
    console.print(f"{len(rows)} operation(s)")

"""Reading the static HTML report as its script reads it: the JSON the page holds (head, rows, tail),
each row decoded into what a person sees of the record. Escaping is checked on the page's text; what a
browser shows is checked in tests/test_report_browser.py."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from engine.cli import app

ISLAND = r'<script type="application/json" id="{}">(.*?)</script>'


@dataclass
class Shown:
    name: str
    stream: str
    status: str
    source_id: str
    crm_id: str
    view_url: str
    email: str
    domain: str
    changes: dict[str, tuple[Any, Any]]
    kept: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reason: str | None = None


def islands(page: str) -> dict[str, Any]:
    found = {}
    for name in ("head", "rows", "tail"):
        [text] = re.findall(ISLAND.format(f"plan-{name}"), page, re.S)
        found[name] = json.loads(text)
    return found


def shown_records(page: str) -> dict[str, Shown]:
    """Every record the page lists, by ref (stream/source_id)."""
    data = islands(page)
    head, tail = data["head"], data["tail"]
    records = {}
    for row in data["rows"]:
        stream = tail["streams"][row[1]]
        names = tail["fields"][stream]
        changes = {names[i]: tuple(c) if isinstance(c, list) else (None, c)
                   for i, c in enumerate(row[8]) if c is not None}
        extra = row[9] if len(row) > 9 else {}

        def said(value: str | int, changes: dict[str, tuple[Any, Any]] = changes,
                 names: list[str] = names) -> str:
            return changes[names[value]][1] if isinstance(value, int) else value

        records[f"{stream}/{row[3]}"] = Shown(
            row[0], stream, head["statuses"][row[2]], row[3], row[4], row[5], said(row[6]), said(row[7]),
            changes, {names[f]: (old, new) for f, old, new in extra.get("k", [])},
            [head["causes"][i] for i in extra.get("p", [])], [tail["notes"][n] for n in extra.get("n", [])],
            extra.get("r"))
    return records


def report(*args: str, out: Path, env: dict[str, str] | None = None) -> tuple[Result, str]:
    """`crmsync plan ARGS --format html --out OUT`, and the page."""
    result = CliRunner().invoke(app, ["plan", *args, "--format", "html", "--out", str(out)], env=env)
    return result, out.read_text(encoding="utf-8") if out.exists() else ""

"""`crmsync demo` ends with a short activity log (issue 13, point 4): its first rows, how many more, and
the command that shows them all; the whole demo readable at 80 columns."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from engine.cli import app
from engine.demo import LOG_ROWS_SHOWN


def test_the_demo_ends_with_the_first_rows_of_the_log_and_how_to_see_the_rest(tmp_path: Path) -> None:
    state = tmp_path / "state"
    shown = CliRunner().invoke(app, ["demo", "--state-dir", str(state), "--report", str(tmp_path / "r.html")],
                               env={"COLUMNS": "80"})
    assert shown.exit_code == 0, shown.output
    assert [line for line in shown.stdout.splitlines() if len(line) > 80] == []
    log = shown.stdout[shown.stdout.index("5. activity log of the first push"):shown.stdout.index(" done ")]
    rows = re.findall(r"^│ \d{4}-\d\d-\d\d ", log, re.M)
    assert len(rows) == LOG_ROWS_SHOWN
    rest = re.search(r"… and ([\d,]+) more \(([\d,]+) in all\): crmsync log --run (\w+) --state-dir (\S+)",
                     " ".join(log.split()))
    assert rest, log
    more, total = int(rest[1].replace(",", "")), int(rest[2].replace(",", ""))
    assert more == total - LOG_ROWS_SHOWN and total > 50  # 50 records created, and their associations
    assert rest[4] == str(state)
    every = CliRunner().invoke(app, ["log", "--run", rest[3], "--state-dir", rest[4], "--format", "json"])
    assert len(json.loads(every.stdout)) == total  # the command it gives shows them all
    assert "first push: 50 created, 0 updated, 0 unchanged, 2 failed; second push: 0" in shown.stdout

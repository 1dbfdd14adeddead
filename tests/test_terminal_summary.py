"""The end of a push and of a plan, as a person reads it at 80 columns (issue 13, point 4): printed last,
short, counts with thousands separators, failures told by cause with their counts, where to look; the
records one by one only with --verbose."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from engine.cli import app
from engine.sandbox.common import running
from tests.pushkit import PROFILES, credentials_file
from tests.test_hubspot_results import PROFILE, KeepsItsRulesToItself

LONG_STREAM = "employer_accounts_from_the_quarterly_benefits_export"
LONG_NAME = "The Consolidated Regional Association of Independent " * 4
RECORDS, BAD_URLS = 1_100, 37


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})


def long_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if len(line) > 80]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    """1,100 employers with long names, 37 of them with a profile URL the portal refuses (its rule is not
    published, so the plan cannot know: the CRM's own answer refuses them)."""
    source = tmp_path / "src"
    source.mkdir()
    lines = [{"id": f"e{n}", "name": f"{LONG_NAME}{n}", "website": f"company-{n}.example",
              "profile": f"not a url {n}" if n < BAD_URLS else f"https://bf.example/e{n}"}
             for n in range(RECORDS)]
    (source / f"{LONG_STREAM}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines),
                                                  encoding="utf-8")
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE.replace("  employer:", f"  {LONG_STREAM}:"), encoding="utf-8")
    return profile, source, credentials_file("hubspot", tmp_path / "creds")


def test_the_push_summary_is_last_short_and_tells_failures_by_cause(setup: tuple[Path, Path, Path],
                                                                    tmp_path: Path) -> None:
    profile, source, creds = setup
    state = str(tmp_path / "state")
    with running(KeepsItsRulesToItself()) as url:
        shown = run("push", str(profile), "--source", str(source), "--base-url", url, "--state-dir", state,
                    "--credentials", str(creds))
        verbose = run("push", str(profile), "--source", str(source), "--base-url", url, "--state-dir", state,
                      "--credentials", str(creds), "--verbose")
    assert shown.exit_code == 1, shown.output
    assert long_lines(shown.stdout) == [] and long_lines(shown.stderr) == []
    run_id = re.search(r"^Run (\w+): 1,063 created, 0 updated, 0 unchanged, 0 skipped, 37 failed",
                       shown.stdout, re.M)
    assert run_id, shown.stdout
    lines = shown.stdout.splitlines()
    cause = next(line for line in lines if "benefitflow_profile_url" in line)
    assert re.fullmatch(r"  \S+ benefitflow_profile_url — 37 records", cause), cause
    example = " ".join(line.strip() for line in lines[lines.index(cause) + 1:lines.index(cause) + 3])
    assert "not a url 0 is not a valid URL" in example and "not a url 1 " not in shown.stdout
    assert f"crmsync log --run {run_id[1]} --result error" in shown.stdout
    assert lines[-2] == f"See every operation with: crmsync log --run {run_id[1]}"
    assert lines[-1] == "(push --verbose lists them record by record)"
    assert "e12" not in shown.stdout  # no record by record
    failed = json.loads(run("log", "--run", run_id[1], "--result", "error", "--state-dir", state,
                            "--format", "json").stdout)
    assert len(failed) == BAD_URLS  # where it says to look holds each of them
    # --verbose: the records one by one (the second push retries the 37), the summary still last
    assert verbose.stdout.count("  failed ") == BAD_URLS and "e12 (companies)" in verbose.stdout
    assert verbose.stdout.splitlines()[-1].startswith("See every operation with: crmsync log --run ")
    assert long_lines(verbose.stdout) == []


def test_the_plan_prints_its_summary_last_or_alone(setup: tuple[Path, Path, Path]) -> None:
    profile, source, _ = setup
    shown = run("plan", str(profile), "--source", str(source))
    alone = run("plan", str(profile), "--source", str(source), "--summary")
    every = run("plan", str(profile), "--source", str(source), "--verbose")
    assert shown.exit_code == alone.exit_code == every.exit_code == 0, shown.output
    assert not long_lines(shown.stdout + alone.stdout + every.stdout)
    lines = shown.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Plan for profile prefixes"))
    assert "Net New (1,100)" in "\n".join(lines[:header])  # the records come first...
    counts = lines.index("Net New: 1,100  Updates: 0  Synced: 0")  # two lines at 80 columns
    assert lines[counts + 1] == "Invalid: 0  Skipped: 0  Restricted: 0  Ambiguous: 0"
    assert header < counts and not any("┃" in line for line in lines[header:])  # ...then the summary
    assert "… and 1,090 more net new (plan --verbose shows every record)" in shown.stdout
    assert lines[-1] == "Every record: plan --verbose, or --format html --out FILE"
    assert alone.stdout.splitlines()[0].startswith("Plan for profile prefixes")
    assert "┃" not in alone.stdout and "e12" not in alone.stdout
    assert "Net New: 1,100" in alone.stdout and "Requests: 22 (11 lookups, 11 writes" in alone.stdout
    assert "and 1,090 more" not in every.stdout and "company-1099.example" in every.stdout.replace("\n", "")


def test_the_plan_tells_invalid_records_by_cause(examples: Path, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    employers = [json.loads(line) for line in (examples / "employer.jsonl").read_text().splitlines()]
    funded = [dict(employers[0], id=f"emp-x{n}", website=f"x{n}.example", funding_type="self funded")
              for n in range(23)]
    (source / "employer.jsonl").write_text("".join(json.dumps(x) + "\n" for x in funded), encoding="utf-8")
    shown = run("plan", str(PROFILES["hubspot"]), "--source", str(source), "--summary", "--allow-missing")
    assert shown.exit_code == 1
    assert "Invalid: 23 record(s), never sent, by cause:" in shown.stdout
    assert re.search(r"^  not_in_picklist \w+ — 23 records$", shown.stdout, re.M), shown.stdout
    assert "'self funded' is not a value of this" in shown.stdout
    assert long_lines(shown.stdout) == []


def test_version_is_the_installed_package_version() -> None:
    shown = run("--version")
    assert shown.exit_code == 0 and shown.stdout == f"crmsync {version('crmsync')}\n"


def test_summary_is_for_the_table(examples: Path) -> None:
    shown = run("plan", str(PROFILES["hubspot"]), "--source", str(examples), "--summary", "--format", "json")
    assert shown.exit_code == 2 and shown.stdout == ""
    assert "--summary is the table's summary alone; --format json has its own" in shown.stderr

"""`crmsync log --profile/--stream/--source-id`, and the fields each update changed (a table column, a
JSON key, a CSV column)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from engine.activity import query_log
from engine.sandbox.common import running
from tests.pushkit import copy_source, push, rewrite, served
from tests.runskit import Refusing, cli, employer_profile, employers


def two_profiles(examples: Path, tmp_path: Path) -> tuple[Path, str, str]:
    """One state dir, two profiles pushed: the shipped HubSpot one, and the employers-only one."""
    state = tmp_path / "state"
    with served("hubspot") as (_, url):
        shipped = push("hubspot", examples, url, state)
    with running(Refusing()) as url:
        small = push("hubspot", employers(tmp_path / "src", good=2, bad=1), url, state,
                     profile=employer_profile(tmp_path))
    return state, shipped.run_id, small.run_id


def test_log_filters_by_profile_stream_and_source_id(examples: Path, tmp_path: Path) -> None:
    state, shipped, small = two_profiles(examples, tmp_path)
    mine = query_log(state, profile="prefixes")
    assert mine and {r["run_id"] for r in mine} == {small}
    assert {r["run_id"] for r in query_log(state, profile="hubspot-benefitflow")} == {shipped}
    brokers = query_log(state, stream="broker")
    assert brokers and {r["stream"] for r in brokers} == {"broker"}
    assert {r["run_id"] for r in brokers} == {shipped}
    one = query_log(state, stream="broker", source_id="brk-001")
    assert one and {(r["stream"], r["source_id"]) for r in one} == {("broker", "brk-001")}
    assert {r["action"] for r in one} >= {"insert"}
    assert query_log(state, profile="prefixes", stream="broker") == []
    answer = cli("log", "--state-dir", state, "--source-id", "b1", "--format", "json")
    assert answer.returncode == 0
    [row] = json.loads(answer.stdout)
    assert row["source_id"] == "b1" and row["result"] == "error" and row["run_id"] == small


def test_a_profile_or_stream_the_log_never_saw_is_bad_usage_and_an_unknown_source_id_said(
        examples: Path, tmp_path: Path) -> None:
    state, _, _ = two_profiles(examples, tmp_path)
    wrong = cli("log", "--state-dir", state, "--profile", "hubspot-benefitflw")
    assert wrong.returncode == 2 and "hubspot-benefitflow" in wrong.stderr and "prefixes" in wrong.stderr
    stream = cli("log", "--state-dir", state, "--stream", "brokers")
    assert stream.returncode == 2 and "broker_office" in stream.stderr
    nobody = cli("log", "--state-dir", state, "--source-id", "zzz-404")
    assert nobody.returncode == 0 and "zzz-404" in nobody.stderr and "no operation" in nobody.stderr


def test_the_log_shows_which_fields_an_update_changed(examples: Path, tmp_path: Path) -> None:
    source, state = copy_source(examples, tmp_path / "src"), tmp_path / "state"
    with served("hubspot") as (_, url):
        push("hubspot", source, url, state)
        rewrite(source / "employer.jsonl", "emp-001", name="Bluebird Bakery & Cafe")
        second = push("hubspot", source, url, state)
    [update] = [r for r in query_log(state, run_id=second.run_id) if r["action"] == "update"]
    assert (update["source_id"], update["changed"]) == ("emp-001", ["name"])
    assert all(r["changed"] is None for r in query_log(state) if r["action"] == "insert")
    table = cli("log", "--state-dir", state, "--run", second.run_id, "--action", "update")
    assert table.returncode == 0 and "changed" in table.stdout and "name" in table.stdout
    exported = cli("log", "--state-dir", state, "--run", second.run_id, "--action", "update", "--format",
                   "csv")
    [row] = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert row["changed"] == "name" and row["source_id"] == "emp-001"

"""A small batch first: `push --limit N` sends at most N records' writes (updates and creates alike) and
says how many it held back; `--only REF...` sends those records, and a child whose parent is to be
created is not sent without it (said, exit 1). `plan` takes both and shows what such a push would do."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from engine.sandbox.common import running
from tests.pushkit import PROFILES, copy_source, push, records, rewrite
from tests.runskit import Counting, cli, creds

NEW = [{"id": f"emp-new{i}", "name": f"New Employer {i}", "website": f"new{i}-employer-example.com"}
       for i in range(1, 4)]


def populated(examples: Path, tmp_path: Path, portal: Counting, url: str) -> Path:
    """The examples pushed; then four employers renamed (updates) and three new ones (creates)."""
    source = copy_source(examples, tmp_path / "src")
    push("hubspot", source, url, tmp_path / "state")
    for i in range(1, 5):
        rewrite(source / "employer.jsonl", f"emp-00{i}", name=f"Renamed {i}")
    with (source / "employer.jsonl").open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(record) + "\n" for record in NEW)
    portal.writes.clear()
    return source


def kinds(portal: Counting) -> Counter[str]:
    return Counter(entry.split()[0] for entry in portal.sent())


def test_limit_sends_at_most_n_writes_to_a_populated_crm_and_says_what_it_held_back(
        examples: Path, tmp_path: Path) -> None:
    portal = Counting()
    with running(portal) as url:
        source = populated(examples, tmp_path, portal, url)
        answer = cli("push", PROFILES["hubspot"], "--source", source, "--base-url", url, "--state-dir",
                     tmp_path / "state", "--credentials", creds(tmp_path), "--limit", "5", "--format", "json")
        assert answer.returncode == 0, answer.stderr
        assert kinds(portal) == Counter(update=4, create=1)  # the CRM got five records' writes, no more
        report = json.loads(answer.stdout)
        assert report["summary"]["updated"] == 4 and report["summary"]["created"] == 1
        assert report["summary"]["held_back"] == sum(report["held_back"].values()) > 0
        assert any("held back" in notice for notice in report["notices"])
        assert len(report["records"]) == 5  # the batch, not the records held back
        portal.writes.clear()
        rest = push("hubspot", source, url, tmp_path / "state")  # then the rest
        assert kinds(portal) == Counter(create=2) and rest.summary()["held_back"] == 0
        names = {r["properties"]["benefitflow_id"] for r in records(url)["companies"]}
    assert {"emp-new1", "emp-new2", "emp-new3"} <= names


def test_plan_with_limit_shows_the_batch_the_push_would_send(examples: Path, tmp_path: Path) -> None:
    portal = Counting()
    with running(portal) as url:
        source = populated(examples, tmp_path, portal, url)
        answer = cli("plan", PROFILES["hubspot"], "--source", source, "--base-url", url, "--state-dir",
                     tmp_path / "state", "--credentials", creds(tmp_path), "--limit", "5", "--format", "json")
        assert portal.writes == []  # a plan writes nothing
    assert answer.returncode == 0, answer.stderr
    plan = json.loads(answer.stdout)
    assert plan["summary"]["update"] == 4 and plan["summary"]["net_new"] == 1
    assert len(plan["records"]) == 5 and plan["held_back"]["limit"] > 0
    assert "held back" in answer.stderr


def test_only_a_child_without_its_new_parent_is_not_sent_and_said(examples: Path, tmp_path: Path) -> None:
    portal = Counting()
    with running(portal) as url:
        answer = cli("push", PROFILES["hubspot"], "--source", examples, "--base-url", url, "--state-dir",
                     tmp_path / "state", "--credentials", creds(tmp_path), "--only", "broker_office/bo-001")
        assert portal.sent() == [] and records(url)["companies"] == []
    assert answer.returncode == 1, answer.stderr  # the record asked for was not sent
    assert "broker_office/bo-001" in answer.stdout and "give the parent too" in answer.stdout


def test_only_a_child_and_its_parent_sends_those_two_and_links_them(examples: Path, tmp_path: Path) -> None:
    portal = Counting()
    with running(portal) as url:
        answer = cli("push", PROFILES["hubspot"], "--source", examples, "--base-url", url, "--state-dir",
                     tmp_path / "state", "--credentials", creds(tmp_path), "--only", "broker_office/bo-001",
                     "--only", "broker/brk-001", "--format", "json")
        assert answer.returncode == 0, answer.stderr
        assert sorted(portal.sent()) == ["create bo-001", "create brk-001"]
        crm = records(url)
    report = json.loads(answer.stdout)
    assert report["summary"]["created"] == 2 and report["associations"]["created"] >= 1
    ids = {r["id"]: r["properties"]["benefitflow_id"] for r in crm["companies"]}
    assert sorted(ids.values()) == ["bo-001", "brk-001"] and crm["contacts"] == []
    assert any(ids.get(a["fromId"]) == "bo-001" and ids.get(a["toId"]) == "brk-001"
               for a in crm["associations"])  # the office is tied to its broker


def test_only_a_ref_the_source_lacks_is_bad_usage_naming_it(examples: Path, tmp_path: Path) -> None:
    portal = Counting()
    with running(portal) as url:
        common = ("--source", examples, "--base-url", url, "--state-dir", tmp_path / "state",
                  "--credentials", creds(tmp_path))
        unknown = cli("push", PROFILES["hubspot"], *common, "--only", "broker/brk-001", "--only",
                      "broker/nope")
        no_stream = cli("push", PROFILES["hubspot"], *common, "--only", "lead/x1")
        bare = cli("plan", PROFILES["hubspot"], "--source", examples, "--only", "brk-001")
        assert portal.requests == []  # refused before anything was asked of the CRM
    assert unknown.returncode == 2 and "broker/nope" in unknown.stderr and "brk-001" not in unknown.stderr
    assert no_stream.returncode == 2 and "'lead'" in no_stream.stderr and "broker_office" in no_stream.stderr
    assert bare.returncode == 2 and "stream/source_id" in bare.stderr

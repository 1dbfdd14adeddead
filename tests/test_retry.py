"""`crmsync retry RUN`: plan again and send only the records that failed in that run, as they stand now;
a second retry, once they are written, sends nothing and says why."""

from __future__ import annotations

import json
from pathlib import Path

from engine.runs import RetryRequest, list_runs, rejected_rows, retry_failed
from engine.sandbox.common import running
from tests.pushkit import push, quiet, records, rewrite
from tests.runskit import Refusing, cli, creds, employer_profile, employers


def companies(url: str) -> list[str]:
    return sorted(r["properties"]["benefitflow_id"] for r in records(url)["companies"])


def test_retry_sends_only_the_failed_records_and_a_second_retry_sends_nothing(tmp_path: Path) -> None:
    source, state = employers(tmp_path / "src", good=4, bad=2), tmp_path / "state"
    portal = Refusing()
    with running(portal) as url:
        first = push("hubspot", source, url, state, profile=employer_profile(tmp_path))
        assert first.summary()["failed"] == 2
        for bad in ("b1", "b2"):  # the data fixed at its source
            rewrite(source / "employer.jsonl", bad, profile=f"https://bf.example/{bad}")
        with (source / "employer.jsonl").open("a", encoding="utf-8") as new:  # a whole push would create it
            new.write('{"id": "e5", "name": "Five", "website": "e5.example", "profile": "https://bf.example/e5"}\n')
        portal.writes.clear()
        again = retry_failed(RetryRequest(first.run_id, state_dir=state, progress=False), quiet())
        assert sorted(portal.sent()) == ["create b1", "create b2"]  # what the CRM got: those two only
        assert again.refs == ["employer/b1", "employer/b2"] and again.push is not None
        assert again.push.summary()["created"] == 2 and again.push.summary()["failed"] == 0
        assert companies(url) == ["b1", "b2", "e1", "e2", "e3", "e4"]  # each once
        portal.writes.clear()
        second = retry_failed(RetryRequest(first.run_id, state_dir=state, progress=False), quiet())
        assert portal.writes == [] and second.push is None and second.refs == []
        assert {r.ref: r.fixed_by for r in second.fixed} == {"employer/b1": again.push.run_id,
                                                              "employer/b2": again.push.run_id}
        assert any("written by a later run" in note for note in second.notes())
        assert any("nothing to retry" in note for note in second.notes())
    retried = next(r for r in list_runs(state) if r.run_id == again.push.run_id)
    assert retried.state == "succeeded" and retried.options["retry_of"] == first.run_id
    assert all(r.fixed_by == again.push.run_id for r in rejected_rows(state, first.run_id))


def test_retry_of_records_still_refused_fails_them_again_and_sends_nothing_else(tmp_path: Path) -> None:
    source, state = employers(tmp_path / "src", good=3, bad=1), tmp_path / "state"
    portal = Refusing()
    with running(portal) as url:
        first = push("hubspot", source, url, state, profile=employer_profile(tmp_path))
        portal.writes.clear()
        answer = cli("retry", first.run_id, "--state-dir", state, "--format", "json")
        assert answer.returncode == 1, answer.stderr  # still refused: a finding
        report = json.loads(answer.stdout)
        assert report["resent"] == ["employer/b1"] and report["push"]["summary"]["failed"] == 1
        assert portal.sent() == ["create b1"]
        [row] = rejected_rows(state, report["push"]["run_id"])
        assert row.ref == "employer/b1" and "not a valid URL" in (row.error or "")


def test_retry_cli_exit_codes_unknown_run_all_sent_and_the_source_given(tmp_path: Path) -> None:
    source, state = employers(tmp_path / "src", good=1, bad=1), tmp_path / "state"
    with running(Refusing()) as url:
        first = push("hubspot", source, url, state, profile=employer_profile(tmp_path),
                     credentials=creds(tmp_path))
        unknown = cli("retry", "nope", "--state-dir", state)
        assert unknown.returncode == 2 and first.run_id in unknown.stderr  # the known ones hinted
        moved = employers(tmp_path / "moved", good=1, bad=0)
        (moved / "employer.jsonl").write_text(
            '{"id": "b1", "name": "Bad 1", "website": "b1.example", "profile": "https://bf.example/b1"}\n',
            encoding="utf-8")
        fixed = cli("retry", first.run_id, "--source", moved, "--state-dir", state)
        assert fixed.returncode == 0, fixed.stderr + fixed.stdout
        assert companies(url) == ["b1", "e1"]
        nothing = cli("retry", first.run_id, "--state-dir", state)
        assert nothing.returncode == 0 and "nothing to retry" in nothing.stdout


def test_a_failed_record_gone_from_the_source_is_said_not_sent(tmp_path: Path) -> None:
    source, state = employers(tmp_path / "src", good=1, bad=1), tmp_path / "state"
    portal = Refusing()
    with running(portal) as url:
        first = push("hubspot", source, url, state, profile=employer_profile(tmp_path))
        employers(source, good=1, bad=0)  # b1 dropped from the export
        portal.writes.clear()
        result = retry_failed(RetryRequest(first.run_id, state_dir=state, progress=False), quiet())
        assert result.gone == ["employer/b1"] and result.push is None and portal.writes == []
        assert any("not in the source any more" in note for note in result.notes())
        assert companies(url) == ["e1"]

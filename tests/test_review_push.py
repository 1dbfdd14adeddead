"""From the review to the CRM, on a served HubSpot sandbox: the approved selection is exactly what
`crmsync push --plan` sends; an ambiguous record resolved on its page updates the chosen CRM record;
Push now sends the selection with the same engine push and reports its run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from typer.testing import CliRunner

from engine.cli import app
from engine.review.app import Review
from tests.browserkit import review_against, signed_in
from tests.pushkit import records, served
from tests.test_pull_decisions import DOMAIN, twin_companies

CHOSEN = ["broker/brk-001", "broker/brk-003", "employer/emp-002"]


def row_id(review: Review, ref: str) -> int:
    return int(review.db.execute("SELECT id FROM records WHERE ref = ?", (ref,)).fetchone()[0])


def choose_only(client: httpx.Client, review: Review, chosen: list[str]) -> None:
    csrf = {"X-CSRF-Token": review.keys.csrf}
    assert client.post("/select-matching", data={"on": "0"}, headers=csrf).status_code == 200
    for ref in chosen:
        answer = client.post("/select", data={"id": row_id(review, ref), "on": "1"}, headers=csrf)
        assert answer.status_code == 200
    assert f"<b>{len(chosen)}</b> of" in answer.text


def approved_path(page: str) -> Path:
    command = page.split("data-command>")[1].split("</pre>")[0]
    return Path(command.split("--plan ")[1].split(" ")[0])


def test_approve_writes_the_selection_that_push_plan_sends_exactly(examples: Path, tmp_path: Path) -> None:
    with served("hubspot") as (_, url):
        review = review_against(url, examples, tmp_path)
        with signed_in(review) as client:
            choose_only(client, review, CHOSEN)
            record = client.get(f"/record/{row_id(review, CHOSEN[0])}").text
            assert "/crm/v3/objects/companies/batch/create" in record and "Harbor &amp; Pine" in record
            assert "sandbox-token" not in record  # the request as sent, its credential hidden
            approved = client.post("/approve", headers={"X-CSRF-Token": review.keys.csrf})
        assert approved.status_code == 200 and "Approved: 3 records" in approved.text
        plan_file = approved_path(approved.text)
        saved = json.loads(plan_file.read_text(encoding="utf-8"))
        assert [f"{r['stream']}/{r['source_id']}" for r in saved["records"]] == CHOSEN
        assert oct(plan_file.stat().st_mode & 0o777) == "0o600"
        assert records(url).get("companies", []) == []  # approving sends nothing
        pushed = CliRunner().invoke(app, ["push", "--plan", str(plan_file), "--state-dir",
                                          str(tmp_path / "state"), "--credentials",
                                          str(tmp_path / "creds" / "hubspot-credentials.json"),
                                          "--format", "json"])
        companies = records(url)["companies"]
        sent = httpx.get(f"{url}/_sandbox/requests").json()
    report = json.loads(pushed.stdout)
    failed = sorted(r["source_id"] for r in report["records"] if r["result"] == "error")
    assert pushed.exit_code == 1 and failed == ["emp-008", "emp-009"]  # the source's invalid ones, not sent
    names = sorted(c["properties"]["name"] for c in companies)
    assert names == sorted(["Harbor & Pine Benefits Group", "Summit Ridge Brokerage",
                            "Cedar Valley Logistics"])
    creates = [r["path"] for r in sent if r["method"] == "POST" and r["path"].endswith("/batch/create")]
    assert creates == ["/crm/v3/objects/companies/batch/create"] * 2  # a batch per stream, no contact
    assert report["summary"]["created"] == 3


def test_resolving_an_ambiguous_record_updates_the_chosen_crm_record(examples: Path, tmp_path: Path) -> None:
    with served("hubspot", seed=twin_companies("hubspot")) as (_, url):
        review = review_against(url, examples, tmp_path)
        emp = row_id(review, "employer/emp-001")
        with signed_in(review) as client:
            page = client.get(f"/record/{emp}")
            assert "Choose the CRM record" in page.text
            candidates = json.loads(review.db.execute("SELECT planned FROM records WHERE id = ?",
                                                      (emp,)).fetchone()[0])["candidates"]
            assert len(candidates) == 2
            chosen = candidates[1]
            links = re.findall(r'<a href="([^"]+)"[^>]*>View in CRM</a>', page.text)
            assert [link.rsplit("/", 1)[1] for link in links] == candidates  # each candidate's own page
            assert all(httpx.get(link.replace("&amp;", "&")).status_code == 200 for link in links)
            csrf = {"X-CSRF-Token": review.keys.csrf}
            assert client.post(f"/resolve/{emp}", data={"crm_id": "not-a-candidate"},
                               headers=csrf).status_code == 409
            resolved = client.post(f"/resolve/{emp}", data={"crm_id": chosen}, headers=csrf)
            assert resolved.status_code == 303
            assert f"Linked to <code>{chosen}</code>" in client.get(f"/record/{emp}").text
            choose_only(client, review, ["employer/emp-001"])
            approved = client.post("/approve", headers=csrf)
        saved = json.loads(approved_path(approved.text).read_text(encoding="utf-8"))
        (record,) = saved["records"]
        assert (record["status"], record["crm_id"]) == ("update", chosen)
        pushed = CliRunner().invoke(app, ["push", "--plan", str(approved_path(approved.text)), "--state-dir",
                                          str(tmp_path / "state"), "--credentials",
                                          str(tmp_path / "creds" / "hubspot-credentials.json")])
        assert pushed.exit_code == 1 and "1 updated" in pushed.output, pushed.output  # 2 invalid: exit 1
        twins = {c["id"]: c["properties"] for c in records(url)["companies"] if DOMAIN in json.dumps(c)}
    assert len(twins) == 2  # nothing created on the domain
    assert twins[chosen].get("benefitflow_id") == "emp-001"
    other = next(props for crm_id, props in twins.items() if crm_id != chosen)
    assert other.get("benefitflow_id") in (None, "")


def test_push_now_sends_the_selection_and_reports_the_run(examples: Path, tmp_path: Path) -> None:
    with served("hubspot") as (_, url):
        review = review_against(url, examples, tmp_path)
        with signed_in(review) as client:
            choose_only(client, review, CHOSEN[:2])
            started = client.post("/push", headers={"X-CSRF-Token": review.keys.csrf})
            assert started.status_code == 200 and "written" in started.text
            review.job.thread.join(timeout=120)
            done, first_run = client.get("/push/progress").text, review.job.run_id
            assert client.post("/push", headers={"X-CSRF-Token": review.keys.csrf}).status_code == 200
            review.job.thread.join(timeout=120)
        companies = records(url)["companies"]
    assert "2/2 written" in done and "2 created" in done and f"crmsync log --run {first_run}" in done
    assert f'href="/runs/{first_run}"' in done  # the run's page in the app
    assert "hx-trigger" not in done  # finished: the page stops polling
    # the second push of the same selection finds them in the CRM: nothing created twice
    assert sorted(c["properties"]["name"] for c in companies) == ["Harbor & Pine Benefits Group",
                                                                  "Summit Ridge Brokerage"]
    assert review.job.run_id != first_run and review.job.summary["created"] == 0

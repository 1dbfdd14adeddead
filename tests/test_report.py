"""The plan a person reads: the table output and the self-contained HTML report."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.dryrun import dry_run
from engine.exampledata import generate
from engine.htmlreport import html_report
from engine.htmlreport.rows import safe_link
from tests.pushkit import PROFILES, copy_source, credentials_file, push, rewrite, served
from tests.reportkit import report, shown_records
from tests.statekit import using
from tests.teamkit import team_yaml

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "profiles" / "hubspot-benefitflow.yaml"
runner = CliRunner()


def test_the_html_report_shows_every_status_tab_and_escapes_what_the_source_says(examples: Path,
                                                                                  tmp_path: Path) -> None:
    source = copy_source(examples, tmp_path / "src")
    hostile = "<script>alert('x')</script> & Co</script><!--"
    rewrite(source / "employer.jsonl", "emp-001", name=hostile)
    result, page = report(str(PROFILE), "--source", str(source), out=tmp_path / "report.html")
    assert result.exit_code == 1  # the example data has invalid records
    assert page.count("<script") == 4  # the page's own: three JSON data and one script, nothing else
    assert "alert(" not in page.replace("\\u003cscript\\u003ealert(", "")  # only escaped in the data
    assert shown_records(page)["employer/emp-001"].name == hostile  # yet shown as the source says it
    tabs = dict(re.findall(r'data-status="(\w+)"[^>]*>[^<]+<b>(\d+)</b>', page))
    assert tabs == {"net_new": "50", "update": "0", "synced": "0", "invalid": "2", "skipped": "3",
                    "restricted": "0", "ambiguous": "0"}
    assert "not a value of this restricted picklist" in page  # emp-008's problem, in words
    assert "sandbox-token" not in page and "Bearer" not in page


def test_each_record_shows_its_name_stream_status_and_changes(examples: Path, tmp_path: Path) -> None:
    _, page = report(str(PROFILE), "--source", str(examples), out=tmp_path / "report.html")
    records = shown_records(page)
    assert len(records) == 55
    employer, contact = records["employer/emp-001"], records["employer_contact/ec-001"]
    assert (employer.name, employer.stream, employer.status) == ("Bluebird Bakery Co.", "employer", "net_new")
    assert employer.changes["name"] == (None, "Bluebird Bakery Co.")
    assert employer.domain == "bluebird-bakery-example.com"
    first, last = contact.changes["firstname"][1], contact.changes["lastname"][1]
    assert contact.name == f"{first} {last}" and contact.email == contact.changes["email"][1]
    assert "associated with employer/emp-001 (company) after both exist" in contact.notes
    skipped = records["employer_contact/ec-007"]
    assert skipped.status == "skipped" and skipped.notes and not skipped.changes


def test_problems_are_grouped_by_cause_with_counts_and_the_profile_line(examples: Path,
                                                                        tmp_path: Path) -> None:
    source = copy_source(examples, tmp_path / "src")
    rewrite(source / "employer.jsonl", "emp-002", funding_type="self funded")  # a second record, same cause
    _, page = report(str(PROFILE), "--source", str(source), out=tmp_path / "report.html")
    lines = PROFILE.read_text(encoding="utf-8").splitlines()
    mapped_at = next(n for n, line in enumerate(lines, 1) if line.strip() == "funding_type: $.funding_type")
    causes = re.findall(r'<tr><td class="cause">(.*?)</td><td>(\w+)</td><td><code>(\w+)</code></td>\s*'
                        r'<td class="at"><code>(.*?)</code>', page)
    assert causes[0] == ("funding_type: &#39;self funded&#39; is not a value of this restricted picklist; "
                         "allowed: Fully Insured, Self-Funded, Level-Funded — 2 records", "employer",
                         "not_in_picklist", f"{PROFILE}:{mapped_at}")
    assert [c[1:3] for c in causes[1:]] == [("employer", "transform_month_name")]
    records = shown_records(page)
    assert [p["code"] for p in records["employer/emp-002"].problems] == ["not_in_picklist"]
    assert records["employer/emp-002"].status == records["employer/emp-008"].status == "invalid"


def test_a_record_in_the_crm_links_to_it(examples: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with served("hubspot") as (emulator, url):
        push("hubspot", examples, url, state)
        creds = credentials_file("hubspot", tmp_path / "creds")
        _, page = report(str(PROFILE), "--source", str(examples), "--base-url", url, "--state-dir",
                         str(state), "--credentials", str(creds), out=tmp_path / "report.html")
        crm = httpx.get(f"{url}/_sandbox/records").json()
    employer = shown_records(page)["employer/emp-001"]
    [company] = [c for c in crm["companies"] if c["properties"].get("name") == "Bluebird Bakery Co."]
    assert employer.status == "synced" and employer.crm_id == company["id"]
    assert employer.view_url.startswith("http") and employer.view_url.endswith(f"/record/0-2/{company['id']}")
    fresh = tmp_path / "new"
    with using(fresh):
        new = shown_records(report(str(PROFILE), "--source", str(examples), "--state-dir", str(fresh),
                                   out=tmp_path / "offline.html")[1])
    assert new["employer/emp-001"].view_url == ""  # not in the CRM yet: nothing to link to


def test_a_restricted_record_is_shown_with_the_reason(examples: Path, tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(team_yaml({"contact": "update_only", "account": "update_only"}), encoding="utf-8")
    _, page = report(str(PROFILE), "--source", str(examples), "--team", str(team), "--as", "bo",
                     out=tmp_path / "report.html")
    restricted = [r for r in shown_records(page).values() if r.status == "restricted"]
    assert len(restricted) == 50  # nothing exists offline: every write would be a create
    assert all(r.reason and "standard users may only update" in r.reason for r in restricted)


def test_a_view_in_crm_address_must_be_a_web_address() -> None:
    assert safe_link("https://app.example/record/1") == "https://app.example/record/1"
    assert safe_link("javascript:alert(1)") == safe_link("data:text/html,x") == safe_link(None) == ""


def test_request_bodies_are_left_out_unless_asked_for(examples: Path, tmp_path: Path) -> None:
    env = {"CRMSYNC_ACCESS_TOKEN": "pat-na1-secret"}
    _, without = report(str(PROFILE), "--source", str(examples), out=tmp_path / "a.html", env=env)
    assert "Request bodies are left out of this report" in without
    assert "<pre" not in without.split("<script>")[0] and 'data-refs="' not in without
    assert '"properties"' not in without  # HubSpot's body key: no body is in the page
    assert len(re.findall(r"<td><code>(POST|GET|PUT|PATCH) ", without)) == 12  # each request, in one line
    result, with_bodies = report(str(PROFILE), "--source", str(examples), "--requests",
                                 out=tmp_path / "b.html", env=env)
    assert result.exit_code == 1 and "left out" not in with_bodies
    bodies = re.findall(r'<details id="req-(\d+)" data-items="([^"]*)" data-refs="([^"]*)">.*?'
                        r'<pre class="headers">(.*?)</pre><pre>(.*?)</pre>', with_bodies, re.S)
    assert len(bodies) == 12
    creates = [b for b in bodies if "employer/emp-001" in html.unescape(b[2])]
    number, place, refs, headers, body = creates[0]
    item = json.loads(html.unescape(body))[place][json.loads(html.unescape(refs)).index("employer/emp-001")]
    assert item["properties"]["name"] == "Bluebird Bakery Co."  # the record's own item of its batch
    assert "Authorization: ••••" in html.unescape(headers)  # as the review app shows it
    assert "pat-na1-secret" not in without + with_bodies


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_no_credential_reaches_the_page_with_requests(crm: str, examples: Path, tmp_path: Path) -> None:
    """Against the served sandbox (a private-app token; OAuth's client secret, refresh token and the
    access token it issues), with every request's headers and body in the page."""
    creds = credentials_file(crm, tmp_path / "creds")
    with served(crm) as (_, url):
        result, page = report(str(PROFILES[crm]), "--source", str(examples), "--base-url", url,
                              "--credentials", str(creds), "--requests", out=tmp_path / "report.html")
    assert result.exit_code == 1 and page.count('<pre class="headers">') >= 5, result.output
    secrets = json.loads(creds.read_text(encoding="utf-8")).values()
    assert [s for s in secrets if s in page] == [] and "Bearer" not in page
    assert page.count("Authorization: ••••") == page.count('<pre class="headers">')


def test_requests_go_with_the_html_report(examples: Path) -> None:
    result = runner.invoke(app, ["plan", str(PROFILE), "--source", str(examples), "--requests"])
    assert result.exit_code == 2 and "--requests goes with --format html" in result.stderr


def test_the_report_can_go_to_stdout(examples: Path) -> None:
    result = runner.invoke(app, ["plan", str(PROFILE), "--source", str(examples), "--format", "html",
                                 "--out", "-"])
    assert result.exit_code == 1 and result.stdout.startswith("<!doctype html>")
    assert len(shown_records(result.stdout)) == 55


def test_the_page_is_written_as_it_is_made(tmp_path: Path) -> None:
    """The records come out a few hundred at a time, never as one string of the whole page."""
    generate(tmp_path / "data", 1_500, seed=3)
    plan = dry_run(PROFILE, tmp_path / "data", state_dir=tmp_path / "state")
    chunks = list(html_report(plan))
    holding_rows = [c for c in chunks if re.search(r'^\["[^"]*",\d,\d,"', c.lstrip(","), re.M)]
    assert len(holding_rows) == 3 and max(map(len, chunks)) < len("".join(chunks)) / 2
    assert len(shown_records("".join(chunks))) == 1_500


def test_html_needs_an_out_file(examples: Path) -> None:
    result = runner.invoke(app, ["plan", str(PROFILE), "--source", str(examples), "--format", "html"])
    assert result.exit_code == 2 and "--format html needs --out FILE (- for stdout)" in result.stderr


def test_the_table_shows_old_and_new_values_and_the_cost(examples: Path) -> None:
    result = runner.invoke(app, ["plan", str(PROFILE), "--source", str(examples)], env={"COLUMNS": "200"})
    assert "Net New: 50  Updates: 0  Synced: 0  Invalid: 2  Skipped: 3" in result.stdout
    assert "Requests: 12 (5 lookups, 5 writes, 2 associations)" in result.stdout
    assert "name: — → Bluebird Bakery Co." in result.stdout


def test_json_plan_redacts_authorization(examples: Path) -> None:
    result = runner.invoke(app, ["plan", str(PROFILE), "--source", str(examples), "--format", "json"],
                           env={"CRMSYNC_ACCESS_TOKEN": "pat-na1-secret"})
    plan = json.loads(result.stdout)
    assert {r["headers"]["Authorization"] for r in plan["requests"]} == {"<redacted>"}
    assert "pat-na1-secret" not in result.stdout
